#include "daemon/store/pop_event_log.hpp"

#include <sqlite3.h>

#include <array>
#include <utility>

#include <fmt/format.h>

#include "daemon/store/store.hpp"

namespace deskline::daemon {

using sqlite::failure;
using sqlite::Statement;
using sqlite::Use;

struct PopEventLog::Statements {
  Statement append, since, prune_through, reserve_through;
};

PopEventLog::PopEventLog(sqlite::Connection connection)
    : connection_(std::move(connection)), statements_(std::make_unique<Statements>()) {}

PopEventLog::~PopEventLog() = default;  // statements_ goes before connection_ closes

Result<std::unique_ptr<PopEventLog>> PopEventLog::open(sqlite::Connection connection) {
  sqlite3* database = connection.database;
  // Never checkpoints (see the header).
  sqlite3_wal_autocheckpoint(database, 0);
  std::unique_ptr<PopEventLog> events(new PopEventLog(std::move(connection)));

  auto& statements = *events->statements_;
  const std::array<std::pair<Statement*, const char*>, 4> sql = {{
      {&statements.append, "INSERT INTO pop_events (seq, call_id, published_at, event) VALUES (?1, ?2, ?3, ?4)"},
      {&statements.since, "SELECT seq, event FROM pop_events WHERE seq > ?1 ORDER BY seq"},
      {&statements.prune_through, "DELETE FROM pop_events WHERE seq <= ?1"},
      {&statements.reserve_through, "INSERT OR REPLACE INTO meta (key, value) VALUES ('pop_seq_reserved', ?1)"},
  }};
  for (const auto& [statement, text] : sql)
    if (const int result = statement->prepare(database, text); result != SQLITE_OK)
      return failure(database, result, "pop event log: cannot prepare statement");

  Statement read_stream;
  // The next run numbers on after the newest seq stored or reserved.
  int result = read_stream.prepare(
      database,
      "SELECT (SELECT value FROM meta WHERE key = 'pop_stream_id'), "
      "max((SELECT coalesce(max(seq), 0) FROM pop_events), "
      "    coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'pop_seq_reserved'), 0))");
  Use use(read_stream);
  if (result == SQLITE_OK) result = use.step();
  if (result != SQLITE_ROW) return failure(database, result, "pop event log: cannot read the stream");
  events->stream_id_ = use.text(0);
  events->last_seq_at_open_ = static_cast<std::uint64_t>(use.integer(1));
  if (events->stream_id_.empty())
    return Error{StoreError::invalid_row, "pop event log: the meta table has no pop_stream_id"};
  return events;
}

Result<void> PopEventLog::append(std::uint64_t seq, std::string_view call_id, std::int64_t published_at,
                                 std::string_view json) {
  Use use(statements_->append);
  int result = use.bind(1, static_cast<std::int64_t>(seq));
  if (result == SQLITE_OK) result = call_id.empty() ? use.bind_null(2) : use.bind(2, call_id);
  if (result == SQLITE_OK) result = use.bind(3, published_at);
  if (result == SQLITE_OK) result = use.bind(4, json);
  if (result == SQLITE_OK) result = use.step();
  if (result != SQLITE_DONE) return failure(connection_.database, result, fmt::format("store pop event {}", seq));
  return {};
}

Result<std::vector<StoredPopEvent>> PopEventLog::since(std::uint64_t after) const {
  Use use(statements_->since);
  return sqlite::read_rows(
      connection_.database, use, use.bind(1, static_cast<std::int64_t>(after)),
      +[](const Use& row) -> Result<StoredPopEvent> {
        return StoredPopEvent{static_cast<std::uint64_t>(row.integer(0)), row.text(1)};
      },
      "read pop events");
}

Result<std::size_t> PopEventLog::prune_through(std::uint64_t through) {
  Use use(statements_->prune_through);
  int result = use.bind(1, static_cast<std::int64_t>(through));
  if (result == SQLITE_OK) result = use.step();
  if (result != SQLITE_DONE)
    return failure(connection_.database, result, fmt::format("delete pop events through seq {}", through));
  return static_cast<std::size_t>(sqlite3_changes(connection_.database));
}

Result<void> PopEventLog::reserve_through(std::uint64_t seq) {
  Use use(statements_->reserve_through);
  int result = use.bind(1, std::to_string(seq));
  if (result == SQLITE_OK) result = use.step();
  if (result != SQLITE_DONE)
    return failure(connection_.database, result, fmt::format("reserve pop event seqs through {}", seq));
  return {};
}

}  // namespace deskline::daemon
