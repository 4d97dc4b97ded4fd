// Control socket requests (proto/control.md): one JSON object per line from a
// local client. Pure parsing: a hostile line gets a reason, never an exception.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace deskline::proto::control {

enum class Command { status, calls };

struct Request {
  Command command = Command::status;
  std::size_t limit = 0;  // calls: newest N, 0 = all
  bool operator==(const Request&) const = default;
};

struct ParsedRequest {
  std::optional<Request> request;
  std::string error;  // why it was refused, sent back as {"ok": false, "error": ...}
  explicit operator bool() const { return request.has_value(); }
};

ParsedRequest parse_request(std::string_view line);

}  // namespace deskline::proto::control
