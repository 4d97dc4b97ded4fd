#include "daemon/domain/call.hpp"

#include <algorithm>
#include <cctype>

namespace deskline::daemon {
namespace {

// The value named text, found by walking to_string from 0 until it runs out
// of names: a new enum value needs only its to_string case.
template <typename Enum>
std::optional<Enum> parse_by_name(std::string_view text) {
  for (int value = 0;; ++value) {
    const auto candidate = static_cast<Enum>(value);
    const std::string_view name = to_string(candidate);
    if (name.empty()) return std::nullopt;
    if (name == text) return candidate;
  }
}

// Microseconds to milliseconds, rounded to the nearest.
std::chrono::milliseconds rounded_ms(std::int64_t micros) {
  const std::int64_t millis = micros >= 0 ? (micros + 500) / 1000 : -((-micros + 500) / 1000);
  return std::chrono::milliseconds(millis);
}

// A wall clock stepped backwards must not give a negative span.
std::chrono::milliseconds span(WallTimeUs from, WallTimeUs to) {
  return rounded_ms(std::max<WallTimeUs>(0, to - from));
}

}  // namespace

std::string_view to_string(Direction direction) {
  switch (direction) {
    case Direction::inbound: return "inbound";
    case Direction::outbound: return "outbound";
    case Direction::unknown: return "unknown";
  }
  return "";
}

std::string_view to_string(CallState state) {
  switch (state) {
    case CallState::active: return "active";
    case CallState::ended: return "ended";
  }
  return "";
}

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::answered: return "answered";
    case Outcome::missed: return "missed";
    case Outcome::completed: return "completed";
    case Outcome::abandoned: return "abandoned";
    case Outcome::device_lost: return "device_lost";
    case Outcome::interrupted: return "interrupted";
    case Outcome::remote_hangup: return "remote_hangup";
  }
  return "";
}

std::string_view to_string(EndReason reason) {
  switch (reason) {
    case EndReason::on_hook: return "on_hook";
    case EndReason::ring_timeout: return "ring_timeout";
    case EndReason::hangup_tone: return "hangup_tone";
    case EndReason::device_lost: return "device_lost";
    case EndReason::shutdown: return "shutdown";
    case EndReason::restart: return "restart";
  }
  return "";
}

std::string_view to_string(RecordingState state) {
  switch (state) {
    case RecordingState::recording: return "recording";
    case RecordingState::complete: return "complete";
    case RecordingState::truncated: return "truncated";
    case RecordingState::refused: return "refused";
    case RecordingState::failed: return "failed";
    case RecordingState::repaired: return "repaired";
    case RecordingState::damaged: return "damaged";
    case RecordingState::deleted: return "deleted";
  }
  return "";
}

std::string_view to_string(OutboxKind kind) {
  switch (kind) {
    case OutboxKind::call: return "call";
    case OutboxKind::recording: return "recording";
  }
  return "";
}

std::string_view to_string(OutboxState state) {
  switch (state) {
    case OutboxState::pending: return "pending";
    case OutboxState::done: return "done";
    case OutboxState::parked: return "parked";
  }
  return "";
}

std::optional<Direction> parse_direction(std::string_view text) { return parse_by_name<Direction>(text); }
std::optional<CallState> parse_call_state(std::string_view text) { return parse_by_name<CallState>(text); }
std::optional<Outcome> parse_outcome(std::string_view text) { return parse_by_name<Outcome>(text); }
std::optional<EndReason> parse_end_reason(std::string_view text) { return parse_by_name<EndReason>(text); }
std::optional<RecordingState> parse_recording_state(std::string_view text) {
  return parse_by_name<RecordingState>(text);
}

bool is_call_id(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool dash_here = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_here ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

std::optional<std::chrono::milliseconds> duration(const CallRecord& call) {
  if (call.state == CallState::active || !call.ended_at) return std::nullopt;
  std::optional<WallTimeUs> connected_at = call.answered_at;
  if (!connected_at && call.direction != Direction::inbound) connected_at = call.started_at;
  if (!connected_at) return std::chrono::milliseconds(0);  // missed
  return span(*connected_at, *call.ended_at);
}

std::optional<std::chrono::milliseconds> ring_time(const CallRecord& call) {
  if (call.direction != Direction::inbound) return std::nullopt;
  const auto ring_end = call.answered_at ? call.answered_at : call.ended_at;
  if (!ring_end) return std::nullopt;
  return span(call.started_at, *ring_end);
}

std::optional<OutboxKind> parse_outbox_kind(std::string_view text) { return parse_by_name<OutboxKind>(text); }
std::optional<OutboxState> parse_outbox_state(std::string_view text) { return parse_by_name<OutboxState>(text); }

}  // namespace deskline::daemon
