#include "proto/http_url.hpp"

#include <arpa/inet.h>

#include <algorithm>

#include "proto/bytes.hpp"

namespace deskline::proto::http {
namespace {

class UrlCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "url"; }
  std::string message(int code) const override {
    switch (static_cast<UrlError>(code)) {
      case UrlError::empty: return "URL is empty";
      case UrlError::too_long: return "URL is longer than 2048 characters";
      case UrlError::bad_character: return "URL holds a space, control or non-ASCII character";
      case UrlError::unsupported_scheme: return "URL does not start with http:// or https://";
      case UrlError::has_user_info: return "URL holds user information (user@host); credentials go in the token file";
      case UrlError::missing_host: return "URL has no host";
      case UrlError::bad_host: return "URL host is not a DNS name, IPv4 address or [IPv6] address";
      case UrlError::bad_port: return "URL port is not a number from 1 to 65535";
      case UrlError::bad_path: return "URL path holds a character not allowed there or a bad %-escape";
      case UrlError::has_query_or_fragment: return "URL must not have a query (?) or fragment (#)";
    }
    return "unknown URL error";
  }
};

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (lower(text[i]) != prefix[i]) return false;
  return true;
}

// Four decimal parts 0..255 without leading zeros ("010" would be octal to inet_aton).
bool valid_ipv4(std::string_view text) {
  int parts = 0;
  while (true) {
    const auto dot = text.find('.');
    const auto part = text.substr(0, dot);
    if (part.empty() || part.size() > 3 || (part.size() > 1 && part[0] == '0')) return false;
    if (!std::all_of(part.begin(), part.end(), is_digit)) return false;
    int value = 0;
    for (const char c : part) value = value * 10 + (c - '0');
    if (value > 255) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
  }
  return parts == 4;
}

// RFC 1123 host names: labels of 1..63 letters, digits, '-' (and '_', which
// internal names use) not starting or ending with '-'; 253 characters at most.
bool valid_dns_name(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  while (true) {
    const auto dot = text.find('.');
    const auto label = text.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (const char c : label)
      if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_') return false;
    if (dot == std::string_view::npos) return true;
    text.remove_prefix(dot + 1);
  }
}

// RFC 3986 pchar or '/', with %-escapes of two hex digits.
bool valid_path(std::string_view path) {
  static constexpr std::string_view allowed = "-._~!$&'()*+,;=:@/";
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '%') {
      if (i + 2 >= path.size() || hex_digit_value(path[i + 1]) < 0 || hex_digit_value(path[i + 2]) < 0) return false;
      i += 2;
    } else if (!is_alpha(c) && !is_digit(c) && allowed.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string_view to_string(UrlError error) {
  switch (error) {
    case UrlError::empty: return "empty";
    case UrlError::too_long: return "too_long";
    case UrlError::bad_character: return "bad_character";
    case UrlError::unsupported_scheme: return "unsupported_scheme";
    case UrlError::has_user_info: return "has_user_info";
    case UrlError::missing_host: return "missing_host";
    case UrlError::bad_host: return "bad_host";
    case UrlError::bad_port: return "bad_port";
    case UrlError::bad_path: return "bad_path";
    case UrlError::has_query_or_fragment: return "has_query_or_fragment";
  }
  return "unknown";
}

const std::error_category& url_category() {
  static const UrlCategory category;
  return category;
}

std::error_code make_error_code(UrlError error) { return {static_cast<int>(error), url_category()}; }

std::string Url::authority() const {
  std::string text = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != (tls ? 443 : 80)) text += ":" + std::to_string(port);
  return text;
}

std::string Url::text() const { return std::string(scheme()) + "://" + authority() + path; }

ParsedUrl parse_url(std::string_view text) {
  const auto refuse = [](UrlError error) { return ParsedUrl{std::nullopt, error}; };
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' || text.back() == '\r'))
    text.remove_suffix(1);
  if (text.empty()) return refuse(UrlError::empty);
  if (text.size() > max_url_length) return refuse(UrlError::too_long);
  for (const char c : text)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F)
      return refuse(UrlError::bad_character);

  Url url;
  if (starts_with_ignoring_case(text, "https://")) {
    url.tls = true;
    text.remove_prefix(8);
  } else if (starts_with_ignoring_case(text, "http://")) {
    text.remove_prefix(7);
  } else {
    return refuse(UrlError::unsupported_scheme);
  }

  const auto authority_end = text.find_first_of("/?#");
  std::string_view authority = text.substr(0, authority_end);
  std::string_view rest = authority_end == std::string_view::npos ? std::string_view() : text.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) return refuse(UrlError::has_user_info);

  std::string_view host, port;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return refuse(UrlError::bad_host);
    host = authority.substr(1, close - 1);
    const auto after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return refuse(UrlError::bad_host);
    if (!after.empty()) port = after.substr(1);
    if (!after.empty() && port.empty()) return refuse(UrlError::bad_port);
    in6_addr address{};
    if (host.empty() || host.size() > 45 || inet_pton(AF_INET6, std::string(host).c_str(), &address) != 1)
      return refuse(host.empty() ? UrlError::missing_host : UrlError::bad_host);
    url.host_is_ip = true;
  } else {
    const auto colon = authority.find(':');
    host = authority.substr(0, colon);
    if (host.empty()) return refuse(UrlError::missing_host);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return refuse(UrlError::bad_port);
    }
    // All digits and dots is an IPv4 address or nothing (never a name to resolve).
    const bool numeric = std::all_of(host.begin(), host.end(), [](char c) { return is_digit(c) || c == '.'; });
    if (numeric ? !valid_ipv4(host) : !valid_dns_name(host)) return refuse(UrlError::bad_host);
    url.host_is_ip = numeric;
  }
  url.host.reserve(host.size());
  for (const char c : host) url.host.push_back(lower(c));

  url.port = url.tls ? 443 : 80;
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), is_digit)) return refuse(UrlError::bad_port);
    int value = 0;
    for (const char c : port) value = value * 10 + (c - '0');
    if (value < 1 || value > 65535) return refuse(UrlError::bad_port);
    url.port = static_cast<std::uint16_t>(value);
  }

  if (rest.find_first_of("?#") != std::string_view::npos) return refuse(UrlError::has_query_or_fragment);
  if (!valid_path(rest)) return refuse(UrlError::bad_path);
  while (rest.ends_with('/')) rest.remove_suffix(1);
  url.path = std::string(rest);
  return {std::move(url), {}};
}

}  // namespace deskline::proto::http
