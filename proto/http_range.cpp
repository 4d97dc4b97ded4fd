#include "proto/http_range.hpp"

#include <limits>
#include <vector>

#include "proto/retry_after.hpp"

namespace deskline::proto::http {

namespace {

constexpr std::uint64_t saturated = std::numeric_limits<std::uint64_t>::max();

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Decimal digits, saturating at 2^64 - 1; nullopt unless all digits.
std::optional<std::uint64_t> parse_position(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    value = value > (saturated - digit) / 10 ? saturated : value * 10 + digit;
  }
  return value;
}

// One range-spec (RFC 9110 14.1.1): "first-last", "first-" or "-suffix".
struct RangeSpec {
  std::optional<std::uint64_t> first;  // none: a suffix range
  std::optional<std::uint64_t> last;   // the last position, or the suffix length
};
std::optional<RangeSpec> parse_range_spec(std::string_view text) {
  const auto dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const auto before = text.substr(0, dash), after = text.substr(dash + 1);
  RangeSpec spec;
  if (before.empty()) {
    spec.last = parse_position(after);
    if (!spec.last) return std::nullopt;
    return spec;
  }
  spec.first = parse_position(before);
  if (!spec.first) return std::nullopt;
  if (after.empty()) return spec;
  spec.last = parse_position(after);
  if (!spec.last || *spec.last < *spec.first) return std::nullopt;
  return spec;
}

RangeSelection refused(RangeError error) {
  RangeSelection selection;
  selection.kind = RangeSelection::Kind::refused;
  selection.error = error;
  return selection;
}

class RangeCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "http_range"; }
  std::string message(int value) const override {
    switch (static_cast<RangeError>(value)) {
      case RangeError::malformed: return "the Range header is not a byte range";
      case RangeError::multiple_ranges: return "only one range per request is served";
      case RangeError::unsatisfiable: return "the range is outside the file";
    }
    return "unknown range error";
  }
};

// The entity tags of a list ("\"a\", W/\"b\""), each with its W/ prefix;
// nullopt when the list is malformed.
std::optional<std::vector<std::string_view>> entity_tags(std::string_view list) {
  std::vector<std::string_view> tags;
  std::size_t at = 0;
  while (at < list.size()) {
    while (at < list.size() && (is_space(list[at]) || list[at] == ',')) ++at;
    if (at == list.size()) break;
    const std::size_t start = at;
    if (list.substr(at, 2) == "W/") at += 2;
    if (at >= list.size() || list[at] != '"') return std::nullopt;
    const auto close = list.find('"', at + 1);
    if (close == std::string_view::npos) return std::nullopt;
    for (std::size_t i = at + 1; i < close; ++i) {
      const auto c = static_cast<unsigned char>(list[i]);
      if (c < 0x21 || c == 0x7F) return std::nullopt;  // etagc: no controls, spaces or DEL
    }
    tags.push_back(list.substr(start, close + 1 - start));
    at = close + 1;
    while (at < list.size() && is_space(list[at])) ++at;
    if (at < list.size() && list[at] != ',') return std::nullopt;
  }
  return tags;
}

std::string_view opaque_of(std::string_view tag) { return tag.starts_with("W/") ? tag.substr(2) : tag; }

}  // namespace

std::string_view to_string(RangeError error) {
  switch (error) {
    case RangeError::malformed: return "malformed";
    case RangeError::multiple_ranges: return "multiple_ranges";
    case RangeError::unsatisfiable: return "unsatisfiable";
  }
  return "";
}

const std::error_category& range_category() {
  static const RangeCategory category;
  return category;
}

std::error_code make_error_code(RangeError error) { return {static_cast<int>(error), range_category()}; }

RangeSelection select_range(std::string_view range_header, std::uint64_t size) {
  const auto header = trim(range_header);
  if (header.empty()) return {};
  const auto equals = header.find('=');
  if (equals == std::string_view::npos) return refused(RangeError::malformed);
  // Another unit is ignored, as RFC 9110 14.2 asks: the whole file.
  if (!iequals(trim(header.substr(0, equals)), "bytes")) return {};
  if (header.size() > max_range_header_bytes) return refused(RangeError::malformed);

  std::optional<RangeSpec> only;
  std::size_t count = 0;
  auto list = header.substr(equals + 1);
  while (true) {
    const auto comma = list.find(',');
    const auto element = trim(list.substr(0, comma));
    if (!element.empty()) {
      auto spec = parse_range_spec(element);
      if (!spec) return refused(RangeError::malformed);
      if (++count == 1) only = spec;
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  if (count == 0) return refused(RangeError::malformed);
  if (count > 1) return refused(RangeError::multiple_ranges);

  RangeSelection selection;
  selection.kind = RangeSelection::Kind::partial;
  if (!only->first) {
    const std::uint64_t suffix = *only->last;
    if (suffix == 0 || size == 0) return refused(RangeError::unsatisfiable);
    selection.range = {suffix >= size ? 0 : size - suffix, size - 1};
    return selection;
  }
  if (*only->first >= size) return refused(RangeError::unsatisfiable);
  selection.range = {*only->first, only->last && *only->last < size ? *only->last : size - 1};
  return selection;
}

std::string content_range(const ByteRange& range, std::uint64_t size) {
  return "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) + "/" + std::to_string(size);
}

std::string unsatisfied_content_range(std::uint64_t size) { return "bytes */" + std::to_string(size); }

std::string strong_etag(std::string_view opaque) { return "\"" + std::string(opaque) + "\""; }

bool if_none_match_matches(std::string_view header, std::string_view etag) {
  const auto value = trim(header);
  if (value == "*") return true;
  const auto tags = entity_tags(value);
  if (!tags) return false;
  for (const auto tag : *tags)
    if (opaque_of(tag) == opaque_of(etag)) return true;
  return false;
}

bool if_range_allows(std::string_view header, std::string_view etag, std::optional<std::int64_t> last_modified_s) {
  const auto value = trim(header);
  if (value.empty()) return true;
  if (value.starts_with('"') || value.starts_with("W/")) {
    const auto tags = entity_tags(value);
    return tags && tags->size() == 1 && !tags->front().starts_with("W/") && tags->front() == etag;
  }
  if (!last_modified_s) return false;
  // The date's own year decides a two-digit year's century well enough here:
  // it must equal Last-Modified exactly, which the daemon sends in IMF-fixdate.
  const auto date = parse_http_date(value, *last_modified_s);
  return date && *date == *last_modified_s;
}

}  // namespace deskline::proto::http
