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

// The daemon's answer to request when it is ok; otherwise says why there is
// none (not running, not an admin, refused) on stderr and returns nullopt.
std::optional<nlohmann::json> ask_daemon(const std::filesystem::path& socket_path, const nlohmann::json& request);

}  // namespace deskline::tools
