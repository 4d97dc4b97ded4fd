#include "tools/cli/tables.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "daemon/domain/call_json.hpp"
#include "tests/terminal_text.hpp"
#include "tests/unit/call_test_support.hpp"

namespace deskline::tools {
namespace {

using nlohmann::json;
using namespace daemon;
using testing_support::answered_inbound;
using testing_support::base;
using testing_support::complete_recording;
using testing_support::TimeZone;
using deskline::testing::display_width;
using deskline::testing::lines_of;

TEST(CallsTable, AlignedColumns) {
  TimeZone zone("Asia/Shanghai");
  CallRecord missed = answered_inbound();
  missed.id = "2";
  missed.line = "Support";
  missed.outcome = Outcome::missed;
  missed.number = "";
  missed.number_absence = 'P';
  missed.match = {};
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
  EXPECT_EQ(lines[0], "STARTED              LINE     DIRECTION  NUMBER         CUSTOMER   OUTCOME     DURATION");
  EXPECT_EQ(lines[1], "2026-11-27 13:45:02  Sales 1  inbound    138 1234 5678  Zhang Wei  answered      57.8 s");
  EXPECT_EQ(lines[2], "2026-11-27 13:45:02  Support  inbound    withheld       LI NA      missed         0.0 s");
  EXPECT_EQ(lines[3], "2026-11-27 13:45:02  Sales 1  outbound   138 1234 5678  Zhang Wei  active             -");
  EXPECT_EQ(lines[4], "2026-11-27 13:45:02  Sales 1  inbound    138 1234 5678  Zhang Wei  answered  1 h 02 min");

  // With colour, the missed call's line is red, its words unchanged; nothing else is.
  json list = json::array();
  for (const auto& call : {answered_inbound(), missed, active, long_call}) list.push_back(call_to_json(call));
  const auto coloured = lines_of(calls_table(list, 0, /*colour=*/true));
  ASSERT_EQ(coloured.size(), 5u);
  EXPECT_EQ(coloured[2], in_red(lines[2]));
  for (const std::size_t plain : {0, 1, 3, 4}) EXPECT_EQ(coloured[plain], lines[plain]);
  EXPECT_EQ(in_red("missed"), "\x1b[31mmissed\x1b[0m");
}

TEST(CallsTable, ATableWiderThanTheTerminalCutsItsLongestTextColumns) {
  TimeZone zone("Asia/Shanghai");
  CallRecord call = answered_inbound();
  call.line = "销售一线 (Front office, second floor)";
  call.match.customers.front().name = "Zhang Wei of the very long company name department";
  const auto lines = lines_of(calls_table({call}, 60));
  ASSERT_EQ(lines.size(), 2u);
  for (const auto& line : lines) EXPECT_LE(display_width(line), 60u) << line;
  // The date loses its year, the customer is cut, direction and line go.
  EXPECT_EQ(lines[1], "11-27 13:45  138 1234 5678  Zhang W…  answered    57.8 s");
  // Wider, the line stays, cut after its start.
  const auto wider = lines_of(calls_table({call}, 80));
  for (const auto& line : wider) EXPECT_LE(display_width(line), 80u) << line;
  EXPECT_EQ(wider[1].rfind("11-27 13:45  销售一线", 0), 0u) << wider[1];
  EXPECT_NE(wider[1].find("…"), std::string::npos) << wider[1];
  EXPECT_NE(lines[1].find("57.8 s"), std::string::npos) << "numbers are never cut: " << lines[1];
  EXPECT_EQ(calls_table({call}), calls_table({call}, 0));  // 0: no limit, as when stdout is a file
}

TEST(CliText, OneDurationFormatAndOneWordPerMissingNumber) {
  EXPECT_EQ(duration_text(5.5), "5.5 s");
  EXPECT_EQ(duration_text(0), "0.0 s");
  EXPECT_EQ(duration_text(59.96), "1 min 00 s");
  EXPECT_EQ(duration_text(245), "4 min 05 s");
  EXPECT_EQ(duration_text(3725.4), "1 h 02 min");
  EXPECT_EQ(duration_text(3 * 86400 + 4 * 3600 + 5), "3 d 04 h");
  EXPECT_EQ(duration_text(-1), "0.0 s");
  EXPECT_EQ(number_text("138 1234 5678", "private"), "138 1234 5678");
  EXPECT_EQ(number_text("", "private"), "withheld");
  EXPECT_EQ(number_text("", "unavailable"), "unavailable");
  EXPECT_EQ(number_text("", ""), "-");
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
  outbound.match = {};  // a number that is no customer's
  outbound.name = "";
  RecordingRecord withheld = complete_recording();
  withheld.call_id = "7e11d000-3333-4c3a-9a51-000000000003";
  CallRecord private_caller = answered_inbound();
  private_caller.number = "";
  private_caller.number_absence = 'P';
  private_caller.match = {};
  private_caller.name = "";
  RecordingRecord big = complete_recording();
  big.bytes = 3 * 1024 * 1024 + 512 * 1024;
  big.duration_s = 3725.4;
  const json list = json::array({recording_to_json(complete_recording(), answered_inbound()),
                                 recording_to_json(refused, outbound), recording_to_json(withheld, private_caller),
                                 recording_to_json(big, std::nullopt)});
  const auto lines = lines_of(recordings_table(list));
  ASSERT_EQ(lines.size(), 5u);
  const auto path = complete_recording().path;
  // The number and the customer as in the calls table.
  EXPECT_EQ(lines[0], "CALL      STARTED              LINE      DIRECTION  NUMBER         CUSTOMER     DURATION      SIZE"
                      "  STATE     PATH");
  EXPECT_EQ(lines[1], "0b5e0c6e  2026-11-27 13:45:09  Sales 1   inbound    138 1234 5678  Zhang Wei      57.8 s  115.5 KB"
                      "  complete  " + path);
  EXPECT_EQ(lines[2], "9c0ffee0  2026-11-27 13:45:02  Sales 22  outbound   01062345678                    0.0 s       0 B"
                      "  refused   -");
  EXPECT_EQ(lines[3], "7e11d000  2026-11-27 13:45:09  Sales 1   inbound    withheld                      57.8 s  115.5 KB"
                      "  complete  " + path);
  EXPECT_EQ(lines[4], "0b5e0c6e  2026-11-27 13:45:09  -         -          -                         1 h 02 min    3.5 MB"
                      "  complete  " + path);
  EXPECT_EQ(recordings_table(json::array()), "no recordings\n");
  // On a 130-column terminal the path is cut at its start: the file name stays.
  for (const auto& line : lines_of(recordings_table(list, 130))) {
    EXPECT_LE(display_width(line), 130u) << line;
    if (line.find("complete") != std::string::npos) {
      EXPECT_TRUE(line.ends_with("000000000001.opus")) << line;
      EXPECT_NE(line.find("  …"), std::string::npos) << line;
    }
  }
  // On 80 the path, direction and size go; the customer is cut at its end.
  const auto eighty = lines_of(recordings_table(list, 80));
  for (const auto& line : eighty) EXPECT_LE(display_width(line), 80u) << line;
  EXPECT_EQ(eighty[1], "0b5e0c6e  11-27 13:45  Sales 1   138 1234 5678  Zhang W…      57.8 s  complete");
  // On 60 the customer goes too: id, time, number, duration, state.
  const auto narrow = lines_of(recordings_table(list, 60));
  for (const auto& line : narrow) EXPECT_LE(display_width(line), 60u) << line;
  EXPECT_EQ(narrow[1], "0b5e0c6e  11-27 13:45  138 1234 5678      57.8 s  complete");
}

// The daemon's words as the tables, `deskline status` and `deskline pop`
// show them (English here: the unit tests run without a catalogue).
TEST(WordText, ProtocolWordsReadAsTheCliSaysThem) {
  EXPECT_EQ(word_text("remote_hangup"), "remote_hangup");
  EXPECT_EQ(word_text("call.ringing"), "call.ringing");
  EXPECT_EQ(word_text("dialing"), "dialling") << "the line state reads as the pop and the page say it";
  EXPECT_EQ(word_text("a-word-from-a-newer-daemon"), "a-word-from-a-newer-daemon");
  EXPECT_EQ(started_text("2026-11-27T13:45:02.500+08:00"), "2026-11-27 13:45:02");
  EXPECT_EQ(started_text("2026"), "2026");
}

}  // namespace
}  // namespace deskline::tools
