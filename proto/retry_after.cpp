#include "proto/retry_after.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>

namespace deskline::proto::http {
namespace {

class RetryAfterCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "retry_after"; }
  std::string message(int code) const override {
    switch (static_cast<RetryAfterError>(code)) {
      case RetryAfterError::empty: return "Retry-After is empty";
      case RetryAfterError::bad_value: return "Retry-After is neither seconds nor an HTTP date";
    }
    return "unknown Retry-After error";
  }
};

constexpr std::array<std::string_view, 7> short_days = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> long_days = {"Monday", "Tuesday", "Wednesday", "Thursday",
                                                       "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

template <std::size_t N>
bool one_of(std::string_view text, const std::array<std::string_view, N>& names) {
  for (const auto name : names)
    if (text == name) return true;
  return false;
}

// Days since 1970-01-01 of a proleptic Gregorian date (the well-known
// era-based conversion: 400-year eras of 146097 days, years from March).
constexpr std::int64_t days_from_civil(std::int64_t year, int month, int day) {
  year -= month <= 2;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const std::int64_t year_of_era = year - era * 400;
  const std::int64_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const std::int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

constexpr bool is_leap(std::int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int days_in_month(std::int64_t year, int month) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

// Reads fixed-width fields left to right; any mismatch makes ok() false.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool ok() const { return ok_; }
  bool at_end() const { return position_ == text_.size(); }

  void literal(std::string_view expected) {
    if (take(expected.size()) != expected) ok_ = false;
  }
  int digits(std::size_t count) {
    int value = 0;
    for (std::size_t i = 0; i < count; ++i, ++position_) {
      if (position_ >= text_.size() || text_[position_] < '0' || text_[position_] > '9') {
        ok_ = false;
        return 0;
      }
      value = value * 10 + (text_[position_] - '0');
    }
    return value;
  }
  // A day of asctime: two digits, or a space and one digit.
  int padded_day() {
    if (position_ < text_.size() && text_[position_] == ' ') {
      ++position_;
      return digits(1);
    }
    return digits(2);
  }
  std::string_view letters() {
    const std::size_t start = position_;
    while (position_ < text_.size() && ((text_[position_] >= 'a' && text_[position_] <= 'z') ||
                                        (text_[position_] >= 'A' && text_[position_] <= 'Z')))
      ++position_;
    return text_.substr(start, position_ - start);
  }
  int month() {
    const auto name = take(3);
    for (std::size_t i = 0; i < months.size(); ++i)
      if (name == months[i]) return static_cast<int>(i) + 1;
    ok_ = false;
    return 0;
  }

 private:
  // The next count characters (fewer at the end), consumed.
  std::string_view take(std::size_t count) {
    const auto taken = text_.substr(std::min(position_, text_.size()), count);
    position_ += count;
    return taken;
  }

  std::string_view text_;
  std::size_t position_ = 0;
  bool ok_ = true;
};

struct Fields {
  std::int64_t year = 0;
  int month = 0, day = 0, hour = 0, minute = 0, second = 0;
};

void time_of_day(Cursor& cursor, Fields& fields) {
  fields.hour = cursor.digits(2);
  cursor.literal(":");
  fields.minute = cursor.digits(2);
  cursor.literal(":");
  fields.second = cursor.digits(2);
}

std::int64_t year_of(std::int64_t unix_s) {
  // Civil year of a Unix time: close enough by days, then corrected.
  std::int64_t year = 1970 + unix_s / 31'556'952;
  while (days_from_civil(year, 1, 1) * 86400 > unix_s) --year;
  while (days_from_civil(year + 1, 1, 1) * 86400 <= unix_s) ++year;
  return year;
}

}  // namespace

std::string_view to_string(RetryAfterError error) {
  switch (error) {
    case RetryAfterError::empty: return "empty";
    case RetryAfterError::bad_value: return "bad_value";
  }
  return "unknown";
}

const std::error_category& retry_after_category() {
  static const RetryAfterCategory category;
  return category;
}

std::error_code make_error_code(RetryAfterError error) { return {static_cast<int>(error), retry_after_category()}; }

std::optional<std::int64_t> parse_http_date(std::string_view text, std::int64_t now_s) {
  Cursor cursor(text);
  Fields fields;
  const auto day_name = cursor.letters();
  if (one_of(day_name, short_days) && text.substr(day_name.size(), 2) == ", ") {
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    cursor.literal(", ");
    fields.day = cursor.digits(2);
    cursor.literal(" ");
    fields.month = cursor.month();
    cursor.literal(" ");
    fields.year = cursor.digits(4);
    cursor.literal(" ");
    time_of_day(cursor, fields);
    cursor.literal(" GMT");
  } else if (one_of(day_name, long_days)) {
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
    cursor.literal(", ");
    fields.day = cursor.digits(2);
    cursor.literal("-");
    fields.month = cursor.month();
    cursor.literal("-");
    const int two_digit_year = cursor.digits(2);
    cursor.literal(" ");
    time_of_day(cursor, fields);
    cursor.literal(" GMT");
    const std::int64_t now_year = year_of(now_s);
    fields.year = now_year - now_year % 100 + two_digit_year;
    if (fields.year > now_year + 50) fields.year -= 100;
  } else if (one_of(day_name, short_days)) {
    // asctime: "Sun Nov  6 08:49:37 1994"
    cursor.literal(" ");
    fields.month = cursor.month();
    cursor.literal(" ");
    fields.day = cursor.padded_day();
    cursor.literal(" ");
    time_of_day(cursor, fields);
    cursor.literal(" ");
    fields.year = cursor.digits(4);
  } else {
    return std::nullopt;
  }
  if (!cursor.ok() || !cursor.at_end()) return std::nullopt;
  if (fields.month < 1 || fields.day < 1 || fields.day > days_in_month(fields.year, fields.month) || fields.hour > 23 ||
      fields.minute > 59 || fields.second > 60)  // 60: a leap second
    return std::nullopt;
  return days_from_civil(fields.year, fields.month, fields.day) * 86400 + fields.hour * 3600 + fields.minute * 60 +
         fields.second;
}

std::string format_http_date(std::int64_t unix_s) {
  std::int64_t days = unix_s / 86400, seconds = unix_s % 86400;
  if (seconds < 0) {
    seconds += 86400;
    --days;
  }
  const std::int64_t year = year_of(days * 86400);
  int month = 1;
  while (month < 12 && days_from_civil(year, month + 1, 1) <= days) ++month;
  const auto day = days - days_from_civil(year, month, 1) + 1;
  const auto weekday = ((days % 7) + 7 + 3) % 7;  // 1970-01-01 was a Thursday (index 3 from Monday)
  char text[40];
  std::snprintf(text, sizeof text, "%s, %02d %s %04lld %02d:%02d:%02d GMT", std::string(short_days[weekday]).c_str(),
                static_cast<int>(day), std::string(months[month - 1]).c_str(), static_cast<long long>(year),
                static_cast<int>(seconds / 3600), static_cast<int>(seconds / 60 % 60), static_cast<int>(seconds % 60));
  return text;
}

ParsedRetryAfter parse_retry_after(std::string_view value, std::int64_t now_s) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return {std::nullopt, RetryAfterError::empty};
  if (value.front() >= '0' && value.front() <= '9') {
    std::int64_t delay = 0;
    for (const char c : value) {
      if (c < '0' || c > '9') return {std::nullopt, RetryAfterError::bad_value};
      delay = delay >= max_delay_s ? max_delay_s : std::min(delay * 10 + (c - '0'), max_delay_s);
    }
    return {delay, {}};
  }
  const auto date = parse_http_date(value, now_s);
  if (!date) return {std::nullopt, RetryAfterError::bad_value};
  return {*date > now_s ? std::min(*date - now_s, max_delay_s) : 0, {}};
}

}  // namespace deskline::proto::http
