#include "codec/line_detectors.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace deskline::codec {

struct LineDetectors::State {
  explicit State(LineDetectorOptions options) {
    if (options.caller_id) caller_id.emplace(*options.caller_id);
    const bool dtmf_caller_id = options.caller_id == CallerIdDecoders::auto_detect ||
                                options.caller_id == CallerIdDecoders::dtmf;
    report_digits = options.dtmf;
    if (options.dtmf || dtmf_caller_id) dtmf.emplace();
    if (options.call_progress) tones.emplace(std::move(options.tones));
  }

  std::optional<CallerIdDetector> caller_id;
  std::optional<DtmfDetector> dtmf;
  std::optional<ToneDetector> tones;
  bool report_digits = true;
  std::vector<LineEvent> events;
  CallerIdCounters no_counters;
  std::uint64_t samples_pushed = 0;
};

LineDetectors::LineDetectors(LineDetectorOptions options) : state_(std::make_unique<State>(std::move(options))) {}
LineDetectors::~LineDetectors() = default;
LineDetectors::LineDetectors(LineDetectors&&) noexcept = default;
LineDetectors& LineDetectors::operator=(LineDetectors&&) noexcept = default;

void LineDetectors::push(std::span<const std::int16_t> samples) {
  auto& state = *state_;
  if (state.dtmf) {
    state.dtmf->push(samples);
    for (auto& digit : state.dtmf->take_events()) {
      if (state.caller_id) state.caller_id->push_digit(digit);
      if (state.report_digits) state.events.emplace_back(digit);
    }
  }
  // After the digits, so a DTMF caller ID ending in this block can settle.
  if (state.caller_id) {
    state.caller_id->push(samples);
    for (auto& event : state.caller_id->take_events()) state.events.emplace_back(std::move(event));
  }
  if (state.tones) {
    state.tones->push(samples);
    for (auto& event : state.tones->take_events()) state.events.emplace_back(event);
  }
  state.samples_pushed += samples.size();
}

std::vector<LineEvent> LineDetectors::take_events() {
  std::vector<LineEvent> events;
  events.swap(state_->events);
  std::stable_sort(events.begin(), events.end(),
                   [](const LineEvent& a, const LineEvent& b) { return event_sample(a) < event_sample(b); });
  return events;
}

void LineDetectors::reset_call_progress() {
  auto& state = *state_;
  if (!state.tones) return;
  state.tones->reset();
  std::erase_if(state.events, [](const LineEvent& event) { return std::holds_alternative<ToneEvent>(event); });
}

const CallerIdCounters& LineDetectors::caller_id_counters() const {
  return state_->caller_id ? state_->caller_id->counters() : state_->no_counters;
}

std::uint64_t LineDetectors::samples_pushed() const { return state_->samples_pushed; }

std::uint64_t event_sample(const LineEvent& event) {
  struct Visitor {
    std::uint64_t operator()(const CallerIdEvent& e) const { return e.start_sample; }
    std::uint64_t operator()(const DtmfDigitEvent& e) const { return e.start_sample; }
    std::uint64_t operator()(const ToneEvent& e) const { return e.start_sample; }
  };
  return std::visit(Visitor{}, event);
}

std::vector<std::int16_t> resample_to_8000(std::span<const std::int16_t> samples, std::uint32_t rate_hz) {
  if (rate_hz == 0) return {};
  if (rate_hz == detector_rate_hz) return {samples.begin(), samples.end()};
  const double ratio = static_cast<double>(rate_hz) / detector_rate_hz;  // input samples per output sample
  // Low-pass below both Nyquist frequencies, in cycles per input sample.
  const double cutoff = std::min(3600.0, 0.45 * rate_hz) / rate_hz;
  const double half_width = 16 * std::max(1.0, ratio);  // input samples either side
  const auto output_count =
      static_cast<std::size_t>(std::floor(static_cast<double>(samples.size()) / ratio));
  std::vector<std::int16_t> out(output_count);
  const auto last = static_cast<std::ptrdiff_t>(samples.size()) - 1;
  for (std::size_t n = 0; n < output_count; ++n) {
    const double center = static_cast<double>(n) * ratio;
    const auto first = std::max<std::ptrdiff_t>(0, static_cast<std::ptrdiff_t>(std::ceil(center - half_width)));
    const auto final = std::min<std::ptrdiff_t>(last, static_cast<std::ptrdiff_t>(std::floor(center + half_width)));
    double sum = 0;
    double weight_sum = 0;
    for (auto k = first; k <= final; ++k) {
      const double t = static_cast<double>(k) - center;
      const double x = 2 * cutoff * t;
      const double sinc = std::abs(x) < 1e-12 ? 1.0 : std::sin(std::numbers::pi * x) / (std::numbers::pi * x);
      const double phase = std::numbers::pi * (t / half_width + 1);  // 0..2pi over the kernel
      const double blackman = 0.42 - 0.5 * std::cos(phase) + 0.08 * std::cos(2 * phase);
      const double weight = sinc * blackman;
      sum += weight * samples[static_cast<std::size_t>(k)];
      weight_sum += weight;
    }
    // Normalise by the taps' sum: unity gain at DC whatever the fractional phase.
    const double value = weight_sum != 0 ? sum / weight_sum : 0;
    out[n] = static_cast<std::int16_t>(std::clamp(std::round(value), -32768.0, 32767.0));
  }
  return out;
}

}  // namespace deskline::codec
