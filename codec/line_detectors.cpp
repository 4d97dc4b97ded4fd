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

ResamplerTo8000::ResamplerTo8000(std::uint32_t rate_hz)
    : rate_hz_(rate_hz),
      ratio_(static_cast<double>(rate_hz) / detector_rate_hz),
      // Low-pass below both Nyquist frequencies, in cycles per input sample.
      cutoff_(rate_hz == 0 ? 0 : std::min(3600.0, 0.45 * rate_hz) / rate_hz),
      half_width_(16 * std::max(1.0, ratio_)) {}

std::int16_t ResamplerTo8000::output_sample(std::uint64_t last_input) const {
  const double center = static_cast<double>(next_output_) * ratio_;
  const auto first = static_cast<std::uint64_t>(std::max(0.0, std::ceil(center - half_width_)));
  const auto final = std::min(last_input, static_cast<std::uint64_t>(std::floor(center + half_width_)));
  double sum = 0;
  double weight_sum = 0;
  for (auto k = first; k <= final; ++k) {
    const double t = static_cast<double>(k) - center;
    const double x = 2 * cutoff_ * t;
    const double sinc = std::abs(x) < 1e-12 ? 1.0 : std::sin(std::numbers::pi * x) / (std::numbers::pi * x);
    const double phase = std::numbers::pi * (t / half_width_ + 1);  // 0..2pi over the kernel
    const double blackman = 0.42 - 0.5 * std::cos(phase) + 0.08 * std::cos(2 * phase);
    const double weight = sinc * blackman;
    sum += weight * input_[static_cast<std::size_t>(k - input_start_)];
    weight_sum += weight;
  }
  // Normalise by the taps' sum: unity gain at DC whatever the fractional phase.
  const double value = weight_sum != 0 ? sum / weight_sum : 0;
  return static_cast<std::int16_t>(std::clamp(std::round(value), -32768.0, 32767.0));
}

void ResamplerTo8000::push(std::span<const std::int16_t> samples, std::vector<std::int16_t>& out) {
  if (rate_hz_ == 0) return;
  if (rate_hz_ == detector_rate_hz) {
    out.insert(out.end(), samples.begin(), samples.end());
    return;
  }
  input_.insert(input_.end(), samples.begin(), samples.end());
  const std::uint64_t input_end = input_start_ + input_.size();
  // An output whose whole kernel has arrived comes out now, as it would at the end.
  while (std::floor(static_cast<double>(next_output_) * ratio_ + half_width_) < static_cast<double>(input_end)) {
    out.push_back(output_sample(input_end - 1));
    ++next_output_;
  }
  // Inputs before the next output's kernel are no longer needed.
  const auto needed_from =
      static_cast<std::uint64_t>(std::max(0.0, std::ceil(static_cast<double>(next_output_) * ratio_ - half_width_)));
  if (needed_from <= input_start_) return;
  const auto drop = std::min<std::uint64_t>(needed_from - input_start_, input_.size());
  input_.erase(input_.begin(), input_.begin() + static_cast<std::ptrdiff_t>(drop));
  input_start_ += drop;
}

void ResamplerTo8000::finish(std::vector<std::int16_t>& out) {
  if (rate_hz_ == 0 || rate_hz_ == detector_rate_hz) return;
  const std::uint64_t input_end = input_start_ + input_.size();
  const auto output_count = static_cast<std::uint64_t>(std::floor(static_cast<double>(input_end) / ratio_));
  for (; next_output_ < output_count; ++next_output_) out.push_back(output_sample(input_end - 1));
}

std::vector<std::int16_t> resample_to_8000(std::span<const std::int16_t> samples, std::uint32_t rate_hz) {
  ResamplerTo8000 resampler(rate_hz);
  std::vector<std::int16_t> out;
  resampler.push(samples, out);
  resampler.finish(out);
  return out;
}

}  // namespace deskline::codec
