// Control requests: every accepted shape and one test per refusal.
#include "proto/control.hpp"

#include <gtest/gtest.h>

namespace deskline::proto::control {
namespace {

TEST(ProtoControl, StatusAndCalls) {
  auto status = parse_request(R"({"cmd":"status"})");
  ASSERT_TRUE(status) << status.error;
  EXPECT_EQ(status.request->command, Command::status);

  auto calls = parse_request(R"({"cmd":"calls","limit":20})");
  ASSERT_TRUE(calls) << calls.error;
  EXPECT_EQ(*calls.request, (Request{Command::calls, 20}));

  auto all = parse_request(R"({"cmd":"calls"})");
  ASSERT_TRUE(all);
  EXPECT_EQ(all.request->limit, 0u);
}

TEST(ProtoControl, NotAnObject) {
  EXPECT_EQ(parse_request("not json").error, "request is not a JSON object");
  EXPECT_EQ(parse_request("[1,2]").error, "request is not a JSON object");
  EXPECT_EQ(parse_request("\"status\"").error, "request is not a JSON object");
}

TEST(ProtoControl, MissingOrMistypedCmd) {
  EXPECT_EQ(parse_request("{}").error, R"(request has no "cmd" string)");
  EXPECT_EQ(parse_request(R"({"cmd":5})").error, R"(request has no "cmd" string)");
  EXPECT_EQ(parse_request(R"({"cmd":null})").error, R"(request has no "cmd" string)");
}

TEST(ProtoControl, UnknownCmd) { EXPECT_EQ(parse_request(R"({"cmd":"reboot"})").error, "unknown cmd 'reboot'"); }

TEST(ProtoControl, BadLimit) {
  for (const char* line : {R"({"cmd":"calls","limit":-1})", R"({"cmd":"calls","limit":"10"})",
                           R"({"cmd":"calls","limit":1.5})", R"({"cmd":"calls","limit":null})"})
    EXPECT_EQ(parse_request(line).error, "limit must be a non-negative integer") << line;
}

}  // namespace
}  // namespace deskline::proto::control
