// Client side of the daemon's control socket (proto/control.md).
#pragma once

#include <filesystem>

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

}  // namespace deskline::tools
