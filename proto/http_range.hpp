// Conditional and range requests of a download (RFC 9110 13 and 14): the
// Range header against the file's size, If-None-Match and If-Range against
// its entity tag, for the daemon's recordings (proto/http.md "Recordings").
// Pure: the caller passes the header values and what it knows of the file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace deskline::proto::http {

// Why a Range header was refused (answered 416). Stable names (to_string).
enum class RangeError {
  malformed = 1,    // "bytes=" followed by something that is not a byte-range list
  multiple_ranges,  // more than one range: the daemon serves one range per request
  unsatisfiable,    // the one range starts at or past the end (or asks for the last 0 bytes)
};
std::string_view to_string(RangeError error);
const std::error_category& range_category();
std::error_code make_error_code(RangeError error);

// Bytes first..last of a representation, both included.
struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::uint64_t length() const { return last - first + 1; }
  friend bool operator==(const ByteRange&, const ByteRange&) = default;
};

// What to send for a request's Range header.
struct RangeSelection {
  enum class Kind { whole, partial, refused };
  Kind kind = Kind::whole;
  ByteRange range;  // partial: the bytes to send
  RangeError error{};  // refused: why
  friend bool operator==(const RangeSelection&, const RangeSelection&) = default;
};

// The longest Range header looked at; a longer one is malformed. One range
// takes at most 41 characters ("bytes=" and two 20-digit numbers).
inline constexpr std::size_t max_range_header_bytes = 256;

// Evaluates a Range header against a representation of size bytes:
//   ""                      whole (no Range header)
//   "items=0-1"             whole: a unit other than bytes is ignored (RFC 9110 14.2)
//   "bytes=0-99"            partial 0..99 (last clamped to size - 1)
//   "bytes=100-"            partial 100..size-1
//   "bytes=-100"            partial: the last 100 bytes (all of them when fewer)
//   "bytes=0-1,5-9"         refused multiple_ranges (even if both could be served)
//   "bytes=size-", "bytes=-0", any range of an empty representation: unsatisfiable
//   anything else after "bytes=": malformed
// Numbers too large for 64 bits saturate: "bytes=0-99999999999999999999999"
// is the whole file, "bytes=99999999999999999999999-" unsatisfiable.
RangeSelection select_range(std::string_view range_header, std::uint64_t size);

// "bytes 0-99/1234" for a 206, "bytes */1234" for a 416.
std::string content_range(const ByteRange& range, std::uint64_t size);
std::string unsatisfied_content_range(std::uint64_t size);

// A strong entity tag for a digest: the value in double quotes.
std::string strong_etag(std::string_view opaque);

// If-None-Match (RFC 9110 13.1.2): whether the header names etag (weak
// comparison: W/"x" matches "x") or is "*". A malformed list matches nothing.
bool if_none_match_matches(std::string_view header, std::string_view etag);

// If-Range (RFC 9110 13.1.5): whether the Range header may be honoured.
// "" (no If-Range) allows it; an entity tag must equal etag strongly (a weak
// tag never does); an HTTP-date must equal last_modified_s (when known);
// anything else does not.
bool if_range_allows(std::string_view header, std::string_view etag, std::optional<std::int64_t> last_modified_s);

}  // namespace deskline::proto::http

template <>
struct std::is_error_code_enum<deskline::proto::http::RangeError> : std::true_type {};
