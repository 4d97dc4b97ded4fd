// Per-token request rate and downloads at once of the HTTP listener.
#include "daemon/api/request_limits.hpp"

#include <gtest/gtest.h>

namespace deskline::daemon {
namespace {

using namespace std::chrono_literals;

TEST(RequestLimits, ABurstThenTheRateThenRetryAfter) {
  RequestLimits limits(2, 3, 1);
  const RequestLimits::Clock::time_point start{};
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limits.admit("crm", start)) << i;
  const auto wait = limits.admit("crm", start);
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, 1s);
  EXPECT_FALSE(limits.admit("desk", start)) << "another token has its own bucket";
  EXPECT_FALSE(limits.admit("crm", start + 500ms)) << "refilled at 2 per second";
  EXPECT_TRUE(limits.admit("crm", start + 500ms));
  EXPECT_FALSE(limits.admit("crm", start + 1h));
}

TEST(RequestLimits, SlowRateAsksToWaitLonger) {
  RequestLimits limits(0.1, 1, 1);
  const RequestLimits::Clock::time_point start{};
  EXPECT_FALSE(limits.admit("crm", start));
  EXPECT_EQ(limits.admit("crm", start).value_or(0s), 10s);
}

TEST(RequestLimits, DownloadsAtOncePerToken) {
  auto limits = std::make_shared<RequestLimits>(10, 10, 2);
  EXPECT_TRUE(limits->start_download("crm"));
  {
    DownloadSlot slot(limits, "crm");
    EXPECT_TRUE(limits->start_download("crm"));
    EXPECT_FALSE(limits->start_download("crm"));
    EXPECT_TRUE(limits->start_download("desk"));
  }
  EXPECT_EQ(limits->downloads("crm"), 1u);
  EXPECT_TRUE(limits->start_download("crm"));
}

}  // namespace
}  // namespace deskline::daemon
