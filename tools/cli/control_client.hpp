// Client side of the daemon's control socket (proto/control.md).
#pragma once

#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "daemon/core/result.hpp"

namespace deskline::tools {

// One request, one response; an error when no daemon answers on the socket
// (not running), saying why: errno's text ("Connection refused"), or what
// was wrong with the answer.
daemon::Result<nlohmann::json> control_request(const std::filesystem::path& socket_path,
                                               const nlohmann::json& request);

// What to tell the user when control_request failed: not running, or (no
// permission on the socket) not an admin.
std::string unreachable_message(const std::filesystem::path& socket_path, const daemon::Error& error);

// The daemon's answer when it is ok; else failure is the command's exit
// status: 3 when it is not reachable for this user (not running, or not an
// admin: the socket's permissions or the daemon's peer check), 1 when it
// refused the request itself (the reason said on stderr either way).
struct DaemonAnswer {
  std::optional<nlohmann::json> json;
  int failure = 0;
  explicit operator bool() const { return json.has_value(); }
  const nlohmann::json* operator->() const { return &*json; }
  const nlohmann::json& operator*() const { return *json; }
};
DaemonAnswer ask_daemon(const std::filesystem::path& socket_path, const nlohmann::json& request);

}  // namespace deskline::tools
