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

}  // namespace

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

json call_to_json(const CallRecord& call) {
  auto seconds_or_null = [](const std::optional<std::chrono::milliseconds>& span) {
    return span ? json(static_cast<double>(span->count()) / 1000.0) : json(nullptr);
  };
  auto word_or_null = [](const auto& value) { return value ? json(to_string(*value)) : json(nullptr); };
  auto customers = json::array();
  for (const auto& customer : call.match.customers)
    customers.push_back({{"id", customer.id}, {"name", customer.name}, {"company", customer.company},
                         {"url", text_or_null(customer.url)}});
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
      {"customers", customers},
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
