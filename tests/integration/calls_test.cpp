// The foundation acceptance: the real desklined under deskline-sim turns a
// scripted set of line events into exactly the right calls.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "tests/integration/harness.hpp"

namespace deskline::testing {
namespace {

// Times in the comments are scenario seconds.
constexpr const char* morning = R"(scenario version=1
box A serial=X800-IT-01 lines=4 rate=8000 decode=yes model="X800-4"

# Two lines ring at once. Port 1 is answered (caller ID by box report),
# port 2 is missed.
at 0.5  A:1 ring cadence=1.0/2.0 count=3
at 0.5  A:2 ring cadence=1.0/2.0 count=2
at 0.7  A:1 callerid number=13812345678 name="ZHANG WEI"
at 1.2  A:2 callerid number=02161234567
at 3.8  A:1 offhook
at 8.3  A:1 onhook

# Outbound call, digits reported by the box.
at 2.0  A:3 offhook
at 2.5  A:3 dial digits=01062345678 tone_ms=80 gap_ms=80
at 9.0  A:3 onhook

# A call cut by an unplug, then another call after the re-plug.
at 9.0  A:4 ring cadence=1.0/2.0 count=3
at 9.3  A:4 callerid number=075523456789
at 10.5 A:4 offhook
at 12.5 A unplug
at 13.0 A:4 onhook          # hung up while the box was away: no report
at 13.5 A plug
at 15.0 A:1 ring cadence=1.0/2.0 count=2
at 15.2 A:1 callerid number=13900001111
at 16.0 A:1 offhook
at 18.25 A:1 onhook
at 19.5 end
)";

constexpr const char* timeouts = R"(
[calls]
ring_timeout_s = 3.0
inter_digit_timeout_s = 2.0
)";


double seconds_between(const nlohmann::json& call, const char* from, const char* to);

TEST(Calls, ScriptedScenarioBecomesExactlyTheRightCalls) {
  Workspace workspace("calls", timeouts);
  ASSERT_EQ(workspace.run_scenario(morning), 0) << workspace.log();

  const auto calls = workspace.calls();
  ASSERT_TRUE(calls.is_array()) << calls.dump(2);
  ASSERT_EQ(calls.size(), 5u) << calls.dump(2) << workspace.log();

  struct Expected {
    std::string number, direction, outcome, line;
    double duration_s;
    // A lost box sends no end time: the call ends when the host notices,
    // later on a loaded machine (57 ms once under ASan), never earlier.
    double late_up_to_s = 0.05;
  };
  // duration_s: answered to hang-up (inbound), off-hook to on-hook (outbound), 0 when missed.
  const std::vector<Expected> expected = {
      {"13812345678", "inbound", "answered", "X800-IT-01:1", 4.5},
      {"02161234567", "inbound", "missed", "X800-IT-01:2", 0.0},
      {"01062345678", "outbound", "completed", "X800-IT-01:3", 7.0},
      {"075523456789", "inbound", "device_lost", "X800-IT-01:4", 2.0, 1.0},
      {"13900001111", "inbound", "answered", "X800-IT-01:1", 2.25},
  };
  const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  for (const auto& want : expected) {
    SCOPED_TRACE(want.number);
    const auto* call = find_call_by_number(calls, want.number);
    ASSERT_NE(call, nullptr) << calls.dump(2);
    EXPECT_TRUE(std::regex_match(call->value("id", ""), uuid)) << call->dump();
    EXPECT_EQ(call->value("direction", ""), want.direction);
    EXPECT_EQ(call->value("outcome", ""), want.outcome);
    EXPECT_EQ(call->value("line", ""), want.line);
    EXPECT_EQ(call->value("box", ""), "X800-IT-01");
    EXPECT_EQ(call->value("state", ""), "ended");
    ASSERT_TRUE((*call)["duration_s"].is_number()) << call->dump();
    EXPECT_GE((*call)["duration_s"].get<double>(), want.duration_s - 0.050) << call->dump();
    EXPECT_LE((*call)["duration_s"].get<double>(), want.duration_s + want.late_up_to_s) << call->dump();
    EXPECT_TRUE((*call)["started_at"].is_string());
    EXPECT_TRUE((*call)["ended_at"].is_string());
  }
  // Ring times come from box timestamps too.
  EXPECT_NEAR(seconds_between(*find_call_by_number(calls, "13812345678"), "started_at", "answered_at"), 3.3, 0.050);
  EXPECT_NEAR(seconds_between(*find_call_by_number(calls, "075523456789"), "started_at", "answered_at"), 1.5, 0.050);
  EXPECT_EQ((*find_call_by_number(calls, "13812345678"))["name"], "ZHANG WEI");
  EXPECT_TRUE((*find_call_by_number(calls, "02161234567"))["answered_at"].is_null());
  // Every transition is logged with its line and call id.
  const auto log = workspace.log();
  EXPECT_NE(log.find("line=X800-IT-01:1 call="), std::string::npos);
  EXPECT_NE(log.find("ringing -> answered (off_hook)"), std::string::npos);
  EXPECT_NE(log.find("dialing -> outbound (dial_timeout)"), std::string::npos);
  EXPECT_NE(log.find("ringing -> idle (ring_timeout)"), std::string::npos);
  EXPECT_NE(log.find("answered -> idle (device_lost)"), std::string::npos);
}

// Seconds between two ISO 8601 timestamps of a call (millisecond precision).
double seconds_between(const nlohmann::json& call, const char* from, const char* to) {
  return parse_iso8601(call.value(to, "")) - parse_iso8601(call.value(from, ""));
}

TEST(Calls, ReplugBringsTheBoxBackWithinASecond) {
  Workspace workspace("replug");
  ASSERT_EQ(workspace.run_scenario(R"(box A serial=X800-IT-02 lines=1
at 1.0 A unplug
at 2.0 A plug
at 4.0 end
)"),
            0)
      << workspace.log();
  // From the plug action to the daemon's first command to the new box.
  double plugged_at = -1, first_command_at = -1;
  for (const auto& entry : workspace.trace()) {
    const auto kind = entry.value("kind", "");
    if (kind == "action" && entry.value("action", "") == "plug") plugged_at = entry.value("t_real", 0.0);
    if (plugged_at > 0 && first_command_at < 0 && kind == "command")
      first_command_at = entry.value("t_real", 0.0);
  }
  ASSERT_GT(plugged_at, 0) << "no plug in the trace";
  ASSERT_GT(first_command_at, 0) << "the daemon never talked to the re-plugged box\n" << workspace.log();
  std::printf("re-plug to first command: %.1f ms\n", (first_command_at - plugged_at) * 1000);
  EXPECT_LT(first_command_at - plugged_at, 1.0);
  EXPECT_NE(workspace.log().find("box X800-IT-02 back in service"), std::string::npos) << workspace.log();
}

}  // namespace
}  // namespace deskline::testing
