// Retry-After and HTTP dates (RFC 9110): the three date forms, delay
// seconds, and one test per refusal.
#include "proto/retry_after.hpp"

#include <gtest/gtest.h>

namespace deskline::proto::http {
namespace {

constexpr std::int64_t rfc_example_s = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110 5.6.7)
constexpr std::int64_t now_s = 1764205200;          // 2025-11-27 01:00:00 UTC

TEST(ProtoRetryAfter, TheThreeDateFormsOfRfc9110) {
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", now_s), rfc_example_s);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", now_s), rfc_example_s);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994", now_s), rfc_example_s);
  EXPECT_EQ(parse_http_date("Sun Nov 16 08:49:37 1994", now_s), rfc_example_s + 10 * 86400);
}

TEST(ProtoRetryAfter, DatesAcrossTheCalendar) {
  EXPECT_EQ(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT", now_s), 0);
  EXPECT_EQ(parse_http_date("Thu, 29 Feb 2024 23:59:59 GMT", now_s), 1709251199);
  EXPECT_EQ(parse_http_date("Sat, 01 Jan 2000 00:00:00 GMT", now_s), 946684800);
  EXPECT_EQ(parse_http_date("Tue, 29 Feb 2000 12:00:00 GMT", now_s), 951825600);
  EXPECT_EQ(parse_http_date("Thu, 27 Nov 2025 01:00:00 GMT", now_s), now_s);
  EXPECT_EQ(parse_http_date("Wed, 31 Dec 2025 23:59:60 GMT", now_s), 1767225600);  // a leap second
  EXPECT_EQ(parse_http_date("Fri, 01 Jan 2100 00:00:00 GMT", now_s), 4102444800);
}

TEST(ProtoRetryAfter, TwoDigitYearsFollowTheFiftyYearRule) {
  // Seen from 2025: "75" is 2075 (50 years ahead), "76" is 1976.
  EXPECT_EQ(parse_http_date("Tuesday, 01-Jan-75 00:00:00 GMT", now_s), 3313526400);
  EXPECT_EQ(parse_http_date("Thursday, 01-Jan-76 00:00:00 GMT", now_s), 189302400);
  EXPECT_EQ(parse_http_date("Thursday, 27-Nov-25 01:00:00 GMT", now_s), now_s);
}

TEST(ProtoRetryAfter, FormatIsImfFixdate) {
  EXPECT_EQ(format_http_date(rfc_example_s), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(format_http_date(1709251199), "Thu, 29 Feb 2024 23:59:59 GMT");
  for (std::int64_t t = 0; t < 4102444800; t += 86400 * 37 + 3607)
    EXPECT_EQ(parse_http_date(format_http_date(t), now_s), t) << t;
}

TEST(ProtoRetryAfter, RefusedDates) {
  for (const char* text : {
           "", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37 GMT ",
           "sun, 06 Nov 1994 08:49:37 GMT", "Sun, 06 nov 1994 08:49:37 GMT", "Sun, 6 Nov 1994 08:49:37 GMT",
           "Sun, 06 Nov 94 08:49:37 GMT", "Sun,06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 8:49:37 GMT",
           "Sun, 00 Nov 1994 08:49:37 GMT", "Sun, 31 Nov 1994 08:49:37 GMT", "Sun, 29 Feb 1900 08:49:37 GMT",
           "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:00 GMT", "Sun, 06 Nov 1994 08:49:61 GMT",
           "Sun, 06 Xyz 1994 08:49:37 GMT", "Sunday, 06 Nov 1994 08:49:37 GMT", "Sun, 06-Nov-94 08:49:37 GMT",
           "Sunday, 06-Nov-1994 08:49:37 GMT", "Sun Nov 6 08:49:37 1994", "Sun Nov  6 08:49:37 94",
           "Funday, 06-Nov-94 08:49:37 GMT", "2025-11-27T01:00:00Z"})
    EXPECT_EQ(parse_http_date(text, now_s), std::nullopt) << text;
}

TEST(ProtoRetryAfter, DelaySeconds) {
  EXPECT_EQ(parse_retry_after("0", now_s).delay_s, 0);
  EXPECT_EQ(parse_retry_after("120", now_s).delay_s, 120);
  EXPECT_EQ(parse_retry_after(" 7 ", now_s).delay_s, 7);
  EXPECT_EQ(parse_retry_after("0042", now_s).delay_s, 42);
  EXPECT_EQ(parse_retry_after("99999999999999999999999999", now_s).delay_s, max_delay_s);
}

TEST(ProtoRetryAfter, DateIsADelayFromNow) {
  EXPECT_EQ(parse_retry_after("Thu, 27 Nov 2025 01:01:30 GMT", now_s).delay_s, 90);
  EXPECT_EQ(parse_retry_after("Thu, 27 Nov 2025 01:00:00 GMT", now_s).delay_s, 0);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now_s).delay_s, 0);  // in the past
}

TEST(ProtoRetryAfter, Refusals) {
  EXPECT_EQ(parse_retry_after("", now_s).error, RetryAfterError::empty);
  EXPECT_EQ(parse_retry_after("  ", now_s).error, RetryAfterError::empty);
  for (const char* text : {"-1", "+5", "1.5", "5s", "5 6", "1e3", "0x10", "soon", "Thu, 27 Nov 2025 01:01:30",
                           "Thu, 32 Nov 2025 01:01:30 GMT"})
    EXPECT_EQ(parse_retry_after(text, now_s).error, RetryAfterError::bad_value) << text;
  EXPECT_EQ(std::error_code(RetryAfterError::bad_value).message(), "Retry-After is neither seconds nor an HTTP date");
  EXPECT_EQ(to_string(RetryAfterError::empty), "empty");
  EXPECT_EQ(to_string(RetryAfterError::bad_value), "bad_value");
}

}  // namespace
}  // namespace deskline::proto::http
