#include "daemon/domain/call.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace deskline::daemon {
namespace {

using std::chrono::milliseconds;

// Walks every value of Enum (numbered from 0; to_string is "" past the last,
// and the compiler makes its switch name every value): each name is unique
// and parses back to its value. Returns how many values there are.
template <typename Enum>
int check_round_trip(std::optional<Enum> (*parse)(std::string_view)) {
  std::set<std::string_view> names;
  int count = 0;
  for (;; ++count) {
    const auto value = static_cast<Enum>(count);
    const std::string_view name = to_string(value);
    if (name.empty()) break;
    SCOPED_TRACE(std::string(name));
    EXPECT_TRUE(names.insert(name).second) << "name used twice";
    EXPECT_EQ(parse(name), value);
  }
  for (const char* unknown : {"", "sideways", "INBOUND", "answered ", " ended", "none", "0"})
    EXPECT_EQ(parse(unknown), std::nullopt) << '"' << unknown << '"';
  return count;
}

TEST(DomainWords, EveryValueRoundTripsAndUnknownWordsAreRefused) {
  EXPECT_EQ(check_round_trip(parse_direction), 3);
  EXPECT_EQ(check_round_trip(parse_call_state), 2);
  EXPECT_EQ(check_round_trip(parse_outcome), 7);
  EXPECT_EQ(check_round_trip(parse_end_reason), 6);
  EXPECT_EQ(check_round_trip(parse_recording_state), 8);
  EXPECT_EQ(check_round_trip(parse_outbox_kind), 2);
  EXPECT_EQ(check_round_trip(parse_outbox_state), 3);
}

TEST(DomainWords, TheWordsOfTheProtocol) {
  // proto/control.md documents these; changing one breaks every client.
  EXPECT_EQ(to_string(Direction::unknown), "unknown");
  EXPECT_EQ(to_string(CallState::active), "active");
  EXPECT_EQ(to_string(Outcome::remote_hangup), "remote_hangup");
  EXPECT_EQ(to_string(Outcome::device_lost), "device_lost");
  EXPECT_EQ(to_string(EndReason::hangup_tone), "hangup_tone");
  EXPECT_EQ(to_string(EndReason::restart), "restart");
  EXPECT_EQ(to_string(RecordingState::damaged), "damaged");
  EXPECT_EQ(parse_outcome("missed"), Outcome::missed);
}

CallRecord ended_call(Direction direction, std::optional<WallTimeUs> answered_at) {
  CallRecord call;
  call.direction = direction;
  call.state = CallState::ended;
  call.started_at = 10'000'000;
  call.answered_at = answered_at;
  call.ended_at = 70'000'000;
  return call;
}

TEST(CallDuration, FromTheAnswerOrTheStartAndZeroWhenMissed) {
  EXPECT_EQ(duration(ended_call(Direction::inbound, 17'500'000)), milliseconds(52'500));
  EXPECT_EQ(duration(ended_call(Direction::inbound, std::nullopt)), milliseconds(0));  // missed
  EXPECT_EQ(duration(ended_call(Direction::outbound, 12'000'000)), milliseconds(58'000));
  EXPECT_EQ(duration(ended_call(Direction::outbound, std::nullopt)), milliseconds(60'000));  // from off-hook
  EXPECT_EQ(duration(ended_call(Direction::unknown, std::nullopt)), milliseconds(60'000));   // from the join
}

TEST(CallDuration, RoundedToTheMillisecondAndNeverNegative) {
  auto call = ended_call(Direction::inbound, 10'000'000);
  call.ended_at = 10'001'499;
  EXPECT_EQ(duration(call), milliseconds(1));
  call.ended_at = 10'001'500;
  EXPECT_EQ(duration(call), milliseconds(2));
  call.ended_at = 9'000'000;  // the wall clock stepped back
  EXPECT_EQ(duration(call), milliseconds(0));
}

TEST(CallDuration, NoneWhileActive) {
  auto call = ended_call(Direction::inbound, 17'500'000);
  call.state = CallState::active;
  EXPECT_EQ(duration(call), std::nullopt);
  call.state = CallState::ended;
  call.ended_at.reset();
  EXPECT_EQ(duration(call), std::nullopt);
}

TEST(CallRingTime, InboundOnlyToTheAnswerOrTheEnd) {
  EXPECT_EQ(ring_time(ended_call(Direction::inbound, 17'500'000)), milliseconds(7'500));
  EXPECT_EQ(ring_time(ended_call(Direction::inbound, std::nullopt)), milliseconds(60'000));
  EXPECT_EQ(ring_time(ended_call(Direction::outbound, 12'000'000)), std::nullopt);
  EXPECT_EQ(ring_time(ended_call(Direction::unknown, std::nullopt)), std::nullopt);
  auto ringing = ended_call(Direction::inbound, std::nullopt);
  ringing.state = CallState::active;
  ringing.ended_at.reset();
  EXPECT_EQ(ring_time(ringing), std::nullopt);
}

}  // namespace
}  // namespace deskline::daemon
