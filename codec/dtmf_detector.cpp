// DTMF receiver to Q.24 (see line_detectors.hpp for why not spandsp's).
//
// Every 4 ms (32 samples) each of the eight Q.23 frequencies gets a complex
// correlation over the last 16 ms (128 samples), referenced to absolute sample
// time so the two 8 ms halves (Hann-weighted, so a strong row tone does not
// leak into a weak column's phase) also give the tone's phase advance, hence
// its frequency. A window holds a digit when the strongest row and column tones:
//  - are each above -32 dBm0 (Q.24 operates to -25),
//  - are within 2.5 % of nominal (between the 1.5 % that must operate and
//    the 3.5 % that must not),
//  - have a twist inside -10.5..+6.5 dB (Q.24 operates at -8..+4; leakage
//    from the stronger tone makes a weak one beat by up to 2 dB between windows),
//  - carry at least 80 % of the window's energy (purity: the talk-off guard,
//    and it equals the fraction of the window the tone covers, which makes the
//    duration measurable to a few ms).
// A digit is reported when its run of windows ends, if that run means a tone
// of at least 32 ms (between 23 ms, must not operate, and 40 ms, must).
#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <numbers>

#include "codec/generators.hpp"
#include "codec/line_detectors.hpp"

namespace deskline::codec {
namespace {

constexpr int hop = 32;
constexpr int parts_per_window = 4;
constexpr int window = hop * parts_per_window;  // 16 ms
constexpr double sample_rate = detector_rate_hz;
constexpr std::array<double, 8> frequencies{697, 770, 852, 941, 1209, 1336, 1477, 1633};
constexpr std::string_view keypad = "123A456B789C*0#D";

constexpr double min_tone_dbm0 = -32;
constexpr double max_relative_offset = 0.025;
constexpr double min_twist_db = -10.5;
constexpr double max_twist_db = 6.5;
constexpr double min_purity = 0.8;
constexpr double min_duration_ms = 32;
constexpr double duration_calibration_samples = 32;
// Windows that may fail inside a digit before it counts as ended (noise, a
// short break in the tone).
constexpr int max_missed_windows = 2;

// Gain of an N-sample correlation to a tone offset_hz away.
double correlation_gain(double offset_hz, int length) {
  const double x = std::numbers::pi * offset_hz / sample_rate;
  if (std::abs(x) < 1e-12) return 1.0;
  return std::abs(std::sin(x * length) / (length * std::sin(x)));
}

struct ToneReading {
  int index = 0;
  double energy = 0;  // corrected for the frequency offset
  double relative_offset = 0;
};

}  // namespace

struct DtmfDetector::State {
  State() {
    for (std::size_t n = 0; n < half_window_weights.size(); ++n)
      half_window_weights[n] = std::pow(std::sin(std::numbers::pi * (static_cast<double>(n) + 0.5) / (2 * hop)), 2);
    for (std::size_t k = 0; k < frequencies.size(); ++k)
      steps[k] = std::polar(1.0, -2 * std::numbers::pi * frequencies[k] / sample_rate);
    phasors.fill({1, 0});
  }

  void push(std::span<const std::int16_t> samples) {
    for (const auto sample : samples) {
      const double x = sample;
      const double rising = half_window_weights[static_cast<std::size_t>(fill)];
      const double falling = half_window_weights[static_cast<std::size_t>(fill + hop)];
      for (std::size_t k = 0; k < frequencies.size(); ++k) {
        const std::complex<double> term = x * phasors[k];
        accumulators[k] += term;
        rising_accumulators[k] += rising * term;
        falling_accumulators[k] += falling * term;
        phasors[k] *= steps[k];
      }
      energy_accumulator += x * x;
      ++samples_seen;
      if (++fill == hop) end_of_part();
    }
  }

  void end_of_part() {
    fill = 0;
    for (std::size_t k = 0; k < frequencies.size(); ++k) {
      parts[part_slot][k] = accumulators[k];
      rising_parts[part_slot][k] = rising_accumulators[k];
      falling_parts[part_slot][k] = falling_accumulators[k];
      accumulators[k] = {};
      rising_accumulators[k] = {};
      falling_accumulators[k] = {};
      phasors[k] /= std::abs(phasors[k]);  // keep the recurrence on the unit circle
    }
    part_energy[part_slot] = energy_accumulator;
    energy_accumulator = 0;
    part_slot = (part_slot + 1) % parts_per_window;
    if (parts_filled < parts_per_window) ++parts_filled;
    if (parts_filled == parts_per_window) evaluate_window();
  }

  ToneReading strongest(std::size_t first, std::size_t count) const {
    ToneReading best;
    double best_raw = -1;
    for (std::size_t k = first; k < first + count; ++k) {
      std::complex<double> whole{};
      for (int part = 0; part < parts_per_window; ++part) whole += parts[(part_slot + part) % parts_per_window][k];
      const double raw = std::norm(whole);
      if (raw <= best_raw) continue;
      best_raw = raw;
      // Phase advance between the halves, 64 samples apart: +-62.5 Hz unambiguous,
      // more than the 3.5 % (57 Hz at 1633 Hz) to be told apart.
      const auto slot = [this](int part) { return static_cast<std::size_t>((part_slot + part) % parts_per_window); };
      const std::complex<double> early = rising_parts[slot(0)][k] + falling_parts[slot(1)][k];
      const std::complex<double> late = rising_parts[slot(2)][k] + falling_parts[slot(3)][k];
      const double advance = std::arg(late * std::conj(early));
      const double offset_hz = advance * sample_rate / (2 * std::numbers::pi * (window / 2));
      const double gain = correlation_gain(offset_hz, window);
      best.index = static_cast<int>(k);
      best.energy = raw / std::max(gain * gain, 0.05);
      best.relative_offset = offset_hz / frequencies[k];
    }
    return best;
  }

  // Digit in the current window, or 0.
  char classify() const {
    double total_energy = 0;
    for (const double energy : part_energy) total_energy += energy;
    // A sine of peak A gives |correlation|^2 = (A N / 2)^2.
    const double min_energy = std::pow(dbm0_to_peak(min_tone_dbm0) * window / 2, 2);
    if (total_energy * window / 2 < min_energy) return 0;
    const auto row = strongest(0, 4);
    const auto column = strongest(4, 4);
    if (row.energy < min_energy || column.energy < min_energy) return 0;
    if (std::abs(row.relative_offset) > max_relative_offset || std::abs(column.relative_offset) > max_relative_offset)
      return 0;
    const double twist_db = 10 * std::log10(column.energy / row.energy);
    if (twist_db < min_twist_db || twist_db > max_twist_db) return 0;
    // For a tone pair filling the window, (E_row + E_col) / (sum x^2 * N / 2) = 1.
    const double purity = (row.energy + column.energy) / (total_energy * window / 2);
    if (purity < min_purity) return 0;
    return keypad[static_cast<std::size_t>(row.index * 4 + (column.index - 4))];
  }

  void evaluate_window() {
    const char digit = classify();
    const std::uint64_t window_end = samples_seen;
    if (current != 0 && digit == current) {
      last_window_end = window_end;
      missed = 0;
      return;
    }
    if (current != 0 && digit == 0 && ++missed <= max_missed_windows) return;
    if (current != 0) finish_digit();
    if (digit != 0) {
      current = digit;
      first_window_end = last_window_end = window_end;
      missed = 0;
    }
  }

  void finish_digit() {
    // The first window passing the purity test covers min_purity of the tone's
    // start, the last one min_purity of its end.
    // (+4 ms measured: the windows at the edges also lose a little to the
    // other checks).
    const double coverage_slack = (2 * min_purity - 1) * window + duration_calibration_samples;
    const double duration = static_cast<double>(last_window_end - first_window_end) + coverage_slack;
    if (duration >= min_duration_ms * sample_rate / 1000) {
      DtmfDigitEvent event;
      event.digit = current;
      const double start = static_cast<double>(first_window_end) - min_purity * window;
      event.start_sample = static_cast<std::uint64_t>(std::max(0.0, std::round(start)));
      event.duration_samples = static_cast<std::uint32_t>(std::lround(duration));
      events.push_back(event);
    }
    current = 0;
    missed = 0;
  }

  std::array<std::complex<double>, frequencies.size()> steps{};
  std::array<std::complex<double>, frequencies.size()> phasors{};
  std::array<std::complex<double>, frequencies.size()> accumulators{};
  std::array<std::complex<double>, frequencies.size()> rising_accumulators{};
  std::array<std::complex<double>, frequencies.size()> falling_accumulators{};
  std::array<std::array<std::complex<double>, frequencies.size()>, parts_per_window> parts{};
  std::array<std::array<std::complex<double>, frequencies.size()>, parts_per_window> rising_parts{};
  std::array<std::array<std::complex<double>, frequencies.size()>, parts_per_window> falling_parts{};
  std::array<double, 2 * hop> half_window_weights{};
  std::array<double, parts_per_window> part_energy{};
  double energy_accumulator = 0;
  int fill = 0;
  int part_slot = 0;
  int parts_filled = 0;
  std::uint64_t samples_seen = 0;

  char current = 0;
  int missed = 0;
  std::uint64_t first_window_end = 0;
  std::uint64_t last_window_end = 0;
  std::vector<DtmfDigitEvent> events;
};

DtmfDetector::DtmfDetector() : state_(std::make_unique<State>()) {}
DtmfDetector::~DtmfDetector() = default;
DtmfDetector::DtmfDetector(DtmfDetector&&) noexcept = default;
DtmfDetector& DtmfDetector::operator=(DtmfDetector&&) noexcept = default;

void DtmfDetector::push(std::span<const std::int16_t> samples) { state_->push(samples); }

std::vector<DtmfDigitEvent> DtmfDetector::take_events() {
  std::vector<DtmfDigitEvent> events;
  events.swap(state_->events);
  return events;
}

}  // namespace deskline::codec
