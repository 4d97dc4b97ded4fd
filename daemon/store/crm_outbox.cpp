#include "daemon/store/crm_outbox.hpp"

#include <sqlite3.h>

#include <array>
#include <utility>

#include <fmt/format.h>

#include "daemon/store/store.hpp"

namespace deskline::daemon {

using sqlite::failure;
using sqlite::Statement;
using sqlite::Use;

namespace {

constexpr std::string_view item_columns =
    "call_id, kind, revision, sent_revision, state, queued_at, next_at, attempts, body, body_revision, last_status, "
    "last_error, last_attempt_at, done_at, confirmed_sha256";

Result<OutboxItem> read_item(const Use& row) {
  OutboxItem item;
  item.call_id = row.text(0);
  item.revision = row.integer(2);
  item.sent_revision = row.integer(3);
  item.queued_at = row.integer(5);
  item.next_at = row.integer(6);
  item.attempts = static_cast<int>(row.integer(7));
  item.body = row.text(8);
  item.body_revision = row.integer(9);
  if (const auto status = row.optional_integer(10)) item.last_status = static_cast<int>(*status);
  item.last_error = row.text(11);
  item.last_attempt_at = row.optional_integer(12);
  item.done_at = row.optional_integer(13);
  item.confirmed_sha256 = row.text(14);
  const auto kind = parse_outbox_kind(row.text_view(1));
  const auto state = parse_outbox_state(row.text_view(4));
  if (!kind || !state)
    return Error{StoreError::invalid_row,
                 fmt::format("outbox item of call {}: unknown kind or state '{}' '{}'", item.call_id, row.text(1),
                             row.text(4))};
  item.kind = *kind;
  item.state = *state;
  return item;
}

}  // namespace

struct CrmOutbox::Statements {
  Statement set_queueing, due_now, due, next_due, find, keep_body, delivered, failed, resend_entry, retry_call, retry_parked,
      summary, in_state, recording_settled;
};

CrmOutbox::CrmOutbox(sqlite::Connection connection)
    : connection_(std::move(connection)), statements_(std::make_unique<Statements>()) {}

CrmOutbox::~CrmOutbox() = default;  // statements_ goes before connection_ closes

std::string CrmOutbox::due_query() {
  // A recording waits for an acknowledged entry of its call.
  return fmt::format(
      "SELECT {} FROM crm_outbox AS item WHERE state = 'pending' AND next_at <= ?1 AND (kind = 'call' OR "
      "EXISTS (SELECT 1 FROM crm_outbox AS entry WHERE entry.call_id = item.call_id AND "
      "entry.kind = 'call' AND entry.sent_revision > 0)) ORDER BY next_at, queued_at LIMIT ?2",
      item_columns);
}

Result<std::unique_ptr<CrmOutbox>> CrmOutbox::open(sqlite::Connection connection) {
  sqlite3* database = connection.database;
  std::unique_ptr<CrmOutbox> outbox(new CrmOutbox(std::move(connection)));
  auto& statements = *outbox->statements_;
  const std::array<std::pair<Statement*, std::string>, 14> sql = {{
      {&statements.set_queueing, "UPDATE meta SET value = ?1 WHERE key = 'crm_outbox'"},
      {&statements.due_now, "UPDATE crm_outbox SET next_at = ?1 WHERE state = 'pending' AND next_at > ?1"},
      {&statements.due, due_query()},
      {&statements.next_due, "SELECT min(next_at) FROM crm_outbox WHERE state = 'pending' AND next_at > ?1"},
      {&statements.find, fmt::format("SELECT {} FROM crm_outbox WHERE call_id = ?1 AND kind = ?2", item_columns)},
      {&statements.keep_body,
       "UPDATE crm_outbox SET body = ?3, body_revision = ?2 WHERE call_id = ?1 AND kind = 'call'"},
      {&statements.delivered,
       "UPDATE crm_outbox SET sent_revision = max(sent_revision, ?3), attempts = 0, last_status = NULL, "
       "last_error = '', last_attempt_at = ?5, confirmed_sha256 = ?4, "
       "state = CASE WHEN revision <= ?3 THEN 'done' ELSE 'pending' END, "
       "done_at = CASE WHEN revision <= ?3 THEN ?5 ELSE done_at END WHERE call_id = ?1 AND kind = ?2"},
      // A newer revision queued meanwhile is sent at once, not after a back-off.
      {&statements.failed,
       "UPDATE crm_outbox SET attempts = attempts + 1, last_status = ?3, last_error = ?4, last_attempt_at = ?5, "
       "state = CASE WHEN ?6 IS NULL AND revision = ?7 THEN 'parked' ELSE 'pending' END, "
       "next_at = CASE WHEN revision != ?7 THEN ?5 WHEN ?6 IS NULL THEN next_at ELSE ?6 END "
       "WHERE call_id = ?1 AND kind = ?2"},
      {&statements.resend_entry,
       "UPDATE crm_outbox SET sent_revision = 0, revision = revision + 1, state = 'pending', next_at = ?2, "
       "attempts = 0 WHERE call_id = ?1 AND kind = 'call'"},
      {&statements.retry_call,
       "UPDATE crm_outbox SET state = 'pending', next_at = ?2, attempts = 0 WHERE call_id = ?1 AND state != 'done'"},
      {&statements.retry_parked,
       "UPDATE crm_outbox SET state = 'pending', next_at = ?1, attempts = 0 WHERE state = 'parked'"},
      {&statements.summary,
       "SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'parked'), "
       "count(*) FILTER (WHERE state = 'done'), min(queued_at) FILTER (WHERE state = 'pending'), max(done_at) "
       "FROM crm_outbox"},
      {&statements.in_state,
       fmt::format("SELECT {} FROM crm_outbox WHERE state = ?1 ORDER BY queued_at LIMIT ?2", item_columns)},
      {&statements.recording_settled,
       "SELECT count(*) FROM crm_outbox WHERE call_id = ?1 AND kind = 'recording' AND state != 'done'"},
  }};
  for (const auto& [statement, text] : sql)
    if (const int result = statement->prepare(database, text); result != SQLITE_OK)
      return failure(database, result, "crm outbox: cannot prepare statement");
  return outbox;
}

namespace {

int bind_all(Use& use, std::initializer_list<CrmOutbox::Parameter> values) {
  int index = 1;
  for (const auto& value : values) {
    int result = SQLITE_OK;
    if (const auto* number = std::get_if<std::int64_t>(&value)) result = use.bind(index, *number);
    else if (const auto* text = std::get_if<std::string_view>(&value)) result = use.bind(index, *text);
    else result = use.bind_null(index);
    if (result != SQLITE_OK) return result;
    ++index;
  }
  return SQLITE_OK;
}

CrmOutbox::Parameter optional_parameter(const std::optional<std::int64_t>& value) {
  if (value) return *value;
  return std::nullopt;
}

}  // namespace

Result<void> CrmOutbox::write(const Statement& statement, std::initializer_list<Parameter> parameters,
                              std::string_view context) {
  Use use(statement);
  int result = bind_all(use, parameters);
  if (result == SQLITE_OK) result = use.step();
  if (result != SQLITE_DONE) return failure(connection_.database, result, context);
  return {};
}

Result<std::vector<OutboxItem>> CrmOutbox::read(const Statement& statement, std::initializer_list<Parameter> parameters,
                                                std::string_view context) const {
  Use use(statement);
  return sqlite::read_rows(connection_.database, use, bind_all(use, parameters), &read_item, context);
}

Result<void> CrmOutbox::set_queueing(bool on) {
  return write(statements_->set_queueing, {std::string_view(on ? "on" : "off")}, "crm outbox: set queueing");
}

Result<std::vector<OutboxItem>> CrmOutbox::due(WallTimeUs now, std::size_t limit) const {
  return read(statements_->due, {now, static_cast<std::int64_t>(limit)}, "crm outbox: due items");
}

Result<std::optional<WallTimeUs>> CrmOutbox::next_due(WallTimeUs now) const {
  Use use(statements_->next_due);
  int result = use.bind(1, now);
  if (result == SQLITE_OK) result = use.step();
  if (result != SQLITE_ROW) return failure(connection_.database, result, "crm outbox: next due");
  return use.optional_integer(0);
}

Result<std::optional<OutboxItem>> CrmOutbox::find(const std::string& call_id, OutboxKind kind) const {
  auto items = read(statements_->find, {std::string_view(call_id), to_string(kind)}, "crm outbox: find item");
  if (!items) return items.error();
  if (items->empty()) return std::optional<OutboxItem>();
  return std::optional<OutboxItem>(std::move(items->front()));
}

Result<void> CrmOutbox::begin() { return sqlite::execute(connection_.database, "BEGIN IMMEDIATE"); }

Result<void> CrmOutbox::commit() {
  auto committed = sqlite::execute(connection_.database, "COMMIT");
  if (!committed) (void)sqlite::execute(connection_.database, "ROLLBACK");
  return committed;
}

Result<void> CrmOutbox::keep_body(const std::string& call_id, std::int64_t revision, std::string_view body) {
  return write(statements_->keep_body, {std::string_view(call_id), revision, body}, "crm outbox: keep body");
}

Result<void> CrmOutbox::delivered(const OutboxItem& item, std::int64_t revision, std::string_view confirmed_sha256,
                                  WallTimeUs now) {
  return write(statements_->delivered,
               {std::string_view(item.call_id), to_string(item.kind), revision, confirmed_sha256, now},
               "crm outbox: delivered");
}

Result<void> CrmOutbox::failed(const OutboxItem& item, std::optional<int> status, std::string_view error,
                               WallTimeUs now, std::optional<WallTimeUs> retry_at) {
  return write(statements_->failed,
               {std::string_view(item.call_id), to_string(item.kind),
                optional_parameter(status ? std::optional<std::int64_t>(*status) : std::nullopt), error, now,
                optional_parameter(retry_at), item.revision},
               "crm outbox: failed");
}

Result<void> CrmOutbox::resend_entry(const std::string& call_id, WallTimeUs now) {
  return write(statements_->resend_entry, {std::string_view(call_id), now}, "crm outbox: resend entry");
}

Result<std::size_t> CrmOutbox::retry(const std::optional<std::string>& call_id, WallTimeUs now) {
  auto written = call_id ? write(statements_->retry_call, {std::string_view(*call_id), now}, "crm outbox: retry")
                         : write(statements_->retry_parked, {now}, "crm outbox: retry parked");
  if (!written) return written.error();
  return static_cast<std::size_t>(sqlite3_changes(connection_.database));
}

Result<void> CrmOutbox::due_now(WallTimeUs now) {
  return write(statements_->due_now, {now}, "crm outbox: due now");
}

Result<OutboxSummary> CrmOutbox::summary() const {
  Use use(statements_->summary);
  const int result = use.step();
  if (result != SQLITE_ROW) return failure(connection_.database, result, "crm outbox: summary");
  return OutboxSummary{use.integer(0), use.integer(1), use.integer(2), use.optional_integer(3),
                       use.optional_integer(4)};
}

Result<std::vector<OutboxItem>> CrmOutbox::in_state(OutboxState state, std::size_t limit) const {
  return read(statements_->in_state, {to_string(state), static_cast<std::int64_t>(limit)}, "crm outbox: items");
}

Result<bool> CrmOutbox::recording_settled(const std::string& call_id) const {
  Use use(statements_->recording_settled);
  int result = use.bind(1, call_id);
  if (result == SQLITE_OK) result = use.step();
  if (result != SQLITE_ROW) return failure(connection_.database, result, "crm outbox: recording settled");
  return use.integer(0) == 0;
}

}  // namespace deskline::daemon
