// Desks ([[desk]]): each desk's page token sees its own lines' pops, calls
// and (when it may listen) recordings, and nothing of another desk's; the
// admin's token sees every line; `deskline pop --desk/--line` filter the
// calls in progress replayed at connect as well as live events.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "tests/integration/harness.hpp"
#include "tests/integration/web_client.hpp"

namespace deskline::testing {
namespace {

// One recorded call on each line, then line 2 rings on (a call in progress
// at every later connect) until the test stops the simulator.
constexpr const char* two_lines = R"(
box A serial=X800-DSK lines=2
at 1.0 A:1 ring cadence=0.5/0.5 count=1
at 1.1 A:1 callerid number=13812345678
at 1.6 A:1 offhook
at 3.6 A:1 onhook
at 1.0 A:2 ring cadence=0.5/0.5 count=1
at 1.1 A:2 callerid number=02161234567
at 1.6 A:2 offhook
at 3.6 A:2 onhook
at 6.0 A:2 ring cadence=1.0/4.0 count=120
at 6.1 A:2 callerid number=01062345678
)";

// Every message up to the answer to a filter request sent after `request`:
// the daemon answers in order, so the answer ends what `request` brought.
std::vector<nlohmann::json> until_filter_answer(WebSocketEvents& events, const nlohmann::json& request,
                                                const std::string& line) {
  events.send(request);
  events.send({{"lines", {line}}});
  std::vector<nlohmann::json> messages;
  while (auto message = events.next()) {
    if (message->contains("lines") && !message->contains("hello")) return messages;
    messages.push_back(*message);
  }
  ADD_FAILURE() << "no answer to the filter request";
  return messages;
}

std::set<std::string> lines_of(const std::vector<nlohmann::json>& events) {
  std::set<std::string> lines;
  for (const auto& event : events)
    if (event.contains("event") && !event.value("line", "").empty()) lines.insert(event["line"].get<std::string>());
  return lines;
}

TEST(Desks, EachDeskSeesItsOwnLinesPopsCallsAndRecordingsOnly) {
  Workspace workspace("desks", two_desks_config("X800-DSK"));
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(two_lines));
  ASSERT_GT(simulator, 0);
  std::string sales1_call, sales2_call;
  ASSERT_TRUE(wait_until(
      [&] {
        const auto calls = workspace.calls();
        if (!calls.is_array() || calls.size() != 3) return false;
        for (const auto& call : calls) {
          if (call["state"] == "active" && call["line"] == "Sales 2") continue;
          if (call["state"] != "ended") return false;
          (call["line"] == "Sales 1" ? sales1_call : sales2_call) = call["id"];
        }
        return !sales1_call.empty() && !sales2_call.empty();
      },
      std::chrono::seconds(60), "both recorded calls to end and line 2 to ring again"))
      << workspace.log();
  const auto port = port_and_token(web_page(workspace)).first;
  ASSERT_GT(port, 0);
  // `deskline status` gives the admin each desk's page address.
  const auto status = workspace.cli_json({"status", "--json"});
  EXPECT_EQ(status["desk_pages"],
            nlohmann::json::parse("[{\"desk\":\"Front\",\"lines\":[\"Sales 1\"],\"page\":\"http://127.0.0.1:" +
                                  std::to_string(port) + "/?token=" + front_desk_token +
                                  "\"},{\"desk\":\"Back\",\"lines\":[\"Sales 2\"],\"page\":\"http://127.0.0.1:" +
                                  std::to_string(port) + "/?token=" + back_desk_token + "\"}]"))
      << status.dump();

  // The pops: each desk's hello names it and its line's user; its history
  // and the call in progress replayed at connect hold its line only.
  WebSocketEvents front(port, front_desk_token);
  ASSERT_TRUE(front.upgraded());
  const auto front_hello = front.next().value_or(nlohmann::json())["hello"];
  EXPECT_EQ(front_hello["desk"], "Front") << front_hello.dump();
  EXPECT_EQ(front_hello["lines"], nlohmann::json::parse(R"([{"name":"Sales 1","user":"Li Na"}])"));
  EXPECT_EQ(front_hello["may_listen"], true);
  const auto front_events = until_filter_answer(front, {{"resume_from", 0}}, "Sales 1");
  EXPECT_EQ(lines_of(front_events), (std::set<std::string>{"Sales 1"}));
  EXPECT_TRUE(std::any_of(front_events.begin(), front_events.end(),
                          [](const auto& event) { return event.value("event", "") == "call.ended"; }));

  WebSocketEvents back(port, back_desk_token);
  ASSERT_TRUE(back.upgraded());
  const auto back_hello = back.next().value_or(nlohmann::json())["hello"];
  EXPECT_EQ(back_hello["desk"], "Back");
  EXPECT_EQ(back_hello["lines"], nlohmann::json::parse(R"([{"name":"Sales 2","user":"Wang Wei"}])"));
  EXPECT_EQ(back_hello["may_listen"], false);
  // Before any request: the call in progress, replayed.
  const auto replayed = back.next().value_or(nlohmann::json());
  EXPECT_EQ(replayed.value("line", ""), "Sales 2") << replayed.dump();
  EXPECT_EQ(replayed.value("replay", false), true) << replayed.dump();
  EXPECT_EQ(lines_of(until_filter_answer(back, {{"resume_from", 0}}, "Sales 2")), (std::set<std::string>{"Sales 2"}));

  // A desk cannot widen its filter to another desk's line or desk.
  front.send({{"lines", {"Sales 2"}}});
  EXPECT_EQ(front.next().value_or(nlohmann::json()),
            nlohmann::json::parse(R"({"v":1,"refused":"lines","error":)"
                                  R"x("line \"Sales 2\" is not desk \"Front\"'s (lines: \"Sales 1\")"})x"));
  front.send({{"desk", "Back"}});
  EXPECT_EQ(front.next().value_or(nlohmann::json()).value("refused", ""), "desk");

  // The admin's token sees both lines.
  const auto admin_token = port_and_token(web_page(workspace)).second;
  WebSocketEvents admin(port, admin_token);
  ASSERT_TRUE(admin.upgraded());
  const auto admin_hello = admin.next().value_or(nlohmann::json())["hello"];
  EXPECT_FALSE(admin_hello.contains("desk"));
  EXPECT_EQ(admin_hello["lines"].size(), 2u);
  EXPECT_EQ(lines_of(until_filter_answer(admin, {{"resume_from", 0}}, "Sales 1")),
            (std::set<std::string>{"Sales 1", "Sales 2"}));

  // The page's calls.
  const auto calls_of = [&](const std::string& token) {
    const auto answer = http_exchange(
        port, "GET /v1/calls?token=" + token + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(answer.status, 200) << answer.body;
    std::vector<std::string> lines;
    for (const auto& call : nlohmann::json::parse(answer.body, nullptr, false)) lines.push_back(call["line"]);
    return lines;
  };
  EXPECT_EQ(calls_of(front_desk_token), (std::vector<std::string>{"Sales 1"}));
  EXPECT_EQ(calls_of(back_desk_token), (std::vector<std::string>{"Sales 2", "Sales 2"}));
  EXPECT_EQ(calls_of(admin_token).size(), 3u);

  // The recordings: a desk that may listen gets its own line's, and another
  // desk's call is no call to it; a desk that may not listen gets none.
  const auto recording_status = [&](const std::string& call, const std::string& token) {
    return get_status(port, "/v1/recordings/" + call + "?token=" + token, "HEAD");
  };
  ASSERT_TRUE(wait_until([&] { return recording_status(sales1_call, front_desk_token) == 200; }, std::chrono::seconds(30),
                         "line 1's recording to be complete"));
  EXPECT_EQ(recording_status(sales2_call, front_desk_token), 404);
  EXPECT_EQ(recording_status(sales2_call, back_desk_token), 403);
  EXPECT_EQ(recording_status(sales1_call, admin_token), 403);

  // `deskline pop`: line 2's ringing call is replayed at connect, before
  // the daemon reads the client's filter; a filter for line 1 or desk Front
  // must not show it.
  const auto line2 = workspace.run_cli({"pop", "--line", "Sales 2", "--json", "--count", "1"});
  EXPECT_EQ(line2.status, 0) << line2.err;
  EXPECT_EQ(nlohmann::json::parse(line2.out, nullptr, false).value("line", ""), "Sales 2") << line2.out;
  for (const auto& [filter, name] : {std::pair{"--line", "Nope"}, std::pair{"--desk", "Nope"}}) {
    const auto refused = workspace.run_cli({"pop", filter, name, "--once"});
    EXPECT_EQ(refused.status, 2) << filter;
    EXPECT_EQ(refused.out, "");
    EXPECT_NE(refused.err.find(std::string("no ") + (std::string(filter) == "--line" ? "line" : "desk") +
                               " named \"Nope\""),
              std::string::npos)
        << refused.err;
  }
  const auto pop_clients = [&] {
    const auto metrics = http_exchange(port, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    std::smatch count;
    return std::regex_search(metrics.body, count, std::regex("\ndeskline_pop_clients (\\d+)\n")) ? std::stoi(count[1])
                                                                                                  : -1;
  };
  front.close();
  back.close();
  admin.close();
  ASSERT_TRUE(wait_until([&] { return pop_clients() == 0; }, std::chrono::seconds(30), "the WebSockets to close"));
  std::vector<std::pair<pid_t, fs::path>> followers;
  for (const auto& filter : {std::vector<std::string>{"--desk", "Front"}, std::vector<std::string>{"--line", "Sales 1"}}) {
    std::vector<std::string> argv = {bin("deskline").string(), "--config", workspace.config_path().string(), "pop",
                                     "--json", "--once"};
    argv.insert(argv.end(), filter.begin(), filter.end());
    tools::SpawnOptions options;
    options.stdout_path = workspace.dir() / ("follow" + std::to_string(followers.size()) + ".out");
    followers.emplace_back(tools::spawn(argv, options), *options.stdout_path);
    ASSERT_GT(followers.back().first, 0);
  }
  // Both have their replay (sent as each connects); then the daemon stops
  // and they exit, having printed what came before.
  ASSERT_TRUE(wait_until([&] { return pop_clients() == 2; }, std::chrono::seconds(30), "both followers to connect"));
  workspace.stop_simulator(simulator);
  for (const auto& [pid, output] : followers) {
    EXPECT_EQ(tools::wait_for(pid, std::chrono::seconds(60)), 0);
    // Device events concern every desk; no call event of line 2 may show.
    std::istringstream printed(read_file(output));
    for (std::string line; std::getline(printed, line);)
      EXPECT_NE(nlohmann::json::parse(line, nullptr, false).value("line", ""), "Sales 2") << line;
  }
}

}  // namespace
}  // namespace deskline::testing
