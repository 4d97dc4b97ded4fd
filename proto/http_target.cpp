#include "proto/http_target.hpp"

#include <charconv>

#include "proto/bytes.hpp"

namespace deskline::proto::http {

namespace {

// RFC 3986 percent-decoding; '+' is a space in query components (HTML forms).
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int high = hex_digit_value(text[i + 1]), low = hex_digit_value(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      const char decoded = static_cast<char>(high * 16 + low);
      if (decoded == '\0') return std::nullopt;  // no NUL smuggled into names or paths
      out += decoded;
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string_view Target::parameter(std::string_view name) const {
  const auto found = query.find(name);
  return found == query.end() ? std::string_view() : std::string_view(found->second);
}

ParsedTarget parse_target(std::string_view text) {
  if (text.empty() || text.front() != '/') return {std::nullopt, "request target must start with '/'"};
  for (const char c : text)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return {std::nullopt, "request target has a space or control character"};
  if (const auto fragment = text.find('#'); fragment != std::string_view::npos)
    return {std::nullopt, "request target must not carry a fragment"};
  Target target;
  const auto question = text.find('?');
  auto path = percent_decode(text.substr(0, question), false);
  if (!path) return {std::nullopt, "bad percent-escape in the path"};
  target.path = std::move(*path);
  if (question == std::string_view::npos) return {std::move(target), {}};

  std::string_view query = text.substr(question + 1);
  std::size_t count = 0;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;  // "a=1&&b=2"
    if (++count > max_query_parameters) return {std::nullopt, "more than 32 query parameters"};
    const auto equals = pair.find('=');
    auto name = percent_decode(pair.substr(0, equals), true);
    auto value = percent_decode(equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1), true);
    if (!name || !value) return {std::nullopt, "bad percent-escape in the query"};
    target.query.emplace(std::move(*name), std::move(*value));
  }
  return {std::move(target), {}};
}

std::optional<std::size_t> parse_count(std::string_view text, std::size_t max) {
  std::size_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty() || value == 0 || value > max)
    return std::nullopt;
  return value;
}

}  // namespace deskline::proto::http
