#include "daemon/store/store.hpp"

#include <sqlite3.h>

#include <array>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "daemon/store/sqlite_database.hpp"
#include "daemon/store/wal_checkpointer.hpp"

namespace deskline::daemon {
namespace {

using sqlite::failure;
using sqlite::read_rows;
using sqlite::Statement;
using sqlite::Use;

// ---- schema ------------------------------------------------------------------

// Migration n brings user_version from n-1 to n. Append only: a released
// migration is never edited, since databases in the field already ran it.
constexpr std::array<std::string_view, 9> migrations = {
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
    // 2: recordings, one per call at most.
    R"sql(
CREATE TABLE recordings (
  call_id     TEXT PRIMARY KEY NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
  path        TEXT NOT NULL,          -- '' when no file was made (refused)
  state       TEXT NOT NULL,          -- recording, complete, truncated, refused, failed, repaired, damaged
  started_at  INTEGER NOT NULL,       -- microseconds since the Unix epoch: the first sample
  duration_ms INTEGER NOT NULL DEFAULT 0,
  bytes       INTEGER NOT NULL DEFAULT 0,
  sha256      TEXT NOT NULL DEFAULT '',
  error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX recordings_started_at ON recordings (started_at);
CREATE INDEX recordings_unfinished ON recordings (state) WHERE state = 'recording';
)sql",
    // 3: direction 'unknown', for calls joined in progress after a daemon
    // restart. SQLite cannot change a CHECK in place; a new column keeps the
    // rows (rebuilding the table would cascade-delete their events).
    R"sql(
ALTER TABLE calls ADD COLUMN direction_3 TEXT NOT NULL DEFAULT 'unknown'
  CHECK (direction_3 IN ('inbound', 'outbound', 'unknown'));
UPDATE calls SET direction_3 = direction;
ALTER TABLE calls DROP COLUMN direction;
ALTER TABLE calls RENAME COLUMN direction_3 TO direction;
)sql",
    // 4: end_reason, what ended a call (NULL while active). Calls ended
    // before it get the reason their outcome implies; an interrupted call's
    // (shutdown or restart) is not known and stays NULL.
    R"sql(
ALTER TABLE calls ADD COLUMN end_reason TEXT;
UPDATE calls SET end_reason = CASE outcome
  WHEN 'answered' THEN 'on_hook'
  WHEN 'completed' THEN 'on_hook'
  WHEN 'abandoned' THEN 'on_hook'
  WHEN 'missed' THEN 'ring_timeout'
  WHEN 'remote_hangup' THEN 'hangup_tone'
  WHEN 'device_lost' THEN 'device_lost'
END WHERE state = 'ended';
)sql",
    // 5: the pop event stream (proto/pop.md): every event published, so that
    // seq goes on across daemon restarts and clients resume from here. The
    // stream id, a random UUID made once per database, tells clients which
    // stream a seq belongs to. No foreign key on call_id: a call's row is
    // written after its pop.
    R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('pop_stream_id', lower(
  hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' ||
  substr('89ab', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))));
CREATE TABLE pop_events (
  seq          INTEGER PRIMARY KEY NOT NULL CHECK (seq >= 1),
  call_id      TEXT,               -- NULL for device events
  published_at INTEGER NOT NULL,   -- microseconds since the Unix epoch
  event        TEXT NOT NULL       -- the JSON object sent to clients
);
)sql",
    // 6: what the call's pop showed, kept with the call so its CRM entry goes
    // to the customer the desk user saw: the line's desk user, the number's
    // E.164 form and display, the matched customers (a JSON array of
    // {id, name, company, url}, best first). Older calls have none.
    R"sql(
ALTER TABLE calls ADD COLUMN user TEXT NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN number_e164 TEXT NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN number_display TEXT NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN customers TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(customers));
UPDATE calls SET number_display = number;
)sql",
    // 7: the CRM outbox (proto/crm.md). One item per call entry and per
    // recording, queued by these triggers in the transaction that ends the
    // call or completes the recording, so nothing is lost in between; only
    // while meta crm_outbox is 'on' (the daemon sets it from [crm] url).
    // revision grows with every change to send; sent_revision is the newest
    // the CRM acknowledged. A call's recording completing changes its entry.
    R"sql(
CREATE TABLE crm_outbox (
  call_id          TEXT NOT NULL,
  kind             TEXT NOT NULL CHECK (kind IN ('call', 'recording')),
  revision         INTEGER NOT NULL DEFAULT 1,
  sent_revision    INTEGER NOT NULL DEFAULT 0,
  state            TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'parked')),
  queued_at        INTEGER NOT NULL,           -- microseconds since the Unix epoch
  next_at          INTEGER NOT NULL,           -- not tried before this
  attempts         INTEGER NOT NULL DEFAULT 0, -- failures since the last success or retry
  body             TEXT NOT NULL DEFAULT '',   -- a call entry as sent for body_revision:
  body_revision    INTEGER NOT NULL DEFAULT 0, -- retries send the same bytes
  last_status      INTEGER,                    -- HTTP status of the last failure; NULL: none or no answer
  last_error       TEXT NOT NULL DEFAULT '',
  last_attempt_at  INTEGER,
  done_at          INTEGER,
  confirmed_sha256 TEXT NOT NULL DEFAULT '',   -- recordings: the digest the CRM answered
  PRIMARY KEY (call_id, kind)
) WITHOUT ROWID;
CREATE INDEX crm_outbox_due ON crm_outbox (state, next_at);
INSERT INTO meta (key, value) VALUES ('crm_outbox', 'off');
-- Queues (call_id, kind): a new item, or the next revision of a queued one.
CREATE VIEW crm_queue (call_id, kind) AS SELECT call_id, kind FROM crm_outbox;
CREATE TRIGGER crm_queue_item INSTEAD OF INSERT ON crm_queue
BEGIN
  INSERT INTO crm_outbox (call_id, kind, queued_at, next_at)
    VALUES (NEW.call_id, NEW.kind, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER),
            CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER))
    ON CONFLICT (call_id, kind) DO UPDATE SET revision = revision + 1, state = 'pending', attempts = 0,
      next_at = excluded.next_at;
END;
CREATE TRIGGER crm_queue_ended_call AFTER UPDATE ON calls
WHEN NEW.state = 'ended' AND (SELECT value FROM meta WHERE key = 'crm_outbox') = 'on' AND (
  OLD.state IS NOT NEW.state OR OLD.outcome IS NOT NEW.outcome OR OLD.end_reason IS NOT NEW.end_reason OR
  OLD.line IS NOT NEW.line OR OLD.user IS NOT NEW.user OR OLD.direction IS NOT NEW.direction OR
  OLD.number IS NOT NEW.number OR OLD.number_absence IS NOT NEW.number_absence OR OLD.name IS NOT NEW.name OR
  OLD.number_e164 IS NOT NEW.number_e164 OR OLD.number_display IS NOT NEW.number_display OR
  OLD.customers IS NOT NEW.customers OR OLD.started_at IS NOT NEW.started_at OR
  OLD.answered_at IS NOT NEW.answered_at OR OLD.ended_at IS NOT NEW.ended_at)
BEGIN
  INSERT INTO crm_queue VALUES (NEW.id, 'call');
END;
CREATE TRIGGER crm_queue_inserted_call AFTER INSERT ON calls
WHEN NEW.state = 'ended' AND (SELECT value FROM meta WHERE key = 'crm_outbox') = 'on'
BEGIN
  INSERT INTO crm_queue VALUES (NEW.id, 'call');
END;
CREATE TRIGGER crm_queue_recording AFTER UPDATE ON recordings
WHEN NEW.state IN ('complete', 'truncated', 'repaired') AND NEW.path != '' AND
  (OLD.state IS NOT NEW.state OR OLD.sha256 IS NOT NEW.sha256) AND
  (SELECT value FROM meta WHERE key = 'crm_outbox') = 'on'
BEGIN
  INSERT INTO crm_queue VALUES (NEW.call_id, 'recording'), (NEW.call_id, 'call');
END;
CREATE TRIGGER crm_queue_inserted_recording AFTER INSERT ON recordings
WHEN NEW.state IN ('complete', 'truncated', 'repaired') AND NEW.path != '' AND
  (SELECT value FROM meta WHERE key = 'crm_outbox') = 'on'
BEGIN
  INSERT INTO crm_queue VALUES (NEW.call_id, 'recording'), (NEW.call_id, 'call');
END;
)sql",
    // 8: the pull API (proto/http.md). call_changes is the change feed: a
    // call's row holds the seq of its newest change (its insert, an update
    // of any column, its recording's row), moved up by these triggers in the
    // writing transaction; AUTOINCREMENT never hands a seq out twice, so the
    // feed only grows, across restarts. call_customers indexes the matched
    // customers of calls.customers. The indexes serve the filters and
    // (started_at, id) pages without scanning the table.
    R"sql(
CREATE TABLE call_changes (
  seq     INTEGER PRIMARY KEY AUTOINCREMENT,
  call_id TEXT NOT NULL UNIQUE
);
INSERT INTO call_changes (call_id) SELECT id FROM calls ORDER BY started_at, rowid;
CREATE TRIGGER call_changes_inserted_call AFTER INSERT ON calls
BEGIN
  DELETE FROM call_changes WHERE call_id = NEW.id;
  INSERT INTO call_changes (call_id) VALUES (NEW.id);
END;
CREATE TRIGGER call_changes_updated_call AFTER UPDATE ON calls
WHEN OLD.id IS NOT NEW.id OR OLD.line IS NOT NEW.line OR OLD.box IS NOT NEW.box OR OLD.port IS NOT NEW.port OR
  OLD.direction IS NOT NEW.direction OR OLD.number IS NOT NEW.number OR
  OLD.number_absence IS NOT NEW.number_absence OR OLD.name IS NOT NEW.name OR OLD.state IS NOT NEW.state OR
  OLD.outcome IS NOT NEW.outcome OR OLD.end_reason IS NOT NEW.end_reason OR OLD.started_at IS NOT NEW.started_at OR
  OLD.answered_at IS NOT NEW.answered_at OR OLD.ended_at IS NOT NEW.ended_at OR OLD.user IS NOT NEW.user OR
  OLD.number_e164 IS NOT NEW.number_e164 OR OLD.number_display IS NOT NEW.number_display OR
  OLD.customers IS NOT NEW.customers
BEGIN
  DELETE FROM call_changes WHERE call_id = NEW.id;
  INSERT INTO call_changes (call_id) VALUES (NEW.id);
END;
CREATE TRIGGER call_changes_inserted_recording AFTER INSERT ON recordings
BEGIN
  DELETE FROM call_changes WHERE call_id = NEW.call_id;
  INSERT INTO call_changes (call_id) VALUES (NEW.call_id);
END;
CREATE TRIGGER call_changes_updated_recording AFTER UPDATE ON recordings
WHEN OLD.path IS NOT NEW.path OR OLD.state IS NOT NEW.state OR OLD.duration_ms IS NOT NEW.duration_ms OR
  OLD.bytes IS NOT NEW.bytes OR OLD.sha256 IS NOT NEW.sha256
BEGIN
  DELETE FROM call_changes WHERE call_id = NEW.call_id;
  INSERT INTO call_changes (call_id) VALUES (NEW.call_id);
END;
CREATE TABLE call_customers (
  customer_id TEXT NOT NULL,
  call_id     TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
  PRIMARY KEY (customer_id, call_id)
) WITHOUT ROWID;
CREATE INDEX call_customers_call_id ON call_customers (call_id);
INSERT OR IGNORE INTO call_customers (customer_id, call_id)
  SELECT json_extract(customer.value, '$.id'), calls.id FROM calls, json_each(calls.customers) AS customer
  WHERE json_type(customer.value, '$.id') = 'text';
CREATE TRIGGER call_customers_inserted_call AFTER INSERT ON calls
BEGIN
  INSERT OR IGNORE INTO call_customers (customer_id, call_id)
    SELECT json_extract(customer.value, '$.id'), NEW.id FROM json_each(NEW.customers) AS customer
    WHERE json_type(customer.value, '$.id') = 'text';
END;
CREATE TRIGGER call_customers_updated_call AFTER UPDATE OF customers ON calls
WHEN OLD.customers IS NOT NEW.customers
BEGIN
  DELETE FROM call_customers WHERE call_id = NEW.id;
  INSERT OR IGNORE INTO call_customers (customer_id, call_id)
    SELECT json_extract(customer.value, '$.id'), NEW.id FROM json_each(NEW.customers) AS customer
    WHERE json_type(customer.value, '$.id') = 'text';
END;
CREATE INDEX calls_started_at_id ON calls (started_at, id);
CREATE INDEX calls_line ON calls (line, started_at, id);
CREATE INDEX calls_number ON calls (number, started_at, id);
CREATE INDEX calls_number_e164 ON calls (number_e164, started_at, id);
CREATE INDEX calls_direction ON calls (direction, started_at, id);
CREATE INDEX calls_outcome ON calls (outcome, started_at, id);
)sql",
    // 9: the sync reads due items in (next_at, queued_at) order a few at a
    // time. With only (state, next_at) indexed, SQLite sorted every due item
    // for each read, and a released backlog shares one next_at: a drain of n
    // items cost n sorts of up to n rows (BENCHMARKS.md, draining a backlog).
    R"sql(
DROP INDEX crm_outbox_due;
CREATE INDEX crm_outbox_due ON crm_outbox (state, next_at, queued_at);
)sql",
};

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
      case StoreError::invalid_row: return "database holds a value this deskline does not know";
      case StoreError::database_read_only: return "database is read-only for this user";
    }
    return "unknown store error";
  }
};

std::error_code sqlite_error(int result) { return {result, sqlite_category()}; }

constexpr std::string_view call_columns =
    "id, line, box, port, direction, number, number_absence, name, state, outcome, end_reason, started_at, "
    "answered_at, ended_at, user, number_e164, number_display, customers";

// call_columns with every name qualified by the calls table's alias.
std::string qualified_call_columns(std::string_view alias) {
  std::string columns;
  std::string_view rest = call_columns;
  while (!rest.empty()) {
    const auto comma = rest.find(", ");
    columns += fmt::format("{}{}.{}", columns.empty() ? "" : ", ", alias, rest.substr(0, comma));
    rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 2);
  }
  return columns;
}


// The customers of a match as the calls row keeps them: a JSON array.
std::string customers_json(const std::vector<CustomerRef>& customers) {
  auto array = nlohmann::json::array();
  for (const auto& customer : customers)
    array.push_back(
        {{"id", customer.id}, {"name", customer.name}, {"company", customer.company}, {"url", customer.url}});
  return array.dump();
}

std::optional<std::vector<CustomerRef>> parse_customers(std::string_view text) {
  const auto array = nlohmann::json::parse(text, nullptr, false);
  if (!array.is_array()) return std::nullopt;
  std::vector<CustomerRef> customers;
  for (const auto& entry : array) {
    if (!entry.is_object()) return std::nullopt;
    customers.push_back({entry.value("id", ""), entry.value("name", ""), entry.value("company", ""),
                         entry.value("url", "")});
  }
  return customers;
}

// Words in a row that this deskline does not know (a newer one wrote them,
// or a person edited the file) make the row an error, never a guess.
template <typename Enum>
Result<Enum> read_word(const Use& row, int column, std::optional<Enum> (*parse)(std::string_view)) {
  const auto text = row.text_view(column);
  if (const auto value = parse(text)) return *value;
  return Error{StoreError::invalid_row, fmt::format("unknown {} '{}'", row.column_name(column), text)};
}

// NULL is none; any other text must be a known word.
template <typename Enum>
Result<std::optional<Enum>> read_optional_word(const Use& row, int column,
                                               std::optional<Enum> (*parse)(std::string_view)) {
  if (row.is_null(column)) return std::optional<Enum>();
  auto word = read_word(row, column, parse);
  if (!word) return word.error();
  return std::optional<Enum>(*word);
}

Result<CallRecord> read_call(const Use& row) {
  CallRecord call;
  call.id = row.text(0);
  call.line = row.text(1);
  call.box = row.text(2);
  call.port = static_cast<int>(row.integer(3));
  call.number = row.text(5);
  if (const auto absence = row.text(6); absence.size() == 1) call.number_absence = absence[0];
  call.name = row.text(7);
  call.started_at = row.integer(11);
  call.answered_at = row.optional_integer(12);
  call.ended_at = row.optional_integer(13);
  call.user = row.text(14);
  call.match.e164 = row.text(15);
  call.match.display = row.text(16);
  auto unreadable = [&](const Error& error) {
    return Error{error.code, fmt::format("call {}: {}", call.id, error.detail)};
  };
  const auto direction = read_word(row, 4, parse_direction);
  if (!direction) return unreadable(direction.error());
  call.direction = *direction;
  const auto state = read_word(row, 8, parse_call_state);
  if (!state) return unreadable(state.error());
  call.state = *state;
  const auto outcome = read_optional_word(row, 9, parse_outcome);
  if (!outcome) return unreadable(outcome.error());
  call.outcome = *outcome;
  const auto end_reason = read_optional_word(row, 10, parse_end_reason);
  if (!end_reason) return unreadable(end_reason.error());
  call.end_reason = *end_reason;
  auto customers = parse_customers(row.text(17));
  if (!customers) return unreadable(Error{StoreError::invalid_row, "customers is not an array of objects"});
  call.match.customers = std::move(*customers);
  return call;
}

// Binds the 18 call columns as parameters ?1..?18, in call_columns order.
int bind_call(Use& use, const CallRecord& call) {
  const std::string absence = call.number_absence ? std::string(1, *call.number_absence) : std::string();
  const int results[] = {
      use.bind(1, call.id),
      use.bind(2, call.line),
      use.bind(3, call.box),
      use.bind(4, std::int64_t{call.port}),
      use.bind(5, to_string(call.direction)),
      use.bind(6, call.number),
      call.number_absence ? use.bind(7, absence) : use.bind_null(7),
      use.bind(8, call.name),
      use.bind(9, to_string(call.state)),
      // An active call has no outcome or end reason yet: NULL.
      call.outcome ? use.bind(10, to_string(*call.outcome)) : use.bind_null(10),
      call.end_reason ? use.bind(11, to_string(*call.end_reason)) : use.bind_null(11),
      use.bind(12, std::int64_t{call.started_at}),
      use.bind(13, call.answered_at),
      use.bind(14, call.ended_at),
      use.bind(15, call.user),
      use.bind(16, call.match.e164),
      use.bind(17, call.match.display),
      use.bind(18, customers_json(call.match.customers)),
  };
  for (int result : results)
    if (result != SQLITE_OK) return result;
  return SQLITE_OK;
}

constexpr std::string_view recording_columns = "call_id, path, state, started_at, duration_ms, bytes, sha256, error";

Result<RecordingRecord> read_recording(const Use& row) {
  RecordingRecord recording;
  recording.call_id = row.text(0);
  recording.path = row.text(1);
  recording.started_at = row.integer(3);
  recording.duration_s = static_cast<double>(row.integer(4)) / 1000.0;
  recording.bytes = static_cast<std::uint64_t>(row.integer(5));
  recording.sha256 = row.text(6);
  recording.error = row.text(7);
  const auto state = read_word(row, 2, parse_recording_state);
  if (!state)
    return Error{state.error().code, fmt::format("recording of call {}: {}", recording.call_id, state.error().detail)};
  recording.state = *state;
  return recording;
}

int bind_recording(Use& use, const RecordingRecord& recording) {
  const int results[] = {
      use.bind(1, recording.call_id),
      use.bind(2, recording.path),
      use.bind(3, to_string(recording.state)),
      use.bind(4, std::int64_t{recording.started_at}),
      use.bind(5, static_cast<std::int64_t>(recording.duration_s * 1000.0 + 0.5)),
      use.bind(6, static_cast<std::int64_t>(recording.bytes)),
      use.bind(7, recording.sha256),
      use.bind(8, recording.error),
  };
  for (int result : results)
    if (result != SQLITE_OK) return result;
  return SQLITE_OK;
}

// A negative LIMIT means no limit in SQLite.
std::int64_t sql_limit(std::size_t limit) { return limit == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(limit); }

// The row a lookup by key finds, if any.
template <typename Record>
Result<std::optional<Record>> read_row(sqlite3* database, Use& use, int result, Result<Record> (*read)(const Use&),
                                       std::string_view context) {
  auto rows = read_rows(database, use, result, read, context);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<Record>();
  return std::optional<Record>(std::move(rows->front()));
}

// One more read-write connection to the database open on database, for
// work that needs its own (the pop events, the CRM outbox, the checkpoints).
Result<sqlite::Connection> another_connection(sqlite3* database) {
  return sqlite::open_database(sqlite3_db_filename(database, "main"), false, migrations, "desklined");
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
  Statement insert_call, update_call, add_event, list_calls, list_calls_before, list_calls_on_lines, find_call, call_events, active_calls, latest_call_on;
  Statement insert_recording, update_recording, list_recordings, find_recording, recordings_in_state;
  Statement recordings_after, changes_after, last_change_seq, recording_for_download;
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
      statements_(std::move(other.statements_)) {}

Store& Store::operator=(Store&& other) noexcept {
  if (this != &other) {
    statements_.reset();
    sqlite3_close_v2(database_);
    database_ = std::exchange(other.database_, nullptr);
    read_only_ = other.read_only_;
    statements_ = std::move(other.statements_);
  }
  return *this;
}

int Store::latest_schema_version() { return static_cast<int>(migrations.size()); }

Result<std::unique_ptr<Store>> Store::open(const std::filesystem::path& path, bool read_only) {
  auto connection = sqlite::open_database(path, read_only, migrations, "desklined");
  if (!connection) return connection.error();
  sqlite3* database = connection->database;
  std::unique_ptr<Store> store(new Store(connection->release(), read_only));

  auto& statements = *store->statements_;
  const std::array<std::pair<Statement*, std::string>, 19> sql = {{
      {&statements.insert_call,
       fmt::format("INSERT INTO calls ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
                   "?16, ?17, ?18)",
                   call_columns)},
      {&statements.update_call,
       "UPDATE calls SET line = ?2, box = ?3, port = ?4, direction = ?5, number = ?6, number_absence = ?7, "
       "name = ?8, state = ?9, outcome = ?10, end_reason = ?11, started_at = ?12, answered_at = ?13, ended_at = ?14, "
       "user = ?15, number_e164 = ?16, number_display = ?17, customers = ?18 WHERE id = ?1"},
      {&statements.add_event, "INSERT INTO call_events (call_id, at, type, detail) VALUES (?1, ?2, ?3, ?4)"},
      // rowid breaks ties so calls started in the same microsecond keep insertion order.
      {&statements.list_calls,
       fmt::format("SELECT {} FROM calls ORDER BY started_at DESC, rowid DESC LIMIT ?1", call_columns)},
      {&statements.list_calls_before,
       fmt::format("SELECT {} FROM calls WHERE (started_at, rowid) < (SELECT started_at, rowid FROM calls WHERE id = ?2) "
                   "ORDER BY started_at DESC, rowid DESC LIMIT ?1",
                   call_columns)},
      {&statements.list_calls_on_lines,
       fmt::format("SELECT {} FROM calls WHERE line IN (SELECT value FROM json_each(?2)) "
                   "ORDER BY started_at DESC, rowid DESC LIMIT ?1",
                   call_columns)},
      {&statements.find_call, fmt::format("SELECT {} FROM calls WHERE id = ?1", call_columns)},
      {&statements.call_events,
       "SELECT call_id, at, type, detail FROM call_events WHERE call_id = ?1 ORDER BY at, id"},
      {&statements.active_calls,
       fmt::format("SELECT {} FROM calls WHERE state = 'active' ORDER BY started_at, rowid", call_columns)},
      {&statements.latest_call_on,
       fmt::format("SELECT {} FROM calls WHERE box = ?1 AND port = ?2 ORDER BY started_at DESC, rowid DESC LIMIT 1",
                   call_columns)},
      {&statements.insert_recording,
       fmt::format("INSERT INTO recordings ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", recording_columns)},
      {&statements.update_recording,
       "UPDATE recordings SET path = ?2, state = ?3, started_at = ?4, duration_ms = ?5, bytes = ?6, sha256 = ?7, "
       "error = ?8 WHERE call_id = ?1"},
      {&statements.list_recordings,
       fmt::format("SELECT {} FROM recordings ORDER BY started_at DESC, rowid DESC LIMIT ?1", recording_columns)},
      {&statements.find_recording, fmt::format("SELECT {} FROM recordings WHERE call_id = ?1", recording_columns)},
      {&statements.recordings_in_state,
       fmt::format("SELECT {} FROM recordings WHERE state = ?1 ORDER BY started_at, rowid", recording_columns)},
      {&statements.recordings_after,
       fmt::format("SELECT {} FROM recordings WHERE call_id > ?1 ORDER BY call_id LIMIT ?2", recording_columns)},
      {&statements.changes_after,
       fmt::format("SELECT {}, ch.seq FROM call_changes AS ch JOIN calls AS c ON c.id = ch.call_id "
                   "WHERE ch.seq > ?1 ORDER BY ch.seq LIMIT ?2",
                   qualified_call_columns("c"))},
      {&statements.last_change_seq, "SELECT coalesce(max(seq), 0) FROM call_changes"},
      {&statements.recording_for_download, std::string(recording_for_download_sql())},
  }};
  for (const auto& [statement, text] : sql) {
    if (const int result = statement->prepare(database, text); result != SQLITE_OK)
      return Error{sqlite_error(result),
                   fmt::format("{}: cannot prepare statement: {}", path.string(), sqlite3_errmsg(database))};
  }
  return store;
}

Result<std::unique_ptr<PopEventLog>> Store::open_pop_event_log() const {
  auto connection = another_connection(database_);
  if (!connection) return connection.error();
  return PopEventLog::open(std::move(*connection));
}

Result<std::unique_ptr<Store>> Store::open_another() const {
  auto store = open(sqlite3_db_filename(database_, "main"));
  if (store && checkpoints_handed_over_) {
    WalCheckpointer::hand_over((*store)->database_);
    (*store)->checkpoints_handed_over_ = true;
  }
  return store;
}

Result<std::unique_ptr<CrmOutbox>> Store::open_crm_outbox() const {
  auto connection = another_connection(database_);
  if (!connection) return connection.error();
  if (checkpoints_handed_over_) WalCheckpointer::hand_over(connection->database);
  return CrmOutbox::open(std::move(*connection));
}

Result<std::unique_ptr<WalCheckpointer>> Store::start_checkpointer(std::chrono::milliseconds period, Logger& log) {
  auto connection = another_connection(database_);
  if (!connection) return connection.error();
  WalCheckpointer::hand_over(database_);
  checkpoints_handed_over_ = true;
  return WalCheckpointer::start(std::move(*connection), period, log);
}

bool Store::file_moved() const {
  int moved = 0;
  return sqlite3_file_control(database_, "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK && moved != 0;
}

int Store::schema_version() const {
  const auto version = sqlite::read_user_version(database_);
  return version ? *version : 0;
}

Result<void> Store::insert_call(const CallRecord& call) {
  Use use(statements_->insert_call);
  if (int result = bind_call(use, call); result != SQLITE_OK) return failure(database_, result, "insert call");
  if (int result = use.step(); result != SQLITE_DONE)
    return failure(database_, result, fmt::format("insert call {}", call.id));
  return {};
}

Result<void> Store::update_call(const CallRecord& call) {
  Use use(statements_->update_call);
  if (int result = bind_call(use, call); result != SQLITE_OK) return failure(database_, result, "update call");
  if (int result = use.step(); result != SQLITE_DONE)
    return failure(database_, result, fmt::format("update call {}", call.id));
  if (sqlite3_changes(database_) == 0)
    return Error{StoreError::no_such_call, fmt::format("update call {}: no call with this id", call.id)};
  return {};
}

Result<void> Store::add_event(const CallEventRecord& event) {
  Use use(statements_->add_event);
  int result = use.bind(1, event.call_id);
  if (result == SQLITE_OK) result = use.bind(2, static_cast<std::int64_t>(event.at));
  if (result == SQLITE_OK) result = use.bind(3, event.type);
  if (result == SQLITE_OK) result = use.bind(4, event.detail.empty() ? std::string_view("{}") : event.detail);
  if (result != SQLITE_OK) return failure(database_, result, "add event");
  if ((result = use.step()) != SQLITE_DONE)
    return failure(database_, result, fmt::format("add {} event to call {}", event.type, event.call_id));
  return {};
}

Result<std::vector<CallRecord>> Store::list_calls(std::size_t limit, std::string_view before_id) const {
  if (before_id.empty()) {
    Use use(statements_->list_calls);
    return read_rows(database_, use, use.bind(1, sql_limit(limit)), read_call, "list calls");
  }
  Use use(statements_->list_calls_before);
  int bound = use.bind(1, sql_limit(limit));
  if (bound == SQLITE_OK) bound = use.bind(2, before_id);
  return read_rows(database_, use, bound, read_call, "list calls");
}

Result<std::vector<CallRecord>> Store::list_calls_on_lines(std::size_t limit,
                                                           std::span<const std::string> lines) const {
  Use use(statements_->list_calls_on_lines);
  int bound = use.bind(1, sql_limit(limit));
  if (bound == SQLITE_OK) bound = use.bind(2, nlohmann::json(std::vector<std::string>(lines.begin(), lines.end())).dump());
  return read_rows(database_, use, bound, read_call, "list calls");
}

std::string Store::call_query_sql(const CallQuery& query) {
  // Parameters by number, so each clause names its own.
  std::string sql = fmt::format("SELECT {} FROM calls AS c WHERE 1", qualified_call_columns("c"));
  if (query.since) sql += " AND c.started_at >= ?1";
  if (query.until) sql += " AND c.started_at < ?2";
  if (!query.line.empty()) sql += " AND c.line = ?3";
  if (!query.number.empty()) sql += " AND (c.number = ?4 OR c.number_e164 = ?4)";
  if (!query.customer.empty()) sql += " AND c.id IN (SELECT call_id FROM call_customers WHERE customer_id = ?5)";
  if (query.direction) sql += " AND c.direction = ?6";
  if (query.outcome) sql += " AND c.outcome = ?7";
  if (query.after) sql += " AND (c.started_at, c.id) > (?8, ?9)";
  return sql + " ORDER BY c.started_at, c.id LIMIT ?10";
}

Result<std::vector<StoredCall>> Store::query_calls(const CallQuery& query) const {
  const auto sql = call_query_sql(query);
  Statement statement;
  if (const int result = statement.prepare(database_, sql); result != SQLITE_OK)
    return failure(database_, result, "query calls");
  Use use(statement);
  const int results[] = {
      query.since ? use.bind(1, *query.since) : SQLITE_OK,
      query.until ? use.bind(2, *query.until) : SQLITE_OK,
      query.line.empty() ? SQLITE_OK : use.bind(3, query.line),
      query.number.empty() ? SQLITE_OK : use.bind(4, query.number),
      query.customer.empty() ? SQLITE_OK : use.bind(5, query.customer),
      query.direction ? use.bind(6, to_string(*query.direction)) : SQLITE_OK,
      query.outcome ? use.bind(7, to_string(*query.outcome)) : SQLITE_OK,
      query.after ? use.bind(8, query.after->started_at) : SQLITE_OK,
      query.after ? use.bind(9, query.after->id) : SQLITE_OK,
      use.bind(10, sql_limit(query.limit)),
  };
  int bound = SQLITE_OK;
  for (const int result : results)
    if (bound == SQLITE_OK) bound = result;
  auto calls = read_rows(database_, use, bound, read_call, "query calls");
  if (!calls) return calls.error();
  std::vector<StoredCall> stored;
  stored.reserve(calls->size());
  for (auto& call : *calls) {
    auto recording = find_recording(call.id);
    if (!recording) return recording.error();
    stored.push_back({std::move(call), std::move(*recording)});
  }
  return stored;
}

Result<std::optional<StoredCall>> Store::find_stored_call(const std::string& id) const {
  auto call = find_call(id);
  if (!call) return call.error();
  if (!*call) return std::optional<StoredCall>();
  auto recording = find_recording(id);
  if (!recording) return recording.error();
  return std::optional<StoredCall>(StoredCall{std::move(**call), std::move(*recording)});
}

std::string_view Store::recording_for_download_sql() {
  return "SELECT c.started_at, c.line, c.direction, c.number, r.call_id IS NOT NULL, r.state, r.path, r.bytes, "
         "r.sha256 FROM calls AS c LEFT JOIN recordings AS r ON r.call_id = c.id WHERE c.id = ?1";
}

Result<std::optional<RecordingForDownload>> Store::find_recording_for_download(const std::string& call_id) const {
  Use use(statements_->recording_for_download);
  return read_row(
      database_, use, use.bind(1, call_id),
      +[](const Use& row) -> Result<RecordingForDownload> {
        RecordingForDownload found;
        found.started_at = row.integer(0);
        found.line = row.text(1);
        const auto direction = read_word(row, 2, parse_direction);
        if (!direction) return direction.error();
        found.direction = *direction;
        found.number = row.text(3);
        if (row.integer(4) == 0) return found;  // no recording row
        const auto state = read_word(row, 5, parse_recording_state);
        if (!state) return state.error();
        found.recording = RecordingForDownload::Recording{*state, row.text(6),
                                                          static_cast<std::uint64_t>(row.integer(7)), row.text(8)};
        return found;
      },
      "find a recording for a download");
}

Result<std::vector<ChangedCall>> Store::changes_after(std::int64_t seq, std::size_t limit) const {
  Use use(statements_->changes_after);
  int bound = use.bind(1, seq);
  if (bound == SQLITE_OK) bound = use.bind(2, sql_limit(limit));
  auto changes = read_rows(
      database_, use, bound,
      +[](const Use& row) -> Result<ChangedCall> {
        auto call = read_call(row);
        if (!call) return call.error();
        return ChangedCall{row.integer(18), {std::move(*call), std::nullopt}};
      },
      "list call changes");
  if (!changes) return changes.error();
  for (auto& change : *changes) {
    auto recording = find_recording(change.stored.call.id);
    if (!recording) return recording.error();
    change.stored.recording = std::move(*recording);
  }
  return changes;
}

Result<std::int64_t> Store::last_change_seq() const {
  Use use(statements_->last_change_seq);
  auto rows = read_rows(
      database_, use, SQLITE_OK, +[](const Use& row) -> Result<std::int64_t> { return row.integer(0); },
      "read the newest change");
  if (!rows) return rows.error();
  return rows->empty() ? 0 : rows->front();
}

Result<std::optional<CallRecord>> Store::find_call(const std::string& id) const {
  Use use(statements_->find_call);
  return read_row(database_, use, use.bind(1, id), read_call, "find call");
}

Result<std::vector<CallEventRecord>> Store::call_events(const std::string& call_id) const {
  Use use(statements_->call_events);
  return read_rows(
      database_, use, use.bind(1, call_id),
      +[](const Use& row) -> Result<CallEventRecord> {
        return CallEventRecord{row.text(0), row.integer(1), row.text(2), row.text(3)};
      },
      "list call events");
}

Result<std::vector<CallRecord>> Store::active_calls() const {
  Use use(statements_->active_calls);
  return read_rows(database_, use, SQLITE_OK, read_call, "list active calls");
}

Result<std::optional<CallRecord>> Store::latest_call_on(const std::string& box, int port) const {
  Use use(statements_->latest_call_on);
  int result = use.bind(1, box);
  if (result == SQLITE_OK) result = use.bind(2, std::int64_t{port});
  return read_row(database_, use, result, read_call, "find the latest call of a port");
}

Result<void> Store::insert_recording(const RecordingRecord& recording) {
  Use use(statements_->insert_recording);
  if (int result = bind_recording(use, recording); result != SQLITE_OK)
    return failure(database_, result, "insert recording");
  if (int result = use.step(); result != SQLITE_DONE)
    return failure(database_, result, fmt::format("insert recording of call {}", recording.call_id));
  return {};
}

Result<void> Store::update_recording(const RecordingRecord& recording) {
  Use use(statements_->update_recording);
  if (int result = bind_recording(use, recording); result != SQLITE_OK)
    return failure(database_, result, "update recording");
  if (int result = use.step(); result != SQLITE_DONE)
    return failure(database_, result, fmt::format("update recording of call {}", recording.call_id));
  if (sqlite3_changes(database_) == 0)
    return Error{StoreError::no_such_call,
                 fmt::format("update recording of call {}: no such recording", recording.call_id)};
  return {};
}

Result<std::vector<RecordingRecord>> Store::list_recordings(std::size_t limit) const {
  Use use(statements_->list_recordings);
  return read_rows(database_, use, use.bind(1, sql_limit(limit)), read_recording, "list recordings");
}

Result<std::optional<RecordingRecord>> Store::find_recording(const std::string& call_id) const {
  Use use(statements_->find_recording);
  return read_row(database_, use, use.bind(1, call_id), read_recording, "find recording");
}

Result<std::vector<RecordingRecord>> Store::recordings_in_state(RecordingState state) const {
  Use use(statements_->recordings_in_state);
  return read_rows(database_, use, use.bind(1, to_string(state)), read_recording, "list recordings by state");
}

Result<std::vector<RecordingRecord>> Store::recordings_after(std::string_view after_call_id,
                                                             std::size_t limit) const {
  Use use(statements_->recordings_after);
  int bound = use.bind(1, after_call_id);
  if (bound == SQLITE_OK) bound = use.bind(2, sql_limit(limit));
  return read_rows(database_, use, bound, read_recording, "list recordings by call id");
}

Result<void> Store::insert_reattached(const CallRecord* call, const RecordingRecord& recording,
                                      const CallEventRecord& event) {
  // IMMEDIATE takes the write lock at once, so a concurrent writer (the daemon
  // and the CLI may both write) waits in busy_timeout instead of failing later.
  if (auto begun = sqlite::execute(database_, "BEGIN IMMEDIATE"); !begun)
    return Error{begun.error().code, fmt::format("re-attach the recording of call {}: {}", recording.call_id,
                                                 begun.error().detail)};
  Result<void> written;
  if (call) written = insert_call(*call);
  if (written) written = insert_recording(recording);
  if (written) written = add_event(event);
  if (written) written = sqlite::execute(database_, "COMMIT");
  if (!written) (void)sqlite::execute(database_, "ROLLBACK");
  return written;
}

}  // namespace deskline::daemon
