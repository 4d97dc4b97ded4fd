#include "daemon/domain/call_json.hpp"

#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <ctime>

#include <fmt/format.h>

namespace deskline::daemon {
namespace {

using nlohmann::json;

json text_or_null(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

constexpr std::int64_t micros_per_second = 1'000'000;

json time_or_null(const std::optional<WallTimeUs>& time) {
  return time ? json(format_iso8601(*time)) : json(nullptr);
}

json absence_name(const std::optional<char>& absence) {
  if (!absence) return nullptr;
  switch (*absence) {
    case 'P': return "private";
    case 'O': return "unavailable";
  }
  return nullptr;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
  year -= month <= 2;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

unsigned days_in_month(std::int64_t year, unsigned month) {
  constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : days[month - 1];
}

// Reads exactly count digits at text[at]; advances at.
std::optional<unsigned> digits(std::string_view text, std::size_t& at, std::size_t count) {
  if (text.size() - at < count) return std::nullopt;
  unsigned value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const char c = text[at + i];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  at += count;
  return value;
}

bool literal(std::string_view text, std::size_t& at, char c) {
  if (at >= text.size() || text[at] != c) return false;
  ++at;
  return true;
}

json customers_of(const CallRecord& call) {
  auto customers = json::array();
  for (const auto& customer : call.match.customers)
    customers.push_back({{"id", customer.id}, {"name", customer.name}, {"company", customer.company},
                         {"url", text_or_null(customer.url)}});
  return customers;
}

}  // namespace

std::optional<WallTimeUs> parse_iso8601(std::string_view text) {
  std::size_t at = 0;
  const auto year = digits(text, at, 4);
  if (!year || !literal(text, at, '-')) return std::nullopt;
  const auto month = digits(text, at, 2);
  if (!month || *month < 1 || *month > 12 || !literal(text, at, '-')) return std::nullopt;
  const auto day = digits(text, at, 2);
  if (!day || *day < 1 || *day > days_in_month(*year, *month) || !literal(text, at, 'T')) return std::nullopt;
  const auto hour = digits(text, at, 2);
  if (!hour || *hour > 23 || !literal(text, at, ':')) return std::nullopt;
  const auto minute = digits(text, at, 2);
  if (!minute || *minute > 59 || !literal(text, at, ':')) return std::nullopt;
  const auto second = digits(text, at, 2);
  if (!second || *second > 59) return std::nullopt;
  std::int64_t micros = 0;
  if (literal(text, at, '.')) {
    std::size_t count = 0;
    for (; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at, ++count)
      if (count < 6) micros = micros * 10 + (text[at] - '0');
    if (count == 0) return std::nullopt;
    for (; count < 6; ++count) micros *= 10;
  }
  std::int64_t offset_seconds = 0;
  if (!literal(text, at, 'Z')) {
    if (at >= text.size() || (text[at] != '+' && text[at] != '-')) return std::nullopt;
    const bool negative = text[at++] == '-';
    const auto offset_hours = digits(text, at, 2);
    if (!offset_hours || *offset_hours > 18 || !literal(text, at, ':')) return std::nullopt;
    const auto offset_minutes = digits(text, at, 2);
    if (!offset_minutes || *offset_minutes > 59) return std::nullopt;
    offset_seconds = (std::int64_t{*offset_hours} * 3600 + *offset_minutes * 60) * (negative ? -1 : 1);
  }
  if (at != text.size()) return std::nullopt;
  const std::int64_t seconds = days_from_civil(*year, *month, *day) * 86400 + std::int64_t{*hour} * 3600 +
                               std::int64_t{*minute} * 60 + *second - offset_seconds;
  return seconds * micros_per_second + micros;
}

std::string format_iso8601(WallTimeUs time) {
  // Floor division, so times before 1970 keep a positive sub-second part.
  std::int64_t seconds = time / micros_per_second;
  std::int64_t micros = time % micros_per_second;
  if (micros < 0) {
    micros += micros_per_second;
    --seconds;
  }
  const auto whole = static_cast<std::time_t>(seconds);
  std::tm local{};
  if (!localtime_r(&whole, &local)) return fmt::format("@{}", time);  // beyond the calendar: still unique
  std::array<char, 32> date{};
  std::strftime(date.data(), date.size(), "%Y-%m-%dT%H:%M:%S", &local);
  const long offset = local.tm_gmtoff;
  const long magnitude = offset < 0 ? -offset : offset;
  return fmt::format("{}.{:03}{}{:02}:{:02}", date.data(), micros / 1000, offset < 0 ? '-' : '+', magnitude / 3600,
                     magnitude / 60 % 60);
}

std::string recording_file_name(const CallRecord& call) {
  return recording_file_name(call.started_at, call.line, call.direction, call.number);
}

std::string recording_file_name(WallTimeUs started_at, std::string_view line, Direction direction,
                                std::string_view number) {
  const auto started = format_iso8601(started_at);  // "2026-11-27T09:00:01.500+08:00"
  std::string name = started.size() >= 16 ? started.substr(0, 10) + "_" + started.substr(11, 2) + started.substr(14, 2)
                                          : std::string("call");
  std::string safe_line;
  for (const char c : line)
    safe_line += (static_cast<unsigned char>(c) < 0x20 || c == 0x7F || c == ' ' || c == '/' || c == '\\') ? '-' : c;
  name += "_" + (safe_line.empty() ? std::string("line") : safe_line) + "_" + std::string(to_string(direction));
  if (!number.empty()) name += "_" + std::string(number);
  return name;
}

json call_to_json(const CallRecord& call) {
  auto seconds_or_null = [](const std::optional<std::chrono::milliseconds>& span) {
    return span ? json(static_cast<double>(span->count()) / 1000.0) : json(nullptr);
  };
  auto word_or_null = [](const auto& value) { return value ? json(to_string(*value)) : json(nullptr); };
  return {
      {"id", call.id},
      {"line", call.line},
      {"user", call.user},
      {"box", call.box},
      {"port", call.port},
      {"direction", to_string(call.direction)},
      {"number", call.number},
      {"number_absence", absence_name(call.number_absence)},
      {"number_e164", text_or_null(call.match.e164)},
      {"number_display", text_or_null(call.match.display)},
      {"customers", customers_of(call)},
      {"name", call.name},
      {"state", to_string(call.state)},
      {"outcome", word_or_null(call.outcome)},
      {"end_reason", word_or_null(call.end_reason)},
      {"started_at", format_iso8601(call.started_at)},
      {"answered_at", time_or_null(call.answered_at)},
      {"ended_at", time_or_null(call.ended_at)},
      {"duration_s", seconds_or_null(duration(call))},
      {"ring_s", seconds_or_null(ring_time(call))},
  };
}

json recording_to_json(const RecordingRecord& recording, const std::optional<CallRecord>& call) {
  return {
      {"call_id", recording.call_id},
      {"line", call ? json(call->line) : json(nullptr)},
      {"direction", call ? json(to_string(call->direction)) : json(nullptr)},
      {"number", call ? json(call->number) : json(nullptr)},
      {"number_absence", call ? absence_name(call->number_absence) : json(nullptr)},
      {"number_display", call ? text_or_null(call->match.display) : json(nullptr)},
      {"customers", call ? customers_of(*call) : json(nullptr)},
      {"started_at", format_iso8601(recording.started_at)},
      // Stored with millisecond precision; rounded again so JSON shows no float noise.
      {"duration_s", std::round(recording.duration_s * 1000.0) / 1000.0},
      {"bytes", recording.bytes},
      {"state", to_string(recording.state)},
      {"path", text_or_null(recording.path)},
      {"sha256", text_or_null(recording.sha256)},
      {"error", text_or_null(recording.error)},
  };
}

}  // namespace deskline::daemon
