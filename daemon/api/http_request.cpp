#include "daemon/api/http_request.hpp"

#include <algorithm>

#include <boost/beast/core/string.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "proto/http_target.hpp"

namespace deskline::daemon {

namespace http = boost::beast::http;

namespace {

HttpDecision serve(HttpResource resource, bool authenticated) {
  HttpDecision decision;
  decision.resource = resource;
  decision.authenticated = authenticated;
  return decision;
}

HttpDecision refuse(http::status status, std::string error, bool close) {
  HttpDecision decision;
  decision.status = status;
  decision.error = std::move(error);
  decision.close = close;
  return decision;
}

}  // namespace

std::string_view bearer_credentials(std::string_view authorization) {
  constexpr std::string_view scheme = "bearer";
  if (authorization.size() <= scheme.size() || authorization[scheme.size()] != ' ' ||
      !boost::beast::iequals(authorization.substr(0, scheme.size()), scheme))
    return {};
  auto credentials = authorization.substr(scheme.size());
  credentials.remove_prefix(std::min(credentials.find_first_not_of(' '), credentials.size()));
  return credentials;
}

bool token_matches(std::string_view presented, std::string_view token) {
  if (presented.size() != token.size() || token.empty()) return false;
  unsigned char difference = 0;
  for (std::size_t i = 0; i < token.size(); ++i) difference |= static_cast<unsigned char>(presented[i] ^ token[i]);
  return difference == 0;
}

HttpDecision decide(const HttpRequest& request, const HttpAccess& access) {
  auto parsed_target = proto::http::parse_target(request.target());
  if (!parsed_target) return refuse(http::status::bad_request, parsed_target.error, true);
  const auto& target = *parsed_target.target;
  const auto& path = target.path;
  const bool keep_alive = request.keep_alive();
  if (request.method() != http::verb::get && request.method() != http::verb::head)
    return refuse(http::status::method_not_allowed, "only GET", !keep_alive);
  if (path == "/" || path == "/index.html") return serve(HttpResource::page, false);
  if (!path.starts_with("/v1/")) return refuse(http::status::not_found, "no such page", !keep_alive);

  const auto origin = request[http::field::origin];
  if (!origin.empty() && std::find(access.origins.begin(), access.origins.end(), origin) == access.origins.end())
    return refuse(http::status::forbidden, "origin not allowed", true);
  auto presented = bearer_credentials(request[http::field::authorization]);
  if (presented.empty()) presented = target.parameter("token");
  if (!token_matches(presented, access.token))
    return refuse(http::status::unauthorized, "missing or wrong token", true);

  // Past the token: refusals from here on still count as authenticated.
  auto refuse_authenticated = [](http::status status, std::string error, bool close) {
    auto decision = refuse(status, std::move(error), close);
    decision.authenticated = true;
    return decision;
  };
  if (path == "/v1/events") {
    if (!boost::beast::websocket::is_upgrade(request))
      return refuse_authenticated(http::status::upgrade_required, "WebSocket only", true);
    return serve(HttpResource::events, true);
  }
  if (path != "/v1/calls") return refuse_authenticated(http::status::not_found, "no such resource", !keep_alive);
  auto decision = serve(HttpResource::calls, true);
  if (const auto text = target.parameter("limit"); !text.empty()) {
    const auto count = proto::http::parse_count(text, max_calls_listed);
    if (!count)
      return refuse_authenticated(http::status::bad_request,
                                  "limit must be an integer from 1 to " + std::to_string(max_calls_listed), !keep_alive);
    decision.calls_limit = *count;
  }
  return decision;
}

}  // namespace deskline::daemon
