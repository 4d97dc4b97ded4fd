// Inputs past their limits are refused at once with the reason (#14): a
// customer field too long for a pop, a device or directory given as a file
// to read, a config that is not one. The real binaries, as subprocesses.
#include <sys/resource.h>

#include <sstream>

#include <gtest/gtest.h>

#include "tests/integration/harness.hpp"

namespace deskline::testing {
namespace {

// Runs a binary to its end; a hang is a failure.
Workspace::CliRun run(const Workspace& workspace, const std::vector<std::string>& argv) {
  auto result = workspace.run_program(argv);
  EXPECT_NE(result.status, -2) << argv[0] << " still running after a minute";
  return result;
}

// What is not a file to read, and why, as every binary words it.
std::vector<std::pair<std::string, std::string>> unreadable_paths(const Workspace& workspace) {
  return {{"/dev/zero", "is not a regular file"}, {workspace.dir().string(), "is a directory"}};
}

// A 16-bit mono PCM WAV header for data_bytes of samples at rate_hz, and the
// samples (silence) when written is set; else the file is made that long
// with nothing on disk (sparse).
void write_wav(const fs::path& path, std::uint32_t rate_hz, std::uint32_t data_bytes, bool written) {
  {
    std::ofstream wav(path, std::ios::binary);
    const auto u32 = [&](std::uint32_t v) { for (int i = 0; i < 4; ++i) wav.put(static_cast<char>(v >> (8 * i))); };
    const auto u16 = [&](std::uint16_t v) { for (int i = 0; i < 2; ++i) wav.put(static_cast<char>(v >> (8 * i))); };
    wav << "RIFF";
    u32(36 + data_bytes);
    wav << "WAVEfmt ";
    u32(16);
    u16(1);
    u16(1);
    u32(rate_hz);
    u32(rate_hz * 2);
    u16(2);
    u16(16);
    wav << "data";
    u32(data_bytes);
    if (written) wav << std::string(data_bytes, '\0');
  }
  if (!written) fs::resize_file(path, 44 + std::uint64_t{data_bytes});
}

// Largest resident set of any child this test waited for, in MiB.
long children_peak_rss_mib() {
  rusage usage{};
  ::getrusage(RUSAGE_CHILDREN, &usage);
  return usage.ru_maxrss / 1024;  // kilobytes on Linux
}

// The peak of `deskline --version`: what the binary and its libraries take
// (and, under ASan, its shadow memory), 11 MiB in a release build, 65 under
// ASan. Bounds are on what a run adds to it. Call it before any other child
// is waited for: the peak is the largest of them all.
long idle_cli_rss_mib(const Workspace& workspace) {
  const auto version = run(workspace, {bin("deskline").string(), "--version"});
  EXPECT_EQ(version.status, 0) << version.err;
  return children_peak_rss_mib();
}

TEST(InputLimits, AFiftyMegabyteNameIsRejectedAtImportWithItsReason) {
  Workspace workspace("limits-name");
  const long idle_mib = idle_cli_rss_mib(workspace);
  const auto file = workspace.dir() / "customers.csv";
  {
    std::ofstream csv(file);
    csv << "id,name,phone\nc-1," << std::string(50 << 20, 'n') << ",13812345678\nc-2,Li Na,13912345678\n";
  }
  const auto imported = run(workspace, {bin("deskline").string(), "--config", workspace.config_path().string(),
                                        "customers", "import", file.string()});
  EXPECT_EQ(imported.status, 4) << imported.err;  // done in part
  EXPECT_EQ(imported.out, file.string() + ": imported 1, updated 0, unchanged 0, rejected 1\n");
  EXPECT_EQ(imported.err, "deskline: " + file.string() + ": line 2: name is longer than 1024 bytes\n");
  // The file is held once while it is read; the name is never copied.
  const long peak_mib = children_peak_rss_mib();
  std::printf("[ memory   ] deskline customers import of a 50 MB name: peak RSS %ld MiB, %ld MiB idle\n", peak_mib,
              idle_mib);
  EXPECT_LT(peak_mib - idle_mib, 80);

  const auto lookup = workspace.cli_json({"customers", "lookup", "13912345678", "--json"});
  ASSERT_TRUE(lookup.is_array()) << lookup.dump();
  EXPECT_EQ(lookup.size(), 1u);
  EXPECT_EQ(workspace.cli_json({"customers", "lookup", "13812345678", "--json"}), nlohmann::json::array());
}

TEST(InputLimits, CustomersImportRefusesADeviceOrADirectory) {
  Workspace workspace("limits-import");
  for (const auto& [path, why] : unreadable_paths(workspace)) {
    const auto imported = run(workspace, {bin("deskline").string(), "--config", workspace.config_path().string(),
                                          "customers", "import", path});
    EXPECT_EQ(imported.status, 1);
    EXPECT_EQ(imported.err, "deskline: cannot read " + path + ": " + why + "\n");
  }
}

TEST(InputLimits, AnalyzeRefusesADeviceOrADirectoryAtOnce) {
  Workspace workspace("limits-analyze");
  const long idle_mib = idle_cli_rss_mib(workspace);
  for (const auto& [path, why] : unreadable_paths(workspace)) {
    const auto analyzed = run(workspace, {bin("deskline").string(), "analyze", path});
    EXPECT_EQ(analyzed.status, 2);
    EXPECT_EQ(analyzed.err, "deskline analyze: " + path + ": " + why + "\n");
    EXPECT_EQ(analyzed.out, "");
  }
  EXPECT_LT(children_peak_rss_mib() - idle_mib, 16) << "analyze read what it refuses";
}

TEST(InputLimits, AnalyzeRefusesMoreThanTwelveHoursOfAudio) {
  Workspace workspace("limits-analyze-long");
  // A header claiming 13 hours at 44.1 kHz: refused from the header alone.
  const std::uint32_t data_bytes = 13u * 3600 * 44100 * 2;
  const auto file = workspace.dir() / "long.wav";
  write_wav(file, 44100, data_bytes, /*written=*/false);  // sparse: no disk used
  const auto analyzed = run(workspace, {bin("deskline").string(), "analyze", file.string()});
  EXPECT_EQ(analyzed.status, 2);
  EXPECT_EQ(analyzed.err, "deskline analyze: " + file.string() + ": 46800 s of audio, more than the 12 h analyze reads\n");
}

// Every deskline command exits 0 ok, 1 failure, 2 usage, 3 no daemon, 4 in
// part, with its diagnostics on stderr and nothing but data on stdout.
TEST(CliExit, HelpUsageErrorsNoDaemonAndPartialImports) {
  Workspace workspace("cli-exit");
  const auto deskline = [&](std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), {bin("deskline").string(), "--config", workspace.config_path().string()});
    return run(workspace, arguments);
  };
  const auto alone = deskline({});
  EXPECT_EQ(alone.status, 0);
  EXPECT_NE(alone.out.find("Exit status: 0 ok, 1 failure, 2 usage error"), std::string::npos) << alone.out;
  EXPECT_NE(alone.out.find("pop"), std::string::npos);
  EXPECT_EQ(alone.err, "");

  struct Usage {
    std::vector<std::string> arguments;
    std::string reason;
  };
  for (const auto& usage : std::vector<Usage>{
           {{"nope"}, "deskline: The following argument was not expected: nope\n"},
           {{"calls", "--bogus"}, "deskline: The following argument was not expected: --bogus\n"},
           {{"calls", "--limit", "-1"}, "deskline: --limit: must be a whole number from 0 to 1000000, not -1\n"},
           {{"recordings", "--limit", "many"}, "deskline: --limit: must be a whole number from 0 to 1000000, not many\n"},
           {{"pop", "--count", "1e9"}, "deskline: --count: must be a whole number from 0 to 1000000, not 1e9\n"},
           {{"pop", "--line", "Sales 1", "--desk", "Front"}, "deskline: --line excludes --desk\n"},
       }) {
    const auto refused = deskline(usage.arguments);
    EXPECT_EQ(refused.status, 2) << usage.arguments.front();
    EXPECT_EQ(refused.out, "");
    EXPECT_EQ(refused.err, usage.reason + "Run `deskline --help` for the commands and their options.\n");
  }

  const auto socket = (workspace.dir() / "run" / "control.sock").string();
  for (const auto& command : std::vector<std::vector<std::string>>{
           {"status"}, {"status", "--json"}, {"reload"}, {"reload", "--json"}, {"sync", "status", "--json"}}) {
    const auto unreachable = deskline(command);
    EXPECT_EQ(unreachable.status, 3) << command.front();
    EXPECT_EQ(unreachable.out, "") << command.front();
    EXPECT_EQ(unreachable.err,
              "deskline: desklined is not running (no answer on " + socket + ": No such file or directory)\n");
  }

  // A line recording with nothing in it says so, on stderr; stdout has the
  // events (JSON lines) alone, --json or not.
  const auto silence = workspace.dir() / "silence.wav";
  // 8001 samples: the last 20 ms block is short (analyze read past its end once).
  write_wav(silence, 8000, 16002, /*written=*/true);
  for (const auto& json : {std::vector<std::string>{}, std::vector<std::string>{"--json"}}) {
    auto arguments = std::vector<std::string>{"analyze", silence.string()};
    arguments.insert(arguments.end(), json.begin(), json.end());
    const auto nothing = deskline(arguments);
    EXPECT_EQ(nothing.status, 0);
    EXPECT_EQ(nothing.out, "");
    EXPECT_EQ(nothing.err, "deskline analyze: " + silence.string() +
                               ": nothing detected (no caller ID, DTMF or call-progress tone)\n");
  }

  // An export named for another format is refused before anything is read.
  const std::string call = "0f8fad5b-d9cb-469f-a165-70867728950e";
  const auto mp3 = deskline({"recordings", "export", call, "-o", (workspace.dir() / "x.mp3").string()});
  EXPECT_EQ(mp3.status, 2);
  EXPECT_EQ(mp3.err, "deskline: " + (workspace.dir() / "x.mp3").string() +
                         ": deskline exports Ogg Opus (.opus, .ogg) or WAV (.wav), not .mp3\n");
  const auto mismatch =
      deskline({"recordings", "export", call, "--format", "wav", "-o", (workspace.dir() / "x.opus").string()});
  EXPECT_EQ(mismatch.status, 2);
  EXPECT_EQ(mismatch.err, "deskline: " + (workspace.dir() / "x.opus").string() +
                              ": --format wav writes WAV, not .opus: name the file .wav\n");
  EXPECT_FALSE(fs::exists(workspace.dir() / "x.mp3"));

  const auto csv = workspace.dir() / "customers.csv";
  std::ofstream(csv) << "id,name,phone\nc-1,Li Na,13812345678\nc-2,,13912345678\n";
  const auto partial = deskline({"customers", "import", csv.string()});
  EXPECT_EQ(partial.status, 4);
  EXPECT_EQ(partial.out, csv.string() + ": imported 1, updated 0, unchanged 0, rejected 1\n");
  EXPECT_EQ(partial.err.rfind("deskline: " + csv.string() + ": line 3: ", 0), 0u) << partial.err;
  const auto as_json = deskline({"customers", "import", csv.string(), "--json"});
  EXPECT_EQ(as_json.status, 4);
  EXPECT_EQ(as_json.err, "");  // the rows are in the data
  const auto summary = nlohmann::json::parse(as_json.out, nullptr, false);
  EXPECT_EQ(summary["file"], csv.string()) << as_json.out;
  EXPECT_EQ(summary["unchanged"], 1);
  ASSERT_EQ(summary["rejected"].size(), 1u) << as_json.out;
  EXPECT_EQ(summary["rejected"][0]["line"], 3);
  EXPECT_TRUE(summary["rejected"][0]["reason"].is_string());
  std::ofstream(csv) << "id,name,phone\nc-3,,13812345678\n";
  EXPECT_EQ(deskline({"customers", "import", csv.string()}).status, 1);  // nothing taken
}

// `desklined --check-config` reads the file only: every mistake on stderr
// as FILE:LINE:COLUMN: KEY: MESSAGE, exit 1; a valid file: exit 0.
TEST(InputLimits, CheckConfigListsEveryMistakeAndStartsNothing) {
  Workspace workspace("check-config");
  const auto broken = workspace.dir() / "broken.toml";
  std::ofstream(broken) << "[daemon]\nlog_level = \"loud\"\ncolour = \"blue\"\n\n[recording]\nbitrate_bps = 100\n"
                           "complexity = \"high\"\n\n[[line]]\nbox = \"B1\"\nport = 17\nname = \"Sales\"\n";
  const auto checked = run(workspace, {bin("desklined").string(), "--check-config", broken.string()});
  EXPECT_EQ(checked.status, 1);
  EXPECT_EQ(checked.out, "");
  std::vector<std::string> lines;
  std::istringstream err(checked.err);
  for (std::string line; std::getline(err, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 6u) << checked.err;
  const std::vector<std::string> starts{broken.string() + ":2:13: daemon.log_level: ",
                                        broken.string() + ":3:1: daemon.colour: unknown key",
                                        broken.string() + ":6:15: recording.bitrate_bps: 100 is out of range",
                                        broken.string() + ":7:14: recording.complexity: must be an integer",
                                        broken.string() + ":11:8: line[0].port: 17 is out of range"};
  for (std::size_t i = 0; i < starts.size(); ++i) EXPECT_TRUE(lines[i].starts_with(starts[i])) << lines[i];
  EXPECT_EQ(lines[5], "desklined: " + broken.string() + ": 5 error(s)");
  EXPECT_FALSE(fs::exists(workspace.dir() / "data" / "deskline.db")) << "a check started the daemon";

  // The workspace's own config (given by --config) is valid.
  const auto valid = run(workspace, {bin("desklined").string(), "--config", workspace.config_path().string(),
                                     "--check-config"});
  EXPECT_EQ(valid.status, 0) << valid.err;
  EXPECT_EQ(valid.out, workspace.config_path().string() + ": ok\n");
}

TEST(InputLimits, DesklinedRefusesAConfigThatIsADirectoryOrADevice) {
  Workspace workspace("limits-config");
  for (const auto& [path, why] : unreadable_paths(workspace)) {
    const auto started = run(workspace, {bin("desklined").string(), "--config", path});
    EXPECT_EQ(started.status, 2);
    EXPECT_EQ(started.err, "desklined: " + path + ": cannot read: " + why + "\n");
  }
}

}  // namespace
}  // namespace deskline::testing
