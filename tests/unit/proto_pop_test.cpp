#include "proto/pop.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace deskline::proto::pop {
namespace {

Event ringing() {
  Event event;
  event.event = "call.ringing";
  event.seq = 42;
  event.at = "2026-11-27T09:00:01.500+08:00";
  event.call_id = "0b6c3c8e-6d4e-4d38-9a51-1f0e8f7b2a10";
  event.line = "Sales 1";
  event.direction = "inbound";
  event.number = "+8613812345678";
  event.number_display = "138 1234 5678";
  event.name = "ZHANG WEI";
  event.customers = {{"c-17", "Zhang Wei", "Acme Trading", "https://crm.example/c/17"}};
  event.started_at = "2026-11-27T09:00:01.500+08:00";
  event.box = "X800-0001";
  event.port = 1;
  return event;
}

TEST(ProtoPop, EventRoundTrips) {
  const auto event = ringing();
  EXPECT_EQ(event_from_json(to_json(event)), event);
  Event ended = event;
  ended.event = "call.ended";
  ended.outcome = "answered";
  ended.duration_s = 12.25;
  ended.answered_at = "2026-11-27T09:00:04.000+08:00";
  ended.privacy = "private";
  ended.replay = true;
  EXPECT_EQ(event_from_json(to_json(ended)), ended);
}

// call.dialling carries the digits so far apart from the number, which stays empty until it is complete.
TEST(ProtoPop, DiallingDigitsRoundTripApartFromTheNumber) {
  Event dialling = ringing();
  dialling.event = "call.dialling";
  dialling.direction = "outbound";
  dialling.number = "";
  dialling.number_display = "";
  dialling.name = "";
  dialling.customers.clear();
  dialling.digits = "1390000";
  const auto json = nlohmann::json::parse(to_json(dialling));
  EXPECT_EQ(json["digits"], "1390000");
  EXPECT_EQ(json["number"], "");
  EXPECT_EQ(event_from_json(to_json(dialling)), dialling);
  dialling.replay = true;
  EXPECT_EQ(event_from_json(to_json(dialling)), dialling);
  EXPECT_FALSE(nlohmann::json::parse(to_json(ringing())).contains("digits"));  // other events have none
  EXPECT_FALSE(event_from_json(R"({"v":1,"event":"call.dialling","seq":1,"at":"","digits":139})"));
}

TEST(ProtoPop, EventCarriesVersionAndAllCallFields) {
  const auto json = nlohmann::json::parse(to_json(ringing()));
  EXPECT_EQ(json["v"], 1);
  for (const char* key : {"event", "seq", "at", "call_id", "line", "direction", "number", "number_display",
                          "customers", "name", "started_at"})
    EXPECT_TRUE(json.contains(key)) << key;
  EXPECT_FALSE(json.contains("answered_at"));  // not yet
  EXPECT_FALSE(json.contains("privacy"));  // absent when the number is known
  EXPECT_EQ(json["customers"][0]["company"], "Acme Trading");
}

TEST(ProtoPop, DeviceEventsHaveNoCallFields) {
  Event event;
  event.event = "device.attached";
  event.seq = 1;
  event.at = "2026-11-27T09:00:00.000+08:00";
  event.box = "X800-0001";
  const auto json = nlohmann::json::parse(to_json(event));
  EXPECT_FALSE(json.contains("call_id"));
  EXPECT_EQ(json["box"], "X800-0001");
}

TEST(ProtoPop, ForeignJsonIsNotAnEvent) {
  EXPECT_FALSE(event_from_json("{}"));
  EXPECT_FALSE(event_from_json(R"({"v":2,"event":"call.ringing","seq":1,"at":""})"));
  EXPECT_FALSE(event_from_json(R"({"v":1,"error":"x"})"));
  EXPECT_FALSE(event_from_json("not json"));
  EXPECT_FALSE(event_from_json(R"({"v":1,"event":"call.ringing","seq":-1,"at":""})"));
}

TEST(ProtoPop, MistypedFieldsAreRefusedNotThrown) {
  EXPECT_FALSE(event_from_json(R"({"v":"x","event":"call.ringing","seq":1,"at":""})"));  // found by fuzz_pop_request
  EXPECT_FALSE(event_from_json(R"({"v":1,"event":7,"seq":1,"at":""})"));
  EXPECT_FALSE(event_from_json(R"({"v":1,"event":"call.ringing","seq":1,"at":"","customers":{}})"));
  EXPECT_FALSE(event_from_json(R"({"v":1,"event":"call.ringing","seq":1,"at":"","customers":[{"id":1}]})"));
  EXPECT_FALSE(event_from_json(R"({"v":1,"event":"call.ended","seq":1,"at":"","port":"2"})"));
}

// nlohmann turns a float into an integer with a bare cast, undefined behaviour once it is out of range (found by
// fuzz_pop_request under UBSan with "v": 4.4e55): integer fields take integers that fit, nothing else.
TEST(ProtoPop, NumbersThatDoNotFitTheirFieldAreRefused) {
  const std::string head = R"({"event":"call.ended","seq":1,"at":"",)";
  for (const std::string tail : {R"("v":4.4e55})", R"("v":1.5})", R"("v":-1})", R"("v":1,"port":4.4e55})",
                                 R"("v":1,"port":2.0})", R"("v":1,"port":-2})", R"("v":1,"port":4294967298})",
                                 R"("v":1,"flash_ms":1e30})", R"("v":1,"flash_ms":4294967296})",
                                 R"("v":1,"flash_ms":-1})", R"("v":1,"recording_bytes":1e300})",
                                 R"("v":1,"recording_bytes":-5})"})
    EXPECT_FALSE(event_from_json(head + tail)) << tail;
  EXPECT_TRUE(
      event_from_json(head + R"("v":1,"port":16,"flash_ms":4294967295,"recording_bytes":18446744073709551615})"));
}

TEST(ProtoPopRequest, ResumeAndFilter) {
  auto parsed = parse_client_request(R"({"resume_from": 17, "lines": ["Sales 1", "Sales 2"]})");
  ASSERT_TRUE(parsed) << parsed.error;
  EXPECT_EQ(parsed.request->resume_from, 17u);
  EXPECT_EQ(parsed.request->lines, (std::vector<std::string>{"Sales 1", "Sales 2"}));
  EXPECT_TRUE(parse_client_request(R"({"resume_from": 0})"));
  EXPECT_TRUE(parse_client_request(R"({"lines": []})"));
}

TEST(ProtoPopRequest, DeskFilter) {
  const auto parsed = parse_client_request(R"({"desk": "Front", "resume_from": 3, "stream": "s"})");
  ASSERT_TRUE(parsed) << parsed.error;
  EXPECT_EQ(parsed.request->desk, "Front");
  EXPECT_FALSE(parsed.request->lines);
  EXPECT_EQ(parsed.request->resume_from, 3u);
}

TEST(ProtoPopFilterAnswer, RoundTripsAndIsNeitherHelloNorEvent) {
  const FilterAnswer accepted{std::vector<std::string>{"Sales 1", "Sales 2"}, "", ""};
  EXPECT_EQ(nlohmann::json::parse(to_json(accepted)), nlohmann::json::parse(R"({"v":1,"lines":["Sales 1","Sales 2"]})"));
  EXPECT_EQ(filter_answer_from_json(to_json(accepted)), accepted);
  const FilterAnswer refused{std::nullopt, "desk", "no desk named \"Nope\""};
  EXPECT_EQ(nlohmann::json::parse(to_json(refused)),
            nlohmann::json::parse(R"({"v":1,"error":"no desk named \"Nope\"","refused":"desk"})"));
  EXPECT_EQ(filter_answer_from_json(to_json(refused)), refused);
  for (const char* text : {
           R"({"v":1,"error":"events after seq 4 are no longer all kept; history starts at seq 9"})",  // not a filter's
           R"({"v":1,"lines":"Sales 1"})",                                   // not a list
           R"({"v":1,"lines":[1]})",                                         // not names
           R"({"v":2,"lines":[]})",                                          // another version
           R"({"v":1,"hello":{"stream":"s","last_seq":1,"lines":[]}})",      // a hello
           R"({"v":1,"event":"call.ringing","lines":[]})",                   // an event
           R"({"v":1,"error":7,"refused":"lines"})",                         // no reason
       })
    EXPECT_FALSE(filter_answer_from_json(text)) << text;
  EXPECT_FALSE(hello_from_json(to_json(accepted)));
  EXPECT_FALSE(event_from_json(to_json(accepted)));
}

TEST(ProtoPopRequest, ResumeInAStream) {
  const auto parsed = parse_client_request(R"({"resume_from": 17, "stream": "5f0c"})");
  ASSERT_TRUE(parsed) << parsed.error;
  EXPECT_EQ(parsed.request->resume_from, 17u);
  EXPECT_EQ(parsed.request->stream, "5f0c");
  EXPECT_FALSE(parse_client_request(R"({"resume_from": 17})").request->stream);
}

TEST(ProtoPopHello, RoundTripsAndIsNoEvent) {
  const Hello hello{"0b6c3c8e-6d4e-4d38-9a51-1f0e8f7b2a10", 42, "", {{"Sales 1", "Li Na"}, {"Support", ""}}, false};
  const auto text = to_json(hello);
  EXPECT_EQ(nlohmann::json::parse(text),
            nlohmann::json::parse(R"({"v":1,"hello":{"stream":"0b6c3c8e-6d4e-4d38-9a51-1f0e8f7b2a10","last_seq":42,)"
                                  R"("lines":[{"name":"Sales 1","user":"Li Na"},{"name":"Support","user":""}],)"
                                  R"("may_listen":false}})"));
  EXPECT_EQ(hello_from_json(text), hello);
  EXPECT_EQ(hello_from_json(to_json(Hello{"s", 0, "", {}, false})), (Hello{"s", 0, "", {}, false}));  // a database without events yet
  // A desk's page: its name and whether it may listen.
  const Hello desk{"s", 3, "Front", {{"Sales 1", "Li Na"}}, true};
  EXPECT_EQ(nlohmann::json::parse(to_json(desk))["hello"]["desk"], "Front");
  EXPECT_EQ(hello_from_json(to_json(desk)), desk);
  // A daemon from before desks sent stream and last_seq only.
  EXPECT_EQ(hello_from_json(R"({"v":1,"hello":{"stream":"s","last_seq":1}})"), (Hello{"s", 1, "", {}, false}));
  EXPECT_FALSE(event_from_json(text));  // old clients skip it: it has no "event"
  EXPECT_FALSE(hello_from_json(to_json(ringing())));
}

TEST(ProtoPopHello, AnythingElseIsNoHello) {
  for (const char* text : {
           "not json",
           "[1]",
           R"({"hello":{"stream":"s","last_seq":1}})",                  // no version
           R"({"v":2,"hello":{"stream":"s","last_seq":1}})",            // another version
           R"({"v":"1","hello":{"stream":"s","last_seq":1}})",          // version not a number
           R"({"v":1})",                                                // no hello
           R"({"v":1,"hello":"s"})",                                    // hello not an object
           R"({"v":1,"hello":{"last_seq":1}})",                         // no stream
           R"({"v":1,"hello":{"stream":7,"last_seq":1}})",              // stream not a string
           R"({"v":1,"hello":{"stream":"","last_seq":1}})",             // empty stream
           R"({"v":1,"hello":{"stream":"s"}})",                         // no last_seq
           R"({"v":1,"hello":{"stream":"s","last_seq":-1}})",           // negative
           R"({"v":1,"hello":{"stream":"s","last_seq":"1"}})",          // not a number
           R"({"v":1,"hello":{"stream":"s","last_seq":1.5}})",          // not an integer
       })
    EXPECT_FALSE(hello_from_json(text)) << text;
}

struct BadRequest {
  const char* name;
  std::string text;
  const char* reason;
};

class ProtoPopBadRequest : public ::testing::TestWithParam<BadRequest> {};

TEST_P(ProtoPopBadRequest, IsRefusedWithAReason) {
  const auto& param = GetParam();
  const auto parsed = parse_client_request(param.text);
  EXPECT_FALSE(parsed);
  EXPECT_NE(parsed.error.find(param.reason), std::string::npos) << parsed.error;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ProtoPopBadRequest,
    ::testing::Values(BadRequest{"not_json", "{resume_from: 1}", "not JSON"},
                      BadRequest{"array", "[1]", "not a JSON object"},
                      BadRequest{"empty_object", "{}", "empty request"},
                      BadRequest{"negative_seq", R"({"resume_from": -1})", "non-negative integer"},
                      BadRequest{"string_seq", R"({"resume_from": "5"})", "non-negative integer"},
                      BadRequest{"float_seq", R"({"resume_from": 1.5})", "non-negative integer"},
                      BadRequest{"lines_not_array", R"({"lines": "Sales 1"})", "array of line names"},
                      BadRequest{"line_not_string", R"({"lines": [1]})", "non-empty strings"},
                      BadRequest{"line_empty", R"({"lines": [""]})", "non-empty strings"},
                      BadRequest{"too_many_lines", R"({"lines": [)" + [] {
                        std::string list;
                        for (int i = 0; i < 65; ++i) list += (i ? ",\"L" : "\"L") + std::to_string(i) + "\"";
                        return list;
                      }() + "]}",
                                 "more than 64"},
                      BadRequest{"unknown_key", R"({"subscribe": true})", "unknown key 'subscribe'"},
                      BadRequest{"stream_not_string", R"({"resume_from": 1, "stream": 5})", "non-empty stream id"},
                      BadRequest{"stream_empty", R"({"resume_from": 1, "stream": ""})", "non-empty stream id"},
                      BadRequest{"stream_without_resume", R"({"stream": "s", "lines": []})", "goes with resume_from"},
                      BadRequest{"desk_not_string", R"({"desk": 1})", "non-empty name of a [[desk]]"},
                      BadRequest{"desk_empty", R"({"desk": ""})", "non-empty name of a [[desk]]"},
                      BadRequest{"desk_and_lines", R"({"desk": "Front", "lines": ["Sales 1"]})",
                                 "lines and desk do not go together"},
                      BadRequest{"too_long", std::string(5000, ' ') + "{}", "longer than 4096"}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace deskline::proto::pop
