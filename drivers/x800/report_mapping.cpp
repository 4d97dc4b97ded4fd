#include "drivers/x800/report_mapping.hpp"

#include <fmt/format.h>

namespace deskline::drivers::x800 {

namespace wire = proto::x800;

BoxIdentity to_identity(const wire::BoxInfo& info, const std::string& usb_path) {
  BoxIdentity identity;
  identity.serial = info.serial;
  identity.model = info.model;
  identity.firmware = fmt::format("{}.{}.{}", info.firmware_major, info.firmware_minor, info.firmware_patch);
  identity.line_count = info.line_count;
  identity.audio_rate_hz = info.audio_rate_hz;
  identity.decodes_caller_id = info.decodes_caller_id;
  identity.usb_path = usb_path;
  return identity;
}

std::optional<LineEvent> to_line_event(const wire::Report& report, HostTimeUs received_at_us) {
  if (report.line == wire::box_wide) return std::nullopt;
  std::optional<LineSignal> signal = std::visit(
      [](const auto& body) -> std::optional<LineSignal> {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, wire::Hook>) return HookChanged{body.off_hook};
        else if constexpr (std::is_same_v<T, wire::Ring>) return RingChanged{body.ringing};
        else if constexpr (std::is_same_v<T, wire::Polarity>) return PolarityChanged{body.reversed};
        else if constexpr (std::is_same_v<T, wire::Dtmf>) return DigitDetected{body.digit, body.duration_ms};
        else if constexpr (std::is_same_v<T, wire::LineVoltage>) return VoltageMeasured{body.decivolts / 10.0};
        else if constexpr (std::is_same_v<T, wire::LineState>)
          return LineStateSnapshot{body.off_hook, body.ringing, body.reversed};
        else if constexpr (std::is_same_v<T, wire::CallerId>)
          return CallerIdReceived{CallerIdInfo{body.number, body.name, body.number_absence,
                                               body.name_absence, body.datetime}};
        else return std::nullopt;
      },
      report.body);
  if (!signal) return std::nullopt;
  return LineEvent{report.line + 1, report.box_time_us, received_at_us, std::move(*signal)};
}

}  // namespace deskline::drivers::x800
