// The request target of an HTTP request ("/v1/calls?limit=20&token=..."):
// path and percent-decoded query parameters. Pure parsing for the daemon's
// HTTP listener (proto/http.md); hostile targets get a reason.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace deskline::proto::http {

inline constexpr std::size_t max_query_parameters = 32;

struct Target {
  std::string path;  // percent-decoded, always starts with '/'
  std::map<std::string, std::string, std::less<>> query;  // a repeated name keeps its first value

  // The value of a query parameter, or "" when absent.
  std::string_view parameter(std::string_view name) const;
};

struct ParsedTarget {
  std::optional<Target> target;
  std::string error;
  explicit operator bool() const { return target.has_value(); }
};

ParsedTarget parse_target(std::string_view text);

// A positive integer query value no larger than max ("20"); nullopt for
// anything else ("", "-1", "1e3", "20x", "0").
std::optional<std::size_t> parse_count(std::string_view text, std::size_t max);

}  // namespace deskline::proto::http
