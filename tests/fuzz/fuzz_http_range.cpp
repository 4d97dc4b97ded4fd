// Fuzz target: the Range, If-None-Match and If-Range headers of a download,
// and the Content-Disposition made of a file name. The first byte picks the
// size of the representation.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proto/content_disposition.hpp"
#include "proto/http_range.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint64_t sizes[] = {0, 1, 1000, 1ull << 40, ~0ull};
  const std::uint64_t file_size = sizes[data[0] % 5];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  namespace http = deskline::proto::http;
  const auto selection = http::select_range(text, file_size);
  if (selection.kind == http::RangeSelection::Kind::partial) {
    // A range served is never empty and never past the end.
    if (selection.range.first > selection.range.last || selection.range.last >= file_size) std::abort();
  }
  if (selection.kind == http::RangeSelection::Kind::refused && http::to_string(selection.error).empty()) std::abort();
  (void)http::if_none_match_matches(text, "\"abc\"");
  (void)http::if_range_allows(text, "\"abc\"", 1764205200);
  const auto disposition = http::attachment_disposition(text);
  // The header value never carries a control character or a line break.
  for (const char c : disposition)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) std::abort();
  return 0;
}
