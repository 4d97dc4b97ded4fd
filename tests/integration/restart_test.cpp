// A daemon restart while the box stays powered (x800.md 8.2): the simulator's
// "restart" action kills or stops desklined mid-call and starts it again; the
// new daemon asks the box for its line states and joins the call in progress.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <ostream>

#include "tests/integration/harness.hpp"
#include "tests/integration/pop_client.hpp"

namespace deskline::testing {
namespace {

// Absolute times from the box clock land within this of the scripted instant.
constexpr double time_tolerance_s = 0.100;

bool restarted(const nlohmann::json& entry) { return entry.value("kind", "") == "child_restart"; }

// The line_state answer the restarted daemon got for a port.
nlohmann::json line_state_after_restart(const std::vector<nlohmann::json>& trace, int port) {
  bool after_restart = false;
  for (const auto& entry : trace) {
    after_restart = after_restart || restarted(entry);
    if (after_restart && entry.value("kind", "") == "report" && entry.value("type", "") == "line_state" &&
        entry.value("line", 0) == port)
      return entry;
  }
  return {};
}

const nlohmann::json* find_call(const nlohmann::json& calls, const std::string& direction, const std::string& outcome) {
  for (const auto& call : calls)
    if (call.value("direction", "") == direction && call.value("outcome", "") == outcome) return &call;
  return nullptr;
}

// The joined_in_progress event of a call, read from the database as any SQL
// client would (the CLI does not show call events).
nlohmann::json join_event(const Workspace& workspace, const std::string& call_id) {
  std::string output;
  const auto database = workspace.dir() / "data" / "deskline.db";
  const int status = tools::run_capture(
      {"sqlite3", "-json", database.string(),
       "SELECT detail FROM call_events WHERE type = 'joined_in_progress' AND call_id = '" + call_id + "'"},
      output);
  const auto rows = nlohmann::json::parse(output, nullptr, false);
  if (status != 0 || !rows.is_array() || rows.size() != 1) return {{"error", output}};
  return nlohmann::json::parse(rows[0].value("detail", ""), nullptr, false);
}

double at(const nlohmann::json& call, const char* field) { return parse_iso8601(call.value(field, "")); }

struct RestartCase {
  const char* name;
  const char* signal;
  bool killed;  // SIGKILL: no clean shutdown, startup repair closes the call
};

void PrintTo(const RestartCase& test, std::ostream* out) { *out << test.name; }  // readable ctest names

class RestartDuringACall : public ::testing::TestWithParam<RestartCase> {};

TEST_P(RestartDuringACall, TheNewDaemonJoinsTheCallInProgress) {
  const auto& test = GetParam();
  Workspace workspace(std::string("restart-") + test.name);
  ASSERT_EQ(workspace.run_scenario(std::string(R"(
box A serial=X800-JOIN lines=2
at 0.5 A:1 ring cadence=1.0/2.0 count=2
at 0.6 A:1 callerid number=13700001111
at 1.5 A:1 offhook
at 3.0 restart signal=)") + test.signal + R"(
at 9.0 A:1 onhook
at 10.0 end
)"),
            0)
      << workspace.log();

  const auto trace = workspace.trace();
  const double t0 = workspace.scenario_start();
  ASSERT_GT(t0, 0) << "no scenario_start in the trace";
  const auto snapshot = line_state_after_restart(trace, 1);
  ASSERT_TRUE(snapshot.is_object()) << "the restarted daemon did not ask for line states\n" << workspace.log();
  EXPECT_EQ(snapshot.value("off_hook", false), true);
  const double joined_at = t0 + snapshot.value("scenario_s", 0.0);

  const auto calls = workspace.calls();
  ASSERT_TRUE(calls.is_array()) << calls.dump(2);
  ASSERT_EQ(calls.size(), 2u) << calls.dump(2) << workspace.log();

  const auto* interrupted = find_call(calls, "inbound", "interrupted");
  ASSERT_NE(interrupted, nullptr) << calls.dump(2);
  EXPECT_EQ((*interrupted)["number"], "13700001111");
  EXPECT_NEAR(at(*interrupted, "started_at"), t0 + 0.5, time_tolerance_s);
  EXPECT_NEAR(at(*interrupted, "answered_at"), t0 + 1.5, time_tolerance_s);
  // A clean stop ends it when the daemon stopped; after a kill, the last
  // moment known is the end of its repaired recording (pages written by then).
  const auto recordings = workspace.cli_json({"recordings", "--json"});
  const nlohmann::json* cut_recording = nullptr;
  for (const auto& row : recordings)
    if (row.value("call_id", "") == (*interrupted)["id"]) cut_recording = &row;
  ASSERT_NE(cut_recording, nullptr) << recordings.dump(2);
  // Desks that saw the call start hear that it ended, from the new daemon if the old one was killed.
  std::string ended_pops;
  tools::run_capture({"sqlite3", (workspace.dir() / "data" / "deskline.db").string(),
                      "SELECT count(*) FROM pop_events WHERE event LIKE '%\"event\":\"call.ended\"%' AND call_id = '" +
                          (*interrupted)["id"].get<std::string>() + "'"},
                     ended_pops);
  EXPECT_EQ(ended_pops, "1\n");
  if (test.killed) {
    EXPECT_EQ((*cut_recording)["state"], "repaired") << cut_recording->dump();
    EXPECT_NEAR(at(*interrupted, "ended_at"), t0 + 1.5 + (*cut_recording)["duration_s"].get<double>(),
                time_tolerance_s)
        << cut_recording->dump();
    EXPECT_LE(at(*interrupted, "ended_at"), t0 + 3.0 + time_tolerance_s);
  } else {
    EXPECT_NEAR(at(*interrupted, "ended_at"), t0 + 3.0, time_tolerance_s);
  }

  const auto* joined = find_call(calls, "unknown", "completed");
  ASSERT_NE(joined, nullptr) << calls.dump(2);
  EXPECT_EQ((*joined)["line"], "X800-JOIN:1");
  EXPECT_EQ((*joined)["number"], "13700001111");  // it continues the interrupted call, whose caller ID it carries
  EXPECT_TRUE((*joined)["answered_at"].is_null());
  EXPECT_TRUE((*joined)["ring_s"].is_null());
  EXPECT_NEAR(at(*joined, "started_at"), joined_at, time_tolerance_s);
  EXPECT_NEAR(at(*joined, "ended_at"), t0 + 9.0, time_tolerance_s);
  EXPECT_NEAR((*joined)["duration_s"].get<double>(), t0 + 9.0 - joined_at, time_tolerance_s);
  EXPECT_GT(at(*joined, "started_at"), at(*interrupted, "ended_at"));

  // Recorded from the join on (policy "always"), up to the on-hook.
  const nlohmann::json* recording = nullptr;
  for (const auto& row : recordings)
    if (row.value("call_id", "") == (*joined)["id"]) recording = &row;
  ASSERT_NE(recording, nullptr) << recordings.dump(2) << workspace.log();
  EXPECT_EQ((*recording)["state"], "complete") << recording->dump();
  EXPECT_GT((*recording)["duration_s"].get<double>(), (*joined)["duration_s"].get<double>() - 1.0)
      << recording->dump();

  const auto link = join_event(workspace, (*joined)["id"]);
  EXPECT_EQ(link.value("line_state", ""), "off_hook") << link.dump();
  EXPECT_EQ(link.value("interrupted_call_id", ""), (*interrupted)["id"]) << link.dump();
  const auto log = workspace.log();
  EXPECT_NE(log.find("idle -> joined (joined_off_hook)"), std::string::npos) << log;
  EXPECT_NE(log.find("joined -> idle (on_hook)"), std::string::npos) << log;
}

INSTANTIATE_TEST_SUITE_P(Signals, RestartDuringACall,
                         ::testing::Values(RestartCase{"kill", "kill", true}, RestartCase{"term", "term", false}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(RestartWhileRinging, TheNewDaemonPopsTheRingingCall) {
  Workspace workspace("restart-ringing");
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(
box A serial=X800-RING lines=1
# Long bursts: the restarted daemon attaches inside the first one.
at 0.5 A:1 ring cadence=6.0/2.0 count=2
at 1.0 restart signal=kill
at 9.0 A:1 offhook
at 11.0 A:1 onhook
at 12.0 end
)"));
  ASSERT_GT(simulator, 0);
  ASSERT_TRUE(wait_until(
      [&] {
        const auto trace = workspace.trace();
        return std::any_of(trace.begin(), trace.end(), restarted);
      },
      std::chrono::seconds(30), "the simulator to restart desklined (child_restart in the trace)"))
      << workspace.log();
  PopTestClient client;
  ASSERT_TRUE(client.connect(workspace.dir() / "run" / "events.sock"));
  const auto ringing = client.until("call.ringing");  // live, or replayed on connect
  ASSERT_TRUE(ringing) << workspace.log();
  EXPECT_EQ((*ringing)["direction"], "inbound");
  EXPECT_EQ((*ringing)["line"], "X800-RING:1");
  const auto answered = client.until("call.answered");
  ASSERT_TRUE(answered) << workspace.log();
  EXPECT_EQ((*answered)["call_id"], (*ringing)["call_id"]);
  ASSERT_EQ(workspace.wait_for_simulator(simulator), 0) << workspace.log();

  const auto trace = workspace.trace();
  const double t0 = workspace.scenario_start();
  const auto snapshot = line_state_after_restart(trace, 1);
  ASSERT_TRUE(snapshot.is_object()) << workspace.log();
  EXPECT_EQ(snapshot.value("ringing", false), true);
  const double joined_at = t0 + snapshot.value("scenario_s", 0.0);

  const auto calls = workspace.calls();
  ASSERT_EQ(calls.size(), 2u) << calls.dump(2) << workspace.log();
  const auto* interrupted = find_call(calls, "inbound", "interrupted");
  ASSERT_NE(interrupted, nullptr) << calls.dump(2);
  EXPECT_NEAR(at(*interrupted, "started_at"), t0 + 0.5, time_tolerance_s);
  const auto* joined = find_call(calls, "inbound", "answered");
  ASSERT_NE(joined, nullptr) << calls.dump(2);
  EXPECT_EQ((*joined)["id"], (*ringing)["call_id"]);
  EXPECT_NEAR(at(*joined, "started_at"), joined_at, time_tolerance_s);
  EXPECT_NEAR(at(*joined, "answered_at"), t0 + 9.0, time_tolerance_s);
  EXPECT_NEAR(at(*joined, "ended_at"), t0 + 11.0, time_tolerance_s);
  const auto link = join_event(workspace, (*joined)["id"]);
  EXPECT_EQ(link.value("line_state", ""), "ringing") << link.dump();
  EXPECT_EQ(link.value("interrupted_call_id", ""), (*interrupted)["id"]) << link.dump();
}

TEST(RestartWithAnOldBox, TheCallStaysUnseenAndNothingBreaks) {
  Workspace workspace("restart-old-box");
  ASSERT_EQ(workspace.run_scenario(R"(
box A serial=X800-OLD lines=1 line_state=no firmware=1.3.0
at 0.5 A:1 offhook
at 3.0 restart signal=kill
at 7.0 A:1 onhook
# The next call is seen as usual.
at 8.0 A:1 offhook
at 9.0 A:1 onhook
at 10.0 end
)"),
            0)
      << workspace.log();
  // The box refused get_line_state the way old firmware does.
  bool refused = false;
  for (const auto& entry : workspace.trace())
    refused = refused || (entry.value("kind", "") == "command" && entry.value("error", "") == "unknown_type");
  EXPECT_TRUE(refused) << "the box never refused get_line_state";

  const auto calls = workspace.calls();
  ASSERT_EQ(calls.size(), 2u) << calls.dump(2) << workspace.log();
  EXPECT_NE(find_call(calls, "outbound", "interrupted"), nullptr) << calls.dump(2);
  EXPECT_NE(find_call(calls, "outbound", "abandoned"), nullptr) << calls.dump(2);
  const auto log = workspace.log();
  EXPECT_NE(log.find("does not report line state"), std::string::npos) << log;
  EXPECT_EQ(log.find("box_error"), std::string::npos) << log;  // expected, so not counted as a fault
  EXPECT_EQ(log.find("joined in progress"), std::string::npos) << log;
}

}  // namespace
}  // namespace deskline::testing
