// The CRM outbox (proto/crm.md): what the CRM sync still has to send. Items
// are queued by the schema's triggers (migration 7) in the very transaction
// that ends a call or completes its recording, so nothing is lost between
// "ended" and "queued"; this class is how the sync reads and settles them.
// Its own SQLite connection to the daemon's database, used by one thread: the
// sync reads through one on the io thread and writes through another on the
// store writer thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "daemon/core/result.hpp"
#include "daemon/domain/call.hpp"
#include "daemon/store/sqlite_database.hpp"

namespace deskline::daemon {

struct OutboxSummary {
  std::int64_t pending = 0;
  std::int64_t parked = 0;
  std::int64_t done = 0;
  std::optional<WallTimeUs> oldest_pending_queued_at;
  std::optional<WallTimeUs> last_done_at;
};

class CrmOutbox {
 public:
  // A parameter of one of its statements: NULL, an integer or a text.
  using Parameter = std::variant<std::nullopt_t, std::int64_t, std::string_view>;

  ~CrmOutbox();

  // Takes a connection to a database at the latest schema (Store::open_crm_outbox).
  static Result<std::unique_ptr<CrmOutbox>> open(sqlite::Connection connection);

  // Whether ended calls and completed recordings are queued from now on
  // (the triggers read it): on while [crm] url is set.
  Result<void> set_queueing(bool on);

  // Pending items due by now, oldest first, at most limit: a recording only
  // once the CRM has acknowledged an entry of its call (it goes after it).
  Result<std::vector<OutboxItem>> due(WallTimeUs now, std::size_t limit) const;
  // Its SQL (?1 now, ?2 limit): tests check that the schema's index yields
  // the items in order, so a read of a few costs no sort of the backlog.
  static std::string due_query();
  // When the next pending item not yet due at now falls due; none when no
  // item waits for a later time. (Items due already wait for a free slot or
  // their call's entry: the sync starts them when those settle.)
  Result<std::optional<WallTimeUs>> next_due(WallTimeUs now) const;
  Result<std::optional<OutboxItem>> find(const std::string& call_id, OutboxKind kind) const;

  // Groups the writes up to commit() in one transaction: one WAL commit
  // instead of one a write. begin() takes the write lock at once (waiting
  // out busy_timeout like any write); a failed commit rolls back.
  Result<void> begin();
  Result<void> commit();

  // The call entry rendered for revision, kept so retries send its bytes.
  Result<void> keep_body(const std::string& call_id, std::int64_t revision, std::string_view body);
  // The CRM has revision of the item: done, unless a newer revision was
  // queued meanwhile (then it stays pending, due now).
  Result<void> delivered(const OutboxItem& item, std::int64_t revision, std::string_view confirmed_sha256,
                         WallTimeUs now);
  // An attempt failed: tried again from retry_at, or parked when none.
  Result<void> failed(const OutboxItem& item, std::optional<int> status, std::string_view error, WallTimeUs now,
                      std::optional<WallTimeUs> retry_at);
  // The CRM does not know the call (a recording was refused for it): its
  // entry is sent again, before the recording.
  Result<void> resend_entry(const std::string& call_id, WallTimeUs now);
  // `deskline sync retry`: the items of call_id, or every parked item, due
  // now with their failures forgotten; how many.
  Result<std::size_t> retry(const std::optional<std::string>& call_id, WallTimeUs now);

  // Every pending item due at now, keeping its failure count (a restart,
  // often after the admin fixed what failed, tries at once).
  Result<void> due_now(WallTimeUs now);

  Result<OutboxSummary> summary() const;
  // Items in state, oldest first, at most limit.
  Result<std::vector<OutboxItem>> in_state(OutboxState state, std::size_t limit) const;
  // Retention: whether the CRM has every revision of call_id's recording
  // that was queued (true when it was never queued: recorded with sync off).
  Result<bool> recording_settled(const std::string& call_id) const;

 private:
  struct Statements;
  explicit CrmOutbox(sqlite::Connection connection);
  // Binds parameters to ?1, ?2, ... and steps statement once (a write).
  Result<void> write(const sqlite::Statement& statement, std::initializer_list<Parameter> parameters,
                     std::string_view context);
  Result<std::vector<OutboxItem>> read(const sqlite::Statement& statement, std::initializer_list<Parameter> parameters,
                                       std::string_view context) const;

  sqlite::Connection connection_;
  std::unique_ptr<Statements> statements_;
};

}  // namespace deskline::daemon
