// Screen-pop events (daemon -> desk clients) and client requests (client ->
// daemon) on the events socket and the WebSocket. Pure: values to JSON text
// and back. Specified in proto/pop.md and proto/pop-event.schema.json.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deskline::proto::pop {

inline constexpr int schema_version = 1;
inline constexpr std::size_t max_request_bytes = 4096;
inline constexpr std::size_t max_filter_lines = 64;

struct Customer {
  std::string id;
  std::string name;
  std::string company;
  std::string url;
  friend bool operator==(const Customer&, const Customer&) = default;
};

struct Event {
  std::string event;  // "call.ringing", "call.dialling", "call.identified", ... "device.attached", "recording.saved"
  std::uint64_t seq = 0;
  std::string at;  // ISO 8601 with offset
  // Calls (empty for device events).
  std::string call_id;
  std::string line;
  std::string direction;
  std::string number;          // E.164 when known, else as received
  std::string number_display;  // formatted for people
  std::optional<std::string> privacy;  // "private" / "unavailable"
  std::string name;                    // caller name from caller ID
  std::vector<Customer> customers;
  std::string started_at;                 // call events: when the call began (ISO 8601 with offset)
  std::optional<std::string> answered_at;  // once answered
  std::optional<std::string> outcome;  // call.ended / call.missed
  std::optional<double> duration_s;
  std::optional<std::uint32_t> flash_ms;  // call.flash: how long the line was on-hook
  std::optional<std::string> digits;      // call.dialling: the digits dialled so far, as dialled (not a number)
  // Devices and recordings.
  std::string box;
  std::optional<int> port;
  std::optional<std::string> recording_path;
  std::optional<std::uint64_t> recording_bytes;
  bool replay = false;  // sent again from history or as an active call on connect
  friend bool operator==(const Event&, const Event&) = default;
};

// One JSON object, no newline.
std::string to_json(const Event& event);
// For tests and clients: the inverse of to_json; nullopt on anything else.
std::optional<Event> event_from_json(std::string_view text);

// A line a connection may see, and the person at it ([[line]] user, "" none).
struct SeenLine {
  std::string name;
  std::string user;
  friend bool operator==(const SeenLine&, const SeenLine&) = default;
};

// The first message on every connection: which event stream the daemon
// serves (one per database) and the newest seq it had published then; and
// what this connection sees: its desk (a desk's page), the lines, and
// whether it may play their recordings.
struct Hello {
  std::string stream;
  std::uint64_t last_seq = 0;  // 0: no event yet
  std::string desk;            // "" on the Unix socket and the admin's page
  std::vector<SeenLine> lines;
  bool may_listen = false;
  friend bool operator==(const Hello&, const Hello&) = default;
};

// {"v":1,"hello":{"stream":"...","last_seq":N,"lines":[{"name":..,"user":..}],
// "may_listen":false[,"desk":"..."]}}, no newline.
std::string to_json(const Hello& hello);
// For clients: the hello in a message; nullopt when it is anything else.
std::optional<Hello> hello_from_json(std::string_view text);

// What a client may send, one JSON object per line:
//   {"resume_from": SEQ}   replay every kept event with seq > SEQ
//   {"resume_from": SEQ, "stream": "ID"}   the same, only if the daemon's stream is ID
//   {"lines": ["Sales 1", ...]}   only events of these lines (and device events)
//   {"desk": "Front"}   only events of that desk's lines
// resume_from may go with lines or desk; lines and desk do not go together.
struct ClientRequest {
  std::optional<std::uint64_t> resume_from;
  std::optional<std::string> stream;  // only with resume_from
  std::optional<std::vector<std::string>> lines;
  std::optional<std::string> desk;
};

struct ParsedRequest {
  std::optional<ClientRequest> request;
  std::string error;  // why it was refused
  explicit operator bool() const { return request.has_value(); }
};

ParsedRequest parse_client_request(std::string_view text);

// The daemon's answer to a lines or desk request: the filter now in force
// (the lines whose call events pass), or why it was refused, the filter
// unchanged: {"v":1,"lines":[...]} or {"v":1,"error":"...","refused":"lines"}.
struct FilterAnswer {
  std::optional<std::vector<std::string>> lines;  // accepted
  std::string refused;                            // "lines" or "desk": what was refused
  std::string error;                              // why
  friend bool operator==(const FilterAnswer&, const FilterAnswer&) = default;
};
std::string to_json(const FilterAnswer& answer);
// For clients: the answer in a message; nullopt when it is anything else.
std::optional<FilterAnswer> filter_answer_from_json(std::string_view text);

}  // namespace deskline::proto::pop
