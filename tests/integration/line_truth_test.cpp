// Office situations that once gave wrong call records, each written as a
// scenario and run against the real desklined under the simulator: a box
// re-plugged during calls, a hook flash, caller ID after the answer and its
// repeat, one box instant on two lines, a flood of bad frames during a call,
// busy tone while still dialling.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "tests/integration/harness.hpp"
#include "tests/integration/pop_client.hpp"

namespace deskline::testing {
namespace {

// Absolute times from the box clock land within this of the scripted instant.
constexpr double time_tolerance_s = 0.100;

double at(const nlohmann::json& object, const char* field) { return parse_iso8601(object.value(field, "")); }

// Rows of call_events for a call, read as any SQL client would.
nlohmann::json call_events(const Workspace& workspace, const std::string& call_id, const std::string& type) {
  std::string output;
  const auto database = workspace.dir() / "data" / "deskline.db";
  tools::run_capture({"sqlite3", "-json", database.string(),
                      "SELECT at, detail FROM call_events WHERE call_id = '" + call_id + "' AND type = '" + type +
                          "'"},
                     output);
  const auto rows = nlohmann::json::parse(output.empty() ? "[]" : output, nullptr, false);
  return rows.is_array() ? rows : nlohmann::json::array();
}

std::size_t count_events(const std::vector<nlohmann::json>& events, const std::string& name) {
  return static_cast<std::size_t>(
      std::count_if(events.begin(), events.end(), [&](const auto& event) { return event.value("event", "") == name; }));
}

std::size_t count_lines(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (auto position = text.find(needle); position != std::string::npos; position = text.find(needle, position + 1))
    ++count;
  return count;
}

// Runs a scenario with an events-socket client reading every pop until the
// simulator ends; returns the pops.
std::vector<nlohmann::json> run_with_pops(const Workspace& workspace, const std::string& scenario) {
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(scenario));
  EXPECT_GT(simulator, 0);
  PopTestClient client;
  EXPECT_TRUE(client.connect(workspace.dir() / "run" / "events.sock"));
  // The stream ends when the daemon stops at the end of the scenario.
  while (auto event = client.next(std::chrono::seconds(60))) client.seen.push_back(*event);
  EXPECT_EQ(workspace.wait_for_simulator(simulator), 0) << workspace.log();
  return client.seen;
}

// On each of 10 lines the far end hangs up, busy tone plays and the rep puts
// the handset down 2.5 to 3.13 s into it: the tone stops at 10 different
// phases of its 0.35/0.35 s cadence. The next call on each line, answered
// with 30 s of speech, must be whole: a tone detector that stayed latched
// would end it as remote_hangup 2 s after the answer.
TEST(LineTruth, BusyToneEndingAtAnyCadencePhaseLeavesTheNextCallWhole) {
  Workspace workspace("busy-phases");
  const auto speech = workspace.dir() / "speech.wav";
  std::string ignored;
  ASSERT_EQ(tools::run_capture({"sh", "-c",
                                "espeak-ng -v en -w " + speech.string() + ".tmp.wav 'Good morning, this is Deskline "
                                "calling about your order.' && sox " + speech.string() + ".tmp.wav -r 8000 -c 1 -b 16 " +
                                    speech.string()},
                               ignored),
            0)
      << ignored;
  std::string scenario = "box A serial=X800-PHASES lines=10 decode=yes\n";
  for (int port = 1; port <= 10; ++port) {
    const auto line = "A:" + std::to_string(port);
    const double busy_s = 2.5 + 0.07 * (port - 1);
    scenario += "at 0.5 " + line + " ring cadence=1.0/2.0 count=1\n";
    scenario += "at 1.0 " + line + " offhook\n";
    scenario += "at 3.0 " + line + " play busy duration=" + std::to_string(busy_s) + "\n";
    scenario += "at " + std::to_string(3.0 + busy_s) + " " + line + " onhook\n";
    scenario += "at 8.0 " + line + " ring cadence=1.0/2.0 count=1\n";
    scenario += "at 8.5 " + line + " offhook\n";
    scenario += "at 8.7 " + line + " play file=speech.wav duration=29.6\n";
    scenario += "at 38.5 " + line + " onhook\n";
  }
  scenario += "at 40.0 end\n";
  ASSERT_EQ(workspace.run_scenario(scenario), 0) << workspace.log();

  const auto calls = workspace.calls();
  ASSERT_EQ(calls.size(), 20u) << calls.dump(2);
  int whole = 0;
  for (const auto& call : calls) {
    if (call.value("outcome", "") == "remote_hangup") continue;  // the first call of each line
    SCOPED_TRACE(call.value("line", ""));
    EXPECT_EQ(call["outcome"], "answered") << call.dump(2);
    EXPECT_NEAR(call["duration_s"].get<double>(), 30.0, 0.05) << call.dump(2);
    const auto file = workspace.recording_of(call.value("id", ""));
    ASSERT_FALSE(file.empty());
    EXPECT_NEAR(ffprobe_duration(file), 30.0, 0.1);
    ++whole;
  }
  EXPECT_EQ(whole, 10) << calls.dump(2);
}

// A 2 s USB drop-out while 8 lines are off-hook: every call in progress ends
// as device_lost, and the re-plugged box's power-up reports (off-hook at box
// time ~0) join each line's call in progress, never a new outbound call.
TEST(LineTruth, ReplugWithEightLinesOffHookJoinsEightCallsAndDialsNone) {
  Workspace workspace("replug-offhook");
  std::string scenario = "box A serial=X800-REPLUG lines=8\n";
  for (int port = 1; port <= 4; ++port) {  // answered inbound calls with caller ID
    scenario += "at 0.5 A:" + std::to_string(port) + " ring cadence=1.0/2.0 count=2\n";
    scenario += "at 0.6 A:" + std::to_string(port) + " callerid number=1380000000" + std::to_string(port) + "\n";
    scenario += "at 1.5 A:" + std::to_string(port) + " offhook\n";
  }
  for (int port = 5; port <= 8; ++port) scenario += "at 1.0 A:" + std::to_string(port) + " offhook\n";
  scenario += "at 4.0 A unplug\nat 6.0 A plug\n";
  for (int port = 1; port <= 8; ++port) scenario += "at 10.0 A:" + std::to_string(port) + " onhook\n";
  scenario += "at 12.0 end\n";
  const auto pops = run_with_pops(workspace, scenario);
  const double t0 = workspace.scenario_start();

  const auto calls = workspace.calls();
  ASSERT_TRUE(calls.is_array()) << calls.dump(2);
  std::map<std::string, const nlohmann::json*> lost, joined;
  for (const auto& call : calls) {
    const std::string line = call.value("line", "");
    if (call.value("outcome", "") == "device_lost") lost[line] = &call;
    else if (call.value("direction", "") == "unknown") joined[line] = &call;
    EXPECT_FALSE(call.value("direction", "") == "outbound" && at(call, "started_at") > t0 + 3)
        << "a phantom outbound call after the re-plug\n" << call.dump(2);
  }
  EXPECT_EQ(calls.size(), 16u) << calls.dump(2) << workspace.log();
  EXPECT_EQ(lost.size(), 8u) << calls.dump(2);
  ASSERT_EQ(joined.size(), 8u) << calls.dump(2) << workspace.log();
  for (const auto& [line, call] : joined) {
    SCOPED_TRACE(line);
    EXPECT_EQ(call->value("outcome", ""), "completed");
    EXPECT_NEAR(at(*call, "started_at"), t0 + 6.0, 0.5);  // when the box was back
    EXPECT_NEAR(at(*call, "ended_at"), t0 + 10.0, time_tolerance_s);
    ASSERT_TRUE(lost.contains(line));
    // Linked to the call the drop-out cut, and carrying its number.
    const auto link = call_events(workspace, call->value("id", ""), "joined_in_progress");
    ASSERT_EQ(link.size(), 1u) << link.dump();
    const auto detail = nlohmann::json::parse(link[0].value("detail", "{}"));
    EXPECT_EQ(detail.value("interrupted_call_id", ""), lost[line]->value("id", "")) << detail.dump();
    EXPECT_EQ(call->value("number", ""), lost[line]->value("number", ""));
  }
  EXPECT_EQ(joined["X800-REPLUG:1"]->value("number", ""), "13800000001");
  // The cut calls' recordings end with the drop-out, not when the re-plugged
  // box's new stream reaches their old end frame.
  for (const auto& [line, call] : lost) {
    SCOPED_TRACE(line);
    const auto file = workspace.recording_of(call->value("id", ""));
    ASSERT_FALSE(file.empty());
    EXPECT_NEAR(ffprobe_duration(file), call->value("duration_s", 0.0), 0.3) << call->dump(2);
  }
  EXPECT_EQ(count_events(pops, "call.joined"), 8u);
  EXPECT_EQ(count_events(pops, "call.outbound"), 4u);  // ports 5-8 before the drop-out only
}

// A 300 ms on-hook during a call is a hook flash: one call, one recording,
// a flash event and pop; the call's duration runs to the real hang-up.
TEST(LineTruth, AHookFlashKeepsOneCallAndOneRecording) {
  Workspace workspace("flash");
  const auto pops = run_with_pops(workspace, R"(box A serial=X800-FLASH lines=1
at 0.5 A:1 ring cadence=1.0/2.0 count=2
at 0.6 A:1 callerid number=13812345678
at 1.5 A:1 offhook
at 2.0 A:1 play tone=440 level=-15 duration=6
at 4.0 A:1 onhook
at 4.3 A:1 offhook
at 7.0 A:1 onhook
at 9.0 end
)");
  const double t0 = workspace.scenario_start();
  const auto calls = workspace.calls();
  ASSERT_EQ(calls.size(), 1u) << calls.dump(2) << workspace.log();
  const auto& call = calls[0];
  EXPECT_EQ(call["outcome"], "answered");
  EXPECT_NEAR(call["duration_s"].get<double>(), 5.5, 0.05) << call.dump(2);
  EXPECT_NEAR(at(call, "ended_at"), t0 + 7.0, time_tolerance_s);

  const auto flashes = call_events(workspace, call.value("id", ""), "flash");
  ASSERT_EQ(flashes.size(), 1u) << flashes.dump();
  EXPECT_NEAR(nlohmann::json::parse(flashes[0].value("detail", "{}")).value("duration_ms", 0), 300, 5);
  ASSERT_EQ(count_events(pops, "call.flash"), 1u);
  for (const auto& pop : pops)
    if (pop.value("event", "") == "call.flash") {
      EXPECT_NEAR(pop.value("flash_ms", 0), 300, 5);
      EXPECT_NEAR(at(pop, "at"), t0 + 4.3, time_tolerance_s);
    }
  EXPECT_EQ(count_events(pops, "call.ended"), 1u);
  EXPECT_EQ(count_events(pops, "recording.saved"), 1u);
  const auto file = workspace.recording_of(call.value("id", ""));
  ASSERT_FALSE(file.empty()) << workspace.log();
  EXPECT_NEAR(ffprobe_duration(file), 5.5, 0.1);
}

// Caller ID 1.5 s after the answer reaches the call, a call.identified pop
// and the store; the exchange repeating it gives no second pop.
TEST(LineTruth, CallerIdAfterTheAnswerIsAttachedAndItsRepeatMerged) {
  Workspace workspace("late-caller-id");
  const auto pops = run_with_pops(workspace, R"(box A serial=X800-LATECID lines=1
at 0.5 A:1 ring cadence=1.0/2.0 count=1
at 1.0 A:1 offhook
at 2.5 A:1 callerid number=13812345678 name="ZHANG WEI"
at 4.0 A:1 callerid number=13812345678 name="ZHANG WEI"
at 6.0 A:1 onhook
at 8.0 end
)");
  const double t0 = workspace.scenario_start();
  const auto calls = workspace.calls();
  ASSERT_EQ(calls.size(), 1u) << calls.dump(2);
  EXPECT_EQ(calls[0]["number"], "13812345678") << workspace.log();
  EXPECT_EQ(calls[0]["name"], "ZHANG WEI");
  EXPECT_EQ(calls[0]["outcome"], "answered");
  ASSERT_EQ(count_events(pops, "call.identified"), 1u);
  for (const auto& pop : pops) {
    if (pop.value("event", "") != "call.identified") continue;
    EXPECT_FALSE(pop.value("number", "").empty()) << pop.dump();
    EXPECT_NEAR(at(pop, "at"), t0 + 2.5, time_tolerance_s);
  }
  for (const auto& pop : pops)
    if (pop.value("event", "") == "call.ended") {
      EXPECT_FALSE(pop.value("number", "").empty()) << pop.dump();
    }
}

// One box instant maps to one wall time: two lines off-hook at the same box
// time get equal started_at, and each call's pop has that time too.
TEST(LineTruth, OneBoxInstantIsOneStoredTime) {
  Workspace workspace("same-instant");
  const auto pops = run_with_pops(workspace, R"(box A serial=X800-SAME lines=4
at 1.0 A:1 offhook
at 1.0 A:2 offhook
at 1.0 A:3 ring cadence=1.0/2.0 count=1
at 1.0 A:4 ring cadence=1.0/2.0 count=1
at 1.4 A:3 offhook
at 1.4 A:4 offhook
at 3.0 A:1 onhook
at 3.0 A:2 onhook
at 3.0 A:3 onhook
at 3.0 A:4 onhook
at 5.0 end
)");
  const auto calls = workspace.calls();
  ASSERT_EQ(calls.size(), 4u) << calls.dump(2);
  for (const auto& call : calls) {
    SCOPED_TRACE(call.value("line", ""));
    EXPECT_EQ(call["started_at"], calls[0]["started_at"]);
    EXPECT_EQ(call["ended_at"], calls[0]["ended_at"]);
    for (const auto& pop : pops) {
      if (pop.value("call_id", "") != call.value("id", "")) continue;
      const std::string event = pop.value("event", "");
      const char* field = event == "call.answered" ? "answered_at" : event == "call.ended" ? "ended_at" : "started_at";
      if (event == "call.outbound" || event == "call.ringing" || event == "call.answered" || event == "call.ended") {
        EXPECT_EQ(pop["at"], call[field]) << event;
      }
    }
  }
}

// 10 000 random transfers during a call: the call is intact, every refused
// frame is counted, the sequence check is not moved by them, and the log
// holds at most 5 lines for them plus one summary (x800.md 4.2).
TEST(LineTruth, AFloodOfBadFramesLeavesTheCallIntactAndTheLogShort) {
  Workspace workspace("flood");
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(box A serial=X800-FLOOD lines=1
at 0.5 A:1 ring cadence=1.0/2.0 count=1
at 1.0 A:1 offhook
at 2.0 A garbage count=10000 size=16 seed=3
at 6.0 A:1 onhook
at 6.5 A:1 ring cadence=1.0/2.0 count=1
at 7.0 A:1 offhook
at 8.0 A:1 onhook
at 600 end
)"));  // no early end: the test reads the status, then stops it
  ASSERT_GT(simulator, 0);
  ASSERT_TRUE(wait_until(
      [&] {
        const auto calls = workspace.calls();
        return calls.is_array() && calls.size() == 2 && calls[0].value("state", "") == "ended";
      },
      std::chrono::seconds(40), "both calls to end"))
      << workspace.log();
  const auto status = workspace.cli_json({"status", "--json"});
  workspace.stop_simulator(simulator);

  const auto calls = workspace.calls();
  ASSERT_EQ(calls.size(), 2u) << calls.dump(2);
  std::vector<double> durations;
  for (const auto& call : calls) {
    EXPECT_EQ(call["outcome"], "answered") << call.dump(2);
    EXPECT_FALSE(workspace.recording_of(call.value("id", "")).empty());
    durations.push_back(call["duration_s"].get<double>());
  }
  std::sort(durations.begin(), durations.end());
  EXPECT_NEAR(durations[0], 1.0, 0.05);
  EXPECT_NEAR(durations[1], 5.0, 0.05);
  const auto& faults = status["boxes"][0]["faults"];
  EXPECT_GT(faults.value("malformed_report", 0), 0) << status.dump(2);
  EXPECT_EQ(faults.value("lost_reports", 0), 0) << status.dump(2);
  const auto log = workspace.log();
  EXPECT_LE(count_lines(log, "box X800-FLOOD: malformed_report:"), 6u) << log.substr(0, 4000);
  EXPECT_NE(log.find("more not logged one by one"), std::string::npos) << log.substr(0, 4000);
}

// Busy tone heard while the rep is still inside the inter-digit window: the
// number was refused or busy, and the call ends as remote_hangup.
TEST(LineTruth, BusyToneWhileDiallingEndsAsRemoteHangup) {
  Workspace workspace("busy-dialling");
  ASSERT_EQ(workspace.run_scenario(R"(box A serial=X800-BUSYDIAL lines=1
at 1.0 A:1 offhook
at 1.5 A:1 dial digits=88 via=dtmf
at 2.5 A:1 play busy duration=4
at 6.0 A:1 onhook
at 7.0 end
)"),
            0)
      << workspace.log();
  const double t0 = workspace.scenario_start();
  const auto calls = workspace.calls();
  ASSERT_EQ(calls.size(), 1u) << calls.dump(2);
  EXPECT_EQ(calls[0]["number"], "88");
  EXPECT_EQ(calls[0]["outcome"], "remote_hangup") << workspace.log();
  EXPECT_NEAR(at(calls[0], "ended_at"), t0 + 2.5, 0.15);
}

}  // namespace
}  // namespace deskline::testing
