// The daemon's domain records: a call, its recording and its events, as the
// store keeps them and every edge (control socket, HTTP, CRM, CLI) shows them.
// Directions, states and outcomes are enums here; they become words only at
// the edges (SQL, JSON, terminal) through the one to_string / parse_* pair
// per enum below.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deskline::daemon {

// Wall-clock time in microseconds since the Unix epoch.
using WallTimeUs = std::int64_t;

// unknown: a call joined in progress (found off-hook when the box attached),
// which may have been either.
enum class Direction { inbound, outbound, unknown };

enum class CallState { active, ended };

// How a call ended; proto/control.md says what each means.
enum class Outcome { answered, missed, completed, abandoned, device_lost, interrupted, remote_hangup };

// What ended a call: the line machine's last transition (on_hook, ring_timeout,
// hangup_tone: busy or congestion tone on the connected line, device_lost,
// shutdown: the daemon stopped), or restart: the daemon stopped without
// ending it (killed, crashed, power lost) and closed it when it next started.
enum class EndReason { on_hook, ring_timeout, hangup_tone, device_lost, shutdown, restart };

// recording while the call runs; then complete, truncated (a write failed,
// e.g. the disk filled up: the file is valid up to there; or an orphan file
// re-attached as it is, never closed: it plays up to its last whole page),
// refused (never started: disk guard, no audio), failed; after a daemon died
// mid-call, repaired (the file was closed at startup) or damaged (it could not be);
// deleted: retention removed the file once the CRM had confirmed its digest
// (the row keeps its sha256, bytes and duration; path is "").
enum class RecordingState { recording, complete, truncated, refused, failed, repaired, damaged, deleted };

// The words of the edges (SQL rows, JSON, the CLI). Every enum numbers its
// values from 0 and to_string returns "" past the last, which is how parse_*
// and the round-trip test walk them.
std::string_view to_string(Direction direction);
std::string_view to_string(CallState state);
std::string_view to_string(Outcome outcome);
std::string_view to_string(EndReason reason);
std::string_view to_string(RecordingState state);
std::optional<Direction> parse_direction(std::string_view text);
std::optional<CallState> parse_call_state(std::string_view text);
std::optional<Outcome> parse_outcome(std::string_view text);
std::optional<EndReason> parse_end_reason(std::string_view text);
std::optional<RecordingState> parse_recording_state(std::string_view text);

// The CRM outbox (proto/crm.md): what goes to the CRM per call. An item is
// pending until the CRM has its newest revision (done), or parked after a
// refusal that retrying cannot fix (a 4xx) until someone retries it.
enum class OutboxKind { call, recording };
enum class OutboxState { pending, done, parked };
std::string_view to_string(OutboxKind kind);
std::string_view to_string(OutboxState state);
std::optional<OutboxKind> parse_outbox_kind(std::string_view text);
std::optional<OutboxState> parse_outbox_state(std::string_view text);

// A customer of the directory, as a call's pop showed it.
struct CustomerRef {
  std::string id;  // the CRM's id
  std::string name;
  std::string company;
  std::string url;  // the customer's page in the CRM ("" when none)
  friend bool operator==(const CustomerRef&, const CustomerRef&) = default;
};

// What the directory said of a call's number when the call heard it: kept
// with the call, so the CRM entry goes to the customer the desk user saw,
// whatever the directory says later.
struct CallerMatch {
  std::string e164;     // "" when the number could not be normalised
  std::string display;  // for people: "138 1234 5678", or the number as received
  std::vector<CustomerRef> customers;  // best first; empty when none matched
  friend bool operator==(const CallerMatch&, const CallerMatch&) = default;
};

// 8-4-4-4-12 hexadecimal digits, as make_uuid writes every call's id.
bool is_call_id(std::string_view text);

struct CallRecord {
  std::string id;  // UUID v4
  std::string line;
  std::string user;  // the line's desk user when the call started ("" when none configured)
  std::string box;  // box serial
  int port = 0;     // 1-based
  Direction direction = Direction::inbound;
  std::string number;                  // as received ("" when none)
  std::optional<char> number_absence;  // 'P' private / 'O' unavailable
  std::string name;                    // caller name from caller ID ("" when none)
  CallerMatch match;                   // of number; empty while there is none
  CallState state = CallState::active;
  std::optional<Outcome> outcome;       // none while active
  std::optional<EndReason> end_reason;  // none while active, for calls stored before it was kept, and for
                                        // calls re-attached from their recording (not known)
  WallTimeUs started_at = 0;
  std::optional<WallTimeUs> answered_at;
  std::optional<WallTimeUs> ended_at;
  friend bool operator==(const CallRecord&, const CallRecord&) = default;
};

// Connected time, the span a recording covers, to the millisecond: from the
// answer; for an outbound call without answer supervision, or a call joined
// in progress (direction unknown), from the start (off-hook, the join); 0 for
// inbound calls never answered (missed). None while the call is active. A
// wall clock stepped backwards gives 0, never a negative duration.
std::optional<std::chrono::milliseconds> duration(const CallRecord& call);

// Inbound calls only: first ring (or the join) to the answer, or to the end
// of ringing when not answered; none for other directions or while ringing.
std::optional<std::chrono::milliseconds> ring_time(const CallRecord& call);

struct RecordingRecord {
  std::string call_id;
  std::string path;  // "" when no file was made
  RecordingState state = RecordingState::recording;
  WallTimeUs started_at = 0;
  double duration_s = 0;  // millisecond precision
  std::uint64_t bytes = 0;
  std::string sha256;
  std::string error;
  friend bool operator==(const RecordingRecord&, const RecordingRecord&) = default;
};

struct OutboxItem {
  std::string call_id;
  OutboxKind kind = OutboxKind::call;
  std::int64_t revision = 1;       // grows with every change to send
  std::int64_t sent_revision = 0;  // the newest the CRM acknowledged
  OutboxState state = OutboxState::pending;
  WallTimeUs queued_at = 0;
  WallTimeUs next_at = 0;  // not tried before this
  int attempts = 0;        // failures since the last success or retry
  std::string body;        // a call entry as sent for body_revision (retries send the same bytes)
  std::int64_t body_revision = 0;
  std::optional<int> last_status;  // HTTP status of the last failure; none: no answer
  std::string last_error;
  std::optional<WallTimeUs> last_attempt_at;
  std::optional<WallTimeUs> done_at;
  std::string confirmed_sha256;  // recordings: the digest the CRM answered
  friend bool operator==(const OutboxItem&, const OutboxItem&) = default;
};

struct CallEventRecord {
  std::string call_id;
  WallTimeUs at = 0;
  std::string type;    // "dtmf", "caller_id", "polarity", ...
  std::string detail;  // JSON text ("" is stored as "{}")
  friend bool operator==(const CallEventRecord&, const CallEventRecord&) = default;
};

}  // namespace deskline::daemon
