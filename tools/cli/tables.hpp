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

// A start time as the tables show it, to the second: "2026-11-27T13:45:02.500+08:00"
// reads "2026-11-27 13:45:02".
std::string started_text(std::string_view iso8601);

// A number as people read it; one word for each kind of missing number:
// "withheld" (the caller hid it), "unavailable" (the network had none), "-".
std::string number_text(std::string_view number, std::string_view absence);

// A word the daemon stores or sends (a direction, an outcome, a recording's
// state, a line's state, a pop event's name) as the user reads it; a word this CLI does not
// know yet is shown as it is.
std::string word_text(std::string_view word);

// The terminal's width when stdout is one (else $COLUMNS; 0: no limit).
std::size_t terminal_columns();

// Colour on stdout only on a terminal, and never with NO_COLOR set
// (no-color.org) or TERM=dumb. Colour is never the only signal: what is red
// also says so in words.
bool colour_on_stdout();
std::string in_red(std::string_view text);

// Aligned plain-text table for `deskline calls`: started, line, direction,
// number (formatted), customer, outcome, duration. The JSON overload takes an
// array of call_to_json objects, as the control socket returns them. Wider
// than max_width (0: any), the longest text columns are cut with an ellipsis.
// With colour, missed calls are red.
std::string calls_table(const std::vector<daemon::CallRecord>& calls, std::size_t max_width = 0);
std::string calls_table(const nlohmann::json& calls, std::size_t max_width = 0, bool colour = false);

// Aligned plain-text table for `deskline recordings` and the demo: call (the
// id's first 8 characters), started, line, direction, number (formatted),
// customer, duration, size, state, path (cut at its start when too wide). Takes an array of
// recording_to_json objects.
std::string recordings_table(const nlohmann::json& recordings, std::size_t max_width = 0);

}  // namespace deskline::tools
