// Signal generators measured with independent test-side DSP: a Goertzel filter
// for tone levels and frequencies, a non-coherent FSK correlator for bit
// timing, and the reference decoders minimodem and multimon-ng when installed.
#include "codec/generators.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <string>
#include <vector>

#include <unistd.h>

#include "codec/wav.hpp"
#include "proto/callerid.hpp"
#include "tests/require_tools.hpp"

namespace deskline::codec {
namespace {

// Goertzel filter at an arbitrary (not necessarily bin-centred) frequency;
// returns the amplitude of that component, 2|X(f)|/N.
double goertzel_amplitude(std::span<const std::int16_t> samples, std::uint32_t rate_hz, double frequency_hz) {
  const double omega = 2.0 * std::numbers::pi * frequency_hz / rate_hz;
  const double coefficient = 2.0 * std::cos(omega);
  double previous = 0, before_previous = 0;
  for (const auto sample : samples) {
    const double current = sample + coefficient * previous - before_previous;
    before_previous = previous;
    previous = current;
  }
  const double power = previous * previous + before_previous * before_previous -
                       coefficient * previous * before_previous;
  return 2.0 * std::sqrt(std::max(power, 0.0)) / static_cast<double>(samples.size());
}

double amplitude_to_dbm0(double amplitude) { return 20.0 * std::log10(amplitude / dbm0_to_peak(0)); }

double level_at(std::span<const std::int16_t> samples, std::uint32_t rate_hz, double frequency_hz) {
  return amplitude_to_dbm0(goertzel_amplitude(samples, rate_hz, frequency_hz));
}

// The frequency with the strongest Goertzel response, scanned in 0.25 Hz steps.
double peak_frequency(std::span<const std::int16_t> samples, std::uint32_t rate_hz, double around_hz,
                      double span_hz = 20) {
  double best_hz = around_hz, best_amplitude = -1;
  for (double f = around_hz - span_hz; f <= around_hz + span_hz; f += 0.25) {
    const double amplitude = goertzel_amplitude(samples, rate_hz, f);
    if (amplitude > best_amplitude) best_amplitude = amplitude, best_hz = f;
  }
  return best_hz;
}

TEST(CodecGenerators, DigitalMilliwattIs3Point14DbBelowFullScale) {
  EXPECT_NEAR(dbm0_to_peak(0) / 32768.0, std::pow(10.0, -3.14 / 20.0), 1e-12);
  EXPECT_NEAR(dbm0_to_peak(-20) / dbm0_to_peak(0), 0.1, 1e-12);
  const std::array<double, 1> frequency{1004};
  EXPECT_NEAR(rms_dbm0(tone(8000, frequency, 0, 1.0)), 0.0, 0.05);
  EXPECT_NEAR(rms_dbm0(tone(8000, frequency, -25, 1.0)), -25.0, 0.05);
  EXPECT_TRUE(std::isinf(rms_dbm0(silence(8000, 0.1))));
  EXPECT_TRUE(std::isinf(rms_dbm0({})));
}

TEST(CodecGenerators, ToneFrequencyAndLevel) {
  struct Case {
    std::uint32_t rate_hz;
    std::vector<double> frequencies;
    double level_dbm0;
  };
  const std::vector<Case> cases{
      {8000, {450}, -10},          // China dial tone
      {8000, {700}, -20},          // congestion
      {16000, {1004}, -3},         // test tone
      {8000, {2130, 2750}, -15},   // ETSI DT-AS: each component at the level
      {16000, {350, 440}, -13},    // US dial tone
      {8000, {3400}, 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::Message() << c.rate_hz << " Hz rate, first tone " << c.frequencies[0] << " Hz");
    const auto samples = tone(c.rate_hz, c.frequencies, c.level_dbm0, 1.0);
    ASSERT_EQ(samples.size(), c.rate_hz);
    for (const double frequency : c.frequencies) {
      EXPECT_NEAR(peak_frequency(samples, c.rate_hz, frequency), frequency, 2.0);
      EXPECT_NEAR(level_at(samples, c.rate_hz, frequency), c.level_dbm0, 0.5);
    }
  }
}

TEST(CodecGenerators, LoudSumIsClampedNotWrapped) {
  const std::array<double, 2> frequencies{1000, 1000};  // in phase: twice the peak of 0 dBm0
  const auto samples = tone(8000, frequencies, 0, 0.1);
  int at_rails = 0;
  for (std::size_t n = 1; n < samples.size(); ++n) {
    EXPECT_LT(std::abs(samples[n] - samples[n - 1]), 32768) << "wrapped at " << n;
    if (samples[n] == 32767 || samples[n] == -32768) ++at_rails;
  }
  EXPECT_GT(at_rails, 0);
}

TEST(CodecGenerators, CadenceTiming) {
  // China busy tone: 450 Hz, 350 ms on / 350 ms off.
  constexpr std::uint32_t rate = 8000;
  const std::array<double, 1> frequency{450};
  const auto samples = tone(rate, frequency, -10, 2.5, 0.35, 0.35);
  ASSERT_EQ(samples.size(), 20000u);
  constexpr std::size_t burst = 2800, period = 5600;
  for (std::size_t start = 0; start < samples.size(); start += period) {
    SCOPED_TRACE(testing::Message() << "cycle at sample " << start);
    const std::span<const std::int16_t> all(samples);
    const auto on = all.subspan(start, std::min(burst, samples.size() - start));
    EXPECT_NEAR(rms_dbm0(on), -10.0, 0.5);
    // Energy right up to the edge: the last 10 ms of the burst still carry the tone.
    EXPECT_NEAR(rms_dbm0(on.last(80)), -10.0, 0.5);
    if (start + burst < samples.size()) {
      const auto off = all.subspan(start + burst, std::min(burst, samples.size() - start - burst));
      for (const auto sample : off) ASSERT_EQ(sample, 0);
    }
  }
}

TEST(CodecGenerators, ContinuousToneWhenCadenceIsZero) {
  const std::array<double, 1> frequency{450};
  const auto samples = tone(8000, frequency, -10, 1.0, 0.35, 0);
  EXPECT_NEAR(rms_dbm0(std::span(samples).last(2800)), -10.0, 0.2);
}

TEST(CodecGenerators, Silence) {
  const auto samples = silence(16000, 0.25);
  ASSERT_EQ(samples.size(), 4000u);
  for (const auto sample : samples) EXPECT_EQ(sample, 0);
  EXPECT_TRUE(silence(8000, 0).empty());
}

constexpr std::array<double, 4> dtmf_rows{697, 770, 852, 941};
constexpr std::array<double, 4> dtmf_columns{1209, 1336, 1477, 1633};

TEST(CodecGenerators, DtmfEveryDigitHasItsPairAndNothingElse) {
  const std::string keypad = "123A456B789C*0#D";
  for (const std::uint32_t rate : {8000u, 16000u}) {
    for (std::size_t key = 0; key < keypad.size(); ++key) {
      SCOPED_TRACE(testing::Message() << "digit " << keypad[key] << " at " << rate << " Hz");
      DtmfOptions options;
      options.tone_ms = 200;  // 5 Hz resolution keeps neighbours' leakage far down
      options.gap_ms = 50;
      const auto samples = dtmf(rate, std::string(1, keypad[key]), options);
      ASSERT_EQ(samples.size(), rate / 4);
      const auto burst = std::span(samples).first(rate / 5);
      for (std::size_t row = 0; row < 4; ++row) {
        const double level = level_at(burst, rate, dtmf_rows[row]);
        if (row == key / 4)
          EXPECT_NEAR(level, -10.0, 0.5);
        else
          EXPECT_LT(level, -30.0) << dtmf_rows[row] << " Hz present";
      }
      for (std::size_t column = 0; column < 4; ++column) {
        const double level = level_at(burst, rate, dtmf_columns[column]);
        if (column == key % 4)
          EXPECT_NEAR(level, -10.0, 0.5);
        else
          EXPECT_LT(level, -30.0) << dtmf_columns[column] << " Hz present";
      }
      for (const auto sample : std::span(samples).subspan(rate / 5)) ASSERT_EQ(sample, 0);
    }
  }
}

TEST(CodecGenerators, DtmfTimingAndValidation) {
  DtmfOptions options;
  options.tone_ms = 40;
  options.gap_ms = 60;
  const auto samples = dtmf(8000, "1a#", options);  // lower-case a-d accepted
  ASSERT_EQ(samples.size(), 3u * 800u);
  for (std::size_t digit = 0; digit < 3; ++digit) {
    const auto burst = std::span(samples).subspan(digit * 800, 320);
    EXPECT_NEAR(rms_dbm0(burst), -7.0, 0.5);  // two tones at -10 dBm0 each
    for (const auto sample : std::span(samples).subspan(digit * 800 + 320, 480)) ASSERT_EQ(sample, 0);
  }
  EXPECT_THROW(dtmf(8000, "12E"), std::invalid_argument);
  EXPECT_THROW(dtmf(8000, std::string("1\0", 2)), std::invalid_argument);
  EXPECT_TRUE(dtmf(8000, "").empty());
}

TEST(CodecGenerators, DtmfTwistAndFrequencyOffset) {
  for (const double twist : {4.0, -8.0}) {
    DtmfOptions options;
    options.tone_ms = 500;
    options.level_dbm0 = -12;
    options.twist_db = twist;
    const auto samples = dtmf(8000, "5", options);
    const auto burst = std::span(samples).first(4000);
    EXPECT_NEAR(level_at(burst, 8000, 770), -12.0, 0.5);
    EXPECT_NEAR(level_at(burst, 8000, 1336), -12.0 + twist, 0.5);
  }
  for (const double offset : {0.015, -0.035}) {
    DtmfOptions options;
    options.tone_ms = 1000;
    options.frequency_offset = offset;
    const auto samples = dtmf(8000, "9", options);
    const auto burst = std::span(samples).first(8000);
    EXPECT_NEAR(peak_frequency(burst, 8000, 852 * (1 + offset)), 852 * (1 + offset), 2.0);
    EXPECT_NEAR(peak_frequency(burst, 8000, 1477 * (1 + offset)), 1477 * (1 + offset), 2.0);
    EXPECT_NEAR(level_at(burst, 8000, 852 * (1 + offset)), -10.0, 0.5);
  }
}

// ---- FSK: demodulate our own output ---------------------------------------

struct FskTones {
  double mark_hz;
  double space_hz;
};

FskTones tones_of(FskStandard standard) {
  return standard == FskStandard::bell202 ? FskTones{1200, 2200} : FskTones{1300, 2100};
}

// Non-coherent correlator over the ideal bit windows [k*rate/1200, (k+1)*rate/1200):
// if the generator drifted by even a fraction of a bit per byte, late bits
// would straddle two windows and flip.
std::vector<bool> demodulate_bits(std::span<const std::int16_t> samples, std::uint32_t rate_hz, FskTones tones) {
  std::vector<bool> bits;
  for (std::uint64_t bit = 0;; ++bit) {
    const std::uint64_t begin = bit * rate_hz / 1200, end = (bit + 1) * rate_hz / 1200;
    if (end > samples.size()) break;
    const auto window = samples.subspan(begin, end - begin);
    bits.push_back(goertzel_amplitude(window, rate_hz, tones.mark_hz) >
                   goertzel_amplitude(window, rate_hz, tones.space_hz));
  }
  return bits;
}

// Checks the seizure and mark preamble, then unpacks 8N1 frames. Reports only
// the first framing error so a timing bug does not flood the log.
std::vector<std::uint8_t> expect_preamble_then_bytes(const std::vector<bool>& bits, const FskOptions& options) {
  const auto seizure = static_cast<std::size_t>(options.seizure_bits);
  const auto mark = static_cast<std::size_t>(options.mark_bits);
  if (bits.size() < seizure + mark) {
    ADD_FAILURE() << "only " << bits.size() << " bits";
    return {};
  }
  for (std::size_t i = 0; i < seizure + mark; ++i) {
    const bool expected = i >= seizure || i % 2 == 1;
    if (bits[i] != expected) {
      ADD_FAILURE() << "preamble bit " << i << " is " << bits[i];
      return {};
    }
  }
  std::vector<std::uint8_t> bytes;
  for (std::size_t frame = seizure + mark; frame + 10 <= bits.size(); frame += 10) {
    if (bits[frame] || !bits[frame + 9]) {
      ADD_FAILURE() << "framing error at byte " << bytes.size();
      return bytes;
    }
    std::uint8_t byte = 0;
    for (int bit = 0; bit < 8; ++bit)
      if (bits[frame + 1 + static_cast<std::size_t>(bit)]) byte |= static_cast<std::uint8_t>(1U << bit);
    bytes.push_back(byte);
  }
  return bytes;
}

TEST(CodecGenerators, FskBitTimingIsExactAt8000And16000) {
  proto::callerid::Message message;
  message.datetime = "03151230";
  message.number = "13812345678";
  message.name = "ZHANG SAN";
  // A CID message, then every byte value: 2,570 bits, long enough that any
  // per-bit rounding would have slipped whole bits by the end.
  auto payload = proto::callerid::encode(message);
  for (int value = 0; value < 256; ++value) payload.push_back(static_cast<std::uint8_t>(value));

  for (const auto standard : {FskStandard::bell202, FskStandard::v23}) {
    for (const std::uint32_t rate : {8000u, 16000u}) {
      SCOPED_TRACE(testing::Message() << (standard == FskStandard::bell202 ? "Bell 202" : "V.23") << " at "
                                      << rate << " Hz");
      FskOptions options;
      options.standard = standard;
      const auto samples = fsk(rate, payload, options);
      const std::uint64_t total_bits = 300 + 180 + payload.size() * 10;
      EXPECT_EQ(samples.size(), total_bits * rate / 1200);  // no accumulated rounding
      EXPECT_EQ(expect_preamble_then_bytes(demodulate_bits(samples, rate, tones_of(standard)), options), payload);
    }
  }
}

TEST(CodecGenerators, FskIsPhaseContinuousAndAtLevel) {
  const std::vector<std::uint8_t> payload{0x55, 0xAA, 0x00, 0xFF, 0x0F};
  FskOptions options;
  options.level_dbm0 = -13;
  const auto samples = fsk(8000, payload, options);
  // A phase jump would show as a step larger than the fastest tone can make.
  const double largest_step = dbm0_to_peak(-13) * 2 * std::numbers::pi * 2200 / 8000 + 2;
  for (std::size_t n = 1; n < samples.size(); ++n)
    ASSERT_LE(std::abs(samples[n] - samples[n - 1]), largest_step) << "at sample " << n;
  EXPECT_NEAR(rms_dbm0(samples), -13.0, 0.2);
}

TEST(CodecGenerators, FskCustomPreambleAndOffset) {
  const std::vector<std::uint8_t> payload{0x80, 0x01};
  FskOptions options;
  options.standard = FskStandard::v23;
  options.seizure_bits = 0;
  options.mark_bits = 10;
  options.frequency_offset = 0.01;
  const auto samples = fsk(16000, payload, options);
  EXPECT_EQ(samples.size(), 30u * 16000 / 1200);
  const FskTones shifted{1300 * 1.01, 2100 * 1.01};
  EXPECT_EQ(expect_preamble_then_bytes(demodulate_bits(samples, 16000, shifted), options), payload);
  // The mark preamble alone sits at 1313 Hz.
  const auto mark = std::span(samples).first(10 * 16000 / 1200);
  EXPECT_GT(goertzel_amplitude(mark, 16000, 1313), 5 * goertzel_amplitude(mark, 16000, 2121));
  options.mark_bits = -1;
  EXPECT_THROW(fsk(8000, payload, options), std::invalid_argument);
}

// ---- noise -----------------------------------------------------------------

TEST(CodecGenerators, NoiseSnrIsMeasuredWithinHalfADecibel) {
  const std::array<double, 1> frequency{1000};
  const auto clean = tone(8000, frequency, -10, 4.0);
  for (const double snr : {0.0, 10.0, 20.0, 30.0}) {
    SCOPED_TRACE(testing::Message() << "SNR " << snr << " dB");
    auto noisy = clean;
    add_noise(noisy, -10, snr, 42);
    std::vector<std::int16_t> noise(clean.size());
    double sum = 0;
    for (std::size_t n = 0; n < clean.size(); ++n) {
      noise[n] = static_cast<std::int16_t>(noisy[n] - clean[n]);
      sum += noise[n];
    }
    EXPECT_NEAR(rms_dbm0(clean) - rms_dbm0(noise), snr, 0.5);
    EXPECT_NEAR(sum / static_cast<double>(noise.size()), 0.0, 0.05 * dbm0_to_peak(-10 - snr));  // zero mean
  }
}

TEST(CodecGenerators, NoiseIsDeterministicPerSeed) {
  auto first = silence(8000, 0.5), second = first, third = first;
  add_noise(first, -20, 10, 7);
  add_noise(second, -20, 10, 7);
  add_noise(third, -20, 10, 8);
  EXPECT_EQ(first, second);
  EXPECT_NE(first, third);
  // Gaussian, not uniform: about 4.6% of samples beyond two deviations.
  const double deviation = dbm0_to_peak(-30) / std::numbers::sqrt2;
  std::size_t beyond = 0;
  for (const auto sample : first)
    if (std::abs(sample) > 2 * deviation) ++beyond;
  EXPECT_NEAR(static_cast<double>(beyond) / static_cast<double>(first.size()), 0.0455, 0.01);
}

// ---- reference decoders ----------------------------------------------------

std::string run_and_capture(const std::string& command) {
  std::string output;
  if (FILE* pipe = popen((command + " 2>&1").c_str(), "r")) {
    std::array<char, 512> buffer{};
    while (std::fgets(buffer.data(), buffer.size(), pipe)) output += buffer.data();
    pclose(pipe);
  }
  return output;
}

std::filesystem::path write_temp_wav(const std::string& name, const Samples& samples, std::uint32_t rate_hz) {
  // The process id keeps concurrent runs (ctest -j, other checkouts) apart.
  const auto path = std::filesystem::temp_directory_path() /
                    (name + "-" + std::to_string(::getpid()) + "-" + std::to_string(rate_hz) + ".wav");
  const auto bytes = encode_wav(WavAudio{rate_hz, 1, samples});
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                              static_cast<std::streamsize>(bytes.size()));
  return path;
}

Samples padded(const Samples& middle, std::uint32_t rate_hz) {
  auto out = silence(rate_hz, 0.3);
  out.insert(out.end(), middle.begin(), middle.end());
  const auto tail = silence(rate_hz, 0.3);
  out.insert(out.end(), tail.begin(), tail.end());
  return out;
}

TEST(CodecGeneratorsReference, MinimodemDecodesBell202Mdmf) {
  if (!std::filesystem::exists("/usr/bin/minimodem")) SKIP_OR_FAIL_MISSING() << "minimodem not installed";
  proto::callerid::Message message;
  message.datetime = "12241830";
  message.number = "01062345678";
  message.name = "LI SI";
  const auto bytes = proto::callerid::encode(message);
  for (const std::uint32_t rate : {8000u, 16000u}) {
    SCOPED_TRACE(testing::Message() << rate << " Hz");
    const auto path = write_temp_wav("deskline-cid", padded(fsk(rate, bytes), rate), rate);
    // minimodem prints the decoded fields on stdout and carrier reports on stderr.
    const auto output = run_and_capture("/usr/bin/minimodem --rx callerid -f " + path.string());
    std::filesystem::remove(path);
    EXPECT_NE(output.find("Phone: 01062345678"), std::string::npos) << output;
    EXPECT_NE(output.find("Name:  LI SI"), std::string::npos) << output;
    EXPECT_NE(output.find("12/24 18:30"), std::string::npos) << output;
  }
}

TEST(CodecGeneratorsReference, MinimodemDecodesBell202Sdmf) {
  if (!std::filesystem::exists("/usr/bin/minimodem")) SKIP_OR_FAIL_MISSING() << "minimodem not installed";
  proto::callerid::Message message;
  message.format = proto::callerid::Format::sdmf;
  message.datetime = "07040915";
  // Not 10 digits: minimodem reformats those as NANP "555-123-4567".
  message.number = "13987654321";
  const auto path = write_temp_wav("deskline-sdmf", padded(fsk(8000, proto::callerid::encode(message)), 8000), 8000);
  const auto output = run_and_capture("/usr/bin/minimodem --rx callerid -f " + path.string());
  std::filesystem::remove(path);
  EXPECT_NE(output.find("Phone: 13987654321"), std::string::npos) << output;
}

TEST(CodecGeneratorsReference, MinimodemDecodesV23Bytes) {
  if (!std::filesystem::exists("/usr/bin/minimodem")) SKIP_OR_FAIL_MISSING() << "minimodem not installed";
  // minimodem's callerid mode is Bell 202 only; as a plain 1200 baud 8N1
  // receiver on the V.23 tones it prints the raw message bytes.
  proto::callerid::Message message;
  message.number = "441632960123";
  message.name = "JOHN SMITH";
  FskOptions options;
  options.standard = FskStandard::v23;
  const auto path =
      write_temp_wav("deskline-v23", padded(fsk(8000, proto::callerid::encode(message), options), 8000), 8000);
  const auto output = run_and_capture("/usr/bin/minimodem --rx 1200 -M 1300 -S 2100 -q -f " + path.string());
  std::filesystem::remove(path);
  EXPECT_NE(output.find("441632960123"), std::string::npos) << output;
  EXPECT_NE(output.find("JOHN SMITH"), std::string::npos) << output;
}

TEST(CodecGeneratorsReference, MultimonDecodesDtmf) {
  if (!std::filesystem::exists("/usr/bin/multimon-ng") || !std::filesystem::exists("/usr/bin/sox"))
    SKIP_OR_FAIL_MISSING() << "multimon-ng or sox not installed";
  const std::string digits = "0123456789*#ABCD";
  // 8000 Hz WAV: multimon-ng -t wav has sox resample it to the 22050 Hz it wants.
  const auto path = write_temp_wav("deskline-dtmf", padded(dtmf(8000, digits), 8000), 8000);
  const auto output = run_and_capture("/usr/bin/multimon-ng -q -c -a DTMF -t wav " + path.string());
  std::filesystem::remove(path);
  std::string decoded;
  for (std::size_t at = output.find("DTMF: "); at != std::string::npos; at = output.find("DTMF: ", at + 1))
    decoded += output[at + 6];
  EXPECT_EQ(decoded, digits) << output;
}

}  // namespace
}  // namespace deskline::codec
