// Client side of the daemon's control socket (proto/control.md).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace deskline::tools {

// One request, one response. nullopt when no daemon answers on the socket
// (not running); error says why.
std::optional<nlohmann::json> control_request(const std::filesystem::path& socket_path,
                                              const nlohmann::json& request, std::string& error);

}  // namespace deskline::tools
