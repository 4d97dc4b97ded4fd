#include "daemon/core/rate_limit.hpp"

#include <gtest/gtest.h>

namespace deskline::daemon {
namespace {

using namespace std::chrono_literals;
using Clock = LogRateLimit::Clock;

int admitted(LogRateLimit& limit, const std::string& key, int messages, Clock::time_point at) {
  int written = 0;
  for (int i = 0; i < messages; ++i) written += limit.admit(key, at) ? 1 : 0;
  return written;
}

TEST(LogRateLimit, AFloodWritesTheBurstThenOneSummaryPerInterval) {
  LogRateLimit limit(5, 60s);
  const Clock::time_point start{};
  EXPECT_EQ(admitted(limit, "box A: malformed_report", 10'000, start), 5);
  EXPECT_TRUE(limit.take_summaries(start + 59s).empty());  // the interval has not ended
  EXPECT_EQ(limit.next_summary_due(), start + 60s);
  const auto summaries = limit.take_summaries(start + 60s);
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(summaries[0].key, "box A: malformed_report");
  EXPECT_EQ(summaries[0].left_out, 9'995u);  // exact
  EXPECT_FALSE(limit.next_summary_due());
  EXPECT_EQ(admitted(limit, "box A: malformed_report", 3, start + 61s), 3);  // a new interval
}

TEST(LogRateLimit, KeysAreLimitedApart) {
  LogRateLimit limit(2, 60s);
  const Clock::time_point start{};
  EXPECT_EQ(admitted(limit, "box A: lost_reports", 5, start), 2);
  EXPECT_EQ(admitted(limit, "box B: lost_reports", 5, start), 2);
  EXPECT_EQ(limit.take_summaries(start + 60s).size(), 2u);
}

TEST(LogRateLimit, NoSummaryWhenNothingWasLeftOut) {
  LogRateLimit limit(5, 60s);
  const Clock::time_point start{};
  EXPECT_EQ(admitted(limit, "k", 5, start), 5);
  EXPECT_FALSE(limit.next_summary_due());
  EXPECT_TRUE(limit.take_summaries(start + 60s).empty());
  EXPECT_EQ(admitted(limit, "k", 5, start + 60s), 5);  // the window started again
}

TEST(LogRateLimit, FlushAtShutdownTellsWhatIsPending) {
  LogRateLimit limit(1, 60s);
  const Clock::time_point start{};
  admitted(limit, "k", 4, start);
  const auto summaries = limit.take_summaries(start + 1s, true);
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(summaries[0].left_out, 3u);
}

}  // namespace
}  // namespace deskline::daemon
