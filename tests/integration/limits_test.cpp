// Hostile local clients against the daemon's listeners (issue #14): HTTP
// framing of HEAD, the auth scheme's case, idle connections of one peer, a
// WebSocket flood under a low file-descriptor limit, and clients that stall
// on control answers or WebSocket events.
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <regex>
#include <sstream>

#include "tests/integration/harness.hpp"
#include "tests/integration/pop_client.hpp"
#include "tests/integration/raw_connection.hpp"
#include "tests/process_usage.hpp"

namespace deskline::testing {
namespace {

constexpr const char* quiet_box = "box A serial=X800-LIM lines=1\nat 120 end\n";

// What a test needs of a running daemon, from `deskline status`.
WebDaemon start(const Workspace& workspace, const std::string& scenario = quiet_box) {
  return workspace.start_web_daemon(scenario);
}

bool status_answers(const Workspace& workspace) { return workspace.cli_json({"status", "--json"}).value("ok", false); }

std::size_t count_lines_with(const std::string& log, const std::string& text) {
  std::istringstream lines(log);
  std::size_t count = 0;
  for (std::string line; std::getline(lines, line);) count += line.find(text) != std::string::npos;
  return count;
}

bool head_complete(const std::string& data) { return data.find("\r\n\r\n") != std::string::npos; }

// Splits the first response's head off what a keep-alive connection read.
std::string take_head(RawConnection& connection, std::string data) {
  const auto end = data.find("\r\n\r\n");
  if (end == std::string::npos) return data;
  connection.keep_for_next(data.substr(end + 4));
  return data.substr(0, end + 4);
}

std::size_t content_length(const std::string& head) {
  std::smatch length;
  if (!std::regex_search(head, length, std::regex(R"(Content-Length: (\d+))", std::regex::icase))) return SIZE_MAX;
  return std::stoul(length[1]);
}

std::string websocket_upgrade(const std::string& token) {
  return "GET /v1/events?token=" + token +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

TEST(HttpFraming, HeadHasTheGetsLengthAndNoBodyOnAKeepAliveConnection) {
  Workspace workspace("http-head");
  const auto daemon = start(workspace);
  ASSERT_GT(daemon.port, 0);
  RawConnection connection;
  ASSERT_TRUE(connection.connect_tcp(daemon.port));
  const std::string auth = "Host: 127.0.0.1\r\nAuthorization: Bearer " + daemon.token + "\r\n\r\n";
  for (const std::string target : {"/", "/v1/calls?limit=5", "/nothing", "/v1/nothing"}) {
    SCOPED_TRACE(target);
    const auto head = take_head(connection, connection.exchange("HEAD " + target + " HTTP/1.1\r\n" + auth, head_complete));
    const auto get = connection.exchange("GET " + target + " HTTP/1.1\r\n" + auth, http_response_complete);
    // The GET's answer comes next on the connection, whole: the HEAD sent no body.
    ASSERT_EQ(get.rfind("HTTP/1.1 ", 0), 0u) << "after HEAD: " << head << "\nthen: " << get.substr(0, 200);
    EXPECT_EQ(head.substr(0, 12), get.substr(0, 12));
    const auto get_head_end = get.find("\r\n\r\n") + 4;
    EXPECT_EQ(content_length(head), get.size() - get_head_end) << head;
    EXPECT_GT(content_length(head), 0u) << head;
  }
  workspace.stop_web_daemon(daemon);
}

TEST(HttpFraming, BearerSchemeIsCaseInsensitive) {
  Workspace workspace("http-bearer");
  const auto daemon = start(workspace);
  ASSERT_GT(daemon.port, 0);
  auto status_with = [&](const std::string& authorization) {
    RawConnection connection;
    if (!connection.connect_tcp(daemon.port)) return std::string("no connection");
    const auto answer = connection.exchange("GET /v1/calls HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " +
                                                authorization + "\r\nConnection: close\r\n\r\n",
                                            http_response_complete);
    return answer.substr(0, 12);
  };
  for (const std::string scheme : {"Bearer", "bearer", "BEARER", "bEaReR"})
    EXPECT_EQ(status_with(scheme + " " + daemon.token), "HTTP/1.1 200") << scheme;
  EXPECT_EQ(status_with("Bearer  " + daemon.token), "HTTP/1.1 200");  // more than one space
  EXPECT_EQ(status_with("Basic " + daemon.token), "HTTP/1.1 401");
  EXPECT_EQ(status_with("Bearer" + daemon.token), "HTTP/1.1 401");
  EXPECT_EQ(status_with("Bearer wrong"), "HTTP/1.1 401");
  workspace.stop_web_daemon(daemon);
}

TEST(Limits, IdleConnectionsOfOnePeerDoNotLockOutAnother) {
  Workspace workspace("limits-idle");
  const auto daemon = start(workspace);
  ASSERT_GT(daemon.port, 0);
  // Far more idle connections than the budget (64), from one address, sending nothing.
  std::vector<RawConnection> idle(300);
  for (auto& connection : idle) ASSERT_TRUE(connection.connect_tcp(daemon.port, "127.0.0.1"));
  const std::string request =
      "GET /v1/calls HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + daemon.token + "\r\nConnection: close\r\n\r\n";
  for (const char* source : {"127.0.0.2", "127.0.0.1"}) {
    RawConnection client;
    ASSERT_TRUE(client.connect_tcp(daemon.port, source)) << source;
    const auto answer = client.exchange(request, http_response_complete);
    EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 200") << source << ": " << answer;
  }
  // Hundreds of idle connections were closed to make room, each counted; the
  // log has a handful of lines and, at the latest at the stop, a summary of the rest.
  const auto connections = workspace.cli_json({"status", "--json"})["connections"]["http"];
  EXPECT_GT(connections.value("closed_idle", 0), 200) << connections.dump();
  EXPECT_EQ(connections.value("refused", -1), 0) << connections.dump();
  workspace.stop_web_daemon(daemon);
  const auto log = workspace.log();
  const auto logged = count_lines_with(log, "http: closed an idle connection to make room");
  EXPECT_EQ(logged, 5u);
  std::smatch summary;
  ASSERT_TRUE(std::regex_search(log, summary, std::regex(R"(http: closed an idle connection: (\d+) more not logged)")))
      << "no summary of the lines left out";
  EXPECT_EQ(logged + std::stoul(summary[1]), connections.value("closed_idle", 0u));
}

TEST(Limits, WebSocketsShareTheBudgetUnderALowFileLimit) {
  Workspace workspace("limits-websockets");
  const auto daemon = start(workspace);
  ASSERT_GT(daemon.pid, 0);
  std::string output;
  ASSERT_EQ(tools::run_capture({"prlimit", "--pid", std::to_string(daemon.pid), "--nofile=128:128"}, output), 0)
      << output;
  std::vector<RawConnection> websockets(200);
  for (auto& websocket : websockets) {
    ASSERT_TRUE(websocket.connect_tcp(daemon.port));
    websocket.send(websocket_upgrade(daemon.token));
  }
  std::size_t upgraded = 0;
  for (auto& websocket : websockets)
    upgraded += websocket.read_until(head_complete, std::chrono::seconds(5)).rfind("HTTP/1.1 101", 0) == 0;
  EXPECT_GT(upgraded, 0u);
  EXPECT_LE(upgraded, 64u) << "WebSockets beyond the HTTP budget";

  // A spinning accept loop would use the whole 3 s window.
  const double before = cpu_seconds(daemon.pid);
  std::this_thread::sleep_for(std::chrono::seconds(3));  // the measurement window, not a wait for an event
  const double used = cpu_seconds(daemon.pid) - before;
  std::printf("[ cpu      ] desklined used %.2f s of CPU in 3 s with %zu WebSockets open\n", used, upgraded);
  EXPECT_LT(used, 1.0);
  EXPECT_TRUE(wait_until([&] { return status_answers(workspace); }, std::chrono::seconds(10),
                         "`deskline status` to answer"));
  websockets.clear();
  workspace.stop_web_daemon(daemon);
}

TEST(Limits, ControlClientsThatNeverReadAreCut) {
  Workspace workspace("limits-control");
  const auto daemon = start(workspace);
  ASSERT_GT(daemon.pid, 0);
  // As many as the control socket serves (32), each pipelining requests
  // until the socket takes no more and never reading an answer. One uid
  // gets 16 of them: the daemon refuses the others, and may have closed
  // one before its first byte.
  std::vector<RawConnection> stalled(32);
  std::size_t sending = 0;
  for (auto& client : stalled) {
    ASSERT_TRUE(client.connect_unix(workspace.dir() / "run" / "control.sock"));
    sending += client.send_until_full("{\"cmd\":\"status\"}\n") > 0;
  }
  EXPECT_GE(sending, 16u);
  EXPECT_TRUE(wait_until([&] { return status_answers(workspace); }, std::chrono::seconds(30),
                         "`deskline status` to answer while 32 clients stall"))
      << workspace.log();
  EXPECT_TRUE(wait_until(
      [&] { return std::all_of(stalled.begin(), stalled.end(), [](const auto& client) { return client.peer_closed(); }); },
      std::chrono::seconds(60), "every stalled control client to be cut"))
      << workspace.log();
  workspace.stop_web_daemon(daemon);
}

TEST(Limits, StalledWebSocketIsCutAfterABoundedQueue) {
  const std::string scenario =
      "box A serial=X800-LIM-WS lines=16\n" + short_calls_on_every_line("A", 3.0) + "at 120 end\n";
  Workspace workspace("limits-ws-stall");
  const auto daemon = start(workspace, scenario);
  ASSERT_GT(daemon.port, 0);
  RawConnection stalled;
  ASSERT_TRUE(stalled.connect_tcp(daemon.port));
  const auto upgrade = take_head(stalled, stalled.exchange(websocket_upgrade(daemon.token), head_complete));
  ASSERT_EQ(upgrade.rfind("HTTP/1.1 101", 0), 0u) << upgrade;
  PopTestClient healthy;
  ASSERT_TRUE(healthy.connect(workspace.dir() / "run" / "events.sock"));
  std::size_t events = 0;
  while (healthy.next(std::chrono::seconds(4))) ++events;
  EXPECT_GT(events, 900u);
  ASSERT_TRUE(wait_until([&] { return workspace.log().find("disconnected: more than") != std::string::npos; },
                         std::chrono::seconds(10), "the stalled WebSocket to be cut"))
      << workspace.log().substr(0, 4000);
  // What the daemon had sent before the cut, the kernel's buffers included, is bounded.
  const auto received = stalled.drain_until_closed(std::chrono::seconds(10));
  ASSERT_TRUE(received) << "the stalled WebSocket is still open";
  std::printf("[ bytes    ] the stalled WebSocket had %zu bytes in flight of %zu events\n", *received, events);
  EXPECT_LT(*received, 512u * 1024u);
  workspace.stop_web_daemon(daemon);
}

TEST(Limits, CallsComeInPagesChainedByBefore) {
  Workspace workspace("limits-pages");
  const auto daemon = start(workspace,
                            "box A serial=X800-LIM-PG lines=1\n"
                            "at 1.0 A:1 ring cadence=0.1/0.1 count=1\nat 1.15 A:1 offhook\nat 1.3 A:1 onhook\n"
                            "at 1.5 A:1 ring cadence=0.1/0.1 count=1\nat 1.65 A:1 offhook\nat 1.8 A:1 onhook\n"
                            "at 2.0 A:1 ring cadence=0.1/0.1 count=1\nat 2.15 A:1 offhook\nat 2.3 A:1 onhook\n"
                            "at 120 end\n");
  ASSERT_GT(daemon.pid, 0);
  ASSERT_TRUE(wait_until([&] { return workspace.calls().size() == 3; }, std::chrono::seconds(30), "three calls"))
      << workspace.calls().dump();
  RawConnection control;
  ASSERT_TRUE(control.connect_unix(workspace.dir() / "run" / "control.sock"));
  auto page = [&](const nlohmann::json& request) {
    const auto line = control.exchange(request.dump() + "\n", [](const std::string& data) {
      return data.find('\n') != std::string::npos;
    });
    return nlohmann::json::parse(line, nullptr, false);
  };
  const auto first = page({{"cmd", "calls"}, {"limit", 2}});
  ASSERT_EQ(first["calls"].size(), 2u) << first.dump();
  EXPECT_TRUE(first["more"].get<bool>());
  const auto second = page({{"cmd", "calls"}, {"limit", 2}, {"before", first["calls"][1]["id"]}});
  ASSERT_EQ(second["calls"].size(), 1u) << second.dump();
  EXPECT_FALSE(second["more"].get<bool>());
  const auto all = workspace.calls();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2]["id"], second["calls"][0]["id"]);
  EXPECT_EQ(page({{"cmd", "calls"}, {"limit", 1001}})["error"], "limit must be an integer from 1 to 1000");
  workspace.stop_web_daemon(daemon);
}

}  // namespace
}  // namespace deskline::testing
