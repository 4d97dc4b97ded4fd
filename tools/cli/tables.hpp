// The CLI's plain-text tables (`deskline calls`, `deskline recordings`, the
// demo), built from the JSON the control socket and daemon/domain/call_json
// give, so a table looks the same whether the daemon or the database answered.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/domain/call.hpp"

namespace deskline::tools {

// One duration format for every command: "5.5 s", "4 min 05 s", "1 h 02 min", "3 d 04 h".
std::string duration_text(double seconds);

// A number as people read it; one word for each kind of missing number:
// "withheld" (the caller hid it), "unavailable" (the network had none), "-".
std::string number_text(std::string_view number, std::string_view absence);

// The terminal's width when stdout is one (else $COLUMNS; 0: no limit).
std::size_t terminal_columns();

// Aligned plain-text table for `deskline calls`: started, line, direction,
// number (formatted), customer, outcome, duration. The JSON overload takes an
// array of call_to_json objects, as the control socket returns them. Wider
// than max_width (0: any), the longest text columns are cut with an ellipsis.
std::string calls_table(const std::vector<daemon::CallRecord>& calls, std::size_t max_width = 0);
std::string calls_table(const nlohmann::json& calls, std::size_t max_width = 0);

// Aligned plain-text table for `deskline recordings` and the demo: call (the
// id's first 8 characters), started, line, direction, number, duration, size,
// state, path (cut at its start when too wide). Takes an array of
// recording_to_json objects.
std::string recordings_table(const nlohmann::json& recordings, std::size_t max_width = 0);

}  // namespace deskline::tools
