// The README's first command ends in `deskline demo`: it must run on its own,
// show calls, pops and recordings, put every call and recording on the
// reference CRM's customer timeline (checked with curl and in headless
// Chromium), keep its state in its folder, and leave no process behind.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
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

std::string http_get(const std::string& url) {
  std::string body;
  tools::run_capture({"curl", "-sf", "--max-time", "30", url}, body);
  return body;
}

std::string sha256_of(const fs::path& file) {
  std::string output;
  tools::run_capture({"sha256sum", file.string()}, output);
  return output.substr(0, 64);
}

// Seconds since the epoch of an ISO 8601 time with an offset, with or without a
// fraction: "2026-11-27T09:00:01.500+08:00", "2026-11-27T08:30:00+08:00", "...Z".
double epoch_seconds(const std::string& text) {
  std::smatch parts;
  if (!std::regex_match(text, parts,
                        std::regex(R"((\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)(\.\d+)?(Z|([+-])(\d\d):?(\d\d)))")))
    return -1;
  std::tm time{};
  time.tm_year = std::stoi(parts[1]) - 1900;
  time.tm_mon = std::stoi(parts[2]) - 1;
  time.tm_mday = std::stoi(parts[3]);
  time.tm_hour = std::stoi(parts[4]);
  time.tm_min = std::stoi(parts[5]);
  time.tm_sec = std::stoi(parts[6]);
  double seconds = static_cast<double>(timegm(&time)) + (parts[7].matched ? std::stod("0" + parts[7].str()) : 0.0);
  if (parts[9].matched)
    seconds -= (parts[9] == "-" ? -1 : 1) * (std::stoi(parts[10]) * 3600 + std::stoi(parts[11]) * 60);
  return seconds;
}

// The entries of a reference CRM timeline page, in page order (its markup for tests).
struct TimelineEntry {
  std::string kind;
  std::string at;
  std::string call_id;  // "" for notes, tasks, quotes, messages
};

std::vector<TimelineEntry> timeline_entries(const std::string& html) {
  std::vector<TimelineEntry> entries;
  const std::regex entry(R"re(<li class="entry (\w+)" data-kind="\w+" data-at="([^"]*)"(?: data-call-id="([^"]*)")?)re");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), entry); it != std::sregex_iterator(); ++it)
    entries.push_back({(*it)[1], (*it)[2], (*it)[3]});
  return entries;
}

// Checks that a timeline page lists the calls expected_calls (ids, in the order the
// calls started), mixed with the CRM's other items, all strictly in time order.
void expect_timeline(const std::string& html, const std::vector<std::string>& expected_calls, const char* where) {
  const auto entries = timeline_entries(html);
  ASSERT_GT(entries.size(), expected_calls.size()) << where << ": the seeded notes and tasks too\n" << html;
  std::vector<std::string> calls;
  double previous = 0;
  for (const auto& entry : entries) {
    const double at = epoch_seconds(entry.at);
    EXPECT_GT(at, 0) << where << ": " << entry.at;
    EXPECT_GE(at, previous) << where << ": " << entry.kind << " at " << entry.at << " after a later entry\n" << html;
    previous = at;
    if (entry.kind == "call") calls.push_back(entry.call_id);
  }
  EXPECT_EQ(calls, expected_calls) << where << "\n" << html;
}

// Headless Chromium printing the page's DOM once its scripts ran; its log goes to chromium.log.
std::vector<std::string> chromium(const std::string& url, const fs::path& profile) {
  return {"sh", "-c", "exec \"$0\" \"$@\" 2>>" + (profile.parent_path() / "chromium.log").string(),
          "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--user-data-dir=" + profile.string(), "--virtual-time-budget=5000", "--dump-dom", url};
}

// One demo run for every check (it takes about a minute): the console, the
// CRM's pages with curl, its stored calls, then the timeline in Chromium.
TEST(Demo, PlaysTheMorningPutsItOnTheCrmTimelineAndLeavesNothingRunning) {
  const auto dir = fs::temp_directory_path() / ("deskline-demo-test-" + std::to_string(::getpid()));
  const auto output_path = fs::temp_directory_path() / ("deskline-demo-test-" + std::to_string(::getpid()) + ".out");
  fs::remove_all(dir);
  fs::remove(output_path);
  // Its stdin is a pipe held open: the demo keeps the CRM serving until the end of it.
  int input[2];
  ASSERT_EQ(::pipe2(input, O_CLOEXEC), 0);
  tools::SpawnOptions options;
  options.stdin_fd = input[0];
  options.stdout_path = output_path;
  options.stderr_path = output_path;
  const pid_t demo = tools::spawn({bin("deskline").string(), "demo", "--dir", dir.string()}, options);
  ::close(input[0]);
  ASSERT_GT(demo, 0);
  // However the test ends, the demo ends with it.
  struct StopDemo {
    pid_t pid;
    int& input;
    ~StopDemo() {
      if (input >= 0) ::close(input);
      if (!tools::wait_for(pid, std::chrono::seconds(60))) ::kill(pid, SIGKILL), tools::wait_for(pid, std::chrono::seconds(5));
    }
  } stop_demo{demo, input[1]};
  std::optional<int> early_exit;
  ASSERT_TRUE(wait_until(
      [&] {
        return read_file(output_path).find("until you press Enter") != std::string::npos ||
               (early_exit = tools::wait_for(demo, std::chrono::milliseconds(0)));
      },
      std::chrono::minutes(4), "the demo to end its morning"))
      << read_file(output_path);
  const auto output = read_file(output_path);
  ASSERT_FALSE(early_exit) << "the demo exited with " << *early_exit << "\n" << output;

  // Pops as they happened, through `deskline pop`, with the customers as the CRM has them.
  EXPECT_NE(output.find("call.ringing"), std::string::npos) << output;
  EXPECT_NE(output.find("张伟 (艾克美贸易（上海）有限公司)"), std::string::npos) << output;
  EXPECT_NE(output.find("王芳 (上海钢铁集团)"), std::string::npos) << output;  // 021 number: area code from the directory
  EXPECT_NE(output.find("Live pop page while the demo runs: http://127.0.0.1:"), std::string::npos) << output;

  // The calls table: six calls of the script, two of them missed.
  ASSERT_NE(output.find("Calls recorded this morning:"), std::string::npos) << output;
  const auto calls_text = output.substr(output.find("Calls recorded this morning:"));
  EXPECT_EQ(count(calls_text.substr(0, calls_text.find("Recordings")), "missed"), 2u) << calls_text;  // A:3, A:1's second
  EXPECT_NE(calls_text.find("outbound"), std::string::npos) << calls_text;

  // Recordings of the answered calls, files in the demo's folder.
  std::map<std::string, fs::path> recording_files;  // call id -> file
  for (const auto& entry : fs::recursive_directory_iterator(dir / "data"))
    if (entry.path().extension() == ".opus") recording_files[entry.path().stem().string()] = entry.path();
  EXPECT_EQ(recording_files.size(), 4u);

  // The CRM's credentials: in the demo's folder, for its owner only, named by [crm].
  const auto config = read_file(dir / "deskline.toml");
  EXPECT_NE(config.find("[crm]"), std::string::npos) << config;
  for (const auto* name : {"crm-token", "crm-signing-secret"}) {
    struct stat info {};
    ASSERT_EQ(::stat((dir / name).c_str(), &info), 0) << name;
    EXPECT_EQ(info.st_mode & 0777, 0600u) << name;
    EXPECT_NE(config.find((dir / name).string()), std::string::npos) << config;
  }
  EXPECT_TRUE(read_file(dir / "crm-signing-secret").starts_with("whsec_"));

  // The addresses it printed: the CRM's customers, and the busiest customer's timeline.
  EXPECT_NE(output.find("Every call and recording of the morning is on the reference CRM"), std::string::npos)
      << output;
  std::smatch index, timeline;
  ASSERT_TRUE(std::regex_search(output, index, std::regex(R"(Customers and their calls: (http://127\.0\.0\.1:\d+)/)")))
      << output;
  ASSERT_TRUE(std::regex_search(
      output, timeline, std::regex(R"(Timeline of (\S+) \((\d+) calls, [^)]*\): (http://127\.0\.0\.1:\d+)/customers/(\S+))")))
      << output;
  const std::string crm = index[1];
  EXPECT_EQ(timeline[1], "张伟");  // called, then called back
  EXPECT_EQ(timeline[2], "2");
  EXPECT_EQ(timeline[3], crm);
  const std::string customer_id = timeline[4];
  const auto index_page = http_get(crm + "/");
  EXPECT_NE(index_page.find("href=\"/customers/" + customer_id + "\">张伟</a>"), std::string::npos) << index_page;

  // Every call on the CRM once, and each recording with its very bytes.
  std::string calls_json;
  ASSERT_EQ(tools::run_capture({bin("deskline").string(), "--config", (dir / "deskline.toml").string(), "calls",
                                "--json"},
                               calls_json),
            0);
  auto calls = nlohmann::json::parse(calls_json);
  ASSERT_EQ(calls.size(), 6u) << calls.dump(2);
  const auto listed = nlohmann::json::parse(http_get(crm + "/_ref/calls"), nullptr, false);
  const auto& stored_list = listed.is_object() && listed.contains("calls") ? listed["calls"] : listed;
  ASSERT_TRUE(stored_list.is_array()) << listed.dump(2);
  std::map<std::string, nlohmann::json> stored;
  for (const auto& call : stored_list) stored[call.value("id", "")] = call;
  EXPECT_EQ(stored.size(), calls.size());
  std::sort(calls.begin(), calls.end(), [](const auto& a, const auto& b) { return a["started_at"] < b["started_at"]; });
  std::vector<std::string> customer_calls;  // on the timeline: the calls whose pop showed this customer first
  for (const auto& call : calls) {
    const std::string id = call["id"];
    ASSERT_TRUE(stored.contains(id)) << call.dump(2);
    if (!call["customers"].empty() && call["customers"][0]["id"] == customer_id) customer_calls.push_back(id);
    if (!recording_files.contains(id)) continue;
    const auto& recording = stored[id]["recording"];
    ASSERT_TRUE(recording.is_object()) << stored[id].dump(2);
    EXPECT_EQ(recording["sha256"], sha256_of(recording_files[id])) << id;
    EXPECT_EQ(recording["writes"], 1) << stored[id].dump(2);
  }
  ASSERT_EQ(customer_calls.size(), 2u) << calls.dump(2);

  // The timeline as served, then as a browser builds it: the calls among the
  // CRM's notes and tasks in time order, and each player knows its recording's length.
  expect_timeline(http_get(crm + "/customers/" + customer_id), customer_calls, "curl");
  std::string dom;
  ASSERT_EQ(tools::run_capture(chromium(crm + "/customers/" + customer_id, dir / "chromium"), dom), 0);
  expect_timeline(dom, customer_calls, "chromium");
  for (const auto& id : customer_calls) {
    ASSERT_TRUE(recording_files.contains(id)) << id;
    std::smatch duration;
    ASSERT_TRUE(std::regex_search(
        dom, duration, std::regex("<audio [^>]*src=\"/recordings/" + id + "\"[^>]*data-duration=\"([0-9.]+)\"")))
        << dom;
    const double expected = ffprobe_duration(recording_files[id]);
    ASSERT_GT(expected, 1.0) << recording_files[id];
    EXPECT_NEAR(std::stod(duration[1]), expected, 0.1) << id;
    std::printf("[ duration ] %s: Chromium %s s, ffprobe %.3f s\n", id.substr(0, 8).c_str(), duration[1].str().c_str(),
                expected);
  }

  // The end of its input stops the CRM and the demo.
  ::close(input[1]);
  input[1] = -1;
  EXPECT_EQ(tools::wait_for(demo, std::chrono::seconds(30)), std::optional<int>(0)) << read_file(output_path);
  EXPECT_NE(read_file(output_path).find("Reference CRM stopped."), std::string::npos);
  EXPECT_EQ(processes_mentioning(dir.string()), std::vector<std::string>{});
  if (!::testing::Test::HasFailure()) {
    fs::remove_all(dir);
    fs::remove(output_path);
  }
}

}  // namespace
}  // namespace deskline::testing
