// Durable state in SQLite (WAL): calls and their events. Schema changes are
// numbered migrations applied at open (PRAGMA user_version). Every write is
// its own transaction so a killed daemon loses nothing it had reported.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

struct sqlite3;

namespace deskline::daemon {

// Wall-clock time in microseconds since the Unix epoch.
using WallTimeUs = std::int64_t;

struct CallRecord {
  std::string id;  // UUID v4
  std::string line;
  std::string box;  // box serial
  int port = 0;     // 1-based
  std::string direction;  // "inbound" / "outbound"
  std::string number;     // as received ("" when none)
  std::optional<char> number_absence;  // 'P' private / 'O' unavailable
  std::string name;                    // caller name from caller ID ("" when none)
  std::string state;    // "active" while in progress, "ended" afterwards
  std::string outcome;  // "answered", "missed", "device_lost", "abandoned", ... ("" while active)
  WallTimeUs started_at = 0;
  std::optional<WallTimeUs> answered_at;
  std::optional<WallTimeUs> ended_at;
  friend bool operator==(const CallRecord&, const CallRecord&) = default;
};

struct CallEventRecord {
  std::string call_id;
  WallTimeUs at = 0;
  std::string type;    // "dtmf", "caller_id", "polarity", ...
  std::string detail;  // JSON text
};

class Store {
 public:
  ~Store();
  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;

  // Opens or creates the database, applies migrations. read_only opens an
  // existing database for the CLI without creating or migrating it.
  static std::unique_ptr<Store> open(const std::filesystem::path& path, std::error_code& error,
                                     bool read_only = false);

  int schema_version() const;

  std::error_code insert_call(const CallRecord& call);
  // Replaces every field of the row with call.id.
  std::error_code update_call(const CallRecord& call);
  std::error_code add_event(const CallEventRecord& event);

  // Newest first by started_at; limit 0 = all.
  std::vector<CallRecord> list_calls(std::size_t limit, std::error_code& error) const;
  std::optional<CallRecord> find_call(const std::string& id, std::error_code& error) const;
  std::vector<CallEventRecord> call_events(const std::string& call_id, std::error_code& error) const;
  // Calls still "active" (left by a daemon that died): for startup recovery.
  std::vector<CallRecord> active_calls(std::error_code& error) const;

  const std::string& last_error_message() const { return last_error_message_; }

 private:
  explicit Store(sqlite3* database);
  sqlite3* database_ = nullptr;
  mutable std::string last_error_message_;
};

// The store's error category: values are SQLite result codes.
const std::error_category& sqlite_category();

}  // namespace deskline::daemon
