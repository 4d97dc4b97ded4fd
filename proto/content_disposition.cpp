#include "proto/content_disposition.hpp"

namespace deskline::proto::http {

namespace {

// RFC 8187 attr-char: what an ext-value carries without percent-encoding.
bool is_attr_char(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$&+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_plain(unsigned char c) { return c >= 0x20 && c < 0x7F && c != '"' && c != '\\' && c != '/'; }

}  // namespace

std::string attachment_disposition(std::string_view filename) {
  std::string fallback, encoded;
  bool plain = true;
  for (std::size_t i = 0; i < filename.size(); ++i) {
    const auto c = static_cast<unsigned char>(filename[i]);
    if (c >= 0x80) {
      plain = false;
      // One '_' per character: skip the continuation bytes of a UTF-8 sequence.
      if ((c & 0xC0) != 0x80) fallback += '_';
    } else {
      fallback += is_plain(c) ? static_cast<char>(c) : '_';
      if (!is_plain(c)) plain = false;
    }
    if (is_attr_char(c)) {
      encoded += static_cast<char>(c);
    } else {
      constexpr std::string_view hex = "0123456789ABCDEF";
      encoded += {'%', hex[c >> 4], hex[c & 0x0F]};
    }
  }
  auto disposition = "attachment; filename=\"" + fallback + "\"";
  if (!plain) disposition += "; filename*=UTF-8''" + encoded;
  return disposition;
}

}  // namespace deskline::proto::http
