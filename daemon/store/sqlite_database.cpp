#include "daemon/store/sqlite_database.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <fmt/format.h>

#include "daemon/store/store.hpp"

namespace deskline::daemon::sqlite {

Statement::~Statement() { sqlite3_finalize(statement_); }

int Statement::prepare(sqlite3* database, std::string_view sql) {
  sqlite3_finalize(statement_);
  statement_ = nullptr;
  return sqlite3_prepare_v3(database, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                            &statement_, nullptr);
}

Use::~Use() {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

int Use::bind(int index, std::string_view text) {
  return sqlite3_bind_text(statement_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}
int Use::bind(int index, std::int64_t value) { return sqlite3_bind_int64(statement_, index, value); }
int Use::bind(int index, std::optional<std::int64_t> value) {
  return value ? bind(index, *value) : sqlite3_bind_null(statement_, index);
}
int Use::bind_null(int index) { return sqlite3_bind_null(statement_, index); }
int Use::step() { return sqlite3_step(statement_); }

std::string_view Use::text_view(int column) const {
  const auto* bytes = sqlite3_column_text(statement_, column);
  if (!bytes) return {};
  return {reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(sqlite3_column_bytes(statement_, column))};
}
std::string Use::text(int column) const { return std::string(text_view(column)); }
std::int64_t Use::integer(int column) const { return sqlite3_column_int64(statement_, column); }
std::optional<std::int64_t> Use::optional_integer(int column) const {
  if (is_null(column)) return std::nullopt;
  return integer(column);
}
bool Use::is_null(int column) const { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }
std::string_view Use::column_name(int column) const {
  const char* name = sqlite3_column_name(statement_, column);
  return name ? name : "";
}

Error failure(sqlite3* database, int result, std::string_view context) {
  return {{result, sqlite_category()}, fmt::format("{}: {}", context, sqlite3_errmsg(database))};
}

Result<void> execute(sqlite3* database, const char* sql) {
  char* message = nullptr;
  const int result = sqlite3_exec(database, sql, nullptr, nullptr, &message);
  Result<void> done;
  if (result != SQLITE_OK) done = Error{{result, sqlite_category()}, message ? message : sqlite3_errmsg(database)};
  sqlite3_free(message);
  return done;
}

Result<int> read_user_version(sqlite3* database) {
  sqlite3_stmt* statement = nullptr;
  int result = sqlite3_prepare_v2(database, "PRAGMA user_version", -1, &statement, nullptr);
  int version = 0;
  if (result == SQLITE_OK) {
    result = sqlite3_step(statement);
    if (result == SQLITE_ROW) {
      version = sqlite3_column_int(statement, 0);
      result = SQLITE_OK;
    }
  }
  // The message before finalize, which would reset it.
  Error error{{result, sqlite_category()}, sqlite3_errmsg(database)};
  sqlite3_finalize(statement);
  if (result != SQLITE_OK) return error;
  return version;
}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    sqlite3_close_v2(database);
    database = std::exchange(other.database, nullptr);
  }
  return *this;
}

Connection::~Connection() { sqlite3_close_v2(database); }

Result<Connection> open_database(const std::filesystem::path& path, bool read_only,
                                 std::span<const std::string_view> migrations, std::string_view writer) {
  const int latest = static_cast<int>(migrations.size());
  auto refuse = [&](std::error_code code, std::string_view text) {
    return Error{code, fmt::format("{}: {}", path.string(), text)};
  };
  // A step that failed: its code, and SQLite's message after what was being done.
  auto failed = [&](const Error& error, std::string_view context) {
    return refuse(error.code, fmt::format("{}: {}", context, error.message()));
  };

  // SQLite would create a missing file even for a reader that cannot use it.
  std::error_code exists_error;
  if (read_only && !std::filesystem::exists(path, exists_error) && !exists_error)
    return refuse(StoreError::database_missing, fmt::format("database does not exist ({} creates it)", writer));

  Connection connection;
  const int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int result = sqlite3_open_v2(path.c_str(), &connection.database, flags, nullptr);
  if (result != SQLITE_OK) {
    const std::string text = connection.database ? sqlite3_errmsg(connection.database) : sqlite3_errstr(result);
    return refuse({result, sqlite_category()}, "cannot open: " + text);
  }
  sqlite3* database = connection.database;
  // SQLite falls back to read-only when the file cannot be written; a writer
  // would then lose every change, one error at a time, after starting fine.
  if (!read_only && sqlite3_db_readonly(database, "main") == 1)
    return refuse(StoreError::database_read_only,
                  fmt::format("the database is read-only for this user (uid {}): check the owner and mode of the "
                              "file and its folder; {} writes every call there",
                              ::geteuid(), writer));
  sqlite3_extended_result_codes(database, 1);
  sqlite3_busy_timeout(database, busy_timeout_ms);

  // Foreign keys are per connection and off by default in SQLite.
  if (auto enabled = execute(database, "PRAGMA foreign_keys = ON"); !enabled)
    return failed(enabled.error(), "cannot enable foreign keys");

  const auto version = read_user_version(database);
  if (!version) return failed(version.error(), "cannot read schema version (is it a SQLite database?)");
  if (*version > latest)
    return refuse(StoreError::schema_too_new,
                  fmt::format("database schema version {} is newer than this deskline supports ({}); upgrade "
                              "deskline (databases are never downgraded)",
                              *version, latest));
  if (read_only) {
    if (*version < latest)
      return refuse(StoreError::schema_too_old,
                    fmt::format("database schema version {} is older than {}; run {} once to migrate it", *version,
                                latest, writer));
    return connection;
  }

  // WAL lets readers (the CLI, the daemon) run while a writer imports.
  sqlite3_stmt* statement = nullptr;
  result = sqlite3_prepare_v2(database, "PRAGMA journal_mode = WAL", -1, &statement, nullptr);
  std::string mode;
  if (result == SQLITE_OK && (result = sqlite3_step(statement)) == SQLITE_ROW) {
    mode = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
    result = SQLITE_OK;
  }
  sqlite3_finalize(statement);
  if (result != SQLITE_OK)
    return refuse({result, sqlite_category()}, fmt::format("cannot switch to WAL: {}", sqlite3_errmsg(database)));
  if (mode != "wal") return refuse({SQLITE_CANTOPEN, sqlite_category()}, "journal mode is " + mode + ", not wal");
  if (auto set = execute(database, "PRAGMA synchronous = NORMAL"); !set)
    return failed(set.error(), "cannot set synchronous");

  // One transaction per migration; the version is re-read inside it so two
  // processes opening a new file at once do not both apply a migration.
  for (int next = *version + 1; next <= latest; ++next) {
    if (auto begun = execute(database, "BEGIN IMMEDIATE"); !begun)
      return failed(begun.error(), "cannot start migration");
    const auto current = read_user_version(database);
    if (!current) {
      (void)execute(database, "ROLLBACK");
      return failed(current.error(), "cannot read schema version");
    }
    if (*current >= next) {
      (void)execute(database, "COMMIT");
      continue;
    }
    const std::string script =
        fmt::format("{}\nPRAGMA user_version = {};", migrations[static_cast<std::size_t>(next - 1)], next);
    auto applied = execute(database, script.c_str());
    if (applied) applied = execute(database, "COMMIT");
    if (!applied) {
      (void)execute(database, "ROLLBACK");
      return failed(applied.error(), fmt::format("migration {} failed", next));
    }
  }
  return connection;
}

}  // namespace deskline::daemon::sqlite
