#include "daemon/domain/call_json.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <set>
#include <sstream>
#include <string>

namespace deskline::daemon {
namespace {

using nlohmann::json;

// 2026-11-27T05:45:02Z = 13:45:02 in Shanghai.
constexpr WallTimeUs base = 1'795'758'302LL * 1'000'000;

// Sets TZ for one test and puts the old value back.
class TimeZone {
 public:
  explicit TimeZone(const char* zone) {
    if (const char* old = std::getenv("TZ")) old_ = old;
    ::setenv("TZ", zone, 1);
    ::tzset();
  }
  ~TimeZone() {
    if (old_)
      ::setenv("TZ", old_->c_str(), 1);
    else
      ::unsetenv("TZ");
    ::tzset();
  }

 private:
  std::optional<std::string> old_;
};

CallRecord answered_inbound() {
  CallRecord call;
  call.id = "0b5e0c6e-1111-4c3a-9a51-000000000001";
  call.line = "Sales 1";
  call.box = "X800-0001";
  call.port = 1;
  call.direction = Direction::inbound;
  call.number = "13812345678";
  call.name = "LI NA";
  call.state = CallState::ended;
  call.outcome = Outcome::answered;
  call.end_reason = EndReason::on_hook;
  call.started_at = base + 125'000;
  call.answered_at = base + 7'625'000;
  call.ended_at = base + 65'375'000;
  return call;
}

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

TEST(CallJson, ExactlyTheDocumentedFields) {
  TimeZone zone("Asia/Shanghai");
  const json call = call_to_json(answered_inbound());
  std::set<std::string> keys;
  for (const auto& [key, value] : call.items()) keys.insert(key);
  EXPECT_EQ(keys, (std::set<std::string>{"id", "line", "box", "port", "direction", "number", "number_absence", "name",
                                         "state", "outcome", "end_reason", "started_at", "answered_at", "ended_at",
                                         "duration_s", "ring_s"}));
}

TEST(CallJson, AnsweredInboundCall) {
  TimeZone zone("Asia/Shanghai");
  const json call = call_to_json(answered_inbound());
  EXPECT_EQ(call["id"], "0b5e0c6e-1111-4c3a-9a51-000000000001");
  EXPECT_EQ(call["line"], "Sales 1");
  EXPECT_EQ(call["box"], "X800-0001");
  EXPECT_EQ(call["port"], 1);
  EXPECT_EQ(call["direction"], "inbound");
  EXPECT_EQ(call["number"], "13812345678");
  EXPECT_TRUE(call["number_absence"].is_null());
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

// Start column of each field in a table line, counted in display columns.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  return lines;
}

TEST(CallsTable, AlignedColumns) {
  TimeZone zone("Asia/Shanghai");
  CallRecord missed = answered_inbound();
  missed.id = "2";
  missed.line = "Support";
  missed.outcome = Outcome::missed;
  missed.number = "";
  missed.number_absence = 'P';
  missed.answered_at.reset();
  CallRecord active = answered_inbound();
  active.id = "3";
  active.direction = Direction::outbound;
  active.state = CallState::active;
  active.outcome.reset();
  active.ended_at.reset();
  CallRecord long_call = answered_inbound();
  long_call.ended_at = *long_call.answered_at + 3'725'000'000;  // 1:02:05

  const std::string table = calls_table({answered_inbound(), missed, active, long_call});
  const auto lines = lines_of(table);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], "STARTED              LINE     DIRECTION  NUMBER       OUTCOME   DURATION");
  EXPECT_EQ(lines[1], "2026-11-27 13:45:02  Sales 1  inbound    13812345678  answered      0:58");
  EXPECT_EQ(lines[2], "2026-11-27 13:45:02  Support  inbound    (private)    missed        0:00");
  EXPECT_EQ(lines[3], "2026-11-27 13:45:02  Sales 1  outbound   13812345678  active           -");
  EXPECT_EQ(lines[4], "2026-11-27 13:45:02  Sales 1  inbound    13812345678  answered   1:02:05");
}

TEST(CallsTable, WideCharactersKeepColumnsAligned) {
  TimeZone zone("Asia/Shanghai");
  CallRecord chinese = answered_inbound();
  chinese.line = "销售一线";  // 4 characters, 8 columns
  const auto lines = lines_of(calls_table({chinese, answered_inbound()}));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1].substr(0, 21 + 12 + 2), "2026-11-27 13:45:02  销售一线  ");
  EXPECT_EQ(lines[2].substr(0, 21 + 10), "2026-11-27 13:45:02  Sales 1   ");
}

TEST(CallsTable, EmptyAndJsonInput) {
  EXPECT_EQ(calls_table(std::vector<CallRecord>{}), "no calls\n");
  EXPECT_EQ(calls_table(json::array()), "no calls\n");
  // What an older or foreign daemon might send: missing and mistyped fields
  // are shown as blanks, never thrown on.
  const json odd = json::array({json{{"line", 5}, {"duration_s", "x"}}, json("not an object")});
  const auto lines = lines_of(calls_table(odd));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find('-'), std::string::npos);
}

RecordingRecord complete_recording() {
  RecordingRecord recording;
  recording.call_id = "0b5e0c6e-1111-4c3a-9a51-000000000001";
  recording.path = "/var/lib/deskline/recordings/2026/11/27/0b5e0c6e-1111-4c3a-9a51-000000000001.opus";
  recording.state = RecordingState::complete;
  recording.started_at = base + 7'625'000;
  recording.duration_s = 57.75;
  recording.bytes = 118'272;
  recording.sha256 = std::string(64, 'a');
  return recording;
}

TEST(RecordingJson, JoinsTheCall) {
  TimeZone zone("Asia/Shanghai");
  const json recording = recording_to_json(complete_recording(), answered_inbound());
  EXPECT_EQ(recording["call_id"], "0b5e0c6e-1111-4c3a-9a51-000000000001");
  EXPECT_EQ(recording["line"], "Sales 1");
  EXPECT_EQ(recording["direction"], "inbound");
  EXPECT_EQ(recording["number"], "13812345678");
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
  EXPECT_TRUE(recording["path"].is_null());
  EXPECT_TRUE(recording["sha256"].is_null());
  EXPECT_EQ(recording["error"], "free space below 200 MB");
  EXPECT_EQ(recording["bytes"], 0u);
  EXPECT_DOUBLE_EQ(recording["duration_s"].get<double>(), 0.0);
}

TEST(RecordingsTable, AlignedColumns) {
  TimeZone zone("Asia/Shanghai");
  RecordingRecord refused;
  refused.call_id = "9c0ffee0-2222-4c3a-9a51-000000000002";
  refused.state = RecordingState::refused;
  refused.started_at = base;
  CallRecord outbound = answered_inbound();
  outbound.direction = Direction::outbound;
  outbound.number = "01062345678";
  outbound.line = "Sales 22";
  RecordingRecord big = complete_recording();
  big.bytes = 3 * 1024 * 1024 + 512 * 1024;
  big.duration_s = 3725.4;
  const json list = json::array({recording_to_json(complete_recording(), answered_inbound()),
                                 recording_to_json(refused, outbound), recording_to_json(big, std::nullopt)});
  const auto lines = lines_of(recordings_table(list));
  ASSERT_EQ(lines.size(), 4u);
  const auto path = complete_recording().path;
  EXPECT_EQ(lines[0],
            "CALL      STARTED              LINE      DIRECTION  NUMBER       DURATION      SIZE  STATE     PATH");
  EXPECT_EQ(lines[1],
            "0b5e0c6e  2026-11-27 13:45:09  Sales 1   inbound    13812345678      0:58  115.5 KB  complete  " + path);
  EXPECT_EQ(lines[2],
            "9c0ffee0  2026-11-27 13:45:02  Sales 22  outbound   01062345678      0:00       0 B  refused   -");
  EXPECT_EQ(lines[3],
            "0b5e0c6e  2026-11-27 13:45:09  -         -          -             1:02:05    3.5 MB  complete  " + path);
  EXPECT_EQ(recordings_table(json::array()), "no recordings\n");
}

}  // namespace
}  // namespace deskline::daemon
