#include "daemon/crm/call_entry.hpp"

#include <cmath>

#include <nlohmann/json.hpp>

#include "daemon/domain/call_json.hpp"

namespace deskline::daemon {
namespace {

using nlohmann::json;

json seconds(std::chrono::milliseconds span) { return static_cast<double>(span.count()) / 1000.0; }
json seconds_or_null(const std::optional<std::chrono::milliseconds>& span) {
  return span ? seconds(*span) : json(nullptr);
}
json text_or_null(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

}  // namespace

bool uploadable(RecordingState state) {
  return state == RecordingState::complete || state == RecordingState::truncated || state == RecordingState::repaired;
}

std::string call_entry_json(const CallRecord& call, const std::optional<RecordingRecord>& recording,
                            std::int64_t revision) {
  auto customers = json::array();
  for (const auto& customer : call.match.customers)
    customers.push_back({{"id", customer.id}, {"name", customer.name}, {"company", customer.company}});
  json absence = nullptr;
  if (call.number_absence) absence = *call.number_absence == 'P' ? "private" : "unavailable";
  // Connected time: none for a call that never was (missed, abandoned).
  const bool connected = call.outcome != Outcome::missed && call.outcome != Outcome::abandoned;
  const auto whole = std::chrono::milliseconds(
      std::llround(static_cast<double>(std::max<WallTimeUs>(0, call.ended_at.value_or(call.started_at) - call.started_at)) / 1000.0));
  json entry_recording = nullptr;
  if (recording && uploadable(recording->state) && !recording->path.empty())
    entry_recording = {{"state", to_string(recording->state)},
                       {"sha256", recording->sha256},
                       {"bytes", recording->bytes},
                       {"duration_s", std::round(recording->duration_s * 1000.0) / 1000.0},
                       {"codec", "opus"},
                       {"container", "ogg"},
                       {"mime", "audio/ogg"},
                       {"upload", "/v1/calls/" + call.id + "/recording"}};
  const json entry = {
      {"version", 1},
      {"revision", revision},
      {"id", call.id},
      {"line", call.line},
      {"user", text_or_null(call.user)},
      {"box", call.box},
      {"port", call.port},
      {"direction", to_string(call.direction)},
      {"outcome", call.outcome ? json(to_string(*call.outcome)) : json(nullptr)},
      {"end_reason", call.end_reason ? json(to_string(*call.end_reason)) : json(nullptr)},
      {"number",
       {{"heard", call.number},
        {"e164", text_or_null(call.match.e164)},
        {"display", call.match.display.empty() ? call.number : call.match.display},
        {"absence", absence}}},
      {"customers", customers},
      {"started_at", format_iso8601(call.started_at)},
      {"answered_at", call.answered_at ? json(format_iso8601(*call.answered_at)) : json(nullptr)},
      {"ended_at", call.ended_at ? json(format_iso8601(*call.ended_at)) : json(nullptr)},
      {"ring_s", seconds_or_null(ring_time(call))},
      {"talk_s", connected ? seconds_or_null(duration(call)) : json(nullptr)},
      {"duration_s", seconds(whole)},
      {"recording", entry_recording},
      {"transcript", nullptr},
  };
  return entry.dump();
}

}  // namespace deskline::daemon
