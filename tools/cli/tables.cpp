#include "tools/cli/tables.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstdint>
#include <initializer_list>

#include <fmt/format.h>

#include "daemon/domain/call_json.hpp"
#include "tools/cli/language.hpp"

namespace deskline::tools {
namespace {

using nlohmann::json;

std::string text_of(const json& object, const char* key) {
  const auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

// One UTF-8 character at text[i]: its length in bytes and its terminal
// columns. East Asian wide characters (line and user names are often
// Chinese) take two, so columns still line up.
std::pair<std::size_t, std::size_t> character_at(std::string_view text, std::size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  std::size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
  if (i + length > text.size()) length = text.size() - i;
  std::uint32_t code = length == 1 ? lead : lead & (0x3F >> (length - 1));
  for (std::size_t k = 1; k < length; ++k) code = (code << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
  const bool wide = (code >= 0x1100 && code <= 0x115F) || (code >= 0x2E80 && code <= 0xA4CF) ||
                    (code >= 0xAC00 && code <= 0xD7A3) || (code >= 0xF900 && code <= 0xFAFF) ||
                    (code >= 0xFE30 && code <= 0xFE4F) || (code >= 0xFF00 && code <= 0xFF60) ||
                    (code >= 0xFFE0 && code <= 0xFFE6) || (code >= 0x20000 && code <= 0x3FFFD);
  return {length, wide ? 2 : 1};
}

std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  for (std::size_t i = 0; i < text.size();) {
    const auto [length, columns] = character_at(text, i);
    width += columns;
    i += length;
  }
  return width;
}

// text cut to width columns with an ellipsis: its start kept, or its end
// (a path, whose file name matters most).
std::string shortened(const std::string& text, std::size_t width, bool keep_end) {
  if (display_width(text) <= width) return text;
  if (width == 0) return "";
  std::vector<std::pair<std::size_t, std::size_t>> characters;  // byte offset, columns
  for (std::size_t i = 0; i < text.size();) {
    const auto [length, columns] = character_at(text, i);
    characters.emplace_back(i, columns);
    i += length;
  }
  std::size_t used = 1;  // the ellipsis
  if (keep_end) {
    std::size_t from = text.size();
    for (auto it = characters.rbegin(); it != characters.rend() && used + it->second <= width; ++it) {
      used += it->second;
      from = it->first;
    }
    return "…" + text.substr(from);
  }
  std::size_t end = 0;
  for (const auto& [offset, columns] : characters) {
    if (used + columns > width) break;
    used += columns;
    end = offset + character_at(text, offset).first;
  }
  return text.substr(0, end) + "…";
}

std::string format_duration(const json& seconds) {
  return seconds.is_number() ? duration_text(seconds.get<double>()) : "-";
}

// "12.3 KB": sizes of recordings, which run from kilobytes to a few megabytes.
std::string format_size(const json& bytes) {
  if (!bytes.is_number()) return "-";
  const double value = bytes.get<double>();
  if (value < 1024) return fmt::format("{} B", static_cast<std::uint64_t>(value));
  if (value < 1024 * 1024) return fmt::format("{:.1f} KB", value / 1024);
  return fmt::format("{:.1f} MB", value / (1024 * 1024));
}

// How a table gives way on a narrow terminal, step by step until it fits:
// the STARTED column loses its year and seconds, the text columns in
// shrinkable are cut with an ellipsis (down to 8 columns; a path keeps its
// end), then the columns in drop are left out, in that order.
struct Fitting {
  std::vector<std::size_t> right_aligned;
  std::size_t started = SIZE_MAX;
  std::vector<std::size_t> shrinkable;
  std::size_t path = SIZE_MAX;
  std::vector<std::size_t> drop;
};

std::vector<std::size_t> column_widths(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t column = 0; column < row.size(); ++column)
      widths[column] = std::max(widths[column], display_width(row[column]));
  }
  return widths;
}

// Columns padded to their widest cell, two spaces apart; numbers (the columns
// in right_aligned) read best right-aligned, text left-aligned. The last
// column is not padded on the right, so lines carry no trailing blanks.
// Wider than max_width (0: any width), the table gives way as fitting says.
// The rows flagged in alarming are red when colour is on.
std::string render_table(std::vector<std::vector<std::string>> rows, const Fitting& fitting, std::size_t max_width,
                         const std::vector<bool>& alarming = {}) {
  auto widths = column_widths(rows);
  std::vector<bool> shown(widths.size(), true);
  auto total = [&] {
    std::size_t sum = 0, columns = 0;
    for (std::size_t column = 0; column < widths.size(); ++column)
      if (shown[column]) sum += widths[column], ++columns;
    return columns ? sum + 2 * (columns - 1) : 0;
  };
  constexpr std::size_t narrowest = 8;
  if (max_width > 0 && total() > max_width && fitting.started < widths.size()) {
    for (std::size_t row = 1; row < rows.size(); ++row)  // "2026-11-27 13:45:02" -> "11-27 13:45"
      if (rows[row][fitting.started].size() >= 16) rows[row][fitting.started] = rows[row][fitting.started].substr(5, 11);
    widths = column_widths(rows);
  }
  for (const auto column : fitting.shrinkable) {
    if (max_width == 0 || total() <= max_width) break;
    const auto cut = std::min(total() - max_width, widths[column] > narrowest ? widths[column] - narrowest : 0);
    if (cut == 0) continue;
    widths[column] -= cut;
    for (auto& row : rows)
      if (column < row.size()) row[column] = shortened(row[column], widths[column], column == fitting.path);
  }
  for (const auto column : fitting.drop)
    if (max_width > 0 && total() > max_width) shown[column] = false;
  const auto right = [&](std::size_t column) {
    return std::find(fitting.right_aligned.begin(), fitting.right_aligned.end(), column) != fitting.right_aligned.end();
  };
  std::size_t last = 0;
  for (std::size_t column = 0; column < widths.size(); ++column)
    if (shown[column]) last = column;
  std::string out;
  for (std::size_t index = 0; index < rows.size(); ++index) {
    const auto& row = rows[index];
    std::string line;
    for (std::size_t column = 0; column < row.size(); ++column) {
      if (!shown[column]) continue;
      const std::string padding(widths[column] - display_width(row[column]), ' ');
      if (right(column))
        line += padding + row[column];
      else
        line += row[column] + (column == last ? "" : padding);
      if (column != last) line += "  ";
    }
    out += (index < alarming.size() && alarming[index] ? in_red(line) : line) + "\n";
  }
  return out;
}

// The number as shown (formatted when it was recognised), else as heard.
std::string number_of(const json& call) {
  const auto display = text_of(call, "number_display");
  return display.empty() ? text_of(call, "number") : display;
}

// The first customer the number matched, or the name caller ID gave.
std::string customer_of(const json& call) {
  const auto customers = call.find("customers");
  if (customers != call.end() && customers->is_array() && !customers->empty() && customers->front().is_object())
    return text_of(customers->front(), "name");
  return text_of(call, "name");
}

}  // namespace

std::string duration_text(double seconds) {
  if (!(seconds >= 0)) seconds = 0;
  if (seconds < 59.95) return trf("{:.1f} s", seconds);
  const auto total = static_cast<std::int64_t>(seconds + 0.5);
  if (total < 3600) return trf("{} min {:02} s", total / 60, total % 60);
  if (total < 86400) return trf("{} h {:02} min", total / 3600, total / 60 % 60);
  return trf("{} d {:02} h", total / 86400, total / 3600 % 24);
}

std::string word_text(std::string_view word) {
  // The protocol's line state "dialing" reads as the word `deskline pop` and the page use.
  if (word == "dialing") word = "dialling";
  // TRANSLATORS: the words of the calls and recordings tables (directions, outcomes, recording states), of
  // `deskline status` (line states) and of `deskline pop`'s lines (the events of proto/pop.md).
  static constexpr const char* words[]{
      translatable("inbound"),         translatable("outbound"),        translatable("unknown"),
      translatable("active"),          translatable("answered"),        translatable("missed"),
      translatable("completed"),       translatable("abandoned"),       translatable("device_lost"),
      translatable("interrupted"),     translatable("remote_hangup"),   translatable("recording"),
      translatable("complete"),        translatable("truncated"),       translatable("refused"),
      translatable("failed"),          translatable("repaired"),        translatable("damaged"),
      translatable("deleted"),         translatable("call.ringing"),    translatable("call.identified"),
      translatable("call.answered"),   translatable("call.outbound"),   translatable("call.joined"),
      translatable("call.flash"),      translatable("call.ended"),      translatable("call.missed"),
      translatable("recording.saved"), translatable("device.attached"), translatable("device.detached"),
      translatable("idle"),            translatable("ringing"),         translatable("dialling"),
      translatable("joined"),
  };
  for (const char* english : words)
    if (word == english) return tr(english);
  return std::string(word);
}

std::string started_text(std::string_view iso8601) {
  std::string started(iso8601.substr(0, 19));  // to the second
  if (started.size() > 10 && started[10] == 'T') started[10] = ' ';
  return started;
}

std::string number_text(std::string_view number, std::string_view absence) {
  if (!number.empty()) return std::string(number);
  if (absence == "private") return tr("withheld");
  if (absence == "unavailable") return tr("unavailable");
  return "-";
}

bool colour_on_stdout() {
  const char* no_colour = std::getenv("NO_COLOR");
  const char* terminal = std::getenv("TERM");
  return ::isatty(STDOUT_FILENO) && (no_colour == nullptr || *no_colour == '\0') &&
         !(terminal != nullptr && std::string_view(terminal) == "dumb");
}

std::string in_red(std::string_view text) { return fmt::format("\x1b[31m{}\x1b[0m", text); }

std::size_t terminal_columns() {
  winsize size{};
  if (::isatty(STDOUT_FILENO) && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  if (const char* columns = std::getenv("COLUMNS")) {
    const auto value = std::strtoul(columns, nullptr, 10);
    if (value >= 20 && value <= 10000) return value;
  }
  return 0;
}

std::string calls_table(const std::vector<daemon::CallRecord>& calls, std::size_t max_width) {
  json list = json::array();
  for (const auto& call : calls) list.push_back(daemon::call_to_json(call));
  return calls_table(list, max_width);
}

std::string calls_table(const json& calls, std::size_t max_width, bool colour) {
  if (!calls.is_array() || calls.empty()) return std::string(tr("no calls")) + "\n";
  // TRANSLATORS: column headers of `deskline calls`.
  std::vector<std::vector<std::string>> rows{
      {tr("STARTED"), tr("LINE"), tr("DIRECTION"), tr("NUMBER"), tr("CUSTOMER"), tr("OUTCOME"), tr("DURATION")}};
  std::vector<bool> missed{false};  // the header
  for (const auto& call : calls) {
    if (!call.is_object()) continue;
    const auto number = number_text(number_of(call), text_of(call, "number_absence"));
    std::string outcome = text_of(call, "outcome");
    if (outcome.empty()) outcome = text_of(call, "state");
    missed.push_back(colour && outcome == "missed");
    const auto duration = call.find("duration_s");
    rows.push_back({started_text(text_of(call, "started_at")), text_of(call, "line"),
                    word_text(text_of(call, "direction")), number, customer_of(call), word_text(outcome),
                    format_duration(duration == call.end() ? json(nullptr) : *duration)});
  }
  // STARTED 0, LINE 1, DIRECTION 2, NUMBER 3, CUSTOMER 4, OUTCOME 5, DURATION 6.
  return render_table(std::move(rows), Fitting{{6}, 0, {4, 1}, SIZE_MAX, {2, 1}}, max_width, missed);
}

std::string recordings_table(const json& recordings, std::size_t max_width) {
  if (!recordings.is_array() || recordings.empty()) return std::string(tr("no recordings")) + "\n";
  // TRANSLATORS: column headers of `deskline recordings`.
  std::vector<std::vector<std::string>> rows{{tr("CALL"), tr("STARTED"), tr("LINE"), tr("DIRECTION"), tr("NUMBER"),
                                              tr("CUSTOMER"), tr("DURATION"), tr("SIZE"), tr("STATE"), tr("PATH")}};
  for (const auto& recording : recordings) {
    if (!recording.is_object()) continue;
    const auto number = number_text(number_of(recording), text_of(recording, "number_absence"));
    std::string line = text_of(recording, "line");
    if (line.empty()) line = "-";
    const auto duration = recording.find("duration_s");
    const auto bytes = recording.find("bytes");
    std::string path = text_of(recording, "path");
    if (path.empty()) path = "-";
    std::string direction = word_text(text_of(recording, "direction"));
    if (direction.empty()) direction = "-";
    // Eight characters identify a call for `recordings export` (a unique prefix is accepted).
    rows.push_back(
        {text_of(recording, "call_id").substr(0, 8), started_text(text_of(recording, "started_at")), line, direction,
         number, customer_of(recording), format_duration(duration == recording.end() ? json(nullptr) : *duration),
         format_size(bytes == recording.end() ? json(nullptr) : *bytes), word_text(text_of(recording, "state")), path});
  }
  // CALL 0, STARTED 1, LINE 2, DIRECTION 3, NUMBER 4, CUSTOMER 5, DURATION 6, SIZE 7, STATE 8, PATH 9.
  return render_table(std::move(rows), Fitting{{6, 7}, 1, {9, 5, 2}, 9, {9, 3, 7, 2, 5}}, max_width);
}

}  // namespace deskline::tools
