// The pop event stream across daemon restarts (proto/pop.md "Clients"):
// `deskline pop` follows a daemon that is stopped (SIGTERM), then killed
// (SIGKILL), and started again each time under the simulator, and shows
// every event of the three daemons once, in order, with seqs that go on from
// one daemon to the next.
#include <gtest/gtest.h>

#include <csignal>
#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "tests/integration/harness.hpp"

namespace deskline::testing {
namespace {

// The pop events the daemons stored, oldest first, read as any SQL client would.
std::vector<nlohmann::json> stored_pop_events(const Workspace& workspace) {
  std::string output;
  const auto database = workspace.dir() / "data" / "deskline.db";
  if (tools::run_capture({"sqlite3", "-json", database.string(), "SELECT event FROM pop_events ORDER BY seq"},
                         output) != 0)
    return {};
  std::vector<nlohmann::json> events;
  for (const auto& row : nlohmann::json::parse(output, nullptr, false))
    events.push_back(nlohmann::json::parse(row.value("event", ""), nullptr, false));
  return events;
}

std::vector<nlohmann::json> json_lines(const fs::path& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream file(path);
  for (std::string line; std::getline(file, line);) {
    auto parsed = nlohmann::json::parse(line, nullptr, false);
    if (parsed.is_object()) lines.push_back(std::move(parsed));  // not a line still being written
  }
  return lines;
}

std::string summary(const std::vector<nlohmann::json>& events) {
  std::ostringstream out;
  for (const auto& event : events) out << event.value("seq", 0) << " " << event.value("event", "?") << "\n";
  return out.str();
}

TEST(PopStream, DesklinePopShowsEveryEventAcrossTermAndKillRestarts) {
  Workspace workspace("pop-stream");
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(
box A serial=X800-STREAM lines=2
at 4.0 A:1 ring cadence=0.5/0.5 count=1
at 4.1 A:1 callerid number=13800000001
at 4.4 A:1 offhook
at 4.8 A:1 onhook
# In a call when the daemon stops: the stopping daemon ends it, the next one joins it.
at 5.0 A:2 ring cadence=1.0/2.0 count=1
at 5.1 A:2 callerid number=13800000002
at 5.5 A:2 offhook
at 6.0 restart signal=term
at 11.0 A:2 onhook
at 11.5 A:1 ring cadence=0.5/0.5 count=1
at 11.6 A:1 callerid number=13800000003
at 12.0 A:1 offhook
at 12.5 A:1 onhook
at 13.0 restart signal=kill
at 18.0 A:1 ring cadence=0.5/0.5 count=1
at 18.1 A:1 callerid number=13800000004
at 18.5 A:1 offhook
at 19.0 A:1 onhook
at 600 end
)"));  // no early end: the test stops it once deskline pop has shown the last call's end
  ASSERT_GT(simulator, 0);
  tools::SpawnOptions options;
  options.stdout_path = workspace.dir() / "pop.out";
  options.stderr_path = workspace.dir() / "pop.err";
  const pid_t pop =
      tools::spawn({bin("deskline").string(), "--config", workspace.config_path().string(), "pop", "--json"}, options);
  ASSERT_GT(pop, 0);
  EXPECT_TRUE(wait_until(
      [&] {
        for (const auto& event : json_lines(workspace.dir() / "pop.out"))
          if (event.value("event", "") == "call.ended" && event.value("number", "").ends_with("13800000004")) return true;
        return false;
      },
      std::chrono::minutes(2), "deskline pop to show the last call's end"))
      << workspace.log();
  workspace.stop_simulator(simulator);

  // Every event up to the last call's end must reach the client; what the
  // last daemon published while stopping may not, as nobody restarts it.
  const auto stored = stored_pop_events(workspace);
  const auto last_end = std::find_if(stored.rbegin(), stored.rend(),
                                     [](const auto& event) { return event.value("event", "") == "call.ended"; });
  ASSERT_NE(last_end, stored.rend()) << summary(stored) << workspace.log();
  const auto last_seq = (*last_end)["seq"].get<std::uint64_t>();
  EXPECT_TRUE(wait_until(
      [&] {
        const auto shown = json_lines(workspace.dir() / "pop.out");
        return !shown.empty() && shown.back().value("seq", std::uint64_t{0}) >= last_seq;
      },
      std::chrono::seconds(20), "deskline pop to show seq " + std::to_string(last_seq)));
  ::kill(pop, SIGTERM);
  tools::wait_for(pop, std::chrono::seconds(5));

  const auto shown = json_lines(workspace.dir() / "pop.out");
  const auto context = "shown:\n" + summary(shown) + "stored:\n" + summary(stored) + "deskline pop:\n" +
                       [&] {
                         std::ifstream file(workspace.dir() / "pop.err");
                         return std::string(std::istreambuf_iterator<char>(file), {});
                       }();
  ASSERT_FALSE(shown.empty()) << context;
  // The client connects while the first daemon starts: it may miss its first
  // events (device.attached), never a call.
  const auto first = std::find_if(stored.begin(), stored.end(), [&](const auto& event) {
    return event["seq"] == shown.front()["seq"];
  });
  ASSERT_NE(first, stored.end()) << context;
  EXPECT_EQ(std::count_if(stored.begin(), first, [](const auto& e) { return e.contains("call_id"); }), 0) << context;
  // From there on, exactly what the daemons published: none lost, none twice, in order.
  std::vector<nlohmann::json> expected;
  for (auto event = first; event != stored.end() && (*event)["seq"].get<std::uint64_t>() <= last_seq; ++event)
    expected.push_back(*event);
  ASSERT_GE(shown.size(), expected.size()) << context;
  for (std::size_t i = 0; i < expected.size(); ++i) ASSERT_EQ(shown[i], expected[i]) << "at " << i << "\n" << context;
  for (std::size_t i = 1; i < shown.size(); ++i)
    EXPECT_GT(shown[i]["seq"].get<std::uint64_t>(), shown[i - 1]["seq"].get<std::uint64_t>()) << context;

  // Three daemons of one stream, each going on where the one before stopped.
  const auto log = workspace.log();
  std::set<std::string> streams;
  std::vector<std::uint64_t> starts;
  const std::regex started(R"(pop event stream (\S+) goes on after seq (\d+))");
  for (auto match = std::sregex_iterator(log.begin(), log.end(), started); match != std::sregex_iterator(); ++match) {
    streams.insert((*match)[1]);
    starts.push_back(std::stoull((*match)[2]));
  }
  EXPECT_EQ(streams.size(), 1u) << log;
  ASSERT_EQ(starts.size(), 3u) << log;
  EXPECT_EQ(starts[0], 0u);
  EXPECT_LT(starts[0], starts[1]);
  EXPECT_LT(starts[1], starts[2]);
  EXPECT_EQ(std::count_if(expected.begin(), expected.end(), [](const auto& e) { return e["event"] == "call.ringing"; }),
            4);
  EXPECT_EQ(std::count_if(expected.begin(), expected.end(), [](const auto& e) { return e["event"] == "call.joined"; }),
            1);
}

}  // namespace
}  // namespace deskline::testing
