#include "proto/x800_json.hpp"

#include <string>
#include <type_traits>
#include <variant>

namespace deskline::proto::x800 {

namespace {

std::string_view error_code_name(BoxErrorCode code) {
  switch (code) {
    case BoxErrorCode::internal: return "internal";
    case BoxErrorCode::bad_command: return "bad_command";
    case BoxErrorCode::audio_overrun: return "audio_overrun";
    case BoxErrorCode::line_fault: return "line_fault";
  }
  return "unknown";
}

std::string_view command_name(CommandType type) {
  switch (type) {
    case CommandType::get_info: return "get_info";
    case CommandType::set_event_mask: return "set_event_mask";
    case CommandType::set_caller_id_decoding: return "set_caller_id_decoding";
    case CommandType::keepalive: return "keepalive";
    case CommandType::get_line_state: return "get_line_state";
  }
  return "unknown";
}

std::string_view ack_status_name(AckStatus status) {
  switch (status) {
    case AckStatus::ok: return "ok";
    case AckStatus::unsupported: return "unsupported";
    case AckStatus::bad_argument: return "bad_argument";
  }
  return "unknown";
}

}  // namespace

void add_report_fields(nlohmann::json& event, const ReportBody& body) {
  std::visit(
      [&](const auto& value) {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, BoxInfo>) {
          event["model"] = value.model;
          event["serial"] = value.serial;
          event["firmware"] = std::to_string(value.firmware_major) + "." + std::to_string(value.firmware_minor) +
                              "." + std::to_string(value.firmware_patch);
          event["line_count"] = value.line_count;
          event["audio_rate_hz"] = value.audio_rate_hz;
          event["decodes_caller_id"] = value.decodes_caller_id;
        } else if constexpr (std::is_same_v<T, Hook>) {
          event["off_hook"] = value.off_hook;
        } else if constexpr (std::is_same_v<T, Ring>) {
          event["ringing"] = value.ringing;
        } else if constexpr (std::is_same_v<T, Polarity>) {
          event["reversed"] = value.reversed;
        } else if constexpr (std::is_same_v<T, CallerId>) {
          if (value.number) event["number"] = *value.number;
          if (value.name) event["name"] = *value.name;
          if (value.number_absence) event["number_absence"] = std::string(1, *value.number_absence);
          if (value.name_absence) event["name_absence"] = std::string(1, *value.name_absence);
          if (value.datetime) event["datetime"] = *value.datetime;
        } else if constexpr (std::is_same_v<T, Dtmf>) {
          event["digit"] = std::string(1, value.digit);
          event["duration_ms"] = value.duration_ms;
        } else if constexpr (std::is_same_v<T, LineVoltage>) {
          event["decivolts"] = value.decivolts;
        } else if constexpr (std::is_same_v<T, BoxError>) {
          event["code"] = std::string(error_code_name(value.code));
          event["message"] = value.message;
        } else if constexpr (std::is_same_v<T, Ack>) {
          event["command"] = std::string(command_name(value.command));
          event["command_seq"] = value.command_sequence;
          event["status"] = std::string(ack_status_name(value.status));
          event["token"] = value.token;
        } else if constexpr (std::is_same_v<T, LineState>) {
          event["off_hook"] = value.off_hook;
          event["ringing"] = value.ringing;
          event["reversed"] = value.reversed;
        }
      },
      body);
}

nlohmann::json report_json(const Report& report) {
  nlohmann::json json = {{"type", std::string(to_string(report_type(report.body)))}, {"seq", report.sequence}};
  if (report.line != box_wide) json["line"] = report.line + 1;
  json["box_time_us"] = report.box_time_us;
  add_report_fields(json, report.body);
  return json;
}

void add_command_fields(nlohmann::json& event, const CommandBody& body) {
  event["type"] = std::string(command_name(command_type(body)));
  std::visit(
      [&](const auto& value) {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, SetEventMask>) {
          event["mask"] = value.mask;
        } else if constexpr (std::is_same_v<T, SetCallerIdDecoding>) {
          event["enabled"] = value.enabled;
        } else if constexpr (std::is_same_v<T, Keepalive>) {
          event["token"] = value.token;
        }
      },
      body);
}

}  // namespace deskline::proto::x800
