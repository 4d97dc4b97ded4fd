// What the HTTP listener does with a request: resources, refusals in their
// order (target, method, origin, token), and the bearer scheme in any case.
#include "daemon/api/http_request.hpp"

#include <gtest/gtest.h>

namespace deskline::daemon {
namespace {

namespace http = boost::beast::http;

const HttpAccess daemon_access{"0123456789abcdef", {"http://127.0.0.1:8480", "https://crm.example.com"}};

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

}  // namespace
}  // namespace deskline::daemon
