// `deskline recordings` and `recordings export` against a real recording:
// desklined under deskline-sim records one answered call with a tone, then the
// CLI lists it from the database and exports it as WAV and as Ogg Opus.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

#include "tests/integration/harness.hpp"

namespace deskline::testing {
namespace {

// Answered at 1.5 s, hung up at 5.5 s: the recording spans 4.0 s.
constexpr const char* one_call = R"(scenario version=1
box A serial=X800-RCLI lines=1 rate=8000 decode=yes
at 0.5 A:1 ring cadence=1.0/2.0 count=2
at 0.6 A:1 callerid number=13812345678
at 1.5 A:1 offhook
at 1.8 A:1 play tone=1000 level=-10 duration=3
at 5.5 A:1 onhook
at 6.5 end
)";
constexpr double hook_to_hook_s = 4.0;

std::vector<std::uint8_t> read_bytes(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), {}};
}

std::uint32_t little_endian(const std::vector<std::uint8_t>& bytes, std::size_t at, std::size_t size) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < size; ++i) value |= static_cast<std::uint32_t>(bytes[at + i]) << (8 * i);
  return value;
}

struct WavInfo {
  std::uint16_t format = 0, channels = 0, bits = 0;
  std::uint32_t rate_hz = 0;
  std::size_t data_bytes = 0;
  double seconds() const { return rate_hz && channels && bits ? data_bytes / (rate_hz * channels * bits / 8.0) : 0; }
};

// Walks the RIFF chunks by hand: the test does not trust the codec it is testing.
WavInfo wav_info(const std::vector<std::uint8_t>& bytes) {
  WavInfo info;
  if (bytes.size() < 12 || std::memcmp(bytes.data(), "RIFF", 4) != 0 || std::memcmp(bytes.data() + 8, "WAVE", 4) != 0)
    return info;
  for (std::size_t at = 12; at + 8 <= bytes.size();) {
    const std::uint32_t size = little_endian(bytes, at + 4, 4);
    if (std::memcmp(bytes.data() + at, "fmt ", 4) == 0 && size >= 16 && at + 24 <= bytes.size()) {
      info.format = static_cast<std::uint16_t>(little_endian(bytes, at + 8, 2));
      info.channels = static_cast<std::uint16_t>(little_endian(bytes, at + 10, 2));
      info.rate_hz = little_endian(bytes, at + 12, 4);
      info.bits = static_cast<std::uint16_t>(little_endian(bytes, at + 22, 2));
    } else if (std::memcmp(bytes.data() + at, "data", 4) == 0) {
      info.data_bytes = std::min<std::size_t>(size, bytes.size() - at - 8);
    }
    at += 8 + size + (size & 1);
  }
  return info;
}

TEST(RecordingsCli, ListsAndExportsARecordedCall) {
  Workspace workspace("recordings-cli");
  ASSERT_EQ(workspace.run_scenario(one_call), 0) << workspace.log();

  const auto calls = workspace.calls();
  ASSERT_TRUE(calls.is_array() && calls.size() == 1) << calls.dump(2) << workspace.log();
  const std::string call_id = calls[0]["id"];

  const auto recordings = workspace.cli_json({"recordings", "--json"});
  ASSERT_TRUE(recordings.is_array() && recordings.size() == 1) << recordings.dump(2) << workspace.log();
  const auto& recording = recordings[0];
  EXPECT_EQ(recording["call_id"], call_id);
  EXPECT_EQ(recording["state"], "complete") << recording.dump(2);
  EXPECT_EQ(recording["line"], "X800-RCLI:1");
  EXPECT_EQ(recording["direction"], "inbound");
  EXPECT_EQ(recording["number"], "13812345678");
  EXPECT_TRUE(recording["started_at"].is_string());
  ASSERT_TRUE(recording["duration_s"].is_number()) << recording.dump(2);
  const double duration_s = recording["duration_s"].get<double>();
  EXPECT_NEAR(duration_s, hook_to_hook_s, 0.040);
  ASSERT_TRUE(recording["path"].is_string()) << recording.dump(2);
  const fs::path original = recording["path"].get<std::string>();
  const auto original_bytes = read_bytes(original);
  ASSERT_FALSE(original_bytes.empty());
  EXPECT_EQ(recording["bytes"].get<std::uint64_t>(), original_bytes.size());
  EXPECT_EQ(recording["sha256"].get<std::string>().size(), 64u);

  // The table names the call by its first 8 characters and shows the path.
  const auto table = workspace.run_cli({"recordings"});
  ASSERT_EQ(table.status, 0) << table.err;
  EXPECT_NE(table.out.find(call_id.substr(0, 8)), std::string::npos) << table.out;
  EXPECT_NE(table.out.find(original.string()), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("complete"), std::string::npos) << table.out;

  // WAV: 16-bit mono at the box rate, as long as the recording.
  const auto wav_path = workspace.dir() / "call.wav";
  const auto wav = workspace.run_cli({"recordings", "export", call_id, "--format", "wav", "-o", wav_path.string()});
  ASSERT_EQ(wav.status, 0) << wav.err;
  const auto info = wav_info(read_bytes(wav_path));
  EXPECT_EQ(info.format, 1);  // PCM
  EXPECT_EQ(info.channels, 1);
  EXPECT_EQ(info.bits, 16);
  EXPECT_EQ(info.rate_hz, 8000u);
  EXPECT_NEAR(info.seconds(), duration_s, 0.040);
  EXPECT_NEAR(info.seconds(), hook_to_hook_s, 0.040);

  // Opus: a byte-identical copy, found by an 8-character prefix.
  const auto opus_path = workspace.dir() / "call.opus";
  const auto opus =
      workspace.run_cli({"recordings", "export", call_id.substr(0, 8), "--format", "opus", "-o", opus_path.string()});
  ASSERT_EQ(opus.status, 0) << opus.err;
  EXPECT_EQ(read_bytes(opus_path), original_bytes);
  // --json reports what was written; to /dev/stdout the report goes to
  // stderr and stdout holds the file alone.
  const auto reported = workspace.run_cli({"recordings", "export", call_id, "-o",
                                            (workspace.dir() / "again.ogg").string(), "--json"});
  ASSERT_EQ(reported.status, 0) << reported.err;
  const auto report = nlohmann::json::parse(reported.out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << reported.out << reported.err;
  EXPECT_EQ(report["call_id"], call_id) << reported.out;
  EXPECT_EQ(report["format"], "opus");
  EXPECT_EQ(report["bytes"], original_bytes.size());
  EXPECT_NEAR(report.value("duration_s", 0.0), duration_s, 0.040);
  const auto piped = workspace.run_cli({"recordings", "export", call_id, "-o", "/dev/stdout", "--json"});
  ASSERT_EQ(piped.status, 0) << piped.err;
  EXPECT_EQ(std::vector<std::uint8_t>(piped.out.begin(), piped.out.end()), original_bytes);
  const auto piped_report = nlohmann::json::parse(piped.err, nullptr, false);
  ASSERT_TRUE(piped_report.is_object()) << piped.err;
  EXPECT_EQ(piped_report["file"], "/dev/stdout") << piped.err;

  // An existing output is kept unless --force.
  std::ofstream(opus_path, std::ios::trunc) << "keep me";
  const auto refused = workspace.run_cli({"recordings", "export", call_id, "-o", opus_path.string()});
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.err.find("--force"), std::string::npos) << refused.err;
  EXPECT_EQ(read_bytes(opus_path).size(), 7u);
  const auto forced = workspace.run_cli({"recordings", "export", call_id, "-o", opus_path.string(), "--force"});
  ASSERT_EQ(forced.status, 0) << forced.err;
  EXPECT_EQ(read_bytes(opus_path), original_bytes);  // format from the extension: opus
  for (const auto& entry : fs::directory_iterator(workspace.dir()))
    EXPECT_EQ(entry.path().filename().string().find(".partial-"), std::string::npos) << entry.path();

  // Clear errors for ids that name nothing.
  const auto unknown =
      workspace.run_cli({"recordings", "export", "ffffffff-0000", "-o", (workspace.dir() / "x.wav").string()});
  EXPECT_NE(unknown.status, 0);
  EXPECT_NE(unknown.err.find("no recording"), std::string::npos) << unknown.err;
  const auto too_short =
      workspace.run_cli({"recordings", "export", call_id.substr(0, 4), "-o", (workspace.dir() / "x.wav").string()});
  EXPECT_NE(too_short.status, 0);
  EXPECT_NE(too_short.err.find("at least its first 8"), std::string::npos) << too_short.err;
  EXPECT_FALSE(fs::exists(workspace.dir() / "x.wav"));

  // A damaged file is reported as such, and nothing is written.
  std::ofstream(original, std::ios::trunc) << "not an ogg stream";
  const auto damaged = workspace.run_cli({"recordings", "export", call_id, "-o", (workspace.dir() / "x.wav").string()});
  EXPECT_NE(damaged.status, 0);
  EXPECT_NE(damaged.err.find("damaged"), std::string::npos) << damaged.err;
  EXPECT_FALSE(fs::exists(workspace.dir() / "x.wav"));
}

// A 16-bit PCM WAV of a 440 Hz tone: `seconds` long, `channels` alike.
void write_tone_wav(const fs::path& path, std::uint32_t rate_hz, std::uint16_t channels, double seconds) {
  const auto frames = static_cast<std::uint32_t>(rate_hz * seconds);
  const std::uint32_t data_bytes = frames * channels * 2;
  std::string wav = "RIFF";
  auto put = [&wav](std::uint32_t value, int size) {
    for (int i = 0; i < size; ++i) wav.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
  };
  put(36 + data_bytes, 4);
  wav += "WAVEfmt ";
  put(16, 4), put(1, 2), put(channels, 2), put(rate_hz, 4), put(rate_hz * channels * 2, 4), put(channels * 2, 2);
  put(16, 2);
  wav += "data";
  put(data_bytes, 4);
  for (std::uint32_t frame = 0; frame < frames; ++frame)
    for (std::uint16_t channel = 0; channel < channels; ++channel)
      put(static_cast<std::uint16_t>(static_cast<std::int16_t>(8000 * std::sin(2 * M_PI * 440 * frame / rate_hz))), 2);
  std::ofstream(path, std::ios::binary) << wav;
}

// `recordings encode` makes a WAV into a recording as the daemon would; with
// --json it reports what it wrote; a WAV it cannot take is refused with why.
TEST(RecordingsCli, EncodesAWavAndReportsItAsTextOrJson) {
  Workspace workspace("recordings-encode");
  const auto wav = workspace.dir() / "tone.wav";
  write_tone_wav(wav, 8000, 1, 2.0);
  const auto opus = workspace.dir() / "tone.opus";

  const auto text = workspace.run_cli({"recordings", "encode", wav.string(), "-o", opus.string()});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_TRUE(text.out.starts_with(opus.string() + ": 2.00 s at 8000 Hz, ")) << text.out;
  std::string info;
  EXPECT_EQ(tools::run_capture({"opusinfo", opus.string()}, info), 0) << info;

  const auto json_run = workspace.run_cli({"recordings", "encode", wav.string(), "-o", opus.string(), "--json"});
  ASSERT_EQ(json_run.status, 0) << json_run.err;
  const auto report = nlohmann::json::parse(json_run.out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << json_run.out;
  EXPECT_TRUE(report["call_id"].is_null());
  EXPECT_EQ(report["file"], opus.string());
  EXPECT_EQ(report["format"], "opus");
  EXPECT_EQ(report["source"], wav.string());
  EXPECT_EQ(report["bytes"], fs::file_size(opus));
  EXPECT_NEAR(report["duration_s"].get<double>(), 2.0, 0.001);

  const auto stereo = workspace.dir() / "stereo.wav";
  write_tone_wav(stereo, 8000, 2, 0.5);
  const auto refused = workspace.run_cli({"recordings", "encode", stereo.string(), "-o", opus.string(), "--json"});
  EXPECT_EQ(refused.status, 1);
  EXPECT_TRUE(refused.out.empty()) << refused.out;
  EXPECT_EQ(refused.err, "deskline: " + stereo.string() + ": 2 channels; recordings are mono (split the channels first)\n");
}

}  // namespace
}  // namespace deskline::testing
