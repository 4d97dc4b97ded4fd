// Line detectors against vectors from our own generators (written from the
// specifications, independent of spandsp).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

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
