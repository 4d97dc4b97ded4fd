// A base URL that Deskline sends requests to ([crm] url: "https://crm.example.com/deskline"):
// scheme, host, port and a path prefix that request targets go after. Pure
// parsing with named refusals, so a bad setting is reported at start with
// its reason rather than when the first request fails. RFC 3986 syntax,
// narrowed to what an HTTP client needs: no user information (credentials
// go in headers), no query or fragment (targets bring their own).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace deskline::proto::http {

inline constexpr std::size_t max_url_length = 2048;

// Why a URL was refused. Stable names (to_string).
enum class UrlError {
  empty = 1,             // "" or only spaces
  too_long,              // more than max_url_length characters
  bad_character,         // a space, control or non-ASCII character anywhere
  unsupported_scheme,    // not http:// or https:// (any case)
  has_user_info,         // "user:pass@host"
  missing_host,          // "http://", "http:///path", "http://:80"
  bad_host,              // not a DNS name, dotted IPv4 or bracketed IPv6 address
  bad_port,              // not 1..65535 in decimal
  bad_path,              // a character RFC 3986 does not allow in a path, or a bad %-escape
  has_query_or_fragment, // '?' or '#'
};
std::string_view to_string(UrlError error);
const std::error_category& url_category();
std::error_code make_error_code(UrlError error);

struct Url {
  bool tls = false;        // https
  std::string host;        // lowercase; an IPv6 address without its brackets
  std::uint16_t port = 0;  // the explicit port, else 80 or 443
  std::string path;        // "" or "/a/b" as written (escapes kept), never ending in '/'
  bool host_is_ip = false; // an IPv4 or IPv6 literal: no SNI, the certificate must name the IP

  std::string_view scheme() const { return tls ? "https" : "http"; }
  // The Host header: the host ([…] for IPv6) with ":port" unless the default.
  std::string authority() const;
  // path + target for a request: target("/v1/calls/x") -> "/deskline/v1/calls/x".
  std::string target(std::string_view relative) const { return path + std::string(relative); }
  // The URL back as text (normalised: lowercase scheme and host, no trailing '/').
  std::string text() const;
};

struct ParsedUrl {
  std::optional<Url> url;
  UrlError error{};
  explicit operator bool() const { return url.has_value(); }
};

// Spaces around the URL are ignored (a value from a config file); inside it,
// they are refused.
ParsedUrl parse_url(std::string_view text);

}  // namespace deskline::proto::http

template <>
struct std::is_error_code_enum<deskline::proto::http::UrlError> : std::true_type {};
