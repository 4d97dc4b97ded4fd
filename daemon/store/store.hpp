// Durable state in SQLite (WAL): calls and their events. Schema changes are
// numbered migrations applied at open (PRAGMA user_version). Every write is
// its own transaction so a killed daemon loses nothing it had reported.
// A Store is used by one thread at a time; other processes (the CLI) may read
// the same file concurrently through their own Store.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "daemon/domain/call.hpp"

struct sqlite3;

namespace deskline::daemon {

// Errors of the store's own making (not SQLite result codes).
enum class StoreError {
  schema_too_new = 1,  // written by a newer deskline: never downgraded
  schema_too_old,      // read-only open of a database that still needs migrating
  database_missing,    // read-only open of a file that does not exist
  no_such_call,        // update_call for an id that is not stored
  invalid_row,         // a row holds a word this deskline does not know (written by a newer one?)
};
const std::error_category& store_category();
std::error_code make_error_code(StoreError error);

class Store {
 public:
  ~Store();
  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;

  // Opens or creates the database, applies migrations. read_only opens an
  // existing database for the CLI without creating or migrating it. On
  // failure returns nullptr, sets error and, if given, a detailed message.
  static std::unique_ptr<Store> open(const std::filesystem::path& path, std::error_code& error,
                                     bool read_only = false, std::string* error_message = nullptr);

  // Newest schema this build knows; open() migrates to it.
  static int latest_schema_version();
  int schema_version() const;
  bool read_only() const { return read_only_; }

  std::error_code insert_call(const CallRecord& call);
  // Replaces every field of the row with call.id (StoreError::no_such_call
  // when there is none).
  std::error_code update_call(const CallRecord& call);
  std::error_code add_event(const CallEventRecord& event);

  // Newest first by started_at; limit 0 = all.
  std::vector<CallRecord> list_calls(std::size_t limit, std::error_code& error) const;
  std::optional<CallRecord> find_call(const std::string& id, std::error_code& error) const;
  std::vector<CallEventRecord> call_events(const std::string& call_id, std::error_code& error) const;
  // Calls still "active" (left by a daemon that died): for startup recovery.
  std::vector<CallRecord> active_calls(std::error_code& error) const;
  // The newest call of a box port, if any.
  std::optional<CallRecord> latest_call_on(const std::string& box, int port, std::error_code& error) const;

  // Detail of the last failed call (SQLite's message, with context).
  std::error_code insert_recording(const RecordingRecord& recording);
  // Replaces every field of the row with recording.call_id.
  std::error_code update_recording(const RecordingRecord& recording);
  // Newest first; limit 0 = all.
  std::vector<RecordingRecord> list_recordings(std::size_t limit, std::error_code& error) const;
  std::optional<RecordingRecord> find_recording(const std::string& call_id, std::error_code& error) const;
  std::vector<RecordingRecord> recordings_in_state(RecordingState state, std::error_code& error) const;

  const std::string& last_error_message() const { return last_error_message_; }

 private:
  struct Statements;
  Store(sqlite3* database, bool read_only);
  std::error_code fail(int result, const char* context) const;
  std::error_code fail(StoreError error, std::string message) const;
  // The end of reading rows (daemon/store/store.cpp: read_rows).
  std::error_code finish_reading(int result, const std::string& problem, const char* context) const;

  sqlite3* database_ = nullptr;
  bool read_only_ = false;
  std::unique_ptr<Statements> statements_;
  mutable std::string last_error_message_;
};

// SQLite's error category: values are SQLite extended result codes
// (value & 0xFF is the primary code, e.g. SQLITE_CONSTRAINT).
const std::error_category& sqlite_category();

}  // namespace deskline::daemon

template <>
struct std::is_error_code_enum<deskline::daemon::StoreError> : std::true_type {};
