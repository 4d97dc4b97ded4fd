// How a stored call looks outside the daemon: the JSON of the control socket,
// the CLI's --json output and the CRM (the CLI's tables are tools/cli/tables).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "daemon/domain/call.hpp"

namespace deskline::daemon {

// Local time with its UTC offset and milliseconds (truncated):
// "2026-11-27T13:45:02.125+08:00". Uses the process time zone (TZ).
std::string format_iso8601(WallTimeUs time);

// The way back: "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)", the
// fraction cut to microseconds. nullopt for anything else, including dates
// that do not exist and times without their offset (which would be ambiguous).
std::optional<WallTimeUs> parse_iso8601(std::string_view text);

// Fields: id, line, user (the line's desk user, "" when none), box, port,
// direction, number (as received), number_absence ("private" /
// "unavailable" / null), number_e164 and number_display (null when none),
// customers (the match the pop showed: [{id, name, company, url}], best
// first), name, state, outcome and end_reason
// (null while active), started_at / answered_at / ended_at (format_iso8601,
// null when absent), duration_s (duration() in call.hpp) and ring_s
// (ring_time()), in seconds with millisecond precision, null when none.
nlohmann::json call_to_json(const CallRecord& call);

// A recording as `deskline recordings --json` lists it: call_id, line,
// direction, number (from the call; null when the call row is missing),
// started_at (format_iso8601), duration_s, bytes, state, path and sha256
// (null when no file was made), error (null when none).
nlohmann::json recording_to_json(const RecordingRecord& recording, const std::optional<CallRecord>& call);

// A name to save a call's recording under, without extension, readable in a
// folder of downloads: local start date and time, line, direction, number
// ("2026-11-27_0900_front-desk_inbound_13812345678"); "/", "\\", spaces and
// control characters of the line name become '-'. UTF-8 line names stay.
std::string recording_file_name(const CallRecord& call);
// The same from the only fields it is made of (a download reads just these).
std::string recording_file_name(WallTimeUs started_at, std::string_view line, Direction direction,
                                std::string_view number);

}  // namespace deskline::daemon
