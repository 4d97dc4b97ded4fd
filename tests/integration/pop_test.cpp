// Screen pops over the events socket under deskline-sim: first ring, caller
// ID between rings, a client that connects mid-ring, resume by seq, and a
// stalled client that is cut off while the others are served.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <fstream>

#include "tests/integration/harness.hpp"
#include "tests/integration/pop_client.hpp"

namespace deskline::testing {
namespace {

// Validates events against proto/pop-event.schema.json with a real JSON Schema
// validator (python3-jsonschema); returns its complaints, "" when all are valid.
std::string schema_violations(const std::vector<nlohmann::json>& events, const fs::path& scratch) {
  const auto events_path = scratch / "events.json";
  std::ofstream(events_path) << nlohmann::json(events).dump();
  std::string output;
  const int status = tools::run_capture(
      {"python3", "-c",
       "import json, sys, jsonschema\n"
       "schema = json.load(open(sys.argv[1]))\n"
       "validator = jsonschema.Draft202012Validator(schema)\n"
       "for event in json.load(open(sys.argv[2])):\n"
       "    for error in validator.iter_errors(event):\n"
       "        print(event.get('event'), event.get('seq'), error.message)\n",
       (fs::path(DESKLINE_SOURCE_DIR) / "proto" / "pop-event.schema.json").string(), events_path.string()},
      output);
  return status == 0 ? output : "validator failed to run: " + output;
}

TEST(Pop, RingingOnFirstRingThenIdentifiedBetweenRings) {
  Workspace workspace("pop-ring");
  // The directory: one customer per number, and a switchboard shared by two.
  std::ofstream(workspace.dir() / "customers.csv")
      << "id,name,company,url,phone,phone_office\n"
         "c-1,Zhang Wei,Acme Trading,https://crm.example/c/1,+86 138 1234 5678,\n"
         "c-2,Wang Fang,Shanghai Steel,https://crm.example/c/2,,021-6123 4567\n"
         "c-3,Liu Yang,Shanghai Steel,https://crm.example/c/3,,(021) 61234567\n";
  const auto imported = workspace.cli_json({"customers", "import", (workspace.dir() / "customers.csv").string()});
  ASSERT_FALSE(imported.contains("exit_status")) << imported.dump();
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(
box A serial=X800-POP-1 lines=2
at 1.0 A:1 ring cadence=1.0/2.0 count=2
at 2.5 A:1 callerid number=13812345678 name="ZHANG WEI"
at 4.2 A:1 offhook
at 5.0 A:1 onhook
# Caller ID before the first ring (ETSI style): the very first pop has the number.
at 5.5 A:2 callerid number=02161234567
at 6.0 A:2 ring cadence=1.0/2.0 count=1
at 9.5 end
)"));
  ASSERT_GT(simulator, 0);
  PopTestClient client;
  ASSERT_TRUE(client.connect(workspace.dir() / "run" / "events.sock"));

  auto ringing = client.until("call.ringing");
  ASSERT_TRUE(ringing) << workspace.log();
  EXPECT_EQ((*ringing)["line"], "X800-POP-1:1");
  EXPECT_EQ((*ringing)["number"], "");
  EXPECT_EQ((*ringing)["direction"], "inbound");
  auto identified = client.until("call.identified");
  ASSERT_TRUE(identified);
  EXPECT_EQ((*identified)["call_id"], (*ringing)["call_id"]);
  EXPECT_EQ((*identified)["name"], "ZHANG WEI");
  EXPECT_EQ((*identified)["number"], "+8613812345678");
  ASSERT_EQ((*identified)["customers"].size(), 1u) << identified->dump();
  EXPECT_EQ((*identified)["customers"][0]["name"], "Zhang Wei");
  EXPECT_EQ((*identified)["customers"][0]["company"], "Acme Trading");
  EXPECT_NE((*identified)["number_display"].get<std::string>(), "");
  EXPECT_GT((*identified)["seq"].get<std::uint64_t>(), (*ringing)["seq"].get<std::uint64_t>());
  auto answered = client.until("call.answered");
  ASSERT_TRUE(answered);
  auto ended = client.until("call.ended");
  ASSERT_TRUE(ended);
  EXPECT_EQ((*ended)["outcome"], "answered");
  EXPECT_NEAR((*ended)["duration_s"].get<double>(), 0.8, 0.05);

  auto early = client.until("call.ringing");
  ASSERT_TRUE(early);
  EXPECT_EQ((*early)["line"], "X800-POP-1:2");
  // Caller ID before the ring: the very first pop names both candidates of the switchboard.
  EXPECT_EQ((*early)["number"], "+862161234567") << early->dump();
  ASSERT_EQ((*early)["customers"].size(), 2u) << early->dump();
  EXPECT_EQ((*early)["customers"][0]["company"], "Shanghai Steel");
  EXPECT_EQ(tools::wait_for(simulator, std::chrono::minutes(1)).value_or(-1), 0);
  while (auto event = client.next(std::chrono::milliseconds(500))) client.seen.push_back(*event);
  EXPECT_GE(client.seen.size(), 7u);
  EXPECT_EQ(schema_violations(client.seen, workspace.dir()), "");
}

TEST(Pop, ClientConnectingMidRingStillPops) {
  Workspace workspace("pop-midring");
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(
box A serial=X800-POP-2 lines=1
at 0.5 A:1 ring cadence=1.0/4.0 count=1
at 0.7 A:1 callerid number=13900001111 name="LI NA"
at 9.0 end
)"));
  ASSERT_GT(simulator, 0);
  // Connect well after the ring started.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  PopTestClient late;
  ASSERT_TRUE(late.connect(workspace.dir() / "run" / "events.sock"));
  auto first = late.next();
  ASSERT_TRUE(first) << workspace.log();
  EXPECT_EQ((*first)["event"], "call.identified") << first->dump();
  EXPECT_EQ((*first)["replay"], true);
  EXPECT_EQ((*first)["name"], "LI NA");
  EXPECT_TRUE(late.until("call.missed"));
  EXPECT_EQ(tools::wait_for(simulator, std::chrono::minutes(1)).value_or(-1), 0);
}

TEST(Pop, ResumeBySeqMissesNothing) {
  Workspace workspace("pop-resume");
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(
box A serial=X800-POP-3 lines=2
at 1.0 A:1 ring cadence=0.5/0.5 count=1
at 1.1 A:1 callerid number=13800000001
at 1.3 A:1 offhook
at 1.8 A:1 onhook
at 3.0 A:2 ring cadence=0.5/0.5 count=1
at 3.1 A:2 callerid number=13800000002
at 3.3 A:2 offhook
at 3.8 A:2 onhook
at 4.5 A:1 offhook
at 4.6 A:1 dial digits=13800000003
at 6.0 A:1 onhook
at 7.5 end
)"));
  ASSERT_GT(simulator, 0);
  const auto socket = workspace.dir() / "run" / "events.sock";
  PopTestClient first;
  ASSERT_TRUE(first.connect(socket));
  ASSERT_TRUE(first.until("call.ended")) << workspace.log();  // the first call, then we go away
  const auto last_seq = first.seen.back()["seq"].get<std::uint64_t>();
  first.close();

  std::this_thread::sleep_for(std::chrono::milliseconds(4500));  // the other calls happen meanwhile
  PopTestClient again;
  ASSERT_TRUE(again.connect(socket));
  again.send({{"resume_from", last_seq}});
  std::vector<nlohmann::json> resumed;
  while (auto event = again.next(std::chrono::milliseconds(1500)))
    if (!event->value("replay", false)) resumed.push_back(*event);
  ASSERT_FALSE(resumed.empty());
  // Every seq after the last one seen, each exactly once, in order.
  for (std::size_t i = 0; i < resumed.size(); ++i)
    EXPECT_EQ(resumed[i]["seq"].get<std::uint64_t>(), last_seq + 1 + i) << resumed[i].dump();
  std::vector<std::string> names;
  for (const auto& event : resumed) names.push_back(event["event"]);
  EXPECT_NE(std::find(names.begin(), names.end(), "call.outbound"), names.end());
  EXPECT_EQ(std::count(names.begin(), names.end(), "call.ended"), 2);
  EXPECT_EQ(tools::wait_for(simulator, std::chrono::minutes(1)).value_or(-1), 0);
}

TEST(Pop, StalledClientIsCutOffOthersUnaffected) {
  // Sixteen lines each take 15 short calls: about a thousand events in a few seconds.
  std::string scenario = "box A serial=X800-POP-4 lines=16\n";
  for (int port = 1; port <= 16; ++port)
    for (int call = 0; call < 15; ++call) {
      const double at = 1.0 + call * 0.4 + port * 0.01;
      scenario += fmt::format("at {:.2f} A:{} ring cadence=0.1/0.1 count=1\n", at, port);
      scenario += fmt::format("at {:.2f} A:{} callerid number=1380000{:02d}{:02d}\n", at + 0.05, port, port, call);
      scenario += fmt::format("at {:.2f} A:{} offhook\n", at + 0.15, port);
      scenario += fmt::format("at {:.2f} A:{} onhook\n", at + 0.3, port);
    }
  scenario += "at 9.0 end\n";
  Workspace workspace("pop-stall");
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(scenario));
  ASSERT_GT(simulator, 0);
  const auto socket = workspace.dir() / "run" / "events.sock";
  PopTestClient stalled, healthy;
  ASSERT_TRUE(stalled.connect(socket, std::chrono::seconds(20), 4096));  // and never reads
  ASSERT_TRUE(healthy.connect(socket));
  std::vector<nlohmann::json> events;
  while (auto event = healthy.next(std::chrono::seconds(4))) events.push_back(*event);
  EXPECT_EQ(tools::wait_for(simulator, std::chrono::minutes(1)).value_or(-1), 0);

  const auto ended = std::count_if(events.begin(), events.end(), [](const auto& e) { return e["event"] == "call.ended"; });
  EXPECT_EQ(ended, 16 * 15) << workspace.log().substr(0, 4000);
  for (std::size_t i = 1; i < events.size(); ++i)
    ASSERT_EQ(events[i]["seq"].get<std::uint64_t>(), events[i - 1]["seq"].get<std::uint64_t>() + 1);
  EXPECT_NE(workspace.log().find("disconnected: more than"), std::string::npos)
      << "the stalled client was never cut off";
}

}  // namespace
}  // namespace deskline::testing
