#include "daemon/api/http_request.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <boost/beast/core/string.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "daemon/domain/call_json.hpp"
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

// Percent-encodes a query value: everything but RFC 3986's unreserved characters.
std::string encode_query_value(std::string_view value) {
  constexpr std::string_view hex = "0123456789ABCDEF";
  std::string encoded;
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~') {
      encoded += c;
    } else {
      encoded += '%';
      encoded += hex[byte >> 4];
      encoded += hex[byte & 0x0f];
    }
  }
  return encoded;
}

// Who presented what: the desk page's token (in the header, or in the query
// for browsers' WebSockets), or an API token, in the header only (a URL ends
// up in logs and browser histories), except on a recording's path: an
// <audio> element cannot send a header. A refusal carries its reason.
struct Caller {
  HttpScope scope = HttpScope::none;
  std::string token_name;
  std::string refusal;
  std::shared_ptr<const config::DeskConfig> desk;
};

Caller authenticate(const HttpRequest& request, const proto::http::Target& target, const HttpAccess& access) {
  const auto find_api_token = [&](std::string_view presented) -> std::optional<Caller> {
    if (const auto* entry = proto::api_tokens::find(access.api_tokens, presented))
      return Caller{HttpScope::api, entry->name, "", nullptr};
    return std::nullopt;
  };
  // The admin's page token or a desk's, every one compared in constant time.
  const auto find_page_token = [&](std::string_view presented) -> std::optional<Caller> {
    std::optional<Caller> found;
    if (token_matches(presented, access.token)) found = Caller{HttpScope::desk, "", "", nullptr};
    for (const auto& desk : access.desks)
      if (token_matches(presented, desk->token)) found = Caller{HttpScope::desk, "", "", desk};
    return found;
  };
  const Caller wrong{HttpScope::none, "", "missing or wrong token", nullptr};
  const auto header = bearer_credentials(request[http::field::authorization]);
  if (!header.empty()) {
    if (auto caller = find_page_token(header)) return *caller;
    if (auto caller = find_api_token(header)) return *caller;
    return wrong;
  }
  const auto query = target.parameter("token");
  if (proto::api_tokens::looks_like_token(query)) {
    if (!target.path.starts_with("/v1/recordings/"))
      return {HttpScope::none, "", "API tokens go in the Authorization header (Bearer), never in the URL", nullptr};
    if (auto caller = find_api_token(query)) return *caller;
    return wrong;
  }
  if (auto caller = find_page_token(query)) return *caller;
  return wrong;
}

constexpr std::string_view call_page_parameters[] = {"since", "until",    "line",  "number", "direction",
                                                     "outcome", "customer", "limit", "cursor"};

// The parameters of GET /v1/calls for an API token (proto/http.md): every
// filter and the page; an empty error when all are good.
std::string read_call_page(const proto::http::Target& target, HttpDecision& decision) {
  for (const auto& [name, value] : target.query)
    if (std::find(std::begin(call_page_parameters), std::end(call_page_parameters), name) ==
        std::end(call_page_parameters))
      return "unknown parameter " + name + " (the filters are since, until, line, number, direction, outcome, "
             "customer; the page limit and cursor)";
  auto& query = decision.call_query;
  query.limit = default_page_limit;
  for (const auto name : {"since", "until"}) {
    if (!target.query.contains(name)) continue;
    const auto time = parse_iso8601(target.parameter(name));
    if (!time)
      return std::string(name) + " must be a date and time with its UTC offset, such as 2026-11-27T09:00:00+08:00 "
             "or 2026-11-27T01:00:00Z";
    (std::string_view(name) == "since" ? query.since : query.until) = *time;
  }
  for (const auto& [name, field] :
       {std::pair{"line", &query.line}, std::pair{"number", &query.number}, std::pair{"customer", &query.customer}}) {
    if (!target.query.contains(name)) continue;
    const auto value = target.parameter(name);
    if (value.empty() || value.size() > max_filter_bytes)
      return std::string(name) + " must be 1 to " + std::to_string(max_filter_bytes) + " bytes";
    *field = value;
  }
  if (target.query.contains("direction")) {
    query.direction = parse_direction(target.parameter("direction"));
    if (!query.direction) return "direction must be inbound, outbound or unknown";
  }
  if (target.query.contains("outcome")) {
    query.outcome = parse_outcome(target.parameter("outcome"));
    if (!query.outcome)
      return "outcome must be answered, missed, completed, abandoned, device_lost, interrupted or remote_hangup";
  }
  if (target.query.contains("limit")) {
    const auto limit = proto::http::parse_count(target.parameter("limit"), max_page_limit);
    if (!limit) return "limit must be an integer from 1 to " + std::to_string(max_page_limit);
    query.limit = *limit;
  }
  if (target.query.contains("cursor")) {
    query.after = parse_call_cursor(target.parameter("cursor"));
    if (!query.after) return "cursor is not one this API gave out (take it from a next link)";
  }
  for (const auto name : call_page_parameters) {
    if (std::string_view(name) == "cursor" || !target.query.contains(name)) continue;
    decision.next_query += std::string(name) + "=" + encode_query_value(target.parameter(name)) + "&";
  }
  return "";
}

// GET /v1/changes?cursor=C&limit=N.
std::string read_changes(const proto::http::Target& target, HttpDecision& decision) {
  for (const auto& [name, value] : target.query)
    if (name != "cursor" && name != "limit") return "unknown parameter " + name + " (only cursor and limit)";
  if (target.query.contains("limit")) {
    const auto limit = proto::http::parse_count(target.parameter("limit"), max_page_limit);
    if (!limit) return "limit must be an integer from 1 to " + std::to_string(max_page_limit);
    decision.changes_limit = *limit;
  }
  if (target.query.contains("cursor")) {
    const auto cursor = target.parameter("cursor");
    std::int64_t seq = 0;
    const auto [end, error] = std::from_chars(cursor.data(), cursor.data() + cursor.size(), seq);
    if (cursor.empty() || error != std::errc() || end != cursor.data() + cursor.size() || seq < 0 ||
        (cursor.size() > 1 && cursor.front() == '0'))
      return "cursor must be one this API gave out (a whole number; 0 or none from the start)";
    decision.changes_after = seq;
  }
  return "";
}

}  // namespace

std::string call_cursor(const CallKey& key) { return std::to_string(key.started_at) + "_" + key.id; }

std::optional<CallKey> parse_call_cursor(std::string_view text) {
  const auto separator = text.find('_');
  if (separator == std::string_view::npos) return std::nullopt;
  CallKey key;
  const auto digits = text.substr(0, separator);
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), key.started_at);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() ||
      (digits.size() > 1 && digits.front() == '0') || key.started_at < 0)
    return std::nullopt;
  key.id = text.substr(separator + 1);
  if (!is_call_id(key.id)) return std::nullopt;
  return key;
}

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
  if (path == "/healthz") return serve(HttpResource::health, false);  // for monitors: no token, no data
  // For Prometheus on this host: no token; the session answers loopback peers only.
  if (path == "/metrics") return serve(HttpResource::metrics, false);
  if (!path.starts_with("/v1/")) return refuse(http::status::not_found, "no such page", !keep_alive);

  const auto origin = request[http::field::origin];
  if (!origin.empty() && std::find(access.origins.begin(), access.origins.end(), origin) == access.origins.end())
    return refuse(http::status::forbidden, "origin not allowed", true);
  const auto caller = authenticate(request, target, access);
  if (caller.scope == HttpScope::none) return refuse(http::status::unauthorized, caller.refusal, true);

  // Past the token: refusals from here on still count as authenticated.
  auto refuse_authenticated = [&caller](http::status status, std::string error, bool close) {
    auto decision = refuse(status, std::move(error), close);
    decision.authenticated = true;
    decision.scope = caller.scope;
    decision.token_name = caller.token_name;
    decision.desk = caller.desk;
    return decision;
  };
  auto serve_caller = [&caller](HttpResource resource) {
    auto decision = serve(resource, true);
    decision.scope = caller.scope;
    decision.token_name = caller.token_name;
    decision.desk = caller.desk;
    return decision;
  };
  const bool api = caller.scope == HttpScope::api;
  auto wrong_scope = [&] {
    return refuse_authenticated(http::status::forbidden,
                                api ? "an API token does not open the pop events (the desk page's token does)"
                                    : "the desk page's token does not open the pull API (use an API token: "
                                      "deskline tokens add NAME)",
                                !keep_alive);
  };
  if (path == "/v1/events") {
    if (api) return wrong_scope();
    if (!boost::beast::websocket::is_upgrade(request))
      return refuse_authenticated(http::status::upgrade_required, "WebSocket only", true);
    return serve_caller(HttpResource::events);
  }
  if (path == "/v1/calls" && api) {
    auto decision = serve_caller(HttpResource::call_page);
    if (auto error = read_call_page(target, decision); !error.empty())
      return refuse_authenticated(http::status::bad_request, std::move(error), !keep_alive);
    return decision;
  }
  if (path == "/v1/calls") {
    auto decision = serve_caller(HttpResource::calls);
    if (const auto text = target.parameter("limit"); !text.empty()) {
      const auto count = proto::http::parse_count(text, max_calls_listed);
      if (!count)
        return refuse_authenticated(http::status::bad_request,
                                    "limit must be an integer from 1 to " + std::to_string(max_calls_listed),
                                    !keep_alive);
      decision.calls_limit = *count;
    }
    return decision;
  }
  constexpr std::string_view call_id_format = "a call id is a UUID such as 0f8fad5b-d9cb-469f-a165-70867728950e";
  if (path.starts_with("/v1/calls/")) {
    if (!api) return wrong_scope();
    auto decision = serve_caller(HttpResource::call);
    decision.call_id = path.substr(std::string_view("/v1/calls/").size());
    if (!is_call_id(decision.call_id))
      return refuse_authenticated(http::status::bad_request, std::string(call_id_format), !keep_alive);
    return decision;
  }
  if (path.starts_with("/v1/recordings/")) {
    if (!api && !caller.desk) return wrong_scope();
    if (caller.desk && !caller.desk->may_listen)
      return refuse_authenticated(http::status::forbidden,
                                  "this desk may not play recordings (its [[desk]] may_listen is off)", !keep_alive);
    auto decision = serve_caller(HttpResource::recording);
    decision.call_id = path.substr(std::string_view("/v1/recordings/").size());
    if (!is_call_id(decision.call_id))
      return refuse_authenticated(http::status::bad_request, std::string(call_id_format), !keep_alive);
    const auto format = target.parameter("format");
    if (format == "wav") {
      decision.format = RecordingFormat::wav;
    } else if (!format.empty() && format != "ogg") {
      return refuse_authenticated(http::status::not_acceptable,
                                  "format must be ogg (the stored Ogg Opus file, the default) or wav (16-bit PCM)",
                                  !keep_alive);
    }
    return decision;
  }
  if (path == "/v1/changes") {
    if (!api) return wrong_scope();
    auto decision = serve_caller(HttpResource::changes);
    if (auto error = read_changes(target, decision); !error.empty())
      return refuse_authenticated(http::status::bad_request, std::move(error), !keep_alive);
    return decision;
  }
  return refuse_authenticated(http::status::not_found, "no such resource", !keep_alive);
}

}  // namespace deskline::daemon
