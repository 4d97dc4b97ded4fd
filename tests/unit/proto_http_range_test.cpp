// Range, If-None-Match and If-Range of a download (RFC 9110 13, 14), and
// Content-Disposition (RFC 6266): one table row per form and per refusal.
#include "proto/http_range.hpp"

#include <gtest/gtest.h>

#include "proto/content_disposition.hpp"
#include "proto/retry_after.hpp"

namespace deskline::proto::http {
namespace {

using Kind = RangeSelection::Kind;

RangeSelection partial(std::uint64_t first, std::uint64_t last) {
  return {.kind = Kind::partial, .range = {first, last}, .error = {}};
}
RangeSelection refused(RangeError error) { return {.kind = Kind::refused, .range = {}, .error = error}; }
const RangeSelection whole{};

struct RangeRow {
  std::string header;
  std::uint64_t size;
  RangeSelection expected;
};

TEST(ProtoHttpRange, EveryFormAndEveryRefusal) {
  const std::vector<RangeRow> rows = {
      {"", 1000, whole},
      {"   ", 1000, whole},
      {"items=0-10", 1000, whole},  // another unit: ignored
      {"bytes=0-99", 1000, partial(0, 99)},
      {"BYTES=0-99", 1000, partial(0, 99)},
      {"bytes = 0-99", 1000, partial(0, 99)},
      {"bytes=0-0", 1000, partial(0, 0)},
      {"bytes=0-999", 1000, partial(0, 999)},
      {"bytes=0-5000", 1000, partial(0, 999)},  // last clamped
      {"bytes=500-", 1000, partial(500, 999)},  // open
      {"bytes=999-", 1000, partial(999, 999)},
      {"bytes=-100", 1000, partial(900, 999)},  // suffix
      {"bytes=-1000", 1000, partial(0, 999)},
      {"bytes=-5000", 1000, partial(0, 999)},
      {"bytes=0-,", 1000, partial(0, 999)},  // empty list elements are allowed
      {"bytes= , 0-9 ,", 1000, partial(0, 9)},
      {"bytes=0-99999999999999999999999", 1000, partial(0, 999)},  // saturates
      {"bytes=99999999999999999999999-", 1000, refused(RangeError::unsatisfiable)},
      {"bytes=1000-", 1000, refused(RangeError::unsatisfiable)},
      {"bytes=1000-2000", 1000, refused(RangeError::unsatisfiable)},
      {"bytes=-0", 1000, refused(RangeError::unsatisfiable)},
      {"bytes=0-", 0, refused(RangeError::unsatisfiable)},
      {"bytes=-10", 0, refused(RangeError::unsatisfiable)},
      {"bytes=0-9,20-29", 1000, refused(RangeError::multiple_ranges)},
      {"bytes=0-9,5000-6000", 1000, refused(RangeError::multiple_ranges)},
      {"bytes 0-99", 1000, refused(RangeError::malformed)},
      {"bytes=", 1000, refused(RangeError::malformed)},
      {"bytes=,", 1000, refused(RangeError::malformed)},
      {"bytes=-", 1000, refused(RangeError::malformed)},
      {"bytes=abc", 1000, refused(RangeError::malformed)},
      {"bytes=10-5", 1000, refused(RangeError::malformed)},  // last before first
      {"bytes=1-2-3", 1000, refused(RangeError::malformed)},
      {"bytes=+1-2", 1000, refused(RangeError::malformed)},
      {"bytes=0x10-", 1000, refused(RangeError::malformed)},
      {"bytes=0 - 9", 1000, refused(RangeError::malformed)},
      {"bytes=-1-", 1000, refused(RangeError::malformed)},
      {"bytes=0-9,abc", 1000, refused(RangeError::malformed)},
  };
  for (const auto& row : rows)
    EXPECT_EQ(select_range(row.header, row.size), row.expected) << '"' << row.header << "\" of " << row.size;
}

TEST(ProtoHttpRange, AHugeListIsRefusedWithoutBeingServed) {
  std::string many = "bytes=0-0";
  for (int i = 1; i < 20; ++i) many += "," + std::to_string(i) + "-" + std::to_string(i);
  EXPECT_EQ(select_range(many, 1000), refused(RangeError::multiple_ranges));
  std::string longer = "bytes=0-0";
  while (longer.size() <= max_range_header_bytes) longer += ",0-0";
  EXPECT_EQ(select_range(longer, 1000), refused(RangeError::malformed));
}

TEST(ProtoHttpRange, ContentRangeValues) {
  EXPECT_EQ(content_range({0, 99}, 1000), "bytes 0-99/1000");
  EXPECT_EQ(content_range({999, 999}, 1000), "bytes 999-999/1000");
  EXPECT_EQ(unsatisfied_content_range(1000), "bytes */1000");
  EXPECT_EQ(to_string(RangeError::multiple_ranges), "multiple_ranges");
  EXPECT_EQ(std::error_code(RangeError::unsatisfiable).message(), "the range is outside the file");
}

TEST(ProtoHttpRange, IfNoneMatchComparesWeakly) {
  const auto etag = strong_etag("abc");
  EXPECT_EQ(etag, "\"abc\"");
  EXPECT_TRUE(if_none_match_matches("\"abc\"", etag));
  EXPECT_TRUE(if_none_match_matches("W/\"abc\"", etag));
  EXPECT_TRUE(if_none_match_matches("\"x\", \"abc\"", etag));
  EXPECT_TRUE(if_none_match_matches(" * ", etag));
  EXPECT_TRUE(if_none_match_matches("\"a,b\", \"abc\"", etag));  // a comma inside a tag
  EXPECT_FALSE(if_none_match_matches("", etag));
  EXPECT_FALSE(if_none_match_matches("\"abd\"", etag));
  EXPECT_FALSE(if_none_match_matches("abc", etag));            // unquoted
  EXPECT_FALSE(if_none_match_matches("\"abc", etag));          // unterminated
  EXPECT_FALSE(if_none_match_matches("\"x\" \"abc\"", etag));  // no comma
  EXPECT_FALSE(if_none_match_matches("\"a c\"", "\"a c\""));  // a space is no etagc
}

TEST(ProtoHttpRange, IfRangeNeedsTheStrongTagOrTheExactDate) {
  const auto etag = strong_etag("abc");
  const std::int64_t modified = 1764205200;
  EXPECT_TRUE(if_range_allows("", etag, modified));
  EXPECT_TRUE(if_range_allows("\"abc\"", etag, modified));
  EXPECT_FALSE(if_range_allows("W/\"abc\"", etag, modified));  // weak tags never match
  EXPECT_FALSE(if_range_allows("\"abd\"", etag, modified));
  EXPECT_FALSE(if_range_allows("\"abc\", \"abd\"", etag, modified));  // one tag only
  EXPECT_TRUE(if_range_allows(format_http_date(modified), etag, modified));
  EXPECT_FALSE(if_range_allows(format_http_date(modified - 1), etag, modified));
  EXPECT_FALSE(if_range_allows(format_http_date(modified), etag, std::nullopt));
  EXPECT_FALSE(if_range_allows("yesterday", etag, modified));
}

TEST(ProtoContentDisposition, AsciiNamesAndUtf8Names) {
  EXPECT_EQ(attachment_disposition("2026-11-27_0900_front_138.opus"),
            "attachment; filename=\"2026-11-27_0900_front_138.opus\"");
  EXPECT_EQ(attachment_disposition("a \"b\"\\c/d.opus"),
            "attachment; filename=\"a _b__c_d.opus\"; filename*=UTF-8''a%20%22b%22%5Cc%2Fd.opus");
  EXPECT_EQ(attachment_disposition("前台_138.opus"),
            "attachment; filename=\"___138.opus\"; filename*=UTF-8''%E5%89%8D%E5%8F%B0_138.opus");
}

}  // namespace
}  // namespace deskline::proto::http
