#include "tools/sim/report_json.hpp"

#include <string>
#include <type_traits>
#include <variant>

namespace deskline::sim {
namespace x800 = proto::x800;

namespace {

std::string_view error_code_name(x800::BoxErrorCode code) {
  switch (code) {
    case x800::BoxErrorCode::internal: return "internal";
    case x800::BoxErrorCode::bad_command: return "bad_command";
    case x800::BoxErrorCode::audio_overrun: return "audio_overrun";
    case x800::BoxErrorCode::line_fault: return "line_fault";
  }
  return "unknown";
}

std::string_view command_name(x800::CommandType type) {
  switch (type) {
    case x800::CommandType::get_info: return "get_info";
    case x800::CommandType::set_event_mask: return "set_event_mask";
    case x800::CommandType::set_caller_id_decoding: return "set_caller_id_decoding";
    case x800::CommandType::keepalive: return "keepalive";
    case x800::CommandType::get_line_state: return "get_line_state";
  }
  return "unknown";
}

std::string_view ack_status_name(x800::AckStatus status) {
  switch (status) {
    case x800::AckStatus::ok: return "ok";
    case x800::AckStatus::unsupported: return "unsupported";
    case x800::AckStatus::bad_argument: return "bad_argument";
  }
  return "unknown";
}

}  // namespace

void add_report_fields(nlohmann::json& event, const x800::ReportBody& body) {
  std::visit(
      [&](const auto& value) {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, x800::BoxInfo>) {
          event["model"] = value.model;
          event["serial"] = value.serial;
          event["firmware"] = std::to_string(value.firmware_major) + "." + std::to_string(value.firmware_minor) +
                              "." + std::to_string(value.firmware_patch);
          event["line_count"] = value.line_count;
          event["audio_rate_hz"] = value.audio_rate_hz;
          event["decodes_caller_id"] = value.decodes_caller_id;
        } else if constexpr (std::is_same_v<T, x800::Hook>) {
          event["off_hook"] = value.off_hook;
        } else if constexpr (std::is_same_v<T, x800::Ring>) {
          event["ringing"] = value.ringing;
        } else if constexpr (std::is_same_v<T, x800::Polarity>) {
          event["reversed"] = value.reversed;
        } else if constexpr (std::is_same_v<T, x800::CallerId>) {
          if (value.number) event["number"] = *value.number;
          if (value.name) event["name"] = *value.name;
          if (value.number_absence) event["number_absence"] = std::string(1, *value.number_absence);
          if (value.name_absence) event["name_absence"] = std::string(1, *value.name_absence);
          if (value.datetime) event["datetime"] = *value.datetime;
        } else if constexpr (std::is_same_v<T, x800::Dtmf>) {
          event["digit"] = std::string(1, value.digit);
          event["duration_ms"] = value.duration_ms;
        } else if constexpr (std::is_same_v<T, x800::LineVoltage>) {
          event["decivolts"] = value.decivolts;
        } else if constexpr (std::is_same_v<T, x800::BoxError>) {
          event["code"] = std::string(error_code_name(value.code));
          event["message"] = value.message;
        } else if constexpr (std::is_same_v<T, x800::Ack>) {
          event["command"] = std::string(command_name(value.command));
          event["command_seq"] = value.command_sequence;
          event["status"] = std::string(ack_status_name(value.status));
          event["token"] = value.token;
        } else if constexpr (std::is_same_v<T, x800::LineState>) {
          event["off_hook"] = value.off_hook;
          event["ringing"] = value.ringing;
          event["reversed"] = value.reversed;
        }
      },
      body);
}

void add_command_fields(nlohmann::json& event, const x800::CommandBody& body) {
  event["type"] = std::string(command_name(x800::command_type(body)));
  std::visit(
      [&](const auto& value) {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, x800::SetEventMask>) {
          event["mask"] = value.mask;
        } else if constexpr (std::is_same_v<T, x800::SetCallerIdDecoding>) {
          event["enabled"] = value.enabled;
        } else if constexpr (std::is_same_v<T, x800::Keepalive>) {
          event["token"] = value.token;
        }
      },
      body);
}

}  // namespace deskline::sim
