// Signal generators for the simulator and the benchmarks, written from the
// specifications (Bell 202, ITU-T V.23, Q.23 DTMF, national tone plans), not
// from spandsp, so tests cross two independent implementations.
// Pure functions over buffers of 16-bit linear PCM.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace deskline::codec {

using Samples = std::vector<std::int16_t>;

// 0 dBm0 is the digital milliwatt of G.711: a sine whose peak is 3.14 dB below
// 16-bit full scale.
double dbm0_to_peak(double level_dbm0);
double rms_dbm0(std::span<const std::int16_t> samples);

// Sum of sines at level_dbm0 each, cadenced on_s/off_s (0 = continuous).
Samples tone(std::uint32_t rate_hz, std::span<const double> frequencies_hz, double level_dbm0,
             double duration_s, double on_s = 0, double off_s = 0);
Samples silence(std::uint32_t rate_hz, double duration_s);

struct DtmfOptions {
  double tone_ms = 80;
  double gap_ms = 80;
  double level_dbm0 = -10;   // per tone (low group)
  double twist_db = 0;       // high group minus low group
  double frequency_offset = 0;  // relative, e.g. 0.015 = +1.5%
};
// Digits 0-9 * # A-D; anything else throws std::invalid_argument.
Samples dtmf(std::uint32_t rate_hz, std::string_view digits, const DtmfOptions& options = {});

enum class FskStandard { bell202, v23 };
struct FskOptions {
  FskStandard standard = FskStandard::bell202;
  double level_dbm0 = -13;
  int seizure_bits = 300;  // alternating 0/1 channel seizure
  int mark_bits = 180;
  double frequency_offset = 0;  // relative
};
// Phase-continuous FSK at 1200 baud, bytes sent 8N1 LSB first.
Samples fsk(std::uint32_t rate_hz, std::span<const std::uint8_t> bytes, const FskOptions& options = {});

// Adds white Gaussian noise so that signal-to-noise ratio over the given
// signal power is snr_db. Deterministic for a seed.
void add_noise(std::span<std::int16_t> samples, double signal_dbm0, double snr_db, std::uint32_t seed);

}  // namespace deskline::codec
