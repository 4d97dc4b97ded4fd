// Malformed reports are counted and logged with the box serial; the daemon
// keeps running and the next valid call is recorded correctly.
#include <gtest/gtest.h>

#include "tests/integration/harness.hpp"

namespace deskline::testing {
namespace {

constexpr const char* scenario = R"(box A serial=X800-IT-BAD lines=2
# truncated (3 bytes), bad version, unknown type 0x7e, bad length (payload 200),
# bad checksum (a valid ring report with its last byte changed), and noise
at 0.5 A raw 01 03 00
at 0.6 A raw 09 03 00 00 00 01 00 00 00 00 00 00 00 00 01 f3
at 0.7 A raw 01 7e 00 00 00 00 00 00 00 00 00 00 00 00 81
at 0.8 A raw 01 02 00 00 00 c8 00 00 00 00 00 00 00 00 00 35
at 0.9 A raw 01 03 05 00 00 01 00 00 00 00 00 00 00 00 01 00
at 1.0 A garbage count=5 size=20 seed=7
at 2.0 A:1 ring cadence=1.0/2.0 count=2
at 2.2 A:1 callerid number=13812345678
at 3.5 A:1 offhook
at 5.5 A:1 onhook
at 600 end
)";  // no early end: the test reads the fault counters, then stops it

TEST(Malformed, GarbageIsCountedAndTheNextCallStillRecorded) {
  Workspace workspace("malformed");
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(scenario));
  ASSERT_GT(simulator, 0);

  // While the daemon runs: wait for the call to end, then read the fault counters.
  const auto ended = wait_until(
      [&] {
        const auto calls = workspace.calls();
        return calls.is_array() && !calls.empty() && calls[0].value("state", "") == "ended";
      },
      std::chrono::seconds(30), "the call to end");
  const auto status = ended ? workspace.cli_json({"status", "--json"}) : nlohmann::json();
  workspace.stop_simulator(simulator);
  ASSERT_TRUE(ended) << workspace.log();
  ASSERT_TRUE(status.is_object()) << status.dump() << "\n" << workspace.log();

  ASSERT_EQ(status["boxes"].size(), 1u) << status.dump(2);
  const auto& box = status["boxes"][0];
  EXPECT_EQ(box["serial"], "X800-IT-BAD");
  // Five crafted frames plus five random ones are all refused.
  EXPECT_GE(box["faults"].value("malformed_report", 0), 10) << status.dump(2);

  const auto log = workspace.log();
  for (const char* reason : {"truncated", "bad_version", "unknown_type", "bad_length", "bad_checksum"})
    EXPECT_NE(log.find(std::string("box X800-IT-BAD: malformed_report: ") + reason), std::string::npos)
        << reason << "\n" << log;

  const auto calls = workspace.calls();
  ASSERT_EQ(calls.size(), 1u) << calls.dump(2);
  EXPECT_EQ(calls[0]["number"], "13812345678");
  EXPECT_EQ(calls[0]["outcome"], "answered");
  EXPECT_NEAR(calls[0]["duration_s"].get<double>(), 2.0, 0.050);
}

}  // namespace
}  // namespace deskline::testing
