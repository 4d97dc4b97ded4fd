// Line detectors against vectors from our own generators (written from the
// specifications, independent of spandsp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <numbers>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>

#include "codec/generators.hpp"
#include "codec/line_detectors.hpp"
#include "codec/wav.hpp"
#include "proto/callerid.hpp"
#include "tests/require_tools.hpp"

namespace deskline::codec {
namespace {

using proto::callerid::Format;
using proto::callerid::Message;

void append(Samples& to, const Samples& more) { to.insert(to.end(), more.begin(), more.end()); }

// Caller-ID bytes as FSK between 0.3 s of silence on each side.
Samples fsk_burst(const std::vector<std::uint8_t>& bytes, FskStandard standard, double level_dbm0 = -13,
                  double offset = 0) {
  FskOptions options;
  options.standard = standard;
  options.level_dbm0 = level_dbm0;
  options.frequency_offset = offset;
  Samples audio = silence(8000, 0.3);
  append(audio, fsk(8000, bytes, options));
  append(audio, silence(8000, 0.3));
  return audio;
}

Samples fsk_burst(const Message& message, FskStandard standard, double level_dbm0 = -13, double offset = 0) {
  return fsk_burst(proto::callerid::encode(message), standard, level_dbm0, offset);
}

std::vector<CallerIdEvent> detect_caller_id(const Samples& audio,
                                            CallerIdDecoders decoders = CallerIdDecoders::auto_detect) {
  LineDetectorOptions options;
  options.caller_id = decoders;
  options.call_progress = false;
  LineDetectors detectors(options);
  // Odd block size: the detectors must not depend on how audio is cut.
  constexpr std::size_t block = 173;
  const std::span<const std::int16_t> all(audio);
  std::vector<CallerIdEvent> events;
  for (std::size_t offset = 0; offset < all.size(); offset += block)
    detectors.push(all.subspan(offset, std::min(block, all.size() - offset)));
  detectors.push(Samples(8000, 0));
  for (auto& event : detectors.take_events())
    if (auto* caller_id = std::get_if<CallerIdEvent>(&event)) events.push_back(*caller_id);
  return events;
}

std::vector<DtmfDigitEvent> detect_digits(const Samples& audio) {
  DtmfDetector detector;
  detector.push(audio);
  detector.push(Samples(800, 0));
  return detector.take_events();
}

std::string digits_of(const std::vector<DtmfDigitEvent>& events) {
  std::string digits;
  for (const auto& event : events) digits.push_back(event.digit);
  return digits;
}

std::vector<ToneEvent> detect_tones(const Samples& audio, const std::string& country = "china") {
  ToneDetector detector(*tone_profile(country));
  detector.push(audio);
  return detector.take_events();
}

Message mdmf_full() {
  Message message;
  message.format = Format::mdmf;
  message.datetime = "03151230";
  message.number = "13812345678";
  message.name = "ZHANG SAN";
  return message;
}

// ---- FSK caller ID: every format and delivery variant ------------------------------

struct FskCase {
  const char* label;
  Message message;
};

std::vector<FskCase> fsk_cases() {
  std::vector<FskCase> cases;
  cases.push_back({"mdmf_number_name", mdmf_full()});
  Message sdmf;
  sdmf.format = Format::sdmf;
  sdmf.datetime = "11271345";
  sdmf.number = "02062345678";
  cases.push_back({"sdmf_number", sdmf});
  Message sdmf_private = sdmf;
  sdmf_private.number.reset();
  sdmf_private.number_absence = 'P';
  cases.push_back({"sdmf_private", sdmf_private});
  Message sdmf_unavailable = sdmf_private;
  sdmf_unavailable.number_absence = 'O';
  cases.push_back({"sdmf_unavailable", sdmf_unavailable});
  Message mdmf_private;
  mdmf_private.datetime = "01010000";
  mdmf_private.number_absence = 'P';
  mdmf_private.name_absence = 'P';
  cases.push_back({"mdmf_private", mdmf_private});
  Message mdmf_unavailable;
  mdmf_unavailable.number_absence = 'O';
  mdmf_unavailable.name_absence = 'O';
  cases.push_back({"mdmf_unavailable", mdmf_unavailable});
  Message long_name = mdmf_full();
  long_name.name = "ABCDEFGHIJKLMNOP";  // 16 characters: spandsp's adsi_add_field breaks here
  cases.push_back({"mdmf_16_char_name", long_name});
  Message name_only;
  name_only.name = "SALES DESK";
  cases.push_back({"mdmf_name_only", name_only});
  return cases;
}

class FskCallerId : public testing::TestWithParam<FskStandard> {};

TEST_P(FskCallerId, DecodesEveryFormatWithTheRightStandard) {
  const auto standard = GetParam();
  const auto expected_standard = standard == FskStandard::v23 ? CallerIdStandard::v23 : CallerIdStandard::bell202;
  for (const auto& test_case : fsk_cases()) {
    SCOPED_TRACE(test_case.label);
    const auto audio = fsk_burst(test_case.message, standard);
    for (const auto decoders : {CallerIdDecoders::auto_detect,
                                standard == FskStandard::v23 ? CallerIdDecoders::v23 : CallerIdDecoders::bell202}) {
      const auto events = detect_caller_id(audio, decoders);
      ASSERT_EQ(events.size(), 1u);
      ASSERT_TRUE(events[0].accepted());
      EXPECT_EQ(*events[0].message, test_case.message);
      EXPECT_EQ(events[0].standard, expected_standard);
      EXPECT_EQ(events[0].raw, proto::callerid::encode(test_case.message));
      // The message starts after 0.3 s of silence, 300 seizure and 180 mark bits.
      const double start_s = 0.3 + 480.0 / 1200;
      EXPECT_NEAR(static_cast<double>(events[0].start_sample) / 8000, start_s, 0.01);
    }
  }
}

TEST_P(FskCallerId, DecodesAtLowLevelNoiseAndOffset) {
  const auto standard = GetParam();
  struct Condition {
    double level_dbm0;
    double snr_db;
    double offset;
  };
  // The benchmark (BENCHMARKS.md) measures these over 200 messages a cell.
  for (const auto condition : {Condition{-45, 30, 0}, Condition{-40, 10, 0}, Condition{-13, 20, 0.03},
                               Condition{-13, 20, -0.03}, Condition{-13, 12, 0.015}, Condition{0, 30, 0}}) {
    SCOPED_TRACE(testing::Message() << "level " << condition.level_dbm0 << " snr " << condition.snr_db
                                    << " offset " << condition.offset);
    int decoded = 0;
    for (std::uint32_t seed = 1; seed <= 10; ++seed) {
      auto audio = fsk_burst(mdmf_full(), standard, condition.level_dbm0, condition.offset);
      add_noise(audio, condition.level_dbm0, condition.snr_db, seed);
      const auto events = detect_caller_id(audio, CallerIdDecoders::auto_detect);
      for (const auto& event : events)
        if (event.accepted() && *event.message == mdmf_full()) ++decoded;
    }
    EXPECT_GE(decoded, 10);
  }
}

TEST_P(FskCallerId, BadChecksumIsRejectedAndCountedNeverUsed) {
  auto bytes = proto::callerid::encode(mdmf_full());
  bytes.back() ^= 0x01;
  LineDetectors detectors;
  detectors.push(fsk_burst(bytes, GetParam()));
  detectors.push(Samples(8000, 0));
  const auto events = detectors.take_events();
  ASSERT_EQ(events.size(), 1u);
  const auto& event = std::get<CallerIdEvent>(events[0]);
  EXPECT_FALSE(event.accepted());
  EXPECT_FALSE(event.message.has_value());
  EXPECT_EQ(event.rejection, CallerIdRejection::bad_checksum);
  EXPECT_EQ(detectors.caller_id_counters().bad_checksum, 1u);
  EXPECT_EQ(detectors.caller_id_counters().accepted, 0u);
}

TEST_P(FskCallerId, TruncatedMessageIsRejected) {
  auto bytes = proto::callerid::encode(mdmf_full());
  bytes.resize(bytes.size() / 2);  // the exchange stopped mid-message
  LineDetectors detectors;
  detectors.push(fsk_burst(bytes, GetParam()));
  detectors.push(Samples(8000, 0));
  const auto events = detectors.take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(std::get<CallerIdEvent>(events[0]).rejection, CallerIdRejection::truncated);
  EXPECT_EQ(detectors.caller_id_counters().truncated, 1u);
}

INSTANTIATE_TEST_SUITE_P(Standards, FskCallerId, testing::Values(FskStandard::bell202, FskStandard::v23),
                         [](const auto& info) { return info.param == FskStandard::v23 ? "v23" : "bell202"; });

TEST(CallerIdDetector, DecoderChoiceIsHonoured) {
  // A DTMF-only line ignores FSK, an FSK-only line ignores DTMF caller ID.
  const auto fsk_audio = fsk_burst(mdmf_full(), FskStandard::bell202);
  EXPECT_TRUE(detect_caller_id(fsk_audio, CallerIdDecoders::dtmf).empty());
  const auto dtmf_audio = dtmf(8000, "A13812345678C");
  EXPECT_TRUE(detect_caller_id(dtmf_audio, CallerIdDecoders::bell202).empty());
}

TEST(CallerIdDetector, TwoMessagesOnOneLineAreBothReported) {
  Message second = mdmf_full();
  second.number = "13900001111";
  auto audio = fsk_burst(mdmf_full(), FskStandard::bell202);
  append(audio, tone(8000, std::vector<double>{25}, -20, 1.0));  // ring-ish gap
  append(audio, fsk_burst(second, FskStandard::bell202));
  const auto events = detect_caller_id(audio);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].message->number, "13812345678");
  EXPECT_EQ(events[1].message->number, "13900001111");
}

// ---- DTMF caller ID ----------------------------------------------------------------

TEST(DtmfCallerId, ChinaAndEtsiForms) {
  struct Case {
    proto::callerid::DtmfStyle style;
    Message message;
  };
  Message number;
  number.number = "13812345678";
  Message hidden;
  hidden.number_absence = 'P';
  Message unavailable;
  unavailable.number_absence = 'O';
  for (const auto style : {proto::callerid::DtmfStyle::china, proto::callerid::DtmfStyle::etsi}) {
    for (const auto& message : {number, hidden, unavailable}) {
      const auto digits = proto::callerid::encode_dtmf(message, style);
      SCOPED_TRACE(digits);
      auto audio = silence(8000, 0.2);
      append(audio, dtmf(8000, digits));
      append(audio, silence(8000, 0.2));
      const auto events = detect_caller_id(audio);
      ASSERT_EQ(events.size(), 1u);
      ASSERT_TRUE(events[0].accepted());
      EXPECT_EQ(events[0].standard, CallerIdStandard::dtmf);
      EXPECT_EQ(events[0].message->number, message.number);
      EXPECT_EQ(events[0].message->number_absence, message.number_absence);
      EXPECT_EQ(std::string(events[0].raw.begin(), events[0].raw.end()), digits);
      EXPECT_NEAR(static_cast<double>(events[0].start_sample) / 8000, 0.2, 0.01);
    }
  }
}

TEST(DtmfCallerId, DialledDigitsAndUnterminatedBurstsAreNotCallerId) {
  auto audio = dtmf(8000, "13812345678#");      // no start character: a dialled number
  append(audio, silence(8000, 2));
  append(audio, dtmf(8000, "A138123"));          // cut short, never terminated
  append(audio, silence(8000, 2));
  EXPECT_TRUE(detect_caller_id(audio).empty());
}

// ---- DTMF digits: Q.24 ----------------------------------------------------------------

constexpr std::string_view all_digits = "1234567890*#ABCD";

struct Q24Case {
  const char* label;
  double tone_ms;
  double level_dbm0;
  double twist_db;
  double offset;
  bool operates;
};

class DtmfQ24 : public testing::TestWithParam<Q24Case> {};

TEST_P(DtmfQ24, OperatesOrNot) {
  const auto& c = GetParam();
  DtmfOptions options;
  options.tone_ms = c.tone_ms;
  options.gap_ms = 60;
  options.level_dbm0 = c.level_dbm0;
  options.twist_db = c.twist_db;
  options.frequency_offset = c.offset;
  // Several alignments against the detector's 4 ms hop.
  for (const double lead_ms : {0.0, 1.3, 2.5, 3.7}) {
    SCOPED_TRACE(lead_ms);
    auto audio = silence(8000, 0.05 + lead_ms / 1000);
    append(audio, dtmf(8000, all_digits, options));
    const auto events = detect_digits(audio);
    if (c.operates) {
      EXPECT_EQ(digits_of(events), all_digits);
    } else {
      EXPECT_EQ(digits_of(events), "");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, DtmfQ24,
    testing::Values(Q24Case{"nominal_40ms", 40, -10, 0, 0, true}, Q24Case{"level_0dBm0", 40, 0, 0, 0, true},
                    Q24Case{"level_minus25dBm0", 40, -25, 0, 0, true},
                    Q24Case{"twist_plus4", 40, -10, 4, 0, true}, Q24Case{"twist_minus8", 40, -10, -8, 0, true},
                    Q24Case{"offset_plus1_5", 40, -10, 0, 0.015, true},
                    Q24Case{"offset_minus1_5", 40, -10, 0, -0.015, true},
                    Q24Case{"corner_minus25_twist_minus8_minus1_5", 40, -17, -8, -0.015, true},
                    Q24Case{"corner_0dBm0_twist_plus4_plus1_5", 40, -4, 4, 0.015, true},
                    Q24Case{"offset_plus3_5", 60, -10, 0, 0.035, false},
                    Q24Case{"offset_minus3_5", 60, -10, 0, -0.035, false},
                    Q24Case{"duration_23ms", 23, -10, 0, 0, false},
                    Q24Case{"duration_20ms", 20, -10, 0, 0, false}),
    [](const auto& info) { return std::string(info.param.label); });

TEST(DtmfDetector, ReportsStartAndDuration) {
  DtmfOptions options;
  options.tone_ms = 100;
  options.gap_ms = 100;
  auto audio = silence(8000, 0.5);
  append(audio, dtmf(8000, "5#", options));
  const auto events = detect_digits(audio);
  ASSERT_EQ(digits_of(events), "5#");
  EXPECT_NEAR(static_cast<double>(events[0].start_sample) / 8, 500, 5);
  EXPECT_NEAR(static_cast<double>(events[0].duration_samples) / 8, 100, 6);
  EXPECT_NEAR(static_cast<double>(events[1].start_sample) / 8, 700, 5);
}

TEST(DtmfDetector, SurvivesNoise) {
  auto audio = dtmf(8000, all_digits);
  add_noise(audio, -10, 15, 7);
  EXPECT_EQ(digits_of(detect_digits(audio)), all_digits);
}

// ---- call progress -----------------------------------------------------------------

TEST(ToneDetector, ChinaBusyCongestionDialRingback) {
  const std::vector<double> f450{450};
  const auto busy = detect_tones(tone(8000, f450, -20, 3, 0.35, 0.35));
  ASSERT_EQ(busy.size(), 1u);
  EXPECT_EQ(busy[0].tone, CallProgressTone::busy);
  // Confirmed after two cycles, in the second off period.
  EXPECT_NEAR(static_cast<double>(busy[0].sample) / 8000, 1.35, 0.1);
  EXPECT_NEAR(static_cast<double>(busy[0].start_sample) / 8000, 0.0, 0.04);

  const auto congestion = detect_tones(tone(8000, f450, -20, 4, 0.7, 0.7));
  ASSERT_EQ(congestion.size(), 1u);
  EXPECT_EQ(congestion[0].tone, CallProgressTone::congestion);

  const auto dial = detect_tones(tone(8000, f450, -15, 3));
  ASSERT_EQ(dial.size(), 1u);
  EXPECT_EQ(dial[0].tone, CallProgressTone::dial);
  EXPECT_NEAR(static_cast<double>(dial[0].sample) / 8000, 1.5, 0.05);

  const auto ringback = detect_tones(tone(8000, f450, -20, 11, 1, 4));
  ASSERT_EQ(ringback.size(), 1u);
  EXPECT_EQ(ringback[0].tone, CallProgressTone::ringback);
}

TEST(ToneDetector, BusyUnderNoiseAndOtherCountries) {
  auto noisy_busy = tone(8000, std::vector<double>{450}, -30, 3, 0.35, 0.35);
  add_noise(noisy_busy, -30, 10, 3);
  const auto events = detect_tones(noisy_busy);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].tone, CallProgressTone::busy);

  const auto us_busy = detect_tones(tone(8000, std::vector<double>{480, 620}, -24, 3, 0.5, 0.5), "north_america");
  ASSERT_EQ(us_busy.size(), 1u);
  EXPECT_EQ(us_busy[0].tone, CallProgressTone::busy);
  // A China busy tone means nothing on a European profile (450 vs 425 Hz is
  // within the block's bandwidth, so it is judged by cadence: 350 ms is no
  // European cadence).
  EXPECT_TRUE(detect_tones(tone(8000, std::vector<double>{450}, -20, 3, 0.35, 0.35), "europe").empty());
}

TEST(ToneDetector, SilenceAndShortBurstsAreNotTones) {
  EXPECT_TRUE(detect_tones(silence(8000, 5)).empty());
  // One 350 ms burst is not yet busy.
  auto one_burst = tone(8000, std::vector<double>{450}, -20, 0.35);
  append(one_burst, silence(8000, 2));
  EXPECT_TRUE(detect_tones(one_burst).empty());
}

// ---- call progress: one report per episode, idle again afterwards --------------------------
//
// Issue "Line truth" 1: a tone that stopped latched the detector, which then
// re-reported the old cadence on every block once the line had been quiet for
// 6 s (busy ~60 times a second; a lone 1 s ringback burst gave hundreds of
// reports). The cases below stop each tone at many points of its cadence and
// follow it with silence, a noise floor or speech.

std::vector<ToneEvent> push_in_odd_blocks(ToneDetector& detector, const Samples& audio) {
  constexpr std::size_t chunk = 173;  // not a multiple of the detector's 128-sample block
  const std::span<const std::int16_t> all(audio);
  for (std::size_t offset = 0; offset < all.size(); offset += chunk)
    detector.push(all.subspan(offset, std::min(chunk, all.size() - offset)));
  return detector.take_events();
}

// mt19937's raw output is fixed by the standard (its distributions are not),
// so the vectors are the same with every standard library.
double uniform(std::mt19937& engine, double low, double high) {
  return low + (high - low) * (static_cast<double>(engine()) / 4294967296.0);
}

// Speech-like audio without external tools: voiced syllables of 80-350 ms (a
// harmonic series on a gliding pitch of 90-240 Hz, shaped by two moving
// formants, -28 to -14 dBm0) between pauses. Its harmonics sweep across the
// tone frequencies and now and then hold one for a few blocks, as a voice does.
Samples speech_like(double seconds, std::uint32_t seed) {
  std::mt19937 engine(seed);
  const auto total = static_cast<std::size_t>(seconds * 8000);
  std::vector<double> mixed;
  mixed.reserve(total);
  while (mixed.size() < total) {
    const double syllable_s = uniform(engine, 0.08, 0.35);
    const double pause_s = uniform(engine, 0, 1) < 0.15 ? uniform(engine, 0.3, 0.7) : uniform(engine, 0.02, 0.2);
    const double pitch_start = uniform(engine, 90, 240);
    const double pitch_end = pitch_start * uniform(engine, 0.8, 1.25);
    const double formant1 = uniform(engine, 300, 850);
    const double formant2 = uniform(engine, 900, 2400);
    const double level_dbm0 = uniform(engine, -28, -14);
    const auto weight = [&](double hz) {
      return 1 / (1 + std::pow((hz - formant1) / 120, 2)) + 0.6 / (1 + std::pow((hz - formant2) / 150, 2)) + 0.05;
    };
    const double mid_pitch = (pitch_start + pitch_end) / 2;
    double power = 0;  // of the harmonic sum at the syllable's middle, for its level
    for (double hz = mid_pitch; hz < 3400; hz += mid_pitch) power += weight(hz) * weight(hz) / 2;
    const double scale = dbm0_to_peak(level_dbm0) / std::numbers::sqrt2 / std::sqrt(power);
    const auto syllable_samples = static_cast<std::size_t>(syllable_s * 8000);
    double phase = 0;
    for (std::size_t n = 0; n < syllable_samples; ++n) {
      const double position = static_cast<double>(n) / static_cast<double>(syllable_samples);
      const double pitch = pitch_start + (pitch_end - pitch_start) * position;
      phase += 2 * std::numbers::pi * pitch / 8000;
      double value = 0;
      for (int harmonic = 1; harmonic * pitch < 3400; ++harmonic)
        value += weight(harmonic * pitch) * std::sin(harmonic * phase);
      mixed.push_back(scale * std::sin(std::numbers::pi * position) * value);
    }
    mixed.insert(mixed.end(), static_cast<std::size_t>(pause_s * 8000), 0.0);
  }
  mixed.resize(total);
  Samples out(total);
  std::transform(mixed.begin(), mixed.end(), out.begin(),
                 [](double v) { return static_cast<std::int16_t>(std::clamp(std::round(v), -32768.0, 32767.0)); });
  return out;
}

enum class Background { digital_silence, noise_minus55, speech };

std::string_view to_string(Background background) {
  switch (background) {
    case Background::digital_silence: return "digital_silence";
    case Background::noise_minus55: return "noise_minus55";
    case Background::speech: return "speech";
  }
  return "?";
}

Samples background(Background kind, double seconds, std::uint32_t seed) {
  switch (kind) {
    case Background::digital_silence: return silence(8000, seconds);
    case Background::noise_minus55: {
      auto audio = silence(8000, seconds);
      add_noise(audio, -55, 0, seed);  // noise at the power of a -55 dBm0 sine
      return audio;
    }
    case Background::speech: return speech_like(seconds, seed);
  }
  return {};
}

const ToneSpec& spec_of(const ToneProfile& profile, CallProgressTone wanted) {
  for (const auto& spec : profile.tones)
    if (spec.tone == wanted) return spec;
  throw std::invalid_argument("tone not in profile");
}

std::vector<double> frequencies_of(const ToneSpec& spec) {
  std::vector<double> frequencies{spec.frequency_hz};
  if (spec.second_frequency_hz > 0) frequencies.push_back(spec.second_frequency_hz);
  return frequencies;
}

// Where in its cadence a tone stops, as a fraction of the on burst or of the
// off gap. on 0 % is the end of a whole cycle (the tone stops after a gap).
struct StopPhase {
  const char* label;
  bool in_burst;
  double fraction;
};

constexpr StopPhase stop_phases[] = {
    {"cycle_end", true, 0.0}, {"on_3pct", true, 0.03},   {"on_25pct", true, 0.25},  {"on_50pct", true, 0.5},
    {"on_75pct", true, 0.75}, {"on_97pct", true, 0.97},  {"on_end", true, 1.0},     {"off_5pct", false, 0.05},
    {"off_25pct", false, 0.25}, {"off_50pct", false, 0.5}, {"off_75pct", false, 0.75}, {"off_95pct", false, 0.95},
};

// The tone for `full_cycles` cycles and then up to the stop phase.
Samples cadenced_episode(const ToneSpec& spec, int full_cycles, StopPhase phase, double level_dbm0) {
  const double on_s = spec.on_ms / 1000.0;
  const double off_s = spec.off_ms / 1000.0;
  const double tail_s = phase.in_burst ? phase.fraction * on_s : on_s + phase.fraction * off_s;
  return tone(8000, frequencies_of(spec), level_dbm0, full_cycles * (on_s + off_s) + tail_s, on_s, off_s);
}

struct EpisodeTone {
  const char* country;
  CallProgressTone tone;
};

// Readable parameters in gtest's output.
void PrintTo(const EpisodeTone& value, std::ostream* out) { *out << value.country << " " << to_string(value.tone); }
void PrintTo(const StopPhase& value, std::ostream* out) { *out << value.label; }
void PrintTo(Background value, std::ostream* out) { *out << to_string(value); }

constexpr EpisodeTone episode_tones[] = {
    {"china", CallProgressTone::busy},    {"china", CallProgressTone::congestion},
    {"china", CallProgressTone::ringback}, {"europe", CallProgressTone::busy},
    {"north_america", CallProgressTone::busy},
};

class ToneEpisode : public testing::TestWithParam<std::tuple<EpisodeTone, StopPhase, Background>> {};

TEST_P(ToneEpisode, ReportedOnceThenIdleForThirtySeconds) {
  const auto [episode_tone, phase, kind] = GetParam();
  const auto profile = *tone_profile(episode_tone.country);
  const auto& spec = spec_of(profile, episode_tone.tone);
  // Enough cycles to confirm the tone well before it stops (two for busy and
  // congestion, one for ringback).
  const int full_cycles = spec.tone == CallProgressTone::ringback ? 2 : 3;
  ToneDetector detector(profile);
  const auto during = push_in_odd_blocks(detector, cadenced_episode(spec, full_cycles, phase, -20));
  // 30 s of background, taken in 1 s pieces so a late report shows where it came.
  static const auto backgrounds = [] {
    std::map<Background, Samples> made;
    for (const auto each : {Background::digital_silence, Background::noise_minus55, Background::speech})
      made[each] = background(each, 30, 11);
    return made;
  }();
  const auto& after = backgrounds.at(kind);
  std::vector<ToneEvent> events = during;
  int reports_in_background = 0;
  for (std::size_t second = 0; second < 30; ++second) {
    const Samples piece(after.begin() + static_cast<std::ptrdiff_t>(second * 8000),
                        after.begin() + static_cast<std::ptrdiff_t>((second + 1) * 8000));
    for (const auto& event : push_in_odd_blocks(detector, piece)) {
      events.push_back(event);
      // The confirming gap may run into the background; anything later is a latch.
      if (second >= 6) ++reports_in_background;
    }
  }
  EXPECT_EQ(reports_in_background, 0);
  ASSERT_EQ(events.size(), 1u) << "first " << to_string(events[0].tone) << ", then " << events.size() - 1
                               << " more; last " << to_string(events.back().tone) << " at "
                               << static_cast<double>(events.back().sample) / 8000 << " s";
  EXPECT_EQ(events[0].tone, spec.tone);
  EXPECT_NEAR(static_cast<double>(events[0].start_sample) / 8000, 0.0, 0.04);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ToneEpisode,
    testing::Combine(testing::ValuesIn(episode_tones), testing::ValuesIn(stop_phases),
                     testing::Values(Background::digital_silence, Background::noise_minus55, Background::speech)),
    [](const auto& info) {
      const EpisodeTone& episode_tone = std::get<0>(info.param);
      return std::string(episode_tone.country) + "_" + std::string(to_string(episode_tone.tone)) + "_" +
             std::get<1>(info.param).label + "_" + std::string(to_string(std::get<2>(info.param)));
    });

TEST(ToneDetector, SpeechLikeBackgroundAloneIsNoTone) {
  // Else the episode table would blame the detector for the background's own tones.
  for (const char* country : {"china", "europe", "north_america"}) {
    ToneDetector detector(*tone_profile(country));
    EXPECT_TRUE(push_in_odd_blocks(detector, speech_like(120, 11)).empty()) << country;
  }
}

TEST(ToneDetector, OneRingbackBurstOnAnIdleLineIsReportedAtMostOnce) {
  // The report: one 1 s burst of 450 Hz, then 12 s of silence.
  ToneDetector detector;
  auto audio = tone(8000, std::vector<double>{450}, -20, 1.0);
  append(audio, silence(8000, 12));
  const auto events = push_in_odd_blocks(detector, audio);
  EXPECT_LE(events.size(), 1u);
  for (const auto& event : events) EXPECT_EQ(event.tone, CallProgressTone::ringback);
}

TEST(ToneDetector, BusyThatStopsInItsGapDoesNotLatch) {
  // The report: busy ending in a silent gap of its cadence, the next call
  // answered minutes later.
  ToneDetector detector;
  EXPECT_EQ(push_in_odd_blocks(detector, tone(8000, std::vector<double>{450}, -20, 2.8, 0.35, 0.35)).size(), 1u);
  std::size_t later = 0;
  for (int second = 0; second < 120; ++second) later += push_in_odd_blocks(detector, silence(8000, 1)).size();
  EXPECT_EQ(later, 0u);
}

TEST(ToneDetector, EpisodeGapIsTheLongestOffTimePlusOneLostCycle) {
  const auto china = *tone_profile("china");
  EXPECT_DOUBLE_EQ(tone_episode_gap_ms(spec_of(china, CallProgressTone::busy)), 350 + 70 + 16 + 1000);
  EXPECT_DOUBLE_EQ(tone_episode_gap_ms(spec_of(china, CallProgressTone::congestion)), 700 + 140 + 16 + 1400);
  EXPECT_DOUBLE_EQ(tone_episode_gap_ms(spec_of(china, CallProgressTone::ringback)), 4000 + 800 + 16 + 5000);
  EXPECT_DOUBLE_EQ(tone_episode_gap_ms(spec_of(china, CallProgressTone::dial)), 1000);
  const auto europe = *tone_profile("europe");
  EXPECT_DOUBLE_EQ(tone_episode_gap_ms(spec_of(europe, CallProgressTone::busy)), 500 + 100 + 16 + 1000);
  EXPECT_DOUBLE_EQ(tone_episode_gap_ms(spec_of(europe, CallProgressTone::congestion)), 250 + 50 + 16 + 1000);
  EXPECT_DOUBLE_EQ(tone_episode_gap_ms(spec_of(*tone_profile("north_america"), CallProgressTone::ringback)),
                   4000 + 800 + 16 + 6000);
}

TEST(ToneDetector, ChangeOfToneIsANewEpisode) {
  // Busy, then congestion with no gap, then busy again: three episodes.
  const std::vector<double> f450{450};
  auto audio = tone(8000, f450, -20, 2.1, 0.35, 0.35);
  append(audio, tone(8000, f450, -20, 4.2, 0.7, 0.7));
  append(audio, tone(8000, f450, -20, 2.1, 0.35, 0.35));
  ToneDetector detector;
  const auto events = push_in_odd_blocks(detector, audio);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].tone, CallProgressTone::busy);
  EXPECT_EQ(events[1].tone, CallProgressTone::congestion);
  EXPECT_EQ(events[2].tone, CallProgressTone::busy);
}

TEST(ToneDetector, TwoMinutesOfNoisyBusyIsOneEpisode) {
  // One report, not one per cycle or per minute, even where noise cuts,
  // splits or eats bursts (at -36 dBm0 and 3 dB SNR an episode that ended at
  // the first lost burst was reported 3 to 8 times in two minutes).
  struct Condition {
    const char* country;
    double level_dbm0;
    double snr_db;
  };
  for (const auto condition : {Condition{"china", -20, 15}, Condition{"china", -36, 3}, Condition{"europe", -36, 3},
                               Condition{"north_america", -38, 0}}) {
    SCOPED_TRACE(testing::Message() << condition.country << " " << condition.level_dbm0 << " dBm0, snr "
                                    << condition.snr_db);
    const auto profile = *tone_profile(condition.country);
    const auto& busy = spec_of(profile, CallProgressTone::busy);
    for (std::uint32_t seed = 1; seed <= 2; ++seed) {
      auto audio = tone(8000, frequencies_of(busy), condition.level_dbm0, 120, busy.on_ms / 1000.0,
                        busy.off_ms / 1000.0);
      add_noise(audio, condition.level_dbm0, condition.snr_db, seed);
      ToneDetector detector(profile);
      EXPECT_EQ(push_in_odd_blocks(detector, audio).size(), 1u) << "seed " << seed;
    }
  }
}

TEST(ToneDetector, ResetForgetsHistoryAndEpisode) {
  const std::vector<double> f450{450};
  // 1.5 cycles of busy, reset, 1 more cycle: not two cycles since the reset.
  ToneDetector detector;
  EXPECT_TRUE(push_in_odd_blocks(detector, tone(8000, f450, -20, 1.05, 0.35, 0.35)).empty());
  detector.reset();
  auto rest = tone(8000, f450, -20, 0.7, 0.35, 0.35);
  append(rest, silence(8000, 2));
  EXPECT_TRUE(push_in_odd_blocks(detector, rest).empty());

  // Busy reported, reset while it goes on: reported again as a fresh episode,
  // stamped on the detector's clock.
  ToneDetector latched;
  ASSERT_EQ(push_in_odd_blocks(latched, tone(8000, f450, -20, 1.4, 0.35, 0.35)).size(), 1u);
  latched.reset();
  const auto again = push_in_odd_blocks(latched, tone(8000, f450, -20, 2.1, 0.35, 0.35));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].tone, CallProgressTone::busy);
  EXPECT_NEAR(static_cast<double>(again[0].start_sample) / 8000, 1.4, 0.04);
  EXPECT_NEAR(static_cast<double>(again[0].sample) / 8000, 1.4 + 1.35, 0.1);
}

TEST(LineDetectors, ResetCallProgressGivesTheNextCallACleanToneDetector) {
  const std::vector<double> f450{450};
  LineDetectors detectors;
  // The last call: busy, a digit, and a busy report not yet taken.
  auto audio = dtmf(8000, "5");
  append(audio, tone(8000, f450, -20, 1.4, 0.35, 0.35));
  detectors.push(audio);
  // On-hook: the tone state goes, the digit stays.
  detectors.reset_call_progress();
  auto events = detectors.take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(std::get<DtmfDigitEvent>(events[0]).digit, '5');
  // A pause, two bursts, then on-hook before the gap that would confirm them:
  // after the reset the silence confirms nothing.
  auto bursts = silence(8000, 1);
  append(bursts, tone(8000, f450, -20, 1.05, 0.35, 0.35));
  detectors.push(bursts);
  detectors.reset_call_progress();
  detectors.push(silence(8000, 10));
  EXPECT_TRUE(detectors.take_events().empty());
  // The next call's busy is reported, on the line's clock.
  const auto next_start = detectors.samples_pushed();
  detectors.push(tone(8000, f450, -20, 2.1, 0.35, 0.35));
  events = detectors.take_events();
  ASSERT_EQ(events.size(), 1u);
  const auto& busy = std::get<ToneEvent>(events[0]);
  EXPECT_EQ(busy.tone, CallProgressTone::busy);
  EXPECT_NEAR(static_cast<double>(busy.start_sample), static_cast<double>(next_start), 0.04 * 8000);
  // Without call progress it does nothing.
  LineDetectors no_tones(LineDetectorOptions{std::nullopt, true, false, *tone_profile("china")});
  no_tones.reset_call_progress();
  EXPECT_TRUE(no_tones.take_events().empty());
}

// Random tone sequences: any tone of a profile, any number of cycles, any stop
// phase, any level, then a quiet stretch. Fixed seed: a failure names its case.
TEST(ToneDetector, PropertyEveryEpisodeOnceThenIdleThenReportableAgain) {
  std::mt19937 engine(20240611);
  const std::vector<std::string> countries{"china", "europe", "north_america"};
  const auto speech = speech_like(60, 5);
  constexpr int cases = 300;
  int checked_episodes = 0;
  for (int index = 0; index < cases; ++index) {
    const auto& country = countries[engine() % countries.size()];
    const auto profile = *tone_profile(country);
    const auto& spec = profile.tones[engine() % profile.tones.size()];
    const double level_dbm0 = uniform(engine, -30, -12);
    const auto kind = static_cast<Background>(engine() % 3);
    const bool continuous = spec.on_ms == 0;
    const int confirm_cycles = spec.tone == CallProgressTone::ringback ? 1 : 2;
    const int cycles = confirm_cycles + static_cast<int>(engine() % 4);
    const double stop = uniform(engine, 0, 1);  // stop phase, as a fraction of one cycle
    // Without the tone for 3 s; ringback's own cadence has 4 s gaps, so it
    // needs its gap allowance and more before a burst is a new episode.
    const double quiet_s = std::max(3.0, tone_episode_gap_ms(spec) / 1000 + 0.5);
    SCOPED_TRACE(testing::Message() << "case " << index << ": " << country << " " << to_string(spec.tone)
                                    << " cycles " << cycles << " stop " << stop << " level " << level_dbm0
                                    << " then " << to_string(kind) << " for " << quiet_s << " s");
    const auto episode = [&](int episode_cycles, double stop_fraction) {
      if (continuous) return tone(8000, frequencies_of(spec), level_dbm0, 1.6 + 4 * stop_fraction);
      const double cycle_s = (spec.on_ms + spec.off_ms) / 1000.0;
      return tone(8000, frequencies_of(spec), level_dbm0, (episode_cycles + stop_fraction) * cycle_s,
                  spec.on_ms / 1000.0, spec.off_ms / 1000.0);
    };
    const auto quiet = [&](double seconds) {
      if (kind != Background::speech) return background(kind, seconds, engine());
      const auto start = engine() % (speech.size() - static_cast<std::size_t>(seconds * 8000));
      return Samples(speech.begin() + static_cast<std::ptrdiff_t>(start),
                     speech.begin() + static_cast<std::ptrdiff_t>(start + static_cast<std::size_t>(seconds * 8000)));
    };

    ToneDetector detector(profile);
    std::uint64_t pushed = 0;
    const auto push = [&](const Samples& audio, std::vector<ToneEvent>& events) {
      for (const auto& event : push_in_odd_blocks(detector, audio)) events.push_back(event);
      pushed += audio.size();
    };
    std::vector<ToneEvent> first;
    push(episode(cycles, stop), first);
    push(quiet(quiet_s), first);
    ASSERT_FALSE(first.empty());
    ASSERT_EQ(first.size(), 1u) << "last " << to_string(first.back().tone) << " at "
                                << static_cast<double>(first.back().sample) / 8000 << " s";
    ASSERT_EQ(first[0].tone, spec.tone);

    // A fresh episode: reported once again, from its own first burst.
    const std::uint64_t fresh_start = pushed;
    std::vector<ToneEvent> second;
    push(episode(confirm_cycles, 0), second);
    push(quiet(quiet_s), second);
    ASSERT_EQ(second.size(), 1u);
    EXPECT_EQ(second[0].tone, spec.tone);
    EXPECT_NEAR(static_cast<double>(second[0].start_sample) / 8000, static_cast<double>(fresh_start) / 8000, 0.04);
    ++checked_episodes;
  }
  EXPECT_EQ(checked_episodes, cases);
}

// ---- speech: no digits, no busy (short talk-off; the 30-minute run is a benchmark) ----

// espeak-ng and sox make the speech; skipped when they are missing.
std::optional<Samples> speech(const std::string& voice, const std::string& text, double seconds_wanted) {
  const std::string wav = testing::TempDir() + "/deskline_speech_" + voice + ".wav";
  const std::string raw_wav = wav + ".raw.wav";
  const std::string command = "espeak-ng -v " + voice + " -s 160 -w '" + raw_wav + "' '" + text +
                              "' >/dev/null 2>&1 && sox '" + raw_wav + "' -r 8000 -c 1 -b 16 '" + wav +
                              "' norm -12 >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) return std::nullopt;
  std::ifstream file(wav, std::ios::binary);
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::remove(wav.c_str());
  std::remove(raw_wav.c_str());
  auto parsed = parse_wav(bytes);
  if (!parsed || parsed.audio->rate_hz != 8000 || parsed.audio->samples.empty()) return std::nullopt;
  Samples looped;
  while (static_cast<double>(looped.size()) < seconds_wanted * 8000) append(looped, parsed.audio->samples);
  return looped;
}

TEST(TalkOff, TwoMinutesOfSpeechAndMusicGiveNoDigitsNoToneNoCallerId) {
  const auto english = speech(
      "en-us",
      "Hello, this is the sales desk. Please hold while I transfer your call. The order number is "
      "four five six seven, and the delivery is expected on Tuesday the twenty first of March.",
      50);
  const auto mandarin = speech("cmn", "你好，这里是销售部。请稍等，我帮您转接。您的订单号码是四五六七，预计星期二送达。", 50);
  if (!english || !mandarin) SKIP_OR_FAIL_MISSING() << "espeak-ng or sox missing";
  Samples audio = *english;
  append(audio, *mandarin);
  // Music-like: chords of pure tones that move every 250 ms (the hardest case
  // for a DTMF receiver: two strong sines at once).
  const std::vector<std::vector<double>> chords{{262, 330, 392}, {294, 370, 440}, {330, 415, 494},
                                                {349, 440, 523}, {392, 494, 587}, {440, 554, 659},
                                                {523, 659, 784}, {587, 740, 880}};
  for (int bar = 0; bar < 80; ++bar) append(audio, tone(8000, chords[bar % chords.size()], -18, 0.25));
  LineDetectors detectors;
  detectors.push(audio);
  const auto events = detectors.take_events();
  for (const auto& event : events)
    std::visit([](const auto& e) { ADD_FAILURE() << "false detection at sample " << e.start_sample; }, event);
  EXPECT_GE(audio.size(), 120u * 8000);
}

// ---- resampling and the WAV path used by `deskline analyze` ----------------------------

TEST(Resample, DetectorsWorkOnResampledAudio) {
  for (const std::uint32_t rate : {16000u, 11025u, 44100u}) {
    SCOPED_TRACE(rate);
    FskOptions options;
    Samples audio = silence(rate, 0.3);
    append(audio, fsk(rate, proto::callerid::encode(mdmf_full()), options));
    append(audio, silence(rate, 0.3));
    append(audio, dtmf(rate, "159#"));
    const auto resampled = resample_to_8000(audio, rate);
    EXPECT_NEAR(static_cast<double>(resampled.size()), audio.size() * 8000.0 / rate, 1);
    LineDetectors detectors;
    detectors.push(resampled);
    detectors.push(Samples(8000, 0));
    std::string digits;
    int caller_ids = 0;
    for (const auto& event : detectors.take_events()) {
      if (const auto* digit = std::get_if<DtmfDigitEvent>(&event)) digits.push_back(digit->digit);
      if (const auto* caller_id = std::get_if<CallerIdEvent>(&event))
        caller_ids += caller_id->accepted() && *caller_id->message == mdmf_full();
    }
    EXPECT_EQ(caller_ids, 1);
    EXPECT_EQ(digits, "159#");
  }
}

TEST(Resample, KeepsLevelInBand) {
  const auto audio = tone(16000, std::vector<double>{1000}, -10, 1);
  const auto resampled = resample_to_8000(audio, 16000);
  EXPECT_NEAR(rms_dbm0(std::span(resampled).subspan(800, 6400)), -10, 0.2);
  EXPECT_EQ(resample_to_8000(audio, 8000).size(), audio.size() * 1);
  EXPECT_TRUE(resample_to_8000(audio, 0).empty());
}

TEST(Resample, BlockByBlockGivesExactlyTheWholeSignalsResult) {
  for (const std::uint32_t rate : {8000u, 11025u, 16000u, 44100u, 48000u, 0u}) {
    SCOPED_TRACE(rate);
    Samples audio = tone(rate == 0 ? 8000 : rate, std::vector<double>{697, 1209}, -10, 0.5);
    for (std::size_t i = 0; i < audio.size(); i += 7) audio[i] = static_cast<std::int16_t>(i * 31);
    const auto whole = resample_to_8000(audio, rate);
    for (const std::size_t block : {1u, 7u, 160u, 4096u}) {
      SCOPED_TRACE(block);
      ResamplerTo8000 resampler(rate);
      Samples blocks;
      for (std::size_t offset = 0; offset < audio.size(); offset += block)
        resampler.push(std::span(audio).subspan(offset, std::min(block, audio.size() - offset)), blocks);
      resampler.finish(blocks);
      EXPECT_EQ(blocks, whole);
    }
  }
}

// ---- cross-check with the reference decoder ---------------------------------------------

TEST(CrossCheck, MinimodemDecodesTheSameBell202Vectors) {
  if (std::system("command -v minimodem >/dev/null 2>&1") != 0) SKIP_OR_FAIL_MISSING() << "minimodem missing";
  const auto audio = fsk_burst(mdmf_full(), FskStandard::bell202);
  const std::string wav = testing::TempDir() + "/deskline_crosscheck.wav";
  {
    const auto bytes = encode_wav(WavAudio{8000, 1, audio});
    std::ofstream file(wav, std::ios::binary);
    file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  const std::string command = "minimodem --rx callerid -q -f '" + wav + "' 2>/dev/null";
  std::string output;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[256];
    while (fgets(buffer, sizeof buffer, pipe)) output += buffer;
    pclose(pipe);
  }
  std::remove(wav.c_str());
  EXPECT_NE(output.find("13812345678"), std::string::npos) << output;
  const auto ours = detect_caller_id(audio);
  ASSERT_EQ(ours.size(), 1u);
  EXPECT_EQ(ours[0].message->number, "13812345678");
}

}  // namespace
}  // namespace deskline::codec
