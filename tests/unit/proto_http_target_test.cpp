// HTTP request targets: accepted shapes and one test per refusal.
#include "proto/http_target.hpp"

#include <gtest/gtest.h>

namespace deskline::proto::http {
namespace {

TEST(ProtoHttpTarget, PathAndQuery) {
  auto parsed = parse_target("/v1/calls?limit=20&token=ab%2Fcd&name=Li+Na&flag&&empty=");
  ASSERT_TRUE(parsed) << parsed.error;
  EXPECT_EQ(parsed.target->path, "/v1/calls");
  EXPECT_EQ(parsed.target->parameter("limit"), "20");
  EXPECT_EQ(parsed.target->parameter("token"), "ab/cd");
  EXPECT_EQ(parsed.target->parameter("name"), "Li Na");
  EXPECT_EQ(parsed.target->parameter("flag"), "");
  EXPECT_TRUE(parsed.target->query.contains("flag"));
  EXPECT_EQ(parsed.target->parameter("missing"), "");
}

TEST(ProtoHttpTarget, PathIsDecodedButPlusStaysAPlus) {
  auto parsed = parse_target("/a%20b+c");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed.target->path, "/a b+c");
  EXPECT_TRUE(parsed.target->query.empty());
}

TEST(ProtoHttpTarget, RepeatedParameterKeepsTheFirst) {
  auto parsed = parse_target("/v1/calls?token=right&token=wrong");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed.target->parameter("token"), "right");
}

TEST(ProtoHttpTarget, MustStartWithSlash) {
  EXPECT_EQ(parse_target("").error, "request target must start with '/'");
  EXPECT_EQ(parse_target("http://example.com/").error, "request target must start with '/'");
  EXPECT_EQ(parse_target("*").error, "request target must start with '/'");
}

TEST(ProtoHttpTarget, SpaceOrControlCharacterRefused) {
  using namespace std::string_view_literals;
  for (const auto text : {"/a b"sv, "/a\tb"sv, "/?a=\0"sv, "/\x7f"sv})
    EXPECT_EQ(parse_target(text).error, "request target has a space or control character");
}

TEST(ProtoHttpTarget, FragmentRefused) { EXPECT_EQ(parse_target("/#x").error, "request target must not carry a fragment"); }

TEST(ProtoHttpTarget, BadEscapeInPath) {
  for (const char* text : {"/%", "/%4", "/%zz", "/%00"})
    EXPECT_EQ(parse_target(text).error, "bad percent-escape in the path") << text;
}

TEST(ProtoHttpTarget, BadEscapeInQuery) {
  for (const char* text : {"/?a=%", "/?a%g1=1", "/?token=%00"})
    EXPECT_EQ(parse_target(text).error, "bad percent-escape in the query") << text;
}

TEST(ProtoHttpTarget, TooManyParameters) {
  std::string text = "/?";
  for (int i = 0; i < 32; ++i) text += "p" + std::to_string(i) + "=1&";
  EXPECT_TRUE(parse_target(text));
  EXPECT_EQ(parse_target(text + "one=more").error, "more than 32 query parameters");
}

TEST(ProtoHttpTarget, Count) {
  EXPECT_EQ(parse_count("20", 1000), 20u);
  EXPECT_EQ(parse_count("1000", 1000), 1000u);
  for (const char* text : {"", "0", "-1", "+1", "1001", "1e3", "20x", " 20", "99999999999999999999999"})
    EXPECT_FALSE(parse_count(text, 1000)) << text;
}

}  // namespace
}  // namespace deskline::proto::http
