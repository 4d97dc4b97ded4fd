// Durable state in SQLite (WAL): calls and their events, recordings, and
// (through PopEventLog) the pop event stream. Schema changes are
// numbered migrations applied at open (PRAGMA user_version). Every write is
// its own transaction. The daemon writes through a Store of its own on the
// store writer thread (StoreWriter), moments after each change; a daemon
// killed in between loses those writes, and the next start closes what they
// would have closed (interrupted calls, recordings left open).
// A Store is used by one thread at a time; other processes (the CLI) may read
// the same file concurrently through their own Store.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "daemon/core/result.hpp"
#include "daemon/domain/call.hpp"
#include "daemon/store/crm_outbox.hpp"
#include "daemon/store/pop_event_log.hpp"

namespace deskline::daemon {

class Logger;
class WalCheckpointer;

// Errors of the store's own making (not SQLite result codes).
enum class StoreError {
  schema_too_new = 1,  // written by a newer deskline: never downgraded
  schema_too_old,      // read-only open of a database that still needs migrating
  database_missing,    // read-only open of a file that does not exist
  no_such_call,        // update_call for an id that is not stored
  invalid_row,         // a row holds a word this deskline does not know (written by a newer one?)
  database_read_only,  // a writer's open of a file (or folder) this user cannot write
};
const std::error_category& store_category();
std::error_code make_error_code(StoreError error);

// Where a walk over calls in (started_at, id) order stands: the last call served.
struct CallKey {
  WallTimeUs started_at = 0;
  std::string id;
  friend bool operator==(const CallKey&, const CallKey&) = default;
};

// A page of the pull API's calls (proto/http.md): the calls matching every
// filter set, oldest first by (started_at, id), after `after` when set.
struct CallQuery {
  std::optional<WallTimeUs> since;  // started_at >= since
  std::optional<WallTimeUs> until;  // started_at < until
  std::string line;                 // "" for any
  std::string number;               // as received or E.164; "" for any
  std::string customer;             // a matched customer's id; "" for any
  std::optional<Direction> direction;
  std::optional<Outcome> outcome;
  std::optional<CallKey> after;
  std::size_t limit = 100;
  friend bool operator==(const CallQuery&, const CallQuery&) = default;
};

// A call with its recording's row, if it has one.
struct StoredCall {
  CallRecord call;
  std::optional<RecordingRecord> recording;
};

// What a download of a call's recording reads (proto/http.md "Recordings"),
// in one point query: the call's fields its file name is made of and, when
// the call has one, the recording row's fields the download needs. Not the
// whole call: a download needs neither its customers nor its other times.
struct RecordingForDownload {
  WallTimeUs started_at = 0;
  std::string line;
  Direction direction = Direction::unknown;
  std::string number;
  struct Recording {
    RecordingState state = RecordingState::recording;
    std::string path;
    std::uint64_t bytes = 0;
    std::string sha256;
  };
  std::optional<Recording> recording;
};

// A call as of its newest change, and that change's place in the feed.
struct ChangedCall {
  std::int64_t seq = 0;
  StoredCall stored;
};

// Every operation returns a Result: the value, or an Error whose code is an
// SQLite extended result code (sqlite_category()) or a StoreError and whose
// detail says what was being done ("insert call 42: UNIQUE constraint failed:
// calls.id"). Not finding a row is a value (nullopt), not an error.
class Store {
 public:
  ~Store();
  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;

  // Opens or creates the database, applies migrations. read_only opens an
  // existing database for the CLI without creating or migrating it. An
  // error's detail reads "<path>: <what>".
  static Result<std::unique_ptr<Store>> open(const std::filesystem::path& path, bool read_only = false);

  // Newest schema this build knows; open() migrates to it.
  static int latest_schema_version();
  int schema_version() const;
  // Whether the database file was deleted or replaced since it was opened:
  // every write then goes to a file no one will find again.
  bool file_moved() const;
  bool read_only() const { return read_only_; }

  // Another Store on this database, on its own connection (for the store
  // writer thread), its checkpoints left to the checkpointer like this one's.
  // Not for a read-only store.
  Result<std::unique_ptr<Store>> open_another() const;
  // A second connection to this database, for the daemon's pop events
  // (PopEventLog says why it has its own). Not for a read-only store.
  Result<std::unique_ptr<PopEventLog>> open_pop_event_log() const;
  // The CRM outbox on its own connection to this database.
  Result<std::unique_ptr<CrmOutbox>> open_crm_outbox() const;
  // Checkpoints on a thread of their own from now on, for this connection
  // and the CRM outbox's (WalCheckpointer says why). Not for a read-only store.
  Result<std::unique_ptr<WalCheckpointer>> start_checkpointer(std::chrono::milliseconds period, Logger& log);

  Result<void> insert_call(const CallRecord& call);
  // Replaces every field of the row with call.id (StoreError::no_such_call
  // when there is none).
  Result<void> update_call(const CallRecord& call);
  Result<void> add_event(const CallEventRecord& event);

  // Newest first by started_at; limit 0 = all. With before_id, only the calls
  // after that one in this order (none when there is no such call): the next page.
  Result<std::vector<CallRecord>> list_calls(std::size_t limit, std::string_view before_id = {}) const;
  // The same, newest first, of these lines only (a desk's).
  Result<std::vector<CallRecord>> list_calls_on_lines(std::size_t limit, std::span<const std::string> lines) const;
  Result<std::optional<CallRecord>> find_call(const std::string& id) const;
  Result<std::vector<CallEventRecord>> call_events(const std::string& call_id) const;
  // The pull API's reads (migration 8's indexes and change feed).
  Result<std::vector<StoredCall>> query_calls(const CallQuery& query) const;
  // The SQL query_calls runs for query (its plan is tested: no table scans).
  static std::string call_query_sql(const CallQuery& query);
  Result<std::optional<StoredCall>> find_stored_call(const std::string& id) const;
  // nullopt when there is no call call_id.
  Result<std::optional<RecordingForDownload>> find_recording_for_download(const std::string& call_id) const;
  // The SQL it runs (its plan is tested: primary keys only).
  static std::string_view recording_for_download_sql();
  // Up to limit calls changed after seq, in change order, each once at its newest change.
  Result<std::vector<ChangedCall>> changes_after(std::int64_t seq, std::size_t limit) const;
  // The newest change's seq (0 when there is none).
  Result<std::int64_t> last_change_seq() const;
  // Calls still active (left by a daemon that died): for startup recovery.
  Result<std::vector<CallRecord>> active_calls() const;
  // The newest call of a box port, if any.
  Result<std::optional<CallRecord>> latest_call_on(const std::string& box, int port) const;

  Result<void> insert_recording(const RecordingRecord& recording);
  // Replaces every field of the row with recording.call_id.
  Result<void> update_recording(const RecordingRecord& recording);
  // Newest first; limit 0 = all.
  Result<std::vector<RecordingRecord>> list_recordings(std::size_t limit) const;
  Result<std::optional<RecordingRecord>> find_recording(const std::string& call_id) const;
  Result<std::vector<RecordingRecord>> recordings_in_state(RecordingState state) const;
  // Up to limit recordings in call id order, after after_call_id ("" from the
  // start): a bounded walk over every row.
  Result<std::vector<RecordingRecord>> recordings_after(std::string_view after_call_id, std::size_t limit) const;

  // An orphan recording given its rows back, in one transaction: the call
  // (unless call is null: its row survived), the recording and the event that
  // says so. Nothing is written when any of them fails (a row already there).
  Result<void> insert_reattached(const CallRecord* call, const RecordingRecord& recording,
                                 const CallEventRecord& event);

 private:
  struct Statements;
  Store(sqlite3* database, bool read_only);

  sqlite3* database_ = nullptr;
  bool checkpoints_handed_over_ = false;
  bool read_only_ = false;
  std::unique_ptr<Statements> statements_;
};

// SQLite's error category: values are SQLite extended result codes
// (value & 0xFF is the primary code, e.g. SQLITE_CONSTRAINT).
const std::error_category& sqlite_category();

}  // namespace deskline::daemon

template <>
struct std::is_error_code_enum<deskline::daemon::StoreError> : std::true_type {};
