#include "tools/cli/tables.hpp"

#include <algorithm>
#include <cstdint>
#include <initializer_list>

#include <fmt/format.h>

#include "daemon/domain/call_json.hpp"

namespace deskline::tools {
namespace {

using nlohmann::json;

std::string text_of(const json& object, const char* key) {
  const auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

// Terminal columns taken by UTF-8 text: East Asian wide characters (line and
// user names are often Chinese) take two, so columns still line up.
std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    if (i + length > text.size()) length = text.size() - i;
    std::uint32_t code = length == 1 ? lead : lead & (0x3F >> (length - 1));
    for (std::size_t k = 1; k < length; ++k) code = (code << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    const bool wide = (code >= 0x1100 && code <= 0x115F) || (code >= 0x2E80 && code <= 0xA4CF) ||
                      (code >= 0xAC00 && code <= 0xD7A3) || (code >= 0xF900 && code <= 0xFAFF) ||
                      (code >= 0xFE30 && code <= 0xFE4F) || (code >= 0xFF00 && code <= 0xFF60) ||
                      (code >= 0xFFE0 && code <= 0xFFE6) || (code >= 0x20000 && code <= 0x3FFFD);
    width += wide ? 2 : 1;
    i += length;
  }
  return width;
}

std::string format_duration(const json& seconds) {
  if (!seconds.is_number()) return "-";
  const auto total = static_cast<std::int64_t>(seconds.get<double>() + 0.5);
  if (total >= 3600) return fmt::format("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60);
  return fmt::format("{}:{:02}", total / 60, total % 60);
}

// "12.3 KB": sizes of recordings, which run from kilobytes to a few megabytes.
std::string format_size(const json& bytes) {
  if (!bytes.is_number()) return "-";
  const double value = bytes.get<double>();
  if (value < 1024) return fmt::format("{} B", static_cast<std::uint64_t>(value));
  if (value < 1024 * 1024) return fmt::format("{:.1f} KB", value / 1024);
  return fmt::format("{:.1f} MB", value / (1024 * 1024));
}

// Columns padded to their widest cell, two spaces apart; numbers (the columns
// in right_aligned) read best right-aligned, text left-aligned. The last
// column is not padded on the right, so lines carry no trailing blanks.
std::string render_table(const std::vector<std::vector<std::string>>& rows,
                         std::initializer_list<std::size_t> right_aligned) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t column = 0; column < row.size(); ++column)
      widths[column] = std::max(widths[column], display_width(row[column]));
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t column = 0; column < row.size(); ++column) {
      const bool last = column + 1 == row.size();
      const bool right = std::find(right_aligned.begin(), right_aligned.end(), column) != right_aligned.end();
      const std::string padding(widths[column] - display_width(row[column]), ' ');
      if (right)
        line += padding + row[column];
      else
        line += row[column] + (last ? "" : padding);
      if (!last) line += "  ";
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace

std::string calls_table(const std::vector<daemon::CallRecord>& calls) {
  json list = json::array();
  for (const auto& call : calls) list.push_back(daemon::call_to_json(call));
  return calls_table(list);
}

std::string calls_table(const json& calls) {
  if (!calls.is_array() || calls.empty()) return "no calls\n";
  std::vector<std::vector<std::string>> rows{{"STARTED", "LINE", "DIRECTION", "NUMBER", "OUTCOME", "DURATION"}};
  for (const auto& call : calls) {
    if (!call.is_object()) continue;
    std::string started = text_of(call, "started_at").substr(0, 19);  // to the second
    if (started.size() > 10 && started[10] == 'T') started[10] = ' ';
    std::string number = text_of(call, "number");
    if (number.empty()) {
      const auto absence = text_of(call, "number_absence");
      number = absence.empty() ? "-" : "(" + absence + ")";
    }
    std::string outcome = text_of(call, "outcome");
    if (outcome.empty()) outcome = text_of(call, "state");
    const auto duration = call.find("duration_s");
    rows.push_back({started, text_of(call, "line"), text_of(call, "direction"), number, outcome,
                    format_duration(duration == call.end() ? json(nullptr) : *duration)});
  }
  return render_table(rows, {5});
}

std::string recordings_table(const json& recordings) {
  if (!recordings.is_array() || recordings.empty()) return "no recordings\n";
  std::vector<std::vector<std::string>> rows{
      {"CALL", "STARTED", "LINE", "DIRECTION", "NUMBER", "DURATION", "SIZE", "STATE", "PATH"}};
  for (const auto& recording : recordings) {
    if (!recording.is_object()) continue;
    std::string started = text_of(recording, "started_at").substr(0, 19);  // to the second
    if (started.size() > 10 && started[10] == 'T') started[10] = ' ';
    std::string number = text_of(recording, "number");
    if (number.empty()) number = "-";
    std::string line = text_of(recording, "line");
    if (line.empty()) line = "-";
    const auto duration = recording.find("duration_s");
    const auto bytes = recording.find("bytes");
    std::string path = text_of(recording, "path");
    if (path.empty()) path = "-";
    std::string direction = text_of(recording, "direction");
    if (direction.empty()) direction = "-";
    // Eight characters identify a call for `recordings export` (a unique prefix is accepted).
    rows.push_back({text_of(recording, "call_id").substr(0, 8), started, line, direction, number, format_duration(duration == recording.end() ? json(nullptr) : *duration),
                    format_size(bytes == recording.end() ? json(nullptr) : *bytes), text_of(recording, "state"),
                    path});
  }
  return render_table(rows, {5, 6});
}

}  // namespace deskline::tools
