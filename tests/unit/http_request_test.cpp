// What the HTTP listener does with a request: resources, refusals in their
// order (target, method, origin, token), and the bearer scheme in any case.
#include "daemon/api/http_request.hpp"

#include <gtest/gtest.h>

namespace deskline::daemon {
namespace {

namespace http = boost::beast::http;

const HttpAccess daemon_access{"0123456789abcdef", {"http://127.0.0.1:8480", "https://crm.example.com"}, {}, {}};

HttpRequest request(http::verb method, std::string_view target, std::string_view authorization = "",
                    std::string_view origin = "") {
  HttpRequest built{method, target, 11};
  if (!authorization.empty()) built.set(http::field::authorization, authorization);
  if (!origin.empty()) built.set(http::field::origin, origin);
  return built;
}

TEST(HttpRequest, BearerSchemeInAnyCase) {
  for (const char* header : {"Bearer abc", "bearer abc", "BEARER abc", "bEaReR abc", "Bearer   abc"})
    EXPECT_EQ(bearer_credentials(header), "abc") << header;
  for (const char* header : {"", "Bearer", "Bearer ", "Bearerabc", "Basic abc", "Bear abc", " Bearer abc"})
    EXPECT_EQ(bearer_credentials(header), "") << header;
}

TEST(HttpRequest, TokenMustMatchWhole) {
  EXPECT_TRUE(token_matches("0123456789abcdef", daemon_access.token));
  EXPECT_FALSE(token_matches("0123456789abcdeF", daemon_access.token));
  EXPECT_FALSE(token_matches("0123456789abcde", daemon_access.token));
  EXPECT_FALSE(token_matches("", ""));  // no token configured: nothing matches
}

TEST(HttpRequest, PageNeedsNoToken) {
  for (auto method : {http::verb::get, http::verb::head}) {
    const auto decision = decide(request(method, "/index.html"), daemon_access);
    EXPECT_EQ(decision.resource, HttpResource::page);
    EXPECT_FALSE(decision.authenticated);
  }
}

TEST(HttpRequest, CallsWithTheTokenInTheHeaderOrTheQuery) {
  auto by_header = decide(request(http::verb::get, "/v1/calls?limit=7", "bearer 0123456789abcdef"), daemon_access);
  EXPECT_EQ(by_header.resource, HttpResource::calls);
  EXPECT_EQ(by_header.calls_limit, 7u);
  EXPECT_TRUE(by_header.authenticated);
  auto by_query = decide(request(http::verb::head, "/v1/calls?token=0123456789abcdef"), daemon_access);
  EXPECT_EQ(by_query.resource, HttpResource::calls);
  EXPECT_EQ(by_query.calls_limit, default_calls_listed);
}

TEST(HttpRequest, RefusalsInOrder) {
  struct Case {
    const char* name;
    HttpRequest request;
    http::status status;
    bool close;
    bool authenticated;
  };
  const std::string token = "Bearer 0123456789abcdef";
  const Case cases[] = {
      {"bad target", request(http::verb::get, "nope", token), http::status::bad_request, true, false},
      {"method", request(http::verb::post, "/v1/calls", token), http::status::method_not_allowed, false, false},
      {"no such page", request(http::verb::get, "/nothing"), http::status::not_found, false, false},
      {"foreign origin", request(http::verb::get, "/v1/calls", token, "https://evil.example"),
       http::status::forbidden, true, false},
      {"no token", request(http::verb::get, "/v1/calls", "", "https://crm.example.com"),
       http::status::unauthorized, true, false},
      {"wrong scheme", request(http::verb::get, "/v1/calls", "Basic 0123456789abcdef"), http::status::unauthorized,
       true, false},
      {"not an upgrade", request(http::verb::get, "/v1/events", token), http::status::upgrade_required, true, true},
      {"bad limit", request(http::verb::get, "/v1/calls?limit=1001", token), http::status::bad_request, false, true},
      {"no such resource", request(http::verb::get, "/v1/nothing", token), http::status::not_found, false, true},
  };
  for (const auto& test : cases) {
    const auto decision = decide(test.request, daemon_access);
    EXPECT_EQ(decision.resource, HttpResource::refused) << test.name;
    EXPECT_EQ(decision.status, test.status) << test.name;
    EXPECT_EQ(decision.close, test.close) << test.name;
    EXPECT_EQ(decision.authenticated, test.authenticated) << test.name;
    EXPECT_FALSE(decision.error.empty()) << test.name;
  }
}

TEST(HttpRequest, WebSocketUpgrade) {
  auto upgrade = request(http::verb::get, "/v1/events?token=0123456789abcdef", "", "http://127.0.0.1:8480");
  upgrade.set(http::field::upgrade, "websocket");
  upgrade.set(http::field::connection, "Upgrade");
  upgrade.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  upgrade.set(http::field::sec_websocket_version, "13");
  const auto decision = decide(upgrade, daemon_access);
  EXPECT_EQ(decision.resource, HttpResource::events);
  EXPECT_TRUE(decision.authenticated);
}

// ---- scopes and the pull API ------------------------------------------------

const std::string api_token = "dlk_" + std::string(43, 'B');
const std::vector<proto::api_tokens::Entry> api_tokens = {
    {"crm", proto::api_tokens::hash_token(api_token), "2026-11-27T05:45:02Z"}};
const HttpAccess pull_access{"0123456789abcdef", {"http://127.0.0.1:8480"}, api_tokens, {}};
const std::string api_header = "Bearer " + api_token;
const std::string desk_header = "Bearer 0123456789abcdef";
constexpr std::string_view call_id = "0f8fad5b-d9cb-469f-a165-70867728950e";

TEST(HttpScopes, EachTokenOpensItsOwnResources) {
  const auto desk_calls = decide(request(http::verb::get, "/v1/calls?limit=5", desk_header), pull_access);
  EXPECT_EQ(desk_calls.resource, HttpResource::calls);
  EXPECT_EQ(desk_calls.scope, HttpScope::desk);
  EXPECT_EQ(desk_calls.token_name, "");
  const auto api_calls = decide(request(http::verb::get, "/v1/calls?limit=5", api_header), pull_access);
  EXPECT_EQ(api_calls.resource, HttpResource::call_page);
  EXPECT_EQ(api_calls.scope, HttpScope::api);
  EXPECT_EQ(api_calls.token_name, "crm");
  EXPECT_EQ(api_calls.call_query.limit, 5u);
  const auto one = decide(request(http::verb::get, "/v1/calls/" + std::string(call_id), api_header), pull_access);
  EXPECT_EQ(one.resource, HttpResource::call);
  EXPECT_EQ(one.call_id, call_id);
  const auto changes = decide(request(http::verb::get, "/v1/changes?cursor=42&limit=7", api_header), pull_access);
  EXPECT_EQ(changes.resource, HttpResource::changes);
  EXPECT_EQ(changes.changes_after, 42);
  EXPECT_EQ(changes.changes_limit, 7u);
  const auto from_start = decide(request(http::verb::get, "/v1/changes", api_header), pull_access);
  EXPECT_EQ(from_start.changes_after, 0);
  EXPECT_EQ(from_start.changes_limit, default_page_limit);
}

TEST(HttpScopes, RefusalsOfScopeAndToken) {
  struct Case {
    const char* name;
    HttpRequest request;
    http::status status;
    bool authenticated;
  };
  const Case cases[] = {
      {"no token", request(http::verb::get, "/v1/changes"), http::status::unauthorized, false},
      {"wrong API token", request(http::verb::get, "/v1/changes", "Bearer dlk_" + std::string(43, 'C')),
       http::status::unauthorized, false},
      {"API token in the query", request(http::verb::get, "/v1/calls?token=" + api_token),
       http::status::unauthorized, false},
      {"desk token on a call", request(http::verb::get, "/v1/calls/" + std::string(call_id), desk_header),
       http::status::forbidden, true},
      {"desk token on changes", request(http::verb::get, "/v1/changes?token=0123456789abcdef"),
       http::status::forbidden, true},
      {"API token on events", request(http::verb::get, "/v1/events", api_header), http::status::forbidden, true},
  };
  for (const auto& test : cases) {
    SCOPED_TRACE(test.name);
    const auto decision = decide(test.request, pull_access);
    EXPECT_EQ(decision.resource, HttpResource::refused);
    EXPECT_EQ(decision.status, test.status);
    EXPECT_EQ(decision.authenticated, test.authenticated);
    EXPECT_FALSE(decision.error.empty());
  }
  // Without API tokens configured, an API-shaped token opens nothing.
  EXPECT_EQ(decide(request(http::verb::get, "/v1/changes", api_header), daemon_access).status,
            http::status::unauthorized);
}

TEST(HttpScopes, CallPageFiltersAndItsNextQuery) {
  const auto decision = decide(
      request(http::verb::get,
              "/v1/calls?since=2026-11-27T09:00:00%2B08:00&until=2026-11-28T00:00:00Z&line=front%20desk&number=%2B8613812345678"
              "&direction=inbound&outcome=missed&customer=c-7&limit=20&cursor=1795741200000000_" + std::string(call_id),
              api_header),
      pull_access);
  ASSERT_EQ(decision.resource, HttpResource::call_page) << decision.error;
  const auto& query = decision.call_query;
  EXPECT_EQ(query.since, std::optional<WallTimeUs>(1795741200000000));
  EXPECT_EQ(query.until, std::optional<WallTimeUs>(1795824000000000));
  EXPECT_EQ(query.line, "front desk");
  EXPECT_EQ(query.number, "+8613812345678");
  EXPECT_EQ(query.direction, Direction::inbound);
  EXPECT_EQ(query.outcome, Outcome::missed);
  EXPECT_EQ(query.customer, "c-7");
  EXPECT_EQ(query.limit, 20u);
  ASSERT_TRUE(query.after);
  EXPECT_EQ(*query.after, (CallKey{1795741200000000, std::string(call_id)}));
  EXPECT_EQ(decision.next_query,
            "since=2026-11-27T09%3A00%3A00%2B08%3A00&until=2026-11-28T00%3A00%3A00Z&line=front%20desk&"
            "number=%2B8613812345678&direction=inbound&outcome=missed&customer=c-7&limit=20&");
}

TEST(HttpScopes, MalformedIdsCursorsAndFiltersAreRefused) {
  for (const auto& target : std::vector<std::string>{
           "/v1/calls/nope", "/v1/calls/" + std::string(call_id) + "x", "/v1/calls/" + std::string(call_id) + "/x",
        "/v1/calls/%00", "/v1/calls?limit=0", "/v1/calls?limit=1001", "/v1/calls?limit=ten",
        "/v1/calls?cursor=abc", "/v1/calls?cursor=12_nope", "/v1/calls?cursor=-1_" + std::string(call_id),
        "/v1/calls?cursor=", "/v1/calls?since=yesterday", "/v1/calls?since=2026-11-27T09:00:00",
        "/v1/calls?until=2026-02-30T00:00:00Z", "/v1/calls?direction=sideways", "/v1/calls?outcome=lost",
        "/v1/calls?line=", "/v1/calls?number=" + std::string(max_filter_bytes + 1, '1'), "/v1/calls?sinse=x",
        "/v1/calls?token=0123456789abcdef", "/v1/changes?cursor=x", "/v1/changes?cursor=-3",
        "/v1/changes?cursor=007", "/v1/changes?cursor=99999999999999999999", "/v1/changes?limit=0",
        "/v1/changes?since=2026-11-27T09:00:00Z"}) {
    SCOPED_TRACE(target);
    const auto decision = decide(request(http::verb::get, target, api_header), pull_access);
    EXPECT_EQ(decision.resource, HttpResource::refused);
    EXPECT_EQ(decision.status, http::status::bad_request);
    EXPECT_FALSE(decision.error.empty());
  }
}

TEST(HttpScopes, CallCursorsRoundTrip) {
  const CallKey key{1795741200123456, std::string(call_id)};
  EXPECT_EQ(call_cursor(key), "1795741200123456_" + std::string(call_id));
  EXPECT_EQ(parse_call_cursor(call_cursor(key)), key);
  EXPECT_EQ(parse_call_cursor("0_" + std::string(call_id)), (CallKey{0, std::string(call_id)}));
  for (const auto& text : std::vector<std::string>{std::string(), std::string("_"), "_" + std::string(call_id), "01_" + std::string(call_id),
                                 "1_" + std::string(call_id) + "_", "1.5_" + std::string(call_id)})
    EXPECT_FALSE(parse_call_cursor(text)) << text;
}

// Two desks: "Front" may play its line's recordings, "Back" may not.
std::shared_ptr<const config::DeskConfig> desk(std::string name, std::string token, bool may_listen) {
  return std::make_shared<const config::DeskConfig>(
      config::DeskConfig{std::move(name), std::move(token), {"Sales 1"}, may_listen});
}
const HttpAccess desks_access{"0123456789abcdef",
                              {"http://127.0.0.1:8480"},
                              api_tokens,
                              {desk("Front", "front-desk-token-01", true), desk("Back", "back-desk-token-001", false)}};

TEST(HttpScopes, ADesksTokenOpensItsPageAsThatDesk) {
  for (const auto& calls : {request(http::verb::get, "/v1/calls", "Bearer front-desk-token-01"),
                            request(http::verb::get, "/v1/calls?token=front-desk-token-01")}) {
    const auto decision = decide(calls, desks_access);
    EXPECT_EQ(decision.resource, HttpResource::calls);
    EXPECT_EQ(decision.scope, HttpScope::desk);
    ASSERT_TRUE(decision.desk);
    EXPECT_EQ(decision.desk->name, "Front");
    EXPECT_EQ(decision.client(), "desk:Front");  // its own request rate and downloads
  }
  auto upgrade = request(http::verb::get, "/v1/events?token=back-desk-token-001");
  upgrade.set(http::field::upgrade, "websocket");
  upgrade.set(http::field::connection, "Upgrade");
  upgrade.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  upgrade.set(http::field::sec_websocket_version, "13");
  const auto events = decide(upgrade, desks_access);
  EXPECT_EQ(events.resource, HttpResource::events);
  ASSERT_TRUE(events.desk);
  EXPECT_EQ(events.desk->name, "Back");
  // The admin's token is no desk: every line.
  const auto admin = decide(request(http::verb::get, "/v1/calls", desk_header), desks_access);
  EXPECT_EQ(admin.resource, HttpResource::calls);
  EXPECT_FALSE(admin.desk);
  EXPECT_EQ(admin.client(), "desk");
  // A desk's token is whole or wrong.
  EXPECT_EQ(decide(request(http::verb::get, "/v1/calls?token=front-desk-token-0"), desks_access).status,
            http::status::unauthorized);
  EXPECT_EQ(decide(request(http::verb::get, "/v1/calls", "Bearer front-desk-token-011"), desks_access).status,
            http::status::unauthorized);
}

TEST(HttpScopes, OnlyADeskThatMayListenPlaysRecordings) {
  const std::string path = "/v1/recordings/" + std::string(call_id);
  const auto front = decide(request(http::verb::get, path + "?token=front-desk-token-01"), desks_access);
  EXPECT_EQ(front.resource, HttpResource::recording);
  ASSERT_TRUE(front.desk);  // the lookup then finds its lines' calls only
  EXPECT_EQ(front.desk->name, "Front");
  const auto back = decide(request(http::verb::get, path, "Bearer back-desk-token-001"), desks_access);
  EXPECT_EQ(back.resource, HttpResource::refused);
  EXPECT_EQ(back.status, http::status::forbidden);
  EXPECT_EQ(back.error, "this desk may not play recordings (its [[desk]] may_listen is off)");
  EXPECT_TRUE(back.authenticated);
  const auto admin = decide(request(http::verb::get, path, desk_header), desks_access);
  EXPECT_EQ(admin.status, http::status::forbidden);
  EXPECT_NE(admin.error.find("does not open the pull API"), std::string::npos);
  // The pull API stays the API tokens'.
  EXPECT_EQ(decide(request(http::verb::get, "/v1/changes", "Bearer front-desk-token-01"), desks_access).status,
            http::status::forbidden);
}

TEST(HttpScopes, RecordingsByCallIdForApiTokensOnly) {
  const std::string id = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
  const auto ogg = decide(request(http::verb::get, "/v1/recordings/" + id, api_header), pull_access);
  EXPECT_EQ(ogg.resource, HttpResource::recording);
  EXPECT_EQ(ogg.call_id, id);
  EXPECT_EQ(ogg.format, RecordingFormat::ogg);
  EXPECT_EQ(ogg.client(), "api:crm");
  // An <audio> element sends no header: on this path an API token may come in the query.
  const auto wav = decide(request(http::verb::head, "/v1/recordings/" + id + "?format=wav&token=" + api_token),
                          pull_access);
  EXPECT_EQ(wav.resource, HttpResource::recording);
  EXPECT_EQ(wav.format, RecordingFormat::wav);
  EXPECT_EQ(decide(request(http::verb::get, "/v1/recordings/" + id + "?token=dlk_" + std::string(43, 'C')),
                   pull_access)
                .status,
            http::status::unauthorized);

  const auto mp3 = decide(request(http::verb::get, "/v1/recordings/" + id + "?format=mp3", api_header), pull_access);
  EXPECT_EQ(mp3.status, http::status::not_acceptable);
  EXPECT_NE(mp3.error.find("wav"), std::string::npos);
  const std::vector<std::string> malformed = {"",
                                             "..%2F..%2Fetc%2Fpasswd",
                                             "../../x",
                                             id + "0",
                                             id.substr(1),
                                             "3f2504e0_4f89-41d3-9a0c-0305e82c3301",
                                             std::string(4000, 'a'),
                                             id + "/x"};
  for (const auto& bad : malformed) {
    const auto refused = decide(request(http::verb::get, "/v1/recordings/" + bad, api_header), pull_access);
    EXPECT_EQ(refused.resource, HttpResource::refused) << bad;
    EXPECT_EQ(refused.status, http::status::bad_request) << bad;
  }
  // The token is checked before the id says anything, and the desk token opens no recording.
  EXPECT_EQ(decide(request(http::verb::get, "/v1/recordings/" + id), pull_access).status, http::status::unauthorized);
  for (const auto& desk : {request(http::verb::get, "/v1/recordings/" + id, "Bearer 0123456789abcdef"),
                           request(http::verb::get, "/v1/recordings/" + id + "?token=0123456789abcdef")}) {
    const auto refused = decide(desk, pull_access);
    EXPECT_EQ(refused.resource, HttpResource::refused);
    EXPECT_EQ(refused.status, http::status::forbidden);
  }
}

}  // namespace
}  // namespace deskline::daemon
