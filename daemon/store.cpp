#include "daemon/store.hpp"

#include <sqlite3.h>

#include <array>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace deskline::daemon {
namespace {

// ---- schema ------------------------------------------------------------------

// Migration n brings user_version from n-1 to n. Append only: a released
// migration is never edited, since databases in the field already ran it.
constexpr std::array<std::string_view, 1> migrations = {
    // 1: calls and their events.
    R"sql(
CREATE TABLE calls (
  id             TEXT PRIMARY KEY NOT NULL,
  line           TEXT NOT NULL,
  box            TEXT NOT NULL,
  port           INTEGER NOT NULL,
  direction      TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
  number         TEXT NOT NULL DEFAULT '',
  number_absence TEXT CHECK (number_absence IN ('P', 'O')),
  name           TEXT NOT NULL DEFAULT '',
  state          TEXT NOT NULL,
  outcome        TEXT,                -- NULL while the call is active
  started_at     INTEGER NOT NULL,    -- microseconds since the Unix epoch
  answered_at    INTEGER,
  ended_at       INTEGER
);
CREATE INDEX calls_started_at ON calls (started_at);
CREATE INDEX calls_active ON calls (state) WHERE state = 'active';
CREATE TABLE call_events (
  id      INTEGER PRIMARY KEY,
  call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
  at      INTEGER NOT NULL,
  type    TEXT NOT NULL,
  detail  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
);
CREATE INDEX call_events_call_id ON call_events (call_id, at);
)sql",
};

constexpr int busy_timeout_ms = 5000;

class SqliteCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "sqlite"; }
  std::string message(int code) const override { return sqlite3_errstr(code); }
};

class StoreCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "store"; }
  std::string message(int code) const override {
    switch (static_cast<StoreError>(code)) {
      case StoreError::schema_too_new:
        return "database was written by a newer deskline; upgrade deskline (databases are never downgraded)";
      case StoreError::schema_too_old:
        return "database has an older schema; start desklined once to migrate it";
      case StoreError::database_missing: return "database does not exist";
      case StoreError::no_such_call: return "no call with this id";
    }
    return "unknown store error";
  }
};

std::error_code sqlite_error(int result) { return {result, sqlite_category()}; }

// Owns one prepared statement; reset() makes it reusable after each call.
class Statement {
 public:
  Statement() = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(statement_); }

  int prepare(sqlite3* database, std::string_view sql) {
    return sqlite3_prepare_v3(database, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                              &statement_, nullptr);
  }
  sqlite3_stmt* get() const { return statement_; }

 private:
  sqlite3_stmt* statement_ = nullptr;
};

// Resets and clears bindings when a statement's use ends, on every path.
class Use {
 public:
  explicit Use(const Statement& statement) : statement_(statement.get()) {}
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  ~Use() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }

  int bind(int index, std::string_view text) {
    return sqlite3_bind_text(statement_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  int bind(int index, std::int64_t value) { return sqlite3_bind_int64(statement_, index, value); }
  int bind(int index, std::optional<std::int64_t> value) {
    return value ? bind(index, *value) : sqlite3_bind_null(statement_, index);
  }
  int bind_null(int index) { return sqlite3_bind_null(statement_, index); }
  int step() { return sqlite3_step(statement_); }

  std::string text(int column) const {
    const auto* bytes = sqlite3_column_text(statement_, column);
    return bytes ? std::string(reinterpret_cast<const char*>(bytes),
                               static_cast<std::size_t>(sqlite3_column_bytes(statement_, column)))
                 : std::string();
  }
  std::int64_t integer(int column) const { return sqlite3_column_int64(statement_, column); }
  std::optional<std::int64_t> optional_integer(int column) const {
    if (sqlite3_column_type(statement_, column) == SQLITE_NULL) return std::nullopt;
    return integer(column);
  }

 private:
  sqlite3_stmt* statement_;
};

constexpr std::string_view call_columns =
    "id, line, box, port, direction, number, number_absence, name, state, outcome, started_at, answered_at, "
    "ended_at";

CallRecord read_call(const Use& row) {
  CallRecord call;
  call.id = row.text(0);
  call.line = row.text(1);
  call.box = row.text(2);
  call.port = static_cast<int>(row.integer(3));
  call.direction = row.text(4);
  call.number = row.text(5);
  if (const auto absence = row.text(6); absence.size() == 1) call.number_absence = absence[0];
  call.name = row.text(7);
  call.state = row.text(8);
  call.outcome = row.text(9);
  call.started_at = row.integer(10);
  call.answered_at = row.optional_integer(11);
  call.ended_at = row.optional_integer(12);
  return call;
}

// Binds the 13 call columns as parameters ?1..?13, in call_columns order.
int bind_call(Use& use, const CallRecord& call) {
  const std::string absence = call.number_absence ? std::string(1, *call.number_absence) : std::string();
  const int results[] = {
      use.bind(1, call.id),
      use.bind(2, call.line),
      use.bind(3, call.box),
      use.bind(4, std::int64_t{call.port}),
      use.bind(5, call.direction),
      use.bind(6, call.number),
      call.number_absence ? use.bind(7, absence) : use.bind_null(7),
      use.bind(8, call.name),
      use.bind(9, call.state),
      // An active call has no outcome yet: NULL, so SQL readers need not know our "".
      call.outcome.empty() ? use.bind_null(10) : use.bind(10, call.outcome),
      use.bind(11, std::int64_t{call.started_at}),
      use.bind(12, call.answered_at),
      use.bind(13, call.ended_at),
  };
  for (int result : results)
    if (result != SQLITE_OK) return result;
  return SQLITE_OK;
}

int execute(sqlite3* database, const char* sql, std::string& message) {
  char* error = nullptr;
  const int result = sqlite3_exec(database, sql, nullptr, nullptr, &error);
  if (result != SQLITE_OK) message = error ? error : sqlite3_errmsg(database);
  sqlite3_free(error);
  return result;
}

int read_user_version(sqlite3* database, int& version) {
  sqlite3_stmt* statement = nullptr;
  int result = sqlite3_prepare_v2(database, "PRAGMA user_version", -1, &statement, nullptr);
  if (result == SQLITE_OK) {
    result = sqlite3_step(statement);
    if (result == SQLITE_ROW) {
      version = sqlite3_column_int(statement, 0);
      result = SQLITE_OK;
    }
  }
  sqlite3_finalize(statement);
  return result;
}

}  // namespace

const std::error_category& sqlite_category() {
  static const SqliteCategory category;
  return category;
}

const std::error_category& store_category() {
  static const StoreCategory category;
  return category;
}

std::error_code make_error_code(StoreError error) { return {static_cast<int>(error), store_category()}; }

struct Store::Statements {
  Statement insert_call, update_call, add_event, list_calls, find_call, call_events, active_calls;
};

Store::Store(sqlite3* database, bool read_only)
    : database_(database), read_only_(read_only), statements_(std::make_unique<Statements>()) {}

Store::~Store() {
  statements_.reset();  // statements must be finalised before the connection closes
  sqlite3_close_v2(database_);
}

Store::Store(Store&& other) noexcept
    : database_(std::exchange(other.database_, nullptr)),
      read_only_(other.read_only_),
      statements_(std::move(other.statements_)),
      last_error_message_(std::move(other.last_error_message_)) {}

Store& Store::operator=(Store&& other) noexcept {
  if (this != &other) {
    statements_.reset();
    sqlite3_close_v2(database_);
    database_ = std::exchange(other.database_, nullptr);
    read_only_ = other.read_only_;
    statements_ = std::move(other.statements_);
    last_error_message_ = std::move(other.last_error_message_);
  }
  return *this;
}

int Store::latest_schema_version() { return static_cast<int>(migrations.size()); }

std::unique_ptr<Store> Store::open(const std::filesystem::path& path, std::error_code& error, bool read_only,
                                   std::string* error_message) {
  std::string message;
  auto refuse = [&](std::error_code code, std::string text) -> std::unique_ptr<Store> {
    error = code;
    if (error_message) *error_message = fmt::format("{}: {}", path.string(), text);
    return nullptr;
  };

  // SQLite would create a missing file even for a reader that cannot use it.
  std::error_code exists_error;
  if (read_only && !std::filesystem::exists(path, exists_error) && !exists_error)
    return refuse(StoreError::database_missing, "database does not exist (desklined creates it at first start)");

  sqlite3* database = nullptr;
  const int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int result = sqlite3_open_v2(path.c_str(), &database, flags, nullptr);
  if (result != SQLITE_OK) {
    const std::string text = database ? sqlite3_errmsg(database) : sqlite3_errstr(result);
    sqlite3_close_v2(database);
    return refuse(sqlite_error(result), "cannot open: " + text);
  }
  std::unique_ptr<Store> store(new Store(database, read_only));
  sqlite3_extended_result_codes(database, 1);
  sqlite3_busy_timeout(database, busy_timeout_ms);

  auto sqlite_failure = [&](int code, std::string_view context) {
    return refuse(sqlite_error(code), fmt::format("{}: {}", context, message.empty() ? sqlite3_errmsg(database)
                                                                                     : message));
  };

  // Foreign keys are per connection and off by default in SQLite.
  if ((result = execute(database, "PRAGMA foreign_keys = ON", message)) != SQLITE_OK)
    return sqlite_failure(result, "cannot enable foreign keys");

  int version = 0;
  if ((result = read_user_version(database, version)) != SQLITE_OK)
    return sqlite_failure(result, "cannot read schema version (is it a SQLite database?)");
  if (version > latest_schema_version())
    return refuse(StoreError::schema_too_new,
                  fmt::format("database schema version {} is newer than this deskline supports ({}); upgrade "
                              "deskline (databases are never downgraded)",
                              version, latest_schema_version()));

  if (read_only) {
    if (version < latest_schema_version())
      return refuse(StoreError::schema_too_old,
                    fmt::format("database schema version {} is older than {}; start desklined once to migrate it",
                                version, latest_schema_version()));
  } else {
    // WAL lets the CLI read while the daemon writes; NORMAL is durable in WAL
    // mode except for the last transactions on power loss, never corrupt.
    sqlite3_stmt* statement = nullptr;
    result = sqlite3_prepare_v2(database, "PRAGMA journal_mode = WAL", -1, &statement, nullptr);
    std::string mode;
    if (result == SQLITE_OK && (result = sqlite3_step(statement)) == SQLITE_ROW) {
      mode = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
      result = SQLITE_OK;
    }
    sqlite3_finalize(statement);
    if (result != SQLITE_OK) return sqlite_failure(result, "cannot switch to WAL");
    if (mode != "wal") return refuse(sqlite_error(SQLITE_CANTOPEN), "journal mode is " + mode + ", not wal");
    if ((result = execute(database, "PRAGMA synchronous = NORMAL", message)) != SQLITE_OK)
      return sqlite_failure(result, "cannot set synchronous");

    // One transaction per migration; the version is re-read inside it so two
    // processes opening a new file at once do not both apply a migration.
    for (int next = version + 1; next <= latest_schema_version(); ++next) {
      if ((result = execute(database, "BEGIN IMMEDIATE", message)) != SQLITE_OK)
        return sqlite_failure(result, "cannot start migration");
      int current = 0;
      if ((result = read_user_version(database, current)) != SQLITE_OK) {
        std::string ignored;
        execute(database, "ROLLBACK", ignored);
        return sqlite_failure(result, "cannot read schema version");
      }
      if (current >= next) {
        execute(database, "COMMIT", message);
        continue;
      }
      const std::string script =
          fmt::format("{}\nPRAGMA user_version = {};", migrations[static_cast<std::size_t>(next - 1)], next);
      if ((result = execute(database, script.c_str(), message)) != SQLITE_OK ||
          (result = execute(database, "COMMIT", message)) != SQLITE_OK) {
        const std::string failure = message;
        std::string ignored;
        execute(database, "ROLLBACK", ignored);
        message = failure;
        return sqlite_failure(result, fmt::format("migration {} failed", next));
      }
    }
  }

  auto& statements = *store->statements_;
  const std::array<std::pair<Statement*, std::string>, 7> sql = {{
      {&statements.insert_call,
       fmt::format("INSERT INTO calls ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                   call_columns)},
      {&statements.update_call,
       "UPDATE calls SET line = ?2, box = ?3, port = ?4, direction = ?5, number = ?6, number_absence = ?7, "
       "name = ?8, state = ?9, outcome = ?10, started_at = ?11, answered_at = ?12, ended_at = ?13 WHERE id = ?1"},
      {&statements.add_event, "INSERT INTO call_events (call_id, at, type, detail) VALUES (?1, ?2, ?3, ?4)"},
      // rowid breaks ties so calls started in the same microsecond keep insertion order.
      {&statements.list_calls,
       fmt::format("SELECT {} FROM calls ORDER BY started_at DESC, rowid DESC LIMIT ?1", call_columns)},
      {&statements.find_call, fmt::format("SELECT {} FROM calls WHERE id = ?1", call_columns)},
      {&statements.call_events,
       "SELECT call_id, at, type, detail FROM call_events WHERE call_id = ?1 ORDER BY at, id"},
      {&statements.active_calls,
       fmt::format("SELECT {} FROM calls WHERE state = 'active' ORDER BY started_at, rowid", call_columns)},
  }};
  for (const auto& [statement, text] : sql) {
    message.clear();
    if ((result = statement->prepare(database, text)) != SQLITE_OK)
      return sqlite_failure(result, "cannot prepare statement");
  }
  error.clear();
  return store;
}

int Store::schema_version() const {
  int version = 0;
  read_user_version(database_, version);
  return version;
}

std::error_code Store::fail(int result, const char* context) const {
  last_error_message_ = fmt::format("{}: {}", context, sqlite3_errmsg(database_));
  return sqlite_error(result);
}

std::error_code Store::fail(StoreError error, std::string message) const {
  last_error_message_ = std::move(message);
  return error;
}

std::error_code Store::insert_call(const CallRecord& call) {
  Use use(statements_->insert_call);
  if (int result = bind_call(use, call); result != SQLITE_OK) return fail(result, "insert call");
  if (int result = use.step(); result != SQLITE_DONE)
    return fail(result, fmt::format("insert call {}", call.id).c_str());
  return {};
}

std::error_code Store::update_call(const CallRecord& call) {
  Use use(statements_->update_call);
  if (int result = bind_call(use, call); result != SQLITE_OK) return fail(result, "update call");
  if (int result = use.step(); result != SQLITE_DONE)
    return fail(result, fmt::format("update call {}", call.id).c_str());
  if (sqlite3_changes(database_) == 0)
    return fail(StoreError::no_such_call, fmt::format("update call {}: no call with this id", call.id));
  return {};
}

std::error_code Store::add_event(const CallEventRecord& event) {
  Use use(statements_->add_event);
  int result = use.bind(1, event.call_id);
  if (result == SQLITE_OK) result = use.bind(2, static_cast<std::int64_t>(event.at));
  if (result == SQLITE_OK) result = use.bind(3, event.type);
  if (result == SQLITE_OK) result = use.bind(4, event.detail.empty() ? std::string_view("{}") : event.detail);
  if (result != SQLITE_OK) return fail(result, "add event");
  if ((result = use.step()) != SQLITE_DONE)
    return fail(result, fmt::format("add {} event to call {}", event.type, event.call_id).c_str());
  return {};
}

std::vector<CallRecord> Store::list_calls(std::size_t limit, std::error_code& error) const {
  std::vector<CallRecord> calls;
  Use use(statements_->list_calls);
  // A negative LIMIT means no limit in SQLite.
  const auto sql_limit = limit == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(limit);
  int result = use.bind(1, sql_limit);
  while (result == SQLITE_OK && (result = use.step()) == SQLITE_ROW) {
    calls.push_back(read_call(use));
    result = SQLITE_OK;
  }
  error = result == SQLITE_DONE ? std::error_code() : fail(result, "list calls");
  if (error) calls.clear();
  return calls;
}

std::optional<CallRecord> Store::find_call(const std::string& id, std::error_code& error) const {
  Use use(statements_->find_call);
  int result = use.bind(1, id);
  if (result == SQLITE_OK) result = use.step();
  error.clear();
  if (result == SQLITE_ROW) return read_call(use);
  if (result != SQLITE_DONE) error = fail(result, "find call");
  return std::nullopt;
}

std::vector<CallEventRecord> Store::call_events(const std::string& call_id, std::error_code& error) const {
  std::vector<CallEventRecord> events;
  Use use(statements_->call_events);
  int result = use.bind(1, call_id);
  while (result == SQLITE_OK && (result = use.step()) == SQLITE_ROW) {
    events.push_back({use.text(0), use.integer(1), use.text(2), use.text(3)});
    result = SQLITE_OK;
  }
  error = result == SQLITE_DONE ? std::error_code() : fail(result, "list call events");
  if (error) events.clear();
  return events;
}

std::vector<CallRecord> Store::active_calls(std::error_code& error) const {
  std::vector<CallRecord> calls;
  Use use(statements_->active_calls);
  int result = SQLITE_OK;
  while ((result = use.step()) == SQLITE_ROW) calls.push_back(read_call(use));
  error = result == SQLITE_DONE ? std::error_code() : fail(result, "list active calls");
  if (error) calls.clear();
  return calls;
}

}  // namespace deskline::daemon
