// One daemon per data directory, and a database the daemon can write: a
// second desklined started while the first records a call exits at once and
// touches nothing; a database this user cannot write refuses the start
// instead of losing every call after "ready".
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <regex>
#include <string>

#include "tests/integration/harness.hpp"

namespace deskline::testing {
namespace {

struct Health {
  int http_status = 0;
  nlohmann::json body;
};

// GET /healthz without a token, on the port `deskline status` names.
Health healthz(const Workspace& workspace) {
  const auto status = workspace.cli_json({"status", "--json"});
  std::smatch port;
  const std::string page = status.is_object() ? status.value("web_page", "") : "";
  if (!std::regex_search(page, port, std::regex(R"(^http://127\.0\.0\.1:(\d+)/)"))) return {};
  std::string output;
  tools::run_capture({"curl", "-s", "-w", "\n%{http_code}", "http://127.0.0.1:" + port[1].str() + "/healthz"}, output);
  const auto last_line = output.rfind('\n');
  if (last_line == std::string::npos) return {};
  return {std::atoi(output.c_str() + last_line + 1), nlohmann::json::parse(output.substr(0, last_line), nullptr, false)};
}

TEST(Instance, ASecondDaemonOnTheSameDataDirExitsAndTheRecordedCallIsWhole) {
  Workspace workspace("instance");
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(box A serial=X800-ONCE lines=1
at 0.5 A:1 ring cadence=1.0/2.0 count=2
at 1.5 A:1 offhook
at 2.0 A:1 play tone=440 level=-15 duration=8
at 10.5 A:1 onhook
at 600 end
)"));  // no early end: a first daemon stopped under a slow test would let the second one start for real
  ASSERT_GT(simulator, 0);
  ASSERT_TRUE(wait_until(
      [&] {
        const auto calls = workspace.calls();
        return calls.is_array() && calls.size() == 1 && !calls[0]["answered_at"].is_null() &&
               !workspace.recording_of(calls[0].value("id", "")).empty();
      },
      std::chrono::seconds(30), "the call to be answered and recorded"))
      << workspace.log();

  // While the first daemon records: the second must not run its startup
  // recovery (which would close the live call and "repair" its file).
  std::string second;
  const int status = run_with_stderr({bin("desklined").string(), "--config", workspace.config_path().string()}, second);
  EXPECT_NE(status, 0) << second;
  EXPECT_NE(second.find("another desklined (pid "), std::string::npos) << second;
  EXPECT_EQ(second.find("closed as interrupted"), std::string::npos) << second;
  EXPECT_EQ(second.find("repaired"), std::string::npos) << second;

  EXPECT_TRUE(wait_until(
      [&] {
        const auto calls = workspace.calls();
        return calls.is_array() && calls.size() == 1 && calls[0].value("state", "") == "ended";
      },
      std::chrono::seconds(30), "the call to end"))
      << workspace.log();
  workspace.stop_simulator(simulator);
  const auto calls = workspace.calls();
  ASSERT_EQ(calls.size(), 1u) << calls.dump(2);
  EXPECT_EQ(calls[0]["outcome"], "answered");
  EXPECT_NEAR(calls[0]["duration_s"].get<double>(), 9.0, 0.05);
  const auto recordings = workspace.cli_json({"recordings", "--json"});
  ASSERT_EQ(recordings.size(), 1u) << recordings.dump(2);
  EXPECT_EQ(recordings[0]["state"], "complete") << recordings.dump(2);
  EXPECT_NEAR(ffprobe_duration(workspace.recording_of(calls[0].value("id", ""))), 9.0, 0.1);
}

// The database owned by another user and not writable by the daemon's: run
// as an unprivileged uid (root writes any file), the daemon refuses to start.
TEST(Instance, ADatabaseTheDaemonCannotWriteRefusesTheStart) {
  Workspace workspace("read-only-db");
  ASSERT_EQ(workspace.run_scenario("box A serial=X800-RO lines=1\nat 0.5 end\n"), 0) << workspace.log();
  const auto data = workspace.dir() / "data";
  const auto database = data / "deskline.db";
  ASSERT_TRUE(fs::exists(database));
  // The daemon's uid owns its folders; the database belongs to someone else, read-only to it.
  fs::remove(data / "desklined.lock");
  ASSERT_EQ(::chmod(database.c_str(), 0644), 0);
  for (const auto& folder : {workspace.dir(), data}) ASSERT_EQ(::chmod(folder.c_str(), 0777), 0);
  const std::string unprivileged = ::geteuid() == 0 ? "65534" : std::to_string(::geteuid());
  if (::geteuid() != 0) {
    ASSERT_EQ(::chmod(database.c_str(), 0444), 0);
  }

  std::string output;
  const int status = run_with_stderr({"setpriv", "--reuid=" + unprivileged, "--regid=" + unprivileged,
                                         "--clear-groups", bin("desklined").string(), "--config",
                                         workspace.config_path().string()},
                                        output);
  EXPECT_NE(status, 0) << output;
  EXPECT_NE(output.find("read-only for this user"), std::string::npos) << output;
  EXPECT_EQ(output.find("ready"), std::string::npos) << output;
}

// The database deleted under a running daemon: said at once in the log and
// in `deskline status`, instead of calls vanishing into a deleted inode.
TEST(Instance, ADeletedDatabaseRaisesAnAlarm) {
  Workspace workspace("deleted-db");
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(box A serial=X800-GONE lines=1
at 600 end
)"));  // no early end: the test stops it once the alarm is seen
  ASSERT_GT(simulator, 0);
  const auto alarms = [&] {
    const auto status = workspace.cli_json({"status", "--json"});
    return status.is_object() ? status.value("alarms", nlohmann::json()) : nlohmann::json();
  };
  ASSERT_TRUE(wait_until([&] { return alarms().is_array(); }, std::chrono::seconds(20), "the daemon's status"))
      << workspace.log();
  EXPECT_TRUE(alarms().empty()) << alarms().dump();
  const auto healthy = healthz(workspace);
  EXPECT_EQ(healthy.http_status, 200);
  EXPECT_EQ(healthy.body, (nlohmann::json{{"status", "ok"}, {"reasons", nlohmann::json::array()}}));
  fs::remove(workspace.dir() / "data" / "deskline.db");
  EXPECT_TRUE(wait_until([&] { return !alarms().empty(); }, std::chrono::seconds(20), "an alarm in status"));
  Health degraded;
  EXPECT_TRUE(wait_until([&] { return (degraded = healthz(workspace)).http_status == 503; }, std::chrono::seconds(20),
                         "GET /healthz to say so"));
  EXPECT_EQ(degraded.body, (nlohmann::json{{"status", "degraded"}, {"reasons", {"database_replaced"}}}));
  EXPECT_TRUE(wait_until([&] { return workspace.log().find("was deleted or replaced") != std::string::npos; },
                         std::chrono::seconds(20), "the alarm in the log"));
  workspace.stop_simulator(simulator);
}

// `deskline status` and GET /healthz with a configured box that never came:
// one alarm naming it, exit status 1, and a 503 whose reason names no box;
// the box that is there, the page, the uptime and the disk are shown.
TEST(Instance, StatusAndHealthzTellAConfiguredBoxThatNeverCame) {
  Workspace workspace("health", "[[line]]\nbox = \"X800-THERE\"\nport = 1\nname = \"Sales 1\"\n"
                                "[[line]]\nbox = \"X800-AWAY\"\nport = 1\nname = \"Sales 2\"\n");
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(box A serial=X800-THERE lines=1
at 600 end
)"));  // no early end: the test stops it
  ASSERT_GT(simulator, 0);
  nlohmann::json status;
  ASSERT_TRUE(wait_until(
      [&] {
        status = workspace.cli_json({"status", "--json"});
        return status.is_object() && status.value("boxes", nlohmann::json::array()).size() == 1;
      },
      std::chrono::seconds(20), "box X800-THERE in the status"))
      << status.dump(2) << workspace.log();
  EXPECT_EQ(status["missing_boxes"], nlohmann::json::array({"X800-AWAY"}));
  EXPECT_EQ(status["healthy"], false);
  ASSERT_EQ(status["alarms"].size(), 1u) << status["alarms"].dump();
  EXPECT_TRUE(status["alarms"][0].get<std::string>().starts_with("box X800-AWAY is not attached")) << status["alarms"];
  EXPECT_TRUE(status["boxes"][0]["since"].is_string()) << status["boxes"];
  EXPECT_TRUE(status["uptime_s"].is_number());
  EXPECT_TRUE(status["disk"]["free_mb"].is_number()) << status["disk"];
  EXPECT_EQ(status["recordings_in_progress"], 0);

  std::string text;
  EXPECT_EQ(tools::run_capture({bin("deskline").string(), "--config", workspace.config_path().string(), "status"}, text),
            1);
  for (const auto* piece : {"), up ", "\npage: http://127.0.0.1:", "box X800-AWAY MISSING", "attached since ",
                            "\ndisk: ", "\nrecordings in progress: 0", "ALARM: box X800-AWAY is not attached"})
    EXPECT_NE(text.find(piece), std::string::npos) << piece << " in\n" << text;

  const auto health = healthz(workspace);
  EXPECT_EQ(health.http_status, 503);
  EXPECT_EQ(health.body, (nlohmann::json{{"status", "degraded"}, {"reasons", {"box_missing"}}}));
  workspace.stop_simulator(simulator);
}

}  // namespace
}  // namespace deskline::testing
