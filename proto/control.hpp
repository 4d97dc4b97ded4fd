// Control socket requests (proto/control.md): one JSON object per line from a
// local client. Pure parsing: a hostile line gets a reason, never an exception.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace deskline::proto::control {

enum class Command { status, calls, sync_status, sync_retry, customers_sync, reattach_recording, reload };

// calls answers come in pages: at most this many calls each.
inline constexpr std::size_t default_calls_per_page = 100;
inline constexpr std::size_t max_calls_per_page = 1000;

struct Request {
  Command command = Command::status;
  std::size_t limit = default_calls_per_page;  // calls: newest N
  std::string before;                          // calls: only those older than the call with this id
  std::string call_id;                         // sync_retry: this call's items ("": every parked item)
  std::string path;                            // reattach_recording: the orphan recording file
  bool operator==(const Request&) const = default;
};

struct ParsedRequest {
  std::optional<Request> request;
  std::string error;  // why it was refused, sent back as {"ok": false, "error": ...}
  explicit operator bool() const { return request.has_value(); }
};

ParsedRequest parse_request(std::string_view line);

// A request line may be this long, its newline included.
inline constexpr std::size_t max_request_bytes = 64 * 1024;

enum class Framed { line, need_more, too_long };

// Cuts a connection's byte stream into request lines.
class LineFramer {
 public:
  void append(std::string_view bytes) { pending_.append(bytes); }
  // The next whole line, without its newline, into line; need_more until one
  // has arrived; too_long once the line being received cannot fit
  // max_request_bytes (the stream cannot be framed any further).
  Framed next(std::string& line);
  // Nothing of a next line has arrived.
  bool empty() const { return pending_.empty(); }

 private:
  std::string pending_;
};

}  // namespace deskline::proto::control
