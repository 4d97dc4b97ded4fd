#include "tools/cli/tables.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "daemon/domain/call_json.hpp"
#include "tests/unit/call_test_support.hpp"

namespace deskline::tools {
namespace {

using nlohmann::json;
using namespace daemon;
using testing_support::answered_inbound;
using testing_support::base;
using testing_support::complete_recording;
using testing_support::TimeZone;

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
}  // namespace deskline::tools
