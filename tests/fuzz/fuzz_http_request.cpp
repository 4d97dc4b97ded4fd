// Fuzz target: the HTTP request path as the daemon runs it, on any bytes a
// client may send on one keep-alive connection: Beast's parser with the
// daemon's limits, then the request target and the access decision
// (daemon/api/http_request.hpp), request after request.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/parser.hpp>

#include "daemon/api/http_request.hpp"

namespace {

namespace http = boost::beast::http;
using deskline::daemon::HttpResource;

// One API token, "dlk_" and 43 'A's (the token of 32 zero bytes).
const std::vector<deskline::proto::api_tokens::Entry> api_tokens = {
    {"crm", deskline::proto::api_tokens::hash_token("dlk_" + std::string(43, 'A')), "2026-11-27T05:45:02Z"}};
// Two desks: "front" may listen to its line's recordings, "back" may not.
std::shared_ptr<const deskline::config::DeskConfig> desk(std::string name, std::string token, bool may_listen) {
  return std::make_shared<const deskline::config::DeskConfig>(
      deskline::config::DeskConfig{std::move(name), std::move(token), {"Sales 1"}, may_listen});
}
const deskline::daemon::HttpAccess daemon_access{"0123456789abcdef0123456789abcdef",
                                                 {"http://127.0.0.1:8480"},
                                                 api_tokens,
                                                 {desk("front", "front-desk-token-0001", true),
                                                  desk("back", "back-desk-token-00001", false)}};

void check(const deskline::daemon::HttpDecision& decision) {
  const bool refused = decision.resource == HttpResource::refused;
  if (refused != !decision.error.empty()) std::abort();  // a refusal has a reason, a resource none
  if (refused && static_cast<unsigned>(decision.status) < 400) std::abort();
  if ((decision.resource == HttpResource::events || decision.resource == HttpResource::calls) &&
      !decision.authenticated)
    std::abort();
  if (decision.calls_limit == 0 || decision.calls_limit > deskline::daemon::max_calls_listed) std::abort();
  // The pull API is the API scope's alone, its pages bounded.
  const bool pull = decision.resource == HttpResource::call_page || decision.resource == HttpResource::call ||
                    decision.resource == HttpResource::changes;
  if (pull && (decision.scope != deskline::daemon::HttpScope::api || decision.token_name != "crm")) std::abort();
  if (decision.resource == HttpResource::events && decision.scope != deskline::daemon::HttpScope::desk) std::abort();
  if (decision.authenticated != (decision.scope != deskline::daemon::HttpScope::none)) std::abort();
  // A page's token reaches a recording only as a desk that may listen.
  if (decision.resource == HttpResource::recording && decision.scope != deskline::daemon::HttpScope::api &&
      !(decision.desk && decision.desk->may_listen))
    std::abort();
  if (decision.desk && decision.scope != deskline::daemon::HttpScope::desk) std::abort();
  if (decision.call_query.limit == 0 || decision.call_query.limit > deskline::daemon::max_page_limit ||
      decision.changes_limit == 0 || decision.changes_limit > deskline::daemon::max_page_limit || decision.changes_after < 0)
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view stream(reinterpret_cast<const char*>(data), size);
  while (!stream.empty()) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(deskline::daemon::max_http_header_bytes);
    parser.body_limit(deskline::daemon::max_http_body_bytes);
    parser.eager(true);
    boost::beast::error_code error;
    const auto used = parser.put(boost::asio::buffer(stream.data(), stream.size()), error);
    if (error || !parser.is_done()) return 0;  // the daemon answers 400 or waits for more
    stream.remove_prefix(used);
    const auto& request = parser.get();
    check(deskline::daemon::decide(request, daemon_access));
    const auto credentials = deskline::daemon::bearer_credentials(request[http::field::authorization]);
    if (!credentials.empty() && credentials.front() == ' ') std::abort();
  }
  return 0;
}
