// What the HTTP listener does with one request (proto/http.md), decided from
// the parsed request alone: which resource it asks for, or which refusal it
// gets. Pure (no I/O, no clocks, no logging), so tests and the fuzz target
// (tests/fuzz/fuzz_http_request.cpp) drive it with Beast's parser directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include "config/config.hpp"
#include "daemon/store/store.hpp"
#include "proto/api_tokens.hpp"

namespace deskline::daemon {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;

// The parser limits of one request.
inline constexpr std::size_t max_http_header_bytes = 8 * 1024;
inline constexpr std::size_t max_http_body_bytes = 64 * 1024;
inline constexpr std::size_t default_calls_listed = 50;
inline constexpr std::size_t max_calls_listed = 1000;
// Pages of the pull API (/v1/calls with an API token, /v1/changes).
inline constexpr std::size_t default_page_limit = 100;
inline constexpr std::size_t max_page_limit = 1000;
// A filter's value (line, number, customer) longer than this matches no call.
inline constexpr std::size_t max_filter_bytes = 256;

// What a request's token opens (proto/http.md "Scopes"). desk: a page's
// token, the admin's ([http] token: every line) or a desk's ([[desk]] token:
// its lines, and their recordings when it may listen): the pop events and
// the page's recent calls. api: an API token ([http] api_tokens_file): the
// pull API (calls, changes, recordings). Each resource names the scope it needs.
enum class HttpScope { none, desk, api };

// Who may use /v1/*: the admin's page token, the desks, the API tokens
// (hashes), and the browser origins allowed (the daemon's own page and
// [http] allowed_origins).
struct HttpAccess {
  std::string token;
  std::vector<std::string> origins;
  std::span<const proto::api_tokens::Entry> api_tokens;
  std::vector<std::shared_ptr<const config::DeskConfig>> desks;
};

// calls: the desk page's recent calls (a JSON array); call_page, call,
// changes and recording: the pull API.
enum class HttpResource { page, health, metrics, events, calls, call_page, call, changes, recording, refused };

// What /v1/recordings/{call_id} is asked for: the file as stored, or 16-bit
// PCM WAV decoded from it (?format=wav).
enum class RecordingFormat { ogg, wav };

struct HttpDecision {
  HttpResource resource = HttpResource::refused;
  boost::beast::http::status status = boost::beast::http::status::ok;  // of a refusal
  std::string error;                    // a refusal's sentence, sent as {"error": ...}
  bool close = false;                   // hang up after the refusal
  bool authenticated = false;           // the request carried a valid token
  HttpScope scope = HttpScope::none;    // what that token opens
  std::string token_name;               // an API token's name, for the log (never the token)
  std::shared_ptr<const config::DeskConfig> desk;  // a desk's token: that desk (none: the admin's, an API token)
  std::size_t calls_limit = default_calls_listed;
  CallQuery call_query;                 // call_page
  std::string next_query;               // call_page: the query of its next link, without the cursor
  std::string call_id;                  // call, recording: a valid call id (is_call_id)
  std::int64_t changes_after = 0;       // changes: the cursor
  std::size_t changes_limit = default_page_limit;
  RecordingFormat format = RecordingFormat::ogg;  // recording

  // Whose requests share the per-token limits (request rate, downloads): one
  // API token, one desk, or the admin's page token.
  std::string client() const {
    if (scope == HttpScope::api) return "api:" + token_name;
    return desk ? "desk:" + desk->name : "desk";
  }
};

HttpDecision decide(const HttpRequest& request, const HttpAccess& access);

// The credentials of an `Authorization: Bearer ...` header (the scheme is
// case-insensitive, RFC 9110 11.1); "" for any other header.
std::string_view bearer_credentials(std::string_view authorization);

// Compares in constant time: no early exit on the first wrong byte.
bool token_matches(std::string_view presented, std::string_view token);

// The cursor of a call page's next link: the last call served, as
// "<started_at µs>_<id>"; opaque to clients.
std::string call_cursor(const CallKey& key);
std::optional<CallKey> parse_call_cursor(std::string_view text);

}  // namespace deskline::daemon
