#include "tools/sim/audio_render.hpp"

#include <cmath>

namespace deskline::sim {
namespace scenario = proto::scenario;
namespace callerid = proto::callerid;

// SDMF always carries a date; the encoder fills in this one when none is given.
constexpr const char* sdmf_default_datetime = "01010000";

callerid::Message caller_id_message(const scenario::CallerIdAction& action) {
  callerid::Message message;
  message.format = action.format == scenario::CallerIdFormat::sdmf ? callerid::Format::sdmf : callerid::Format::mdmf;
  message.datetime = action.datetime;
  message.number = action.number;
  message.number_absence = action.number_absence;
  message.name = action.name;
  message.name_absence = action.name_absence;
  return message;
}

proto::x800::CallerId caller_id_report(const scenario::CallerIdAction& action) {
  proto::x800::CallerId report;
  const bool numbers_only = action.via == scenario::CallerIdVia::dtmf ||
                            (action.via != scenario::CallerIdVia::report && action.format == scenario::CallerIdFormat::sdmf);
  report.number = action.number;
  if (!action.number) report.number_absence = action.number_absence;
  if (action.via == scenario::CallerIdVia::dtmf) return report;
  report.datetime = action.datetime;
  if (!numbers_only) {
    report.name = action.name;
    if (!action.name) report.name_absence = action.name_absence;
  } else if (!report.datetime) {
    report.datetime = sdmf_default_datetime;
  }
  return report;
}

codec::Samples caller_id_fsk(const scenario::CallerIdAction& action, std::uint32_t rate_hz) {
  const auto bytes = callerid::encode(caller_id_message(action));
  codec::FskOptions options;
  options.standard = action.via == scenario::CallerIdVia::v23 ? codec::FskStandard::v23 : codec::FskStandard::bell202;
  options.level_dbm0 = action.level_dbm0;
  return codec::fsk(rate_hz, bytes, options);
}

std::string caller_id_dtmf_digits(const scenario::CallerIdAction& action) {
  const auto style =
      action.dtmf_style == scenario::CallerIdDtmfStyle::etsi ? callerid::DtmfStyle::etsi : callerid::DtmfStyle::china;
  return callerid::encode_dtmf(caller_id_message(action), style);
}

codec::Samples play_samples(const scenario::PlayAction& action, std::uint32_t rate_hz, const codec::WavAudio* file) {
  using Kind = scenario::PlayAction::Kind;
  switch (action.kind) {
    case Kind::silence:
      return {};
    case Kind::tone:
    case Kind::busy:
      return codec::tone(rate_hz, action.frequencies_hz, action.level_dbm0, action.duration_s, action.on_s,
                         action.off_s);
    case Kind::file: {
      if (!file || file->samples.empty()) return {};
      if (action.duration_s <= 0) return file->samples;
      const auto wanted = static_cast<std::size_t>(std::llround(action.duration_s * rate_hz));
      codec::Samples samples;
      samples.reserve(wanted);
      while (samples.size() < wanted) {
        const std::size_t take = std::min(wanted - samples.size(), file->samples.size());
        samples.insert(samples.end(), file->samples.begin(), file->samples.begin() + static_cast<std::ptrdiff_t>(take));
      }
      return samples;
    }
  }
  return {};
}

}  // namespace deskline::sim
