// The README's first command ends in `deskline demo`: it must run on its own,
// show calls, pops and recordings, keep its state in its folder, and leave no
// process behind.
#include <dirent.h>

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/integration/harness.hpp"

namespace deskline::testing {
namespace {

// Processes whose command line mentions text (other than this test itself).
std::vector<std::string> processes_mentioning(const std::string& text) {
  std::vector<std::string> found;
  DIR* proc = ::opendir("/proc");
  if (!proc) return found;
  while (const dirent* entry = ::readdir(proc)) {
    const std::string pid = entry->d_name;
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (pid == std::to_string(::getpid())) continue;
    std::ifstream file("/proc/" + pid + "/cmdline");
    std::string cmdline{std::istreambuf_iterator<char>(file), {}};
    for (auto& c : cmdline)
      if (c == '\0') c = ' ';
    if (cmdline.find(text) != std::string::npos) found.push_back(pid + ": " + cmdline);
  }
  ::closedir(proc);
  return found;
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(Demo, PlaysTheMorningShowsItAndLeavesNothingRunning) {
  const auto dir = fs::temp_directory_path() / ("deskline-demo-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  std::string output;
  ASSERT_EQ(tools::run_capture({bin("deskline").string(), "demo", "--dir", dir.string()}, output), 0) << output;

  // Pops as they happened, through `deskline pop`, with the matched customers.
  EXPECT_NE(output.find("call.ringing"), std::string::npos) << output;
  EXPECT_NE(output.find("Zhang Wei (Acme Trading)"), std::string::npos) << output;
  EXPECT_NE(output.find("Wang Fang"), std::string::npos) << output;  // 021 number: area code from the directory
  EXPECT_NE(output.find("Live pop page while the demo runs: http://127.0.0.1:"), std::string::npos) << output;

  // The calls table: five calls of the script, one of them missed.
  ASSERT_NE(output.find("Calls recorded this morning:"), std::string::npos) << output;
  const auto calls = output.substr(output.find("Calls recorded this morning:"));
  EXPECT_EQ(count(calls.substr(0, calls.find("Recordings")), "missed"), 2u) << calls;  // A:3, and A:1's second call
  EXPECT_NE(calls.find("outbound"), std::string::npos) << calls;

  // Recordings of the answered calls, files in the demo's folder.
  std::size_t opus_files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir / "data"))
    if (entry.path().extension() == ".opus") ++opus_files;
  EXPECT_EQ(opus_files, 3u);
  EXPECT_TRUE(fs::exists(dir / "deskline.toml"));

  EXPECT_EQ(processes_mentioning(dir.string()), std::vector<std::string>{});
  fs::remove_all(dir);
}

}  // namespace
}  // namespace deskline::testing
