// Recording acceptance under deskline-sim: real PortAudio capture from the
// simulator's ALSA PCM, files checked with the reference tools (opusinfo,
// ffprobe, opusdec); SIGKILL mid-call; a full disk.
#include <signal.h>

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <numbers>
#include <optional>
#include <regex>

#include <fmt/format.h>

#include "tests/integration/harness.hpp"
#include "tests/integration/small_tmpfs.hpp"

namespace deskline::testing {
namespace {

// Power of a frequency in samples (Goertzel), normalised so a full sine of
// amplitude A gives A^2 / 4.
double goertzel_power(const std::vector<std::int16_t>& samples, double frequency, double rate) {
  const double omega = 2 * std::numbers::pi * frequency / rate;
  const double coefficient = 2 * std::cos(omega);
  double s1 = 0, s2 = 0;
  for (auto sample : samples) {
    const double s0 = sample + coefficient * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const double n = static_cast<double>(samples.size());
  return (s1 * s1 + s2 * s2 - coefficient * s1 * s2) / (n * n);
}

// The frequency (0.25 Hz steps within ±10 Hz of expected) with the most power.
double peak_frequency(const std::vector<std::int16_t>& samples, double expected, double rate) {
  double best = expected, best_power = -1;
  for (double frequency = expected - 10; frequency <= expected + 10; frequency += 0.25) {
    const double power = goertzel_power(samples, frequency, rate);
    if (power > best_power) best_power = power, best = frequency;
  }
  return best;
}

double level_dbm0(const std::vector<std::int16_t>& samples) {
  double sum = 0;
  for (auto sample : samples) sum += static_cast<double>(sample) * sample;
  const double rms = std::sqrt(sum / static_cast<double>(samples.size()));
  const double zero_dbm0_rms = 32768.0 * std::pow(10.0, -3.14 / 20) / std::sqrt(2.0);
  return 20 * std::log10(rms / zero_dbm0_rms);
}

// Decodes with the reference decoder at 8 kHz into 16-bit samples.
std::vector<std::int16_t> opusdec(const fs::path& file, const fs::path& scratch) {
  const auto raw = scratch / (file.stem().string() + ".raw");
  std::string ignored;
  if (tools::run_capture({"opusdec", "--quiet", "--rate", "8000", "--no-dither", file.string(), raw.string()}, ignored) != 0)
    return {};
  std::ifstream in(raw, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  std::vector<std::int16_t> samples(bytes.size() / 2);
  std::memcpy(samples.data(), bytes.data(), samples.size() * 2);
  return samples;
}

std::vector<std::int16_t> slice(const std::vector<std::int16_t>& samples, double from_s, double to_s) {
  const auto from = static_cast<std::size_t>(from_s * 8000), to = static_cast<std::size_t>(to_s * 8000);
  if (to > samples.size() || from >= to) return {};
  return {samples.begin() + static_cast<std::ptrdiff_t>(from), samples.begin() + static_cast<std::ptrdiff_t>(to)};
}

TEST(Recording, TwoLinesAtOnceGiveCleanFilesWithTheRightAudio) {
  Workspace workspace("recording");
  // A speech clip for line 2, made with espeak-ng at the box rate.
  const auto speech = workspace.dir() / "speech.wav";
  std::string ignored;
  ASSERT_EQ(tools::run_capture({"sh", "-c",
                                fmt::format("espeak-ng -v en -w {0}.tmp.wav 'Deskline records every call.' && "
                                            "sox {0}.tmp.wav -r 8000 -c 1 -b 16 {0}",
                                            speech.string())},
                               ignored),
            0);
  ASSERT_EQ(workspace.run_scenario(R"(
box A serial=X800-REC lines=2 rate=8000 decode=yes
at 0.5 A:1 ring cadence=1.0/2.0 count=2
at 0.6 A:1 callerid number=13812345678
at 0.5 A:2 ring cadence=1.0/2.0 count=2
at 0.6 A:2 callerid number=02161234567
at 1.8 A:1 offhook
at 2.0 A:2 offhook
at 2.5 A:1 play tone=1000 level=-10 duration=3
at 2.5 A:2 play tone=440 level=-20 duration=3
at 5.8 A:2 play file=speech.wav
at 6.0 A:1 onhook
at 8.5 A:2 onhook
at 9.5 end
)"),
            0)
      << workspace.log();
  const auto calls = workspace.calls();
  struct Expected {
    std::string number;
    double frequency, level, hook_to_hook;
    double other_frequency;
  };
  for (const Expected& want : {Expected{"13812345678", 1000, -10, 4.2, 440}, Expected{"02161234567", 440, -20, 6.5, 1000}}) {
    SCOPED_TRACE(want.number);
    const auto* found = find_call_by_number(calls, want.number);
    ASSERT_NE(found, nullptr) << calls.dump(2);
    const auto& call = *found;
    const auto file = workspace.recording_of(call["id"]);
    ASSERT_FALSE(file.empty()) << workspace.log();

    std::string info;
    EXPECT_EQ(tools::run_capture({"opusinfo", file.string()}, info), 0) << info;
    EXPECT_EQ(info.find("WARNING"), std::string::npos) << info;
    EXPECT_EQ(info.find("ERROR"), std::string::npos) << info;
    EXPECT_NE(info.find("DESKLINE_CALL_ID=" + call["id"].get<std::string>()), std::string::npos) << info;
    EXPECT_NE(info.find("DESKLINE_NUMBER=" + want.number), std::string::npos) << info;

    const double duration = ffprobe_duration(file);
    EXPECT_NEAR(duration, want.hook_to_hook, 0.040);
    EXPECT_NEAR(call["duration_s"].get<double>(), want.hook_to_hook, 0.050);

    const auto samples = opusdec(file, workspace.dir());
    ASSERT_GT(samples.size(), 8000u * 3);
    // The tone runs from 0.7 s (line 1) / 0.5 s (line 2) into the recording for 3 s: measure its middle.
    const double tone_start = want.number == "13812345678" ? 0.7 : 0.5;
    const auto tone = slice(samples, tone_start + 0.5, tone_start + 2.5);
    EXPECT_NEAR(peak_frequency(tone, want.frequency, 8000), want.frequency, 2.0);
    EXPECT_NEAR(level_dbm0(tone), want.level, 2.0);
    // No channel swap: the other line's tone is at least 30 dB down.
    EXPECT_LT(10 * std::log10(goertzel_power(tone, want.other_frequency, 8000) /
                              goertzel_power(tone, want.frequency, 8000)),
              -30);
  }
  // Speech reached line 2 after its tone.
  const auto* line2_call = find_call_by_number(calls, "02161234567");
  ASSERT_NE(line2_call, nullptr);
  const auto line2 = workspace.recording_of((*line2_call)["id"]);
  const auto speech_part = slice(opusdec(line2, workspace.dir()), 4.0, 5.5);
  ASSERT_FALSE(speech_part.empty());
  EXPECT_GT(level_dbm0(speech_part), -40);
}

// Where a tone is audible in decoded audio, by the level of 5 ms windows:
// the start of the first and the end of the last window above -30 dBm0, in
// seconds from the start; nullopt when it is never audible.
std::optional<std::pair<double, double>> audible_span(const std::vector<std::int16_t>& samples) {
  constexpr std::size_t window = 40;
  std::optional<std::pair<double, double>> span;
  for (std::size_t at = 0; at + window <= samples.size(); at += window) {
    const std::vector<std::int16_t> part(samples.begin() + static_cast<std::ptrdiff_t>(at),
                                         samples.begin() + static_cast<std::ptrdiff_t>(at + window));
    if (level_dbm0(part) < -30) continue;
    if (!span) span.emplace(at / 8000.0, 0);
    span->second = static_cast<double>(at + window) / 8000.0;
  }
  return span;
}

// A tone plays on each line from answer to hang-up, so a recording that
// covers its call's hook times is tone from its first to its last sample.
TEST(Recording, AStalledDaemonStillRecordsEveryLaterCallFromHookToHook) {
  Workspace workspace("recording-stall");
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(
box A serial=X800-STALL lines=2 rate=8000
at 0.5 A:1 ring cadence=1.0/2.0 count=1
at 0.6 A:1 callerid number=13800000001
at 1.0 A:1 offhook
at 1.0 A:1 play tone=1000 level=-10 duration=7
at 8.0 A:1 onhook
# The daemon is held up for 3 s during the call: the box drops what it cannot deliver.
at 3.0 stall duration=3
at 8.5 A:2 ring cadence=1.0/2.0 count=1
at 8.6 A:2 callerid number=13800000002
at 9.5 A:2 offhook
at 9.5 A:2 play tone=800 level=-10 duration=7
at 16.5 A:2 onhook
at 10.0 A:1 ring cadence=1.0/2.0 count=1
at 10.1 A:1 callerid number=13800000003
at 11.0 A:1 offhook
at 11.0 A:1 play tone=1000 level=-10 duration=3
at 14.0 A:1 onhook
at 18 end
)"));
  ASSERT_GT(simulator, 0);
  nlohmann::json audio;
  ASSERT_TRUE(wait_until(
      [&] {
        audio = workspace.cli_json({"status", "--json"})["audio"]["X800-STALL"];
        return audio.is_object() && audio.value("gaps", 0) > 0;
      },
      std::chrono::seconds(40), "a gap in the box's audio stats"))
      << audio.dump() << workspace.log();
  EXPECT_EQ(workspace.wait_for_simulator(simulator), 0) << workspace.log();

  const auto log = workspace.log();
  std::smatch gap, dropped;
  ASSERT_TRUE(std::regex_search(log, gap, std::regex(R"(audio gap of (\d+) ms \((\d+) frames\) .*, ([^\n]*))"))) << log;
  EXPECT_EQ(gap[3], "placed at the box's audio_overrun report") << log;
  ASSERT_TRUE(std::regex_search(log, dropped, std::regex(R"(audio chunks written \d+, dropped (\d+))"))) << log;
  const long gap_frames = std::stol(gap[2]), lost_frames = std::stol(dropped[1]) * 160;
  std::printf("gap of %ld frames placed for %ld frames the simulator dropped (%+ld)\n", gap_frames, lost_frames,
              gap_frames - lost_frames);
  EXPECT_NEAR(gap_frames, lost_frames, 160) << "at most a chunk written in part";
  EXPECT_EQ(audio.value("gap_frames", 0), gap_frames);

  const auto calls = workspace.calls();
  for (const std::string number : {"13800000001", "13800000002", "13800000003"}) {
    SCOPED_TRACE(number);
    const auto* call = find_call_by_number(calls, number);
    ASSERT_NE(call, nullptr) << calls.dump(2);
    const auto file = workspace.recording_of((*call)["id"]);
    ASSERT_FALSE(file.empty()) << workspace.log();
    const double hook_to_hook =
        parse_iso8601((*call)["ended_at"]) - parse_iso8601((*call)["answered_at"]);
    const auto samples = opusdec(file, workspace.dir());
    const auto tone = audible_span(samples);
    ASSERT_TRUE(tone) << file;
    const double length = static_cast<double>(samples.size()) / 8000;
    std::printf("call %s: %.3f s hook to hook, recording %.3f s; tone from %+.1f ms to %+.1f ms of its end\n",
                number.c_str(), hook_to_hook, ffprobe_duration(file), tone->first * 1000,
                (tone->second - length) * 1000);
    // The first call spans the stall: its recording holds the placed gap, so
    // it is longer or shorter by the gap's error, which is checked above.
    const double gap_error_s =
        number == "13800000001" ? static_cast<double>(gap_frames - lost_frames) / 8000 : 0.0;
    EXPECT_NEAR(ffprobe_duration(file), hook_to_hook + gap_error_s, 0.020);
    EXPECT_NEAR(tone->first, 0, 0.020) << "the recording starts at the answer";
    EXPECT_NEAR(tone->second, length, 0.020) << "the recording ends at the hang-up";
  }
}

TEST(Recording, SigkillMidCallLosesAtMostHalfASecondAndIsRepaired) {
  Workspace workspace("recording-kill");
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(
box A serial=X800-KILL lines=1 rate=8000
at 0.5 A:1 ring cadence=1.0/2.0 count=2
at 0.6 A:1 callerid number=13700001111
at 1.0 A:1 offhook
at 1.0 A:1 play tone=800 level=-12 duration=30
# Adds no sound: marks in the trace that 3 s of the call have been recorded.
at 4.0 A:1 play silence duration=1
at 40 end
)"));
  ASSERT_GT(simulator, 0);
  nlohmann::json call;
  ASSERT_TRUE(wait_until(
      [&] {
        auto calls = workspace.calls();
        if (calls.is_array() && !calls.empty() && !calls[0]["answered_at"].is_null()) call = calls[0];
        return call.is_object();
      },
      std::chrono::seconds(30), "the call to be answered"))
      << workspace.log();
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& entry : workspace.trace())
          if (entry.value("kind", "") == "action" && entry.value("action", "") == "play" &&
              entry.value("scenario_s", 0.0) == 4.0)
            return true;
        return false;
      },
      std::chrono::seconds(30), "scenario time 4.0 s (the silence mark in the trace)"))
      << workspace.log();
  const auto status = workspace.cli_json({"status", "--json"});
  const int daemon_pid = status.value("pid", 0);
  ASSERT_GT(daemon_pid, 0);
  timespec killed_at{};
  clock_gettime(CLOCK_REALTIME, &killed_at);
  ASSERT_EQ(::kill(daemon_pid, SIGKILL), 0);
  // The simulator ends with its child (status 137: killed by us, not by the simulator).
  workspace.wait_for_simulator(simulator, std::chrono::seconds(30), StopCheck::any_status);

  // Restart the daemon without the box: startup recovery repairs the file.
  tools::SpawnOptions options;
  options.stderr_path = workspace.log_path();
  const pid_t daemon = tools::spawn({bin("desklined").string(), "--config", workspace.config_path().string()}, options);
  ASSERT_GT(daemon, 0);
  // The repair runs before the daemon answers on its control socket.
  ASSERT_TRUE(wait_until([&] { return workspace.cli_json({"status", "--json"}).value("pid", 0) == daemon; },
                         std::chrono::seconds(30), "the restarted desklined to answer `deskline status`"))
      << workspace.log();
  ::kill(daemon, SIGTERM);
  ASSERT_EQ(tools::wait_for(daemon, std::chrono::seconds(20)).value_or(-1), 0);

  const auto calls = workspace.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0]["outcome"], "interrupted");
  const auto file = workspace.recording_of(calls[0]["id"]);
  ASSERT_FALSE(file.empty());
  std::string info;
  EXPECT_EQ(tools::run_capture({"opusinfo", file.string()}, info), 0) << info;
  EXPECT_EQ(info.find("WARNING"), std::string::npos) << info;
  // Audio from the answer to the kill, less at most half a second.
  const double captured = killed_at.tv_sec + killed_at.tv_nsec / 1e9 - parse_iso8601(call["answered_at"]);
  const double kept = ffprobe_duration(file);
  std::printf("captured %.3f s before SIGKILL, %.3f s kept after repair\n", captured, kept);
  EXPECT_GE(kept, captured - 0.5);
  EXPECT_LE(kept, captured + 0.1);
  EXPECT_NE(workspace.log().find("repaired after an interruption"), std::string::npos) << workspace.log();
}

TEST(FullDisk, RecordingCutCleanlyWhenTheDiskFillsAndTheCallIsStillLogged) {
  Workspace workspace("recording-full", "[recording]\nmin_free_mb = 0\n");
  SmallTmpfs disk(workspace.dir() / "data" / "recordings", "4k");  // one page: ~4 s of tone
  if (!disk.mounted()) SKIP_OR_FAIL_MISSING() << "cannot mount a tmpfs here (needs root): " << disk.error();
  ASSERT_EQ(workspace.run_scenario(R"(
box A serial=X800-FULL lines=1 rate=8000
at 0.5 A:1 ring cadence=1.0/2.0 count=1
at 0.6 A:1 callerid number=13600002222
at 1.0 A:1 offhook
at 1.0 A:1 play tone=600 level=-10 duration=12
at 13.0 A:1 onhook
at 14 end
)"),
            0)
      << workspace.log();
  const auto calls = workspace.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0]["outcome"], "answered");
  const auto file = workspace.recording_of(calls[0]["id"]);
  ASSERT_FALSE(file.empty());
  std::string info;
  EXPECT_EQ(tools::run_capture({"opusinfo", file.string()}, info), 0) << info;
  EXPECT_EQ(info.find("WARNING"), std::string::npos) << info;
  EXPECT_GT(ffprobe_duration(file), 1.0);
  EXPECT_LT(ffprobe_duration(file), 11.0);
  EXPECT_NE(workspace.log().find("recording truncated: No space left on device"), std::string::npos) << workspace.log();
}

TEST(FullDisk, NewRecordingsAreRefusedBelowTheFloor) {
  Workspace workspace("recording-floor", "[recording]\nmin_free_mb = 1\n");
  SmallTmpfs disk(workspace.dir() / "data" / "recordings", "64k");
  if (!disk.mounted()) SKIP_OR_FAIL_MISSING() << "cannot mount a tmpfs here (needs root): " << disk.error();
  ASSERT_EQ(workspace.run_scenario(R"(
box A serial=X800-FLOOR lines=1 rate=8000
at 0.5 A:1 ring cadence=1.0/2.0 count=1
at 1.0 A:1 offhook
at 3.0 A:1 onhook
at 4 end
)"),
            0)
      << workspace.log();
  const auto calls = workspace.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0]["outcome"], "answered");
  for (const auto& entry : fs::recursive_directory_iterator(workspace.dir() / "data" / "recordings"))
    EXPECT_FALSE(entry.is_regular_file()) << "partial file left: " << entry.path();
  EXPECT_NE(workspace.log().find("not recorded: 0 MiB free"), std::string::npos) << workspace.log();
}

}  // namespace
}  // namespace deskline::testing
