// The CRM retry policy: the verdict per status and transport error, the
// backoff ceilings with the jitter chosen by the test, and Retry-After.
#include "daemon/crm/retry_policy.hpp"

#include <gtest/gtest.h>

#include "daemon/crm/crm_client.hpp"

namespace deskline::daemon {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

constexpr std::int64_t now_s = 1764205200;  // Thu, 27 Nov 2025 01:00:00 GMT

// A policy whose every draw is `fraction` of the ceiling.
RetryPolicy fixed_jitter(double fraction) {
  return RetryPolicy({}, [fraction] { return fraction; });
}

AttemptOutcome status(unsigned code, std::string_view retry_after = {}) { return {{}, code, retry_after}; }

TEST(RetryPolicy, Verdicts) {
  for (unsigned code : {200u, 201u, 204u, 299u}) EXPECT_EQ(RetryPolicy::classify(status(code)), RetryVerdict::done) << code;
  for (unsigned code : {408u, 429u, 500u, 502u, 503u, 504u, 599u})
    EXPECT_EQ(RetryPolicy::classify(status(code)), RetryVerdict::retry) << code;
  for (unsigned code : {100u, 301u, 304u, 400u, 401u, 403u, 404u, 409u, 410u, 413u, 415u, 422u, 600u})
    EXPECT_EQ(RetryPolicy::classify(status(code)), RetryVerdict::park) << code;
  for (auto error : {CrmClientError::timeout, CrmClientError::connection_reset, CrmClientError::connect_failed,
                     CrmClientError::certificate_untrusted, CrmClientError::answer_too_large})
    EXPECT_EQ(RetryPolicy::classify({make_error_code(error), 0, {}}), RetryVerdict::retry) << to_string(error);
}

TEST(RetryPolicy, DoneAndParkHaveNoDelay) {
  auto policy = fixed_jitter(0.5);
  EXPECT_EQ(policy.decide(status(201), 3, now_s).delay, 0ms);
  const auto parked = policy.decide(status(401, "60"), 3, now_s);
  EXPECT_EQ(parked.verdict, RetryVerdict::park);
  EXPECT_EQ(parked.delay, 0ms);
}

TEST(RetryPolicy, CeilingDoublesFromOneSecondToFiveMinutes) {
  auto top = fixed_jitter(0.999999);
  const milliseconds ceilings[] = {1s, 2s, 4s, 8s, 16s, 32s, 64s, 128s, 256s, 300s, 300s};
  for (unsigned failures = 1; failures <= std::size(ceilings); ++failures) {
    const auto delay = top.backoff(failures);
    EXPECT_LE(delay, ceilings[failures - 1]) << failures;
    EXPECT_GE(delay, ceilings[failures - 1] - 1ms) << failures;
  }
  EXPECT_EQ(top.backoff(1000).count(), 299999);  // no overflow however long the outage
  EXPECT_EQ(top.backoff(0), top.backoff(1));
}

TEST(RetryPolicy, FullJitterSpansZeroToTheCeiling) {
  EXPECT_EQ(fixed_jitter(0.0).backoff(5), 0ms);
  EXPECT_EQ(fixed_jitter(0.5).backoff(5), 8s);
  EXPECT_EQ(fixed_jitter(0.25).backoff(12), 75s);
  // A source out of range is clamped, never a negative or huge delay.
  EXPECT_EQ(fixed_jitter(-3.0).backoff(3), 0ms);
  EXPECT_EQ(fixed_jitter(7.0).backoff(3), 4s);
}

TEST(RetryPolicy, DefaultSourceStaysBelowTheCeiling) {
  RetryPolicy policy;
  for (int i = 0; i < 1000; ++i) {
    const auto delay = policy.backoff(4);
    EXPECT_GE(delay, 0ms);
    EXPECT_LE(delay, 8s);
  }
}

TEST(RetryPolicy, RetryAfterSecondsIsAFloor) {
  auto policy = fixed_jitter(0.5);
  const auto decision = policy.decide(status(429, "120"), 1, now_s);
  EXPECT_EQ(decision.verdict, RetryVerdict::retry);
  EXPECT_EQ(decision.delay, 120s);
  EXPECT_TRUE(decision.honoured_retry_after);
  // Shorter than the backoff: the backoff stands (a "Retry-After: 0" does not spin).
  const auto short_one = policy.decide(status(503, "0"), 4, now_s);
  EXPECT_EQ(short_one.delay, 4s);
  EXPECT_FALSE(short_one.honoured_retry_after);
}

TEST(RetryPolicy, RetryAfterDate) {
  auto policy = fixed_jitter(0.0);
  EXPECT_EQ(policy.decide(status(503, "Thu, 27 Nov 2025 01:02:00 GMT"), 1, now_s).delay, 120s);
  EXPECT_EQ(policy.decide(status(503, "Thu, 27 Nov 2025 00:00:00 GMT"), 1, now_s).delay, 0ms);  // past
}

TEST(RetryPolicy, RetryAfterIsCappedAtAnHour) {
  auto policy = fixed_jitter(0.0);
  EXPECT_EQ(policy.decide(status(503, "86400"), 1, now_s).delay, 3600s);
  EXPECT_EQ(policy.decide(status(503, "Fri, 01 Jan 2100 00:00:00 GMT"), 1, now_s).delay, 3600s);
  RetryPolicy custom({.max_retry_after = 10s}, [] { return 0.0; });
  EXPECT_EQ(custom.decide(status(429, "60"), 1, now_s).delay, 10s);
}

TEST(RetryPolicy, UnreadableRetryAfterIsIgnored) {
  auto policy = fixed_jitter(0.5);
  for (const char* value : {"soon", "-5", "1.5", "Thu, 27 Nov 2025"}) {
    const auto decision = policy.decide(status(503, value), 2, now_s);
    EXPECT_EQ(decision.delay, 1s) << value;
    EXPECT_FALSE(decision.honoured_retry_after) << value;
  }
}

TEST(RetryPolicy, CustomSettings) {
  RetryPolicy policy({.first_delay = 100ms, .max_backoff = 1s}, [] { return 0.999999; });
  EXPECT_EQ(policy.backoff(1).count(), 99);
  EXPECT_EQ(policy.backoff(4).count(), 799);
  EXPECT_EQ(policy.backoff(5).count(), 999);
}

}  // namespace
}  // namespace deskline::daemon
