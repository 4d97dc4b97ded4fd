// The daemon's domain records: a call, its recording and its events, as the
// store keeps them and every edge (control socket, HTTP, CRM, CLI) shows them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace deskline::daemon {

// Wall-clock time in microseconds since the Unix epoch.
using WallTimeUs = std::int64_t;

struct CallRecord {
  std::string id;  // UUID v4
  std::string line;
  std::string box;  // box serial
  int port = 0;     // 1-based
  std::string direction;  // "inbound" / "outbound" / "unknown" (joined in progress)
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

struct RecordingRecord {
  std::string call_id;
  std::string path;   // "" when no file was made
  std::string state;  // recording, complete, truncated, refused, failed, repaired, damaged
  WallTimeUs started_at = 0;
  double duration_s = 0;  // millisecond precision
  std::uint64_t bytes = 0;
  std::string sha256;
  std::string error;
  friend bool operator==(const RecordingRecord&, const RecordingRecord&) = default;
};

struct CallEventRecord {
  std::string call_id;
  WallTimeUs at = 0;
  std::string type;    // "dtmf", "caller_id", "polarity", ...
  std::string detail;  // JSON text ("" is stored as "{}")
  friend bool operator==(const CallEventRecord&, const CallEventRecord&) = default;
};

}  // namespace deskline::daemon
