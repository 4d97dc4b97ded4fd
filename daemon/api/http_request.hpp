// What the HTTP listener does with one request (proto/http.md), decided from
// the parsed request alone: which resource it asks for, or which refusal it
// gets. Pure (no I/O, no clocks, no logging), so tests and the fuzz target
// (tests/fuzz/fuzz_http_request.cpp) drive it with Beast's parser directly.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

namespace deskline::daemon {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;

// The parser limits of one request.
inline constexpr std::size_t max_http_header_bytes = 8 * 1024;
inline constexpr std::size_t max_http_body_bytes = 64 * 1024;
inline constexpr std::size_t default_calls_listed = 50;
inline constexpr std::size_t max_calls_listed = 1000;

// Who may use /v1/*: the bearer token, and the browser origins allowed
// (the daemon's own page and [http] allowed_origins).
struct HttpAccess {
  std::string token;
  std::vector<std::string> origins;
};

enum class HttpResource { page, events, calls, refused };

struct HttpDecision {
  HttpResource resource = HttpResource::refused;
  boost::beast::http::status status = boost::beast::http::status::ok;  // of a refusal
  std::string error;                    // a refusal's sentence, sent as {"error": ...}
  bool close = false;                   // hang up after the refusal
  bool authenticated = false;           // the request carried the right token
  std::size_t calls_limit = default_calls_listed;
};

HttpDecision decide(const HttpRequest& request, const HttpAccess& access);

// The credentials of an `Authorization: Bearer ...` header (the scheme is
// case-insensitive, RFC 9110 11.1); "" for any other header.
std::string_view bearer_credentials(std::string_view authorization);

// Compares in constant time: no early exit on the first wrong byte.
bool token_matches(std::string_view presented, std::string_view token);

}  // namespace deskline::daemon
