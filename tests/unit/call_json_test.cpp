#include "daemon/domain/call_json.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "tests/unit/call_test_support.hpp"

namespace deskline::daemon {
namespace {

using nlohmann::json;
using testing_support::answered_inbound;
using testing_support::base;
using testing_support::complete_recording;
using testing_support::TimeZone;

TEST(Iso8601, ShanghaiWithMilliseconds) {
  TimeZone zone("Asia/Shanghai");
  EXPECT_EQ(format_iso8601(base + 125'000), "2026-11-27T13:45:02.125+08:00");
  EXPECT_EQ(format_iso8601(base), "2026-11-27T13:45:02.000+08:00");
  EXPECT_EQ(format_iso8601(base + 999'999), "2026-11-27T13:45:02.999+08:00");  // truncated, not rounded up
}

TEST(Iso8601, OtherZones) {
  {
    TimeZone zone("UTC");
    EXPECT_EQ(format_iso8601(base + 125'000), "2026-11-27T05:45:02.125+00:00");
  }
  {
    TimeZone zone("America/New_York");
    EXPECT_EQ(format_iso8601(base), "2026-11-27T00:45:02.000-05:00");
    EXPECT_EQ(format_iso8601(base - 140LL * 86400 * 1'000'000), "2026-07-10T01:45:02.000-04:00");  // DST
  }
  {
    TimeZone zone("Asia/Kolkata");
    EXPECT_EQ(format_iso8601(base), "2026-11-27T11:15:02.000+05:30");
  }
}

TEST(Iso8601, BeforeTheEpoch) {
  TimeZone zone("Asia/Shanghai");
  EXPECT_EQ(format_iso8601(0), "1970-01-01T08:00:00.000+08:00");
  EXPECT_EQ(format_iso8601(-1), "1970-01-01T07:59:59.999+08:00");
}

TEST(RecordingFileName, DateTimeLineDirectionNumber) {
  TimeZone zone("Asia/Shanghai");
  CallRecord call;
  call.started_at = base;
  call.line = "front desk/2";
  call.number = "13812345678";
  EXPECT_EQ(recording_file_name(call), "2026-11-27_1345_front-desk-2_inbound_13812345678");
  call.line = "前台";
  call.number.clear();
  call.direction = Direction::outbound;
  EXPECT_EQ(recording_file_name(call), "2026-11-27_1345_前台_outbound");
}

TEST(CallJson, ExactlyTheDocumentedFields) {
  TimeZone zone("Asia/Shanghai");
  const json call = call_to_json(answered_inbound());
  std::set<std::string> keys;
  for (const auto& [key, value] : call.items()) keys.insert(key);
  EXPECT_EQ(keys, (std::set<std::string>{"id", "line", "user", "box", "port", "direction", "number", "number_absence",
                                         "number_e164", "number_display", "customers", "name", "state", "outcome",
                                         "end_reason", "started_at", "answered_at", "ended_at", "duration_s",
                                         "ring_s"}));
}

TEST(CallJson, AnsweredInboundCall) {
  TimeZone zone("Asia/Shanghai");
  const json call = call_to_json(answered_inbound());
  EXPECT_EQ(call["id"], "0b5e0c6e-1111-4c3a-9a51-000000000001");
  EXPECT_EQ(call["line"], "Sales 1");
  EXPECT_EQ(call["box"], "X800-0001");
  EXPECT_EQ(call["port"], 1);
  EXPECT_EQ(call["direction"], "inbound");
  EXPECT_EQ(call["user"], "Li Na");
  EXPECT_EQ(call["number"], "13812345678");
  EXPECT_TRUE(call["number_absence"].is_null());
  EXPECT_EQ(call["number_e164"], "+8613812345678");
  EXPECT_EQ(call["number_display"], "138 1234 5678");
  EXPECT_EQ(call["customers"], json::parse(R"([{"id": "c-42", "name": "Zhang Wei", "company": "Acme", "url": "https://crm/c/42"},
                                               {"id": "c-7", "name": "Wang Fang", "company": "", "url": null}])"));
  EXPECT_EQ(call["name"], "LI NA");
  EXPECT_EQ(call["state"], "ended");
  EXPECT_EQ(call["outcome"], "answered");
  EXPECT_EQ(call["end_reason"], "on_hook");
  EXPECT_EQ(call["started_at"], "2026-11-27T13:45:02.125+08:00");
  EXPECT_EQ(call["answered_at"], "2026-11-27T13:45:09.625+08:00");
  EXPECT_EQ(call["ended_at"], "2026-11-27T13:46:07.375+08:00");
  EXPECT_DOUBLE_EQ(call["duration_s"].get<double>(), 57.75);
  EXPECT_DOUBLE_EQ(call["ring_s"].get<double>(), 7.5);
  EXPECT_EQ(call["duration_s"].dump(), "57.75");
}

TEST(CallJson, DurationsHaveMillisecondPrecision) {
  CallRecord call = answered_inbound();
  call.answered_at = call.started_at + 1'234'567;
  call.ended_at = *call.answered_at + 2'000'499;
  const json out = call_to_json(call);
  EXPECT_EQ(out["ring_s"].dump(), "1.235");
  EXPECT_EQ(out["duration_s"].dump(), "2.0");
}

TEST(CallJson, MissedCallHasZeroDurationAndRingsUntilTheEnd) {
  CallRecord call = answered_inbound();
  call.outcome = Outcome::missed;
  call.answered_at.reset();
  call.ended_at = call.started_at + 18'000'000;
  const json out = call_to_json(call);
  EXPECT_TRUE(out["answered_at"].is_null());
  EXPECT_EQ(out["duration_s"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(out["ring_s"].get<double>(), 18.0);
}

TEST(CallJson, ActiveCallHasNulls) {
  CallRecord call = answered_inbound();
  call.state = CallState::active;
  call.outcome.reset();
  call.end_reason.reset();
  call.answered_at.reset();
  call.ended_at.reset();
  json out = call_to_json(call);
  EXPECT_EQ(out["state"], "active");
  EXPECT_TRUE(out["outcome"].is_null());
  EXPECT_TRUE(out["end_reason"].is_null());
  EXPECT_TRUE(out["answered_at"].is_null());
  EXPECT_TRUE(out["ended_at"].is_null());
  EXPECT_TRUE(out["duration_s"].is_null());
  EXPECT_TRUE(out["ring_s"].is_null());  // still ringing

  call.answered_at = call.started_at + 4'000'000;  // talking now
  out = call_to_json(call);
  EXPECT_TRUE(out["duration_s"].is_null());
  EXPECT_DOUBLE_EQ(out["ring_s"].get<double>(), 4.0);
}

TEST(CallJson, OutboundCallHasNoRingTime) {
  CallRecord call = answered_inbound();
  call.direction = Direction::outbound;
  const json out = call_to_json(call);
  EXPECT_TRUE(out["ring_s"].is_null());
  EXPECT_DOUBLE_EQ(out["duration_s"].get<double>(), 57.75);
}

TEST(CallJson, OutboundWithoutAnswerSupervisionCountsFromOffHook) {
  CallRecord call = answered_inbound();
  call.direction = Direction::outbound;
  call.outcome = Outcome::completed;
  call.answered_at.reset();
  // started at base + 0.125 s, ended at base + 65.375 s
  EXPECT_DOUBLE_EQ(call_to_json(call)["duration_s"].get<double>(), 65.25);
}

TEST(CallJson, JoinedCallCountsTheSeenPartAndHasNoRingTime) {
  CallRecord call = answered_inbound();
  call.direction = Direction::unknown;
  call.number.clear();
  call.name.clear();
  call.outcome = Outcome::completed;
  call.answered_at.reset();
  const json out = call_to_json(call);
  EXPECT_EQ(out["direction"], "unknown");
  EXPECT_TRUE(out["answered_at"].is_null());
  EXPECT_TRUE(out["ring_s"].is_null());
  // from the join (base + 0.125 s) to the on-hook (base + 65.375 s)
  EXPECT_DOUBLE_EQ(out["duration_s"].get<double>(), 65.25);
}

TEST(CallJson, AbsenceReasons) {
  CallRecord call = answered_inbound();
  call.number = "";
  call.number_absence = 'P';
  EXPECT_EQ(call_to_json(call)["number_absence"], "private");
  call.number_absence = 'O';
  EXPECT_EQ(call_to_json(call)["number_absence"], "unavailable");
  EXPECT_EQ(call_to_json(call)["number"], "");
}

TEST(CallJson, ClockSteppedBackDoesNotGiveNegativeDurations) {
  CallRecord call = answered_inbound();
  call.ended_at = *call.answered_at - 1'000'000;
  EXPECT_EQ(call_to_json(call)["duration_s"].get<double>(), 0.0);
}

TEST(RecordingJson, JoinsTheCall) {
  TimeZone zone("Asia/Shanghai");
  const json recording = recording_to_json(complete_recording(), answered_inbound());
  EXPECT_EQ(recording["call_id"], "0b5e0c6e-1111-4c3a-9a51-000000000001");
  EXPECT_EQ(recording["line"], "Sales 1");
  EXPECT_EQ(recording["direction"], "inbound");
  EXPECT_EQ(recording["number"], "13812345678");
  // What a person reads the call by: the number as shown, and the customers it matched.
  EXPECT_EQ(recording["number_display"], "138 1234 5678");
  EXPECT_TRUE(recording["number_absence"].is_null());
  ASSERT_EQ(recording["customers"].size(), 2u);
  EXPECT_EQ(recording["customers"][0]["name"], "Zhang Wei");
  EXPECT_EQ(recording["customers"], call_to_json(answered_inbound())["customers"]);
  EXPECT_EQ(recording["started_at"], "2026-11-27T13:45:09.625+08:00");
  EXPECT_DOUBLE_EQ(recording["duration_s"].get<double>(), 57.75);
  EXPECT_EQ(recording["bytes"], 118'272u);
  EXPECT_EQ(recording["state"], "complete");
  EXPECT_EQ(recording["path"], complete_recording().path);
  EXPECT_EQ(recording["sha256"], std::string(64, 'a'));
  EXPECT_TRUE(recording["error"].is_null());
}

TEST(RecordingJson, RefusedRecordingWithoutItsCall) {
  RecordingRecord refused;
  refused.call_id = "0b5e0c6e-2222-4c3a-9a51-000000000002";
  refused.state = RecordingState::refused;
  refused.started_at = base;
  refused.error = "free space below 200 MB";
  const json recording = recording_to_json(refused, std::nullopt);
  // No call row (e.g. a foreign or damaged database): call fields are null, never invented.
  EXPECT_TRUE(recording["line"].is_null());
  EXPECT_TRUE(recording["direction"].is_null());
  EXPECT_TRUE(recording["number"].is_null());
  EXPECT_TRUE(recording["number_display"].is_null());
  EXPECT_TRUE(recording["number_absence"].is_null());
  EXPECT_TRUE(recording["customers"].is_null());
  EXPECT_TRUE(recording["path"].is_null());
  EXPECT_TRUE(recording["sha256"].is_null());
  EXPECT_EQ(recording["error"], "free space below 200 MB");
  EXPECT_EQ(recording["bytes"], 0u);
  EXPECT_DOUBLE_EQ(recording["duration_s"].get<double>(), 0.0);
}

}  // namespace
}  // namespace deskline::daemon
