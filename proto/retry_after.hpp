// Retry-After (RFC 9110 10.2.3) and the HTTP-date it may hold (RFC 9110
// 5.6.7): how long a server asks a client to wait before trying again, as
// a 429 or 503 answer of a CRM says it (proto/crm.md). Pure: the caller
// passes the time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace deskline::proto::http {

// Why a Retry-After value was refused. Stable names (to_string).
enum class RetryAfterError {
  empty = 1,  // nothing but spaces
  bad_value,  // neither delay-seconds (decimal digits) nor an HTTP-date
};
std::string_view to_string(RetryAfterError error);
const std::error_category& retry_after_category();
std::error_code make_error_code(RetryAfterError error);

// An HTTP-date as Unix seconds, in any of the three forms recipients must
// accept: "Sun, 06 Nov 1994 08:49:37 GMT" (IMF-fixdate), "Sunday, 06-Nov-94
// 08:49:37 GMT" (RFC 850) and "Sun Nov  6 08:49:37 1994" (asctime). A two-digit
// year more than 50 years after now_s's year is the century before. The
// weekday must be a weekday's name; that it matches the date is not checked.
std::optional<std::int64_t> parse_http_date(std::string_view text, std::int64_t now_s);

// The HTTP-date of Unix seconds, in IMF-fixdate (for servers and tests).
std::string format_http_date(std::int64_t unix_s);

struct ParsedRetryAfter {
  std::optional<std::int64_t> delay_s;  // >= 0; a date in the past is 0
  RetryAfterError error{};
  explicit operator bool() const { return delay_s.has_value(); }
};

// Seconds to wait from now_s. Huge delay-seconds saturate at max_delay_s
// (callers cap far lower); surrounding spaces are ignored.
inline constexpr std::int64_t max_delay_s = 1'000'000'000'000;
ParsedRetryAfter parse_retry_after(std::string_view value, std::int64_t now_s);

}  // namespace deskline::proto::http

template <>
struct std::is_error_code_enum<deskline::proto::http::RetryAfterError> : std::true_type {};
