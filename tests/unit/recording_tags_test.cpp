// A recording's tags and the way back from them (daemon/domain/recording_tags):
// the round trip, one test per refusal, and the rows an orphan gets back.
// Also parse_iso8601, which reads the start time back.
#include "daemon/domain/recording_tags.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

#include <nlohmann/json.hpp>

#include "daemon/domain/call_json.hpp"

namespace deskline::daemon {
namespace {

// 2026-11-27T09:00:01.500+08:00
constexpr WallTimeUs answered = 1'795'741'201'500'000;

CallRecord inbound_call() {
  CallRecord call;
  call.id = "0b6c3c8e-6d4e-4d38-9a51-1f0e8f7b2a10";
  call.line = "Sales 1";
  call.box = "X800-0001";
  call.port = 3;
  call.direction = Direction::inbound;
  call.number = "13812345678";
  call.name = "LI NA";
  call.started_at = answered - 4'000'000;
  return call;
}

// The comments of inbound_call's recording with one tag replaced (or, with
// an empty value after '=' left off entirely, removed).
std::vector<std::string> comments_with(std::string_view key, std::optional<std::string> value) {
  std::vector<std::string> out;
  for (auto& comment : recording_comments(inbound_call(), answered)) {
    if (comment.starts_with(std::string(key) + "=")) {
      if (value) out.push_back(std::string(key) + "=" + *value);
    } else {
      out.push_back(comment);
    }
  }
  return out;
}

// Times are written in the process's zone: pin one with an offset.
class RecordingTagsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* zone = std::getenv("TZ")) saved_zone_ = zone;
    ::setenv("TZ", "Asia/Shanghai", 1);
    ::tzset();
  }
  void TearDown() override {
    if (saved_zone_)
      ::setenv("TZ", saved_zone_->c_str(), 1);
    else
      ::unsetenv("TZ");
    ::tzset();
  }

 private:
  std::optional<std::string> saved_zone_;
};

TEST_F(RecordingTagsTest, WhatTheRecorderWritesReadsBack) {
  const auto comments = recording_comments(inbound_call(), answered);
  EXPECT_EQ(comments[0], "DESKLINE_CALL_ID=0b6c3c8e-6d4e-4d38-9a51-1f0e8f7b2a10");
  EXPECT_EQ(comments[6], "DESKLINE_START_TIME=2026-11-27T09:00:01.500+08:00");
  EXPECT_EQ(comments[7], "TITLE=inbound call from 13812345678");
  EXPECT_EQ(comments[8], "DATE=2026-11-27");
  EXPECT_EQ(comments.back(), "DESKLINE_CALLER_NAME=LI NA");

  const auto parsed = parse_recording_comments(comments);
  ASSERT_TRUE(parsed) << parsed.reason;
  const RecordingTags expected{"0b6c3c8e-6d4e-4d38-9a51-1f0e8f7b2a10", "Sales 1", "X800-0001", 3, Direction::inbound,
                               "13812345678", "LI NA", answered};
  EXPECT_EQ(*parsed.tags, expected);
}

TEST_F(RecordingTagsTest, KeysAreCaseInsensitiveAndOtherCommentsIgnored) {
  auto comments = comments_with("DESKLINE_LINE", std::nullopt);
  comments.push_back("deskline_line=Sales 2");
  comments.push_back("ENCODER=someone else");
  comments.push_back("no equals sign");
  comments.push_back("DESKLINE_SOURCE=old.wav");
  const auto parsed = parse_recording_comments(comments);
  ASSERT_TRUE(parsed) << parsed.reason;
  EXPECT_EQ(parsed.tags->line, "Sales 2");
}

TEST_F(RecordingTagsTest, CallerNameAndNumberMayBeAbsentOrEmpty) {
  auto comments = comments_with("DESKLINE_CALLER_NAME", std::nullopt);
  for (auto& comment : comments)
    if (comment.starts_with("DESKLINE_NUMBER=")) comment = "DESKLINE_NUMBER=";
  const auto parsed = parse_recording_comments(comments);
  ASSERT_TRUE(parsed) << parsed.reason;
  EXPECT_EQ(parsed.tags->caller_name, "");
  EXPECT_EQ(parsed.tags->number, "");
}

struct Refusal {
  const char* key;
  std::optional<std::string> value;  // nullopt: the tag is left out
  RecordingTagError error;
  const char* reason;
};

TEST_F(RecordingTagsTest, EveryRefusal) {
  const Refusal refusals[] = {
      {"DESKLINE_CALL_ID", std::nullopt, RecordingTagError::missing_tag, "missing_tag: DESKLINE_CALL_ID"},
      {"DESKLINE_LINE", std::nullopt, RecordingTagError::missing_tag, "missing_tag: DESKLINE_LINE"},
      {"DESKLINE_BOX", std::nullopt, RecordingTagError::missing_tag, "missing_tag: DESKLINE_BOX"},
      {"DESKLINE_PORT", std::nullopt, RecordingTagError::missing_tag, "missing_tag: DESKLINE_PORT"},
      {"DESKLINE_DIRECTION", std::nullopt, RecordingTagError::missing_tag, "missing_tag: DESKLINE_DIRECTION"},
      {"DESKLINE_NUMBER", std::nullopt, RecordingTagError::missing_tag, "missing_tag: DESKLINE_NUMBER"},
      {"DESKLINE_START_TIME", std::nullopt, RecordingTagError::missing_tag, "missing_tag: DESKLINE_START_TIME"},
      {"DESKLINE_CALL_ID", "42", RecordingTagError::bad_call_id, "bad_call_id: '42'"},
      {"DESKLINE_CALL_ID", "../../etc/passwd-0000-0000-000000000000", RecordingTagError::bad_call_id,
       "bad_call_id: '../../etc/passwd-0000-0000-000000000000'"},
      {"DESKLINE_CALL_ID", "0b6c3c8e_6d4e-4d38-9a51-1f0e8f7b2a10", RecordingTagError::bad_call_id,
       "bad_call_id: '0b6c3c8e_6d4e-4d38-9a51-1f0e8f7b2a10'"},
      {"DESKLINE_LINE", "", RecordingTagError::empty_value, "empty_value: DESKLINE_LINE"},
      {"DESKLINE_BOX", "", RecordingTagError::empty_value, "empty_value: DESKLINE_BOX"},
      {"DESKLINE_PORT", "0", RecordingTagError::bad_port, "bad_port: '0'"},
      {"DESKLINE_PORT", "256", RecordingTagError::bad_port, "bad_port: '256'"},
      {"DESKLINE_PORT", "3a", RecordingTagError::bad_port, "bad_port: '3a'"},
      {"DESKLINE_PORT", "", RecordingTagError::bad_port, "bad_port: ''"},
      {"DESKLINE_PORT", "-1", RecordingTagError::bad_port, "bad_port: '-1'"},
      {"DESKLINE_PORT", "99999999999999999999", RecordingTagError::bad_port, "bad_port: '99999999999999999999'"},
      {"DESKLINE_DIRECTION", "sideways", RecordingTagError::bad_direction, "bad_direction: 'sideways'"},
      {"DESKLINE_DIRECTION", "Inbound", RecordingTagError::bad_direction, "bad_direction: 'Inbound'"},
      {"DESKLINE_START_TIME", "yesterday", RecordingTagError::bad_start_time, "bad_start_time: 'yesterday'"},
      {"DESKLINE_START_TIME", "2026-11-27T09:00:01.500", RecordingTagError::bad_start_time,
       "bad_start_time: '2026-11-27T09:00:01.500'"},
      {"DESKLINE_NUMBER", std::string(max_tag_value_bytes + 1, '1'), RecordingTagError::value_too_long,
       "value_too_long: DESKLINE_NUMBER has 1025 bytes (at most 1024)"},
      {"DESKLINE_CALLER_NAME", "LI\xff NA", RecordingTagError::not_utf8, "not_utf8: DESKLINE_CALLER_NAME"},
      {"DESKLINE_LINE", std::string("Sales\0 1", 8), RecordingTagError::not_utf8, "not_utf8: DESKLINE_LINE"},
      {"DESKLINE_LINE", "\xc0\xae", RecordingTagError::not_utf8, "not_utf8: DESKLINE_LINE"},  // overlong '.'
  };
  for (const auto& refusal : refusals) {
    const auto parsed = parse_recording_comments(comments_with(refusal.key, refusal.value));
    EXPECT_FALSE(parsed) << refusal.reason;
    EXPECT_EQ(parsed.error, refusal.error) << refusal.reason;
    EXPECT_EQ(parsed.reason, refusal.reason);
  }
}

TEST_F(RecordingTagsTest, ADuplicateTagIsRefusedNotGuessed) {
  auto comments = recording_comments(inbound_call(), answered);
  comments.push_back("Deskline_Number=13900000000");
  const auto parsed = parse_recording_comments(comments);
  EXPECT_FALSE(parsed);
  EXPECT_EQ(parsed.error, RecordingTagError::duplicate_tag);
  EXPECT_EQ(parsed.reason, "duplicate_tag: DESKLINE_NUMBER");
}

TEST_F(RecordingTagsTest, NoCommentsAtAll) {
  const auto parsed = parse_recording_comments({});
  EXPECT_EQ(parsed.reason, "missing_tag: DESKLINE_CALL_ID");
}

TEST_F(RecordingTagsTest, ErrorNamesAreDistinct) {
  for (int a = 1; !to_string(static_cast<RecordingTagError>(a)).empty(); ++a)
    for (int b = a + 1; !to_string(static_cast<RecordingTagError>(b)).empty(); ++b)
      EXPECT_NE(to_string(static_cast<RecordingTagError>(a)), to_string(static_cast<RecordingTagError>(b)));
}

RecordingTags tags_of(Direction direction) {
  RecordingTags tags{"0b6c3c8e-6d4e-4d38-9a51-1f0e8f7b2a10", "Sales 1", "X800-0001", 3, direction,
                     "13812345678", "LI NA", answered};
  return tags;
}

TEST_F(RecordingTagsTest, AnInboundOrphanIsAnAnsweredCallAsLongAsItsRecording) {
  const RecordingFileFacts file{"/rec/2026/11/27/0b6c3c8e-6d4e-4d38-9a51-1f0e8f7b2a10.opus", true, "", 4.0004, 33'000,
                                std::string(64, 'a')};
  const WallTimeUs now = answered + 86'400'000'000;
  const auto rows = reattached_records(tags_of(Direction::inbound), file, now);

  EXPECT_EQ(rows.call.id, "0b6c3c8e-6d4e-4d38-9a51-1f0e8f7b2a10");
  EXPECT_EQ(rows.call.line, "Sales 1");
  EXPECT_EQ(rows.call.box, "X800-0001");
  EXPECT_EQ(rows.call.port, 3);
  EXPECT_EQ(rows.call.number, "13812345678");
  EXPECT_EQ(rows.call.name, "LI NA");
  EXPECT_EQ(rows.call.state, CallState::ended);
  EXPECT_EQ(rows.call.outcome, Outcome::answered);
  EXPECT_EQ(rows.call.end_reason, std::nullopt);  // not known
  EXPECT_EQ(rows.call.started_at, answered);
  EXPECT_EQ(rows.call.answered_at, answered);
  EXPECT_EQ(rows.call.ended_at, answered + 4'000'400);
  EXPECT_EQ(duration(rows.call), std::chrono::milliseconds(4000));

  EXPECT_EQ(rows.recording.call_id, rows.call.id);
  EXPECT_EQ(rows.recording.path, file.path);
  EXPECT_EQ(rows.recording.state, RecordingState::complete);
  EXPECT_EQ(rows.recording.started_at, answered);
  EXPECT_DOUBLE_EQ(rows.recording.duration_s, 4.0);
  EXPECT_EQ(rows.recording.bytes, 33'000u);
  EXPECT_EQ(rows.recording.sha256, file.sha256);
  EXPECT_EQ(rows.recording.error, "");

  EXPECT_EQ(rows.event.call_id, rows.call.id);
  EXPECT_EQ(rows.event.type, "reattached");
  EXPECT_EQ(rows.event.at, now);
  const auto detail = nlohmann::json::parse(rows.event.detail);
  EXPECT_EQ(detail["path"], file.path);
  EXPECT_FALSE(detail.contains("file"));
}

TEST_F(RecordingTagsTest, AnOutboundOrJoinedOrphanIsCompletedWithoutAnAnswerTime) {
  const RecordingFileFacts file{"/rec/x.opus", true, "", 2.5, 100, ""};
  for (const auto direction : {Direction::outbound, Direction::unknown}) {
    const auto rows = reattached_records(tags_of(direction), file, answered);
    EXPECT_EQ(rows.call.outcome, Outcome::completed);
    EXPECT_EQ(rows.call.answered_at, std::nullopt);
    EXPECT_EQ(rows.call.direction, direction);
    EXPECT_EQ(duration(rows.call), std::chrono::milliseconds(2500));
  }
}

TEST_F(RecordingTagsTest, AFileNeverClosedIsAttachedTruncatedAsItIs) {
  const RecordingFileFacts file{"/rec/x.opus", false, "the last page is cut short", 1.2, 9000, ""};
  const auto rows = reattached_records(tags_of(Direction::inbound), file, answered);
  EXPECT_EQ(rows.recording.state, RecordingState::truncated);
  EXPECT_EQ(rows.recording.error,
            "never closed (the last page is cut short); re-attached as it is: it plays up to its last whole page");
  EXPECT_EQ(nlohmann::json::parse(rows.event.detail)["file"], rows.recording.error);
}

TEST(Iso8601, ReadsWhatFormatWrites) {
  for (const WallTimeUs time : {answered, WallTimeUs{0}, WallTimeUs{-1'500'000}, WallTimeUs{4'102'444'800'123'000}}) {
    const auto text = format_iso8601(time);
    EXPECT_EQ(parse_iso8601(text), time) << text;
  }
}

TEST(Iso8601, OffsetsFractionsAndZulu) {
  EXPECT_EQ(parse_iso8601("2026-11-27T01:00:01.500Z"), answered);
  EXPECT_EQ(parse_iso8601("2026-11-27T09:00:01.500+08:00"), answered);
  EXPECT_EQ(parse_iso8601("2026-11-26T19:30:01.500-05:30"), answered);
  EXPECT_EQ(parse_iso8601("2026-11-27T09:00:01+08:00"), answered - 500'000);
  EXPECT_EQ(parse_iso8601("2026-11-27T09:00:01.5+08:00"), answered);
  EXPECT_EQ(parse_iso8601("2026-11-27T09:00:01.500999999+08:00"), answered + 999);
  EXPECT_EQ(parse_iso8601("2024-02-29T00:00:00Z"), WallTimeUs{1'709'164'800'000'000});
  EXPECT_EQ(parse_iso8601("1970-01-01T00:00:00Z"), WallTimeUs{0});
}

TEST(Iso8601, RefusesWhatIsNotOneTime) {
  for (const char* text :
       {"", "2026-11-27", "2026-11-27T09:00:01.500", "2026-11-27 09:00:01.500+08:00", "2026-13-01T00:00:00Z",
        "2026-00-01T00:00:00Z", "2026-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
        "2026-11-27T24:00:00Z", "2026-11-27T09:60:00Z", "2026-11-27T09:00:60Z", "2026-11-27T09:00:01.Z",
        "2026-11-27T09:00:01.500+8:00", "2026-11-27T09:00:01.500+19:00", "2026-11-27T09:00:01.500+08:60",
        "2026-11-27T09:00:01.500+08:00 ", "2026-1-27T09:00:01Z", "+2026-11-27T09:00:01Z", "2026-11-27T09:00:01z",
        "２026-11-27T09:00:01Z"})
    EXPECT_EQ(parse_iso8601(text), std::nullopt) << text;
}

}  // namespace
}  // namespace deskline::daemon
