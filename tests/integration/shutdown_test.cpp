// SIGTERM, the normal way a service stops, while every kind of client is
// connected and a call is being recorded: the daemon must close every
// session, finish the recording, end the call and exit cleanly (the
// sanitizer build turns any use after free into a failed exit status).
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <regex>
#include <thread>

#include "tests/integration/database_lock.hpp"
#include "tests/integration/harness.hpp"
#include "tests/integration/pop_client.hpp"
#include "tests/integration/raw_connection.hpp"

namespace deskline::testing {
namespace {

TEST(Shutdown, SigtermWithEveryKindOfClientDuringARecordedCall) {
  Workspace workspace("shutdown");
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(
box A serial=X800-STOP lines=2 rate=8000
at 0.5 A:1 ring cadence=1.0/2.0 count=2
at 0.6 A:1 callerid number=13700002222
at 1.0 A:1 offhook
at 1.0 A:1 play tone=800 level=-12 duration=120
at 120 end
)"));
  ASSERT_GT(simulator, 0);

  // The call is answered and recorded; the status names the page address.
  nlohmann::json status;
  ASSERT_TRUE(wait_until(
      [&] {
        status = workspace.cli_json({"status", "--json"});
        if (!status.contains("boxes") || status["boxes"].empty()) return false;
        return status["boxes"][0]["lines"][0]["state"] == "answered";
      },
      std::chrono::seconds(30), "line 1 answered"))
      << status.dump() << workspace.log();
  std::smatch page;
  const std::string web_page = status.value("web_page", "");
  ASSERT_TRUE(std::regex_search(web_page, page, std::regex(R"(:(\d+)/\?token=([0-9a-f]+))"))) << web_page;
  const auto port = static_cast<unsigned short>(std::stoi(page[1]));
  const std::string token = page[2];

  // An events-socket client that has had the call in progress.
  PopTestClient pops;
  ASSERT_TRUE(pops.connect(workspace.dir() / "run" / "events.sock"));
  ASSERT_TRUE(pops.until("call.answered")) << workspace.log();
  // A page loaded over a keep-alive connection, left open.
  RawConnection page_connection;
  ASSERT_TRUE(page_connection.connect_tcp(port));
  const auto page_answer =
      page_connection.exchange("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", http_response_complete);
  ASSERT_EQ(page_answer.rfind("HTTP/1.1 200", 0), 0u) << page_answer.substr(0, 200);
  // A WebSocket subscribed to pops.
  RawConnection websocket;
  ASSERT_TRUE(websocket.connect_tcp(port));
  const auto upgrade = websocket.exchange(
      "GET /v1/events?token=" + token +
          " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      http_response_complete);
  ASSERT_EQ(upgrade.rfind("HTTP/1.1 101", 0), 0u) << upgrade;
  // A control client between requests.
  RawConnection control;
  ASSERT_TRUE(control.connect_unix(workspace.dir() / "run" / "control.sock"));
  const auto answer = control.exchange("{\"cmd\":\"status\"}\n",
                                       [](const std::string& data) { return data.find('\n') != std::string::npos; });
  ASSERT_NE(answer.find("\"ok\":true"), std::string::npos) << answer;

  // SIGTERM to the simulator reaches the daemon (proto/scenario.md 7).
  ASSERT_EQ(::kill(simulator, SIGTERM), 0);
  EXPECT_EQ(workspace.wait_for_simulator(simulator, std::chrono::seconds(60)), 0) << workspace.log();
  const auto log = workspace.log();
  EXPECT_EQ(log.find("AddressSanitizer"), std::string::npos) << log;
  EXPECT_EQ(log.find("runtime error"), std::string::npos) << log;
  EXPECT_EQ(log.find("still pending"), std::string::npos) << log;
  // PortAudio's probing of ALSA and JACK goes to the log at debug level, not
  // as raw lines on stderr.
  for (const char* raw : {"\nALSA lib ", "\njack server is not running", "\nCannot connect to server socket"})
    EXPECT_EQ(log.find(raw), std::string::npos) << raw << " in\n" << log;
  // A normal stop is not a fault: nothing from the signal on is logged above info.
  const auto stop_log = log.substr(std::min(log.size(), log.find("signal 15: stopping")));
  EXPECT_EQ(stop_log.find("desklined warning"), std::string::npos) << stop_log;
  EXPECT_EQ(stop_log.find("desklined error"), std::string::npos) << stop_log;

  // The call ended at the stop, and its recording is complete up to there.
  const auto calls = workspace.calls();
  ASSERT_EQ(calls.size(), 1u) << calls.dump();
  EXPECT_EQ(calls[0]["state"], "ended");
  EXPECT_EQ(calls[0]["outcome"], "interrupted");
  const auto recordings = workspace.cli_json({"recordings", "--json"});
  ASSERT_EQ(recordings.size(), 1u) << recordings.dump();
  EXPECT_EQ(recordings[0]["state"], "complete") << recordings.dump();
  const auto file = workspace.recording_of(calls[0]["id"]);
  ASSERT_FALSE(file.empty());
  std::string info;
  EXPECT_EQ(tools::run_capture({"opusinfo", file.string()}, info), 0) << info;
  EXPECT_EQ(info.find("WARNING"), std::string::npos) << info;
  const double talked = parse_iso8601(calls[0]["ended_at"]) - parse_iso8601(calls[0]["answered_at"]);
  EXPECT_NEAR(ffprobe_duration(file), talked, 0.3);
}

// A stop while another process holds the database's write lock (a backup,
// the CLI): ending the call waits to be stored while line audio keeps coming.
// That audio is after the call's end and must not go into its recording.
TEST(Shutdown, RecordingEndsAtTheStopWhileStoringTheEndWaits) {
  Workspace workspace("shutdown-busy");
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(
box A serial=X800-BUSY lines=1 rate=8000
at 0.5 A:1 ring cadence=1.0/2.0 count=2
at 1.0 A:1 offhook
at 1.0 A:1 play tone=800 level=-12 duration=120
at 120 end
)"));
  ASSERT_GT(simulator, 0);
  ASSERT_TRUE(wait_until(
      [&] {
        const auto status = workspace.cli_json({"status", "--json"});
        return status.contains("boxes") && !status["boxes"].empty() &&
               status["boxes"][0]["lines"][0]["state"] == "answered";
      },
      std::chrono::seconds(30), "the call to be answered"))
      << workspace.log();

  DatabaseWriteLock lock(workspace.dir() / "data" / "deskline.db");
  ASSERT_TRUE(lock.held());
  const auto signalled = std::chrono::system_clock::now();
  ASSERT_EQ(::kill(simulator, SIGTERM), 0);
  ASSERT_TRUE(wait_until([&] { return workspace.log().find("signal 15: stopping") != std::string::npos; },
                         std::chrono::seconds(30), "the daemon to start stopping"));
  // The fault itself, not a wait for something: the lock is held for 1.5 s
  // of line audio (the daemon's busy timeout is 5 s).
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_TRUE(lock.release());
  EXPECT_EQ(workspace.wait_for_simulator(simulator, std::chrono::seconds(60)), 0) << workspace.log();

  const auto calls = workspace.calls();
  ASSERT_EQ(calls.size(), 1u) << calls.dump();
  EXPECT_EQ(calls[0]["outcome"], "interrupted");
  const double ended_at = parse_iso8601(calls[0]["ended_at"]);
  const double signalled_at = std::chrono::duration<double>(signalled.time_since_epoch()).count();
  EXPECT_LT(ended_at - signalled_at, 1.0) << "the call ends when the stop begins, not once it is stored";
  const auto file = workspace.recording_of(calls[0]["id"]);
  ASSERT_FALSE(file.empty());
  EXPECT_NEAR(ffprobe_duration(file), ended_at - parse_iso8601(calls[0]["answered_at"]), 0.3) << workspace.log();
}

}  // namespace
}  // namespace deskline::testing
