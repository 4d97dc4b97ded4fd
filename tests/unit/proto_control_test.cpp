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
  EXPECT_EQ(*calls.request, (Request{Command::calls, 20, "", "", ""}));

  auto first_page = parse_request(R"({"cmd":"calls"})");
  ASSERT_TRUE(first_page);
  EXPECT_EQ(first_page.request->limit, default_calls_per_page);

  auto next_page = parse_request(R"({"cmd":"calls","limit":1000,"before":"0b6c3c8e"})");
  ASSERT_TRUE(next_page) << next_page.error;
  EXPECT_EQ(*next_page.request, (Request{Command::calls, max_calls_per_page, "0b6c3c8e", "", ""}));
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
                           R"({"cmd":"calls","limit":1.5})", R"({"cmd":"calls","limit":null})",
                           R"({"cmd":"calls","limit":0})", R"({"cmd":"calls","limit":1001})",
                           R"({"cmd":"calls","limit":18446744073709551615})"})
    EXPECT_EQ(parse_request(line).error, "limit must be an integer from 1 to 1000") << line;
}

TEST(ProtoControl, BadBefore) {
  for (const char* line : {R"({"cmd":"calls","before":5})", R"({"cmd":"calls","before":""})",
                           R"({"cmd":"calls","before":null})"})
    EXPECT_EQ(parse_request(line).error, "before must be a call id") << line;
}

TEST(ProtoControl, SyncRequests) {
  EXPECT_EQ(parse_request(R"({"cmd":"sync_status"})").request->command, Command::sync_status);
  const auto one = parse_request(R"({"cmd":"sync_retry","call_id":"0b5e0c6e"})");
  ASSERT_TRUE(one) << one.error;
  EXPECT_EQ(one.request->command, Command::sync_retry);
  EXPECT_EQ(one.request->call_id, "0b5e0c6e");
  const auto parked = parse_request(R"({"cmd":"sync_retry","parked":true})");
  ASSERT_TRUE(parked) << parked.error;
  EXPECT_EQ(parked.request->call_id, "");
  for (const char* line : {R"({"cmd":"sync_retry"})", R"({"cmd":"sync_retry","parked":false})",
                           R"({"cmd":"sync_retry","call_id":"a","parked":true})"})
    EXPECT_EQ(parse_request(line).error, R"(sync_retry needs either "call_id" or "parked": true)") << line;
  for (const char* line : {R"({"cmd":"sync_retry","call_id":5})", R"({"cmd":"sync_retry","call_id":""})"})
    EXPECT_EQ(parse_request(line).error, "call_id must be a call id") << line;
  EXPECT_EQ(parse_request(R"({"cmd":"sync_retry","call_id":")" + std::string(65, 'a') + R"("})").error,
            "call_id must be a call id");
}

TEST(ProtoControl, CustomersSync) {
  const auto parsed = parse_request(R"({"cmd":"customers_sync"})");
  ASSERT_TRUE(parsed) << parsed.error;
  EXPECT_EQ(parsed.request->command, Command::customers_sync);
  // Unknown keys are ignored, as for every request.
  EXPECT_EQ(parse_request(R"({"cmd":"customers_sync","wait":true})").request->command, Command::customers_sync);
}

TEST(ProtoControl, Reload) {
  const auto parsed = parse_request(R"({"cmd":"reload"})");
  ASSERT_TRUE(parsed) << parsed.error;
  EXPECT_EQ(parsed.request->command, Command::reload);
  EXPECT_FALSE(parse_request(R"({"cmd":"Reload"})"));  // names are exact
}

TEST(ProtoControl, ReattachRecording) {
  auto reattach = parse_request(R"({"cmd":"reattach_recording","path":"/var/lib/deskline/recordings/a.opus"})");
  ASSERT_TRUE(reattach) << reattach.error;
  EXPECT_EQ(reattach.request->command, Command::reattach_recording);
  EXPECT_EQ(reattach.request->path, "/var/lib/deskline/recordings/a.opus");
}

TEST(ProtoControl, BadReattachPath) {
  for (const char* line : {R"({"cmd":"reattach_recording"})", R"({"cmd":"reattach_recording","path":5})",
                           R"({"cmd":"reattach_recording","path":""})",
                           R"({"cmd":"reattach_recording","path":"recordings/a.opus"})",
                           R"({"cmd":"reattach_recording","path":"/tmp/a\u0000.opus"})",
                           R"({"cmd":"reattach_recording","path":null})"})
    EXPECT_EQ(parse_request(line).error, "path must be an absolute file path") << line;
}

TEST(ProtoControlFraming, LinesAsTheyArriveInPieces) {
  LineFramer framer;
  std::string line;
  EXPECT_TRUE(framer.empty());
  framer.append(R"({"cmd":"sta)");
  EXPECT_EQ(framer.next(line), Framed::need_more);
  EXPECT_FALSE(framer.empty());
  framer.append("tus\"}\n\n{\"cmd\":\"calls\"}\n{");
  ASSERT_EQ(framer.next(line), Framed::line);
  EXPECT_EQ(line, R"({"cmd":"status"})");
  ASSERT_EQ(framer.next(line), Framed::line);
  EXPECT_EQ(line, "");  // an empty line is a (refused) request of its own
  ASSERT_EQ(framer.next(line), Framed::line);
  EXPECT_EQ(line, R"({"cmd":"calls"})");
  EXPECT_EQ(framer.next(line), Framed::need_more);
  EXPECT_FALSE(framer.empty());
}

TEST(ProtoControlFraming, LineLimitCountsTheNewline) {
  LineFramer fits;
  std::string line;
  fits.append(std::string(max_request_bytes - 1, 'x') + "\n");
  ASSERT_EQ(fits.next(line), Framed::line);
  EXPECT_EQ(line.size(), max_request_bytes - 1);
  EXPECT_TRUE(fits.empty());

  LineFramer too_long;
  too_long.append(std::string(max_request_bytes - 1, 'x'));
  EXPECT_EQ(too_long.next(line), Framed::need_more);
  too_long.append("x");
  EXPECT_EQ(too_long.next(line), Framed::too_long);
  too_long.append("\n");
  EXPECT_EQ(too_long.next(line), Framed::too_long);  // stays refused
}

}  // namespace
}  // namespace deskline::proto::control
