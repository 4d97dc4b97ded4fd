#include "codec/generators.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numbers>
#include <random>
#include <stdexcept>
#include <string>

namespace deskline::codec {
namespace {

constexpr double two_pi = 2.0 * std::numbers::pi;
constexpr double full_scale = 32768.0;
// G.711 places the digital milliwatt 3.14 dB below the codec's overload point.
constexpr double milliwatt_below_full_scale_db = 3.14;
constexpr std::uint32_t fsk_baud = 1200;

std::int16_t clamp_to_int16(double value) {
  const double rounded = std::nearbyint(value);
  return static_cast<std::int16_t>(std::clamp(rounded, -32768.0, 32767.0));
}

std::size_t sample_count(std::uint32_t rate_hz, double duration_s) {
  if (!(duration_s > 0)) return 0;  // also rejects NaN
  return static_cast<std::size_t>(std::llround(duration_s * rate_hz));
}

void require_rate(std::uint32_t rate_hz) {
  if (rate_hz == 0) throw std::invalid_argument("sample rate must be positive");
}

// Writes a sum of sines into samples[begin, end), phase referenced to `begin`
// so every burst starts at zero phase like a freshly keyed oscillator.
void add_sines(std::span<double> samples, std::uint32_t rate_hz, std::span<const double> frequencies_hz,
               std::span<const double> peaks) {
  for (std::size_t tone_index = 0; tone_index < frequencies_hz.size(); ++tone_index) {
    const double step = two_pi * frequencies_hz[tone_index] / rate_hz;
    for (std::size_t n = 0; n < samples.size(); ++n)
      samples[n] += peaks[tone_index] * std::sin(step * static_cast<double>(n));
  }
}

Samples to_samples(std::span<const double> mixed) {
  Samples out(mixed.size());
  std::transform(mixed.begin(), mixed.end(), out.begin(), clamp_to_int16);
  return out;
}

struct DtmfPair {
  double low_hz;
  double high_hz;
};

// Q.23 keypad: rows 697/770/852/941 Hz, columns 1209/1336/1477/1633 Hz.
DtmfPair dtmf_pair(char digit) {
  static constexpr std::array<double, 4> rows{697, 770, 852, 941};
  static constexpr std::array<double, 4> columns{1209, 1336, 1477, 1633};
  static constexpr std::string_view keypad = "123A456B789C*0#D";
  char upper = digit;
  if (upper >= 'a' && upper <= 'd') upper = static_cast<char>(upper - 'a' + 'A');
  const auto position = keypad.find(upper);
  if (position == std::string_view::npos)
    throw std::invalid_argument(std::string("not a DTMF digit: '") + digit + "'");
  return {rows[position / 4], columns[position % 4]};
}

// A uniform double in (0, 1) built from raw mt19937 output, whose sequence the
// standard fixes; std::normal_distribution differs between libstdc++ and libc++.
double open_unit_interval(std::mt19937& engine) {
  return (static_cast<double>(engine()) + 0.5) / 4294967296.0;
}

}  // namespace

double dbm0_to_peak(double level_dbm0) {
  return full_scale * std::pow(10.0, (level_dbm0 - milliwatt_below_full_scale_db) / 20.0);
}

double rms_dbm0(std::span<const std::int16_t> samples) {
  if (samples.empty()) return -std::numeric_limits<double>::infinity();
  double sum_of_squares = 0;
  for (const auto sample : samples) sum_of_squares += static_cast<double>(sample) * sample;
  const double rms = std::sqrt(sum_of_squares / static_cast<double>(samples.size()));
  if (rms == 0) return -std::numeric_limits<double>::infinity();
  // A sine's rms is its peak over sqrt(2); 0 dBm0 is the sine at dbm0_to_peak(0).
  return 20.0 * std::log10(rms * std::numbers::sqrt2 / dbm0_to_peak(0));
}

Samples tone(std::uint32_t rate_hz, std::span<const double> frequencies_hz, double level_dbm0,
             double duration_s, double on_s, double off_s) {
  require_rate(rate_hz);
  const std::size_t total = sample_count(rate_hz, duration_s);
  std::vector<double> mixed(total, 0.0);
  const std::vector<double> peaks(frequencies_hz.size(), dbm0_to_peak(level_dbm0));

  const bool cadenced = on_s > 0 && off_s > 0;
  if (!cadenced) {
    add_sines(mixed, rate_hz, frequencies_hz, peaks);
    return to_samples(mixed);
  }
  // Burst edges are computed from the cycle index, not accumulated, so a long
  // cadence stays on the box clock.
  for (std::size_t cycle = 0;; ++cycle) {
    const double cycle_start_s = static_cast<double>(cycle) * (on_s + off_s);
    const std::size_t begin = sample_count(rate_hz, cycle_start_s);
    if (begin >= total) break;
    const std::size_t end = std::min(total, sample_count(rate_hz, cycle_start_s + on_s));
    add_sines(std::span(mixed).subspan(begin, end - begin), rate_hz, frequencies_hz, peaks);
  }
  return to_samples(mixed);
}

Samples silence(std::uint32_t rate_hz, double duration_s) {
  require_rate(rate_hz);
  return Samples(sample_count(rate_hz, duration_s), 0);
}

Samples dtmf(std::uint32_t rate_hz, std::string_view digits, const DtmfOptions& options) {
  require_rate(rate_hz);
  std::vector<DtmfPair> pairs;
  pairs.reserve(digits.size());
  for (const char digit : digits) pairs.push_back(dtmf_pair(digit));  // validate before output

  const std::size_t tone_samples = sample_count(rate_hz, options.tone_ms / 1000.0);
  const std::size_t gap_samples = sample_count(rate_hz, options.gap_ms / 1000.0);
  const std::array<double, 2> peaks{dbm0_to_peak(options.level_dbm0),
                                    dbm0_to_peak(options.level_dbm0 + options.twist_db)};
  const double scale = 1.0 + options.frequency_offset;

  std::vector<double> mixed(pairs.size() * (tone_samples + gap_samples), 0.0);
  for (std::size_t index = 0; index < pairs.size(); ++index) {
    const std::array<double, 2> frequencies{pairs[index].low_hz * scale, pairs[index].high_hz * scale};
    add_sines(std::span(mixed).subspan(index * (tone_samples + gap_samples), tone_samples), rate_hz,
              frequencies, peaks);
  }
  return to_samples(mixed);
}

Samples fsk(std::uint32_t rate_hz, std::span<const std::uint8_t> bytes, const FskOptions& options) {
  require_rate(rate_hz);
  if (options.seizure_bits < 0 || options.mark_bits < 0)
    throw std::invalid_argument("seizure and mark bit counts must not be negative");

  const bool bell = options.standard == FskStandard::bell202;
  const double scale = 1.0 + options.frequency_offset;
  const double mark_hz = (bell ? 1200.0 : 1300.0) * scale;
  const double space_hz = (bell ? 2200.0 : 2100.0) * scale;

  std::vector<bool> bits;
  bits.reserve(static_cast<std::size_t>(options.seizure_bits + options.mark_bits) + bytes.size() * 10);
  for (int i = 0; i < options.seizure_bits; ++i) bits.push_back(i % 2 == 1);  // 0101...
  for (int i = 0; i < options.mark_bits; ++i) bits.push_back(true);
  // 8N1: start bit 0, data bits least significant first, stop bit 1.
  for (const std::uint8_t byte : bytes) {
    bits.push_back(false);
    for (int bit = 0; bit < 8; ++bit) bits.push_back(((byte >> bit) & 1U) != 0);
    bits.push_back(true);
  }

  // Bit k ends at sample floor((k+1) * rate / baud), computed in integers: at
  // 8000 Hz a bit is 6 2/3 samples, and rounding each bit on its own would let
  // a long message drift against the receiver's clock.
  const std::uint64_t total = bits.size() * std::uint64_t{rate_hz} / fsk_baud;
  Samples out;
  out.reserve(static_cast<std::size_t>(total));
  const double peak = dbm0_to_peak(options.level_dbm0);
  double phase = 0;  // carried across bits: phase-continuous keying
  std::uint64_t sample_index = 0;
  for (std::size_t bit_index = 0; bit_index < bits.size(); ++bit_index) {
    const std::uint64_t bit_end = (bit_index + 1) * std::uint64_t{rate_hz} / fsk_baud;
    const double step = two_pi * (bits[bit_index] ? mark_hz : space_hz) / rate_hz;
    for (; sample_index < bit_end; ++sample_index) {
      out.push_back(clamp_to_int16(peak * std::sin(phase)));
      phase += step;
      if (phase >= two_pi) phase = std::fmod(phase, two_pi);  // keeps sin() accurate on long messages
    }
  }
  return out;
}

void add_noise(std::span<std::int16_t> samples, double signal_dbm0, double snr_db, std::uint32_t seed) {
  // rms of a sine at signal_dbm0, lowered by the SNR, is the noise deviation.
  const double noise_rms = dbm0_to_peak(signal_dbm0) / std::numbers::sqrt2 * std::pow(10.0, -snr_db / 20.0);
  std::mt19937 engine(seed);
  // Box-Muller yields two independent normals per pair of uniforms.
  double spare = 0;
  bool have_spare = false;
  for (auto& sample : samples) {
    double normal;
    if (have_spare) {
      normal = spare;
      have_spare = false;
    } else {
      const double radius = std::sqrt(-2.0 * std::log(open_unit_interval(engine)));
      const double angle = two_pi * open_unit_interval(engine);
      normal = radius * std::cos(angle);
      spare = radius * std::sin(angle);
      have_spare = true;
    }
    sample = clamp_to_int16(sample + noise_rms * normal);
  }
}

}  // namespace deskline::codec
