// The CLI's plain-text tables (`deskline calls`, `deskline recordings`, the
// demo), built from the JSON the control socket and daemon/domain/call_json
// give, so a table looks the same whether the daemon or the database answered.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/domain/call.hpp"

namespace deskline::tools {

// Aligned plain-text table for `deskline calls`: started, line, direction,
// number, outcome, duration. The JSON overload takes an array of
// call_to_json objects, as the control socket returns them.
std::string calls_table(const std::vector<daemon::CallRecord>& calls);
std::string calls_table(const nlohmann::json& calls);

// Aligned plain-text table for `deskline recordings` and the demo: call (the
// id's first 8 characters), started, line, direction, number, duration, size,
// state, path. Takes an array of recording_to_json objects.
std::string recordings_table(const nlohmann::json& recordings);

}  // namespace deskline::tools
