// Byte-level helpers every wire format here shares: hex text, base64 text,
// little-endian integers (USB, the X800 protocol, Ogg, RIFF/WAV, S16LE audio) and a
// bounds-checked cursor to read and a builder to write them. Pure: no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace deskline::proto {

// ---- hex ------------------------------------------------------------------

// Lowercase, two digits a byte, `separator` between bytes ("" for none).
std::string to_hex(std::span<const std::uint8_t> bytes, std::string_view separator = {});
// Pairs of hex digits (either case, no separators) to bytes; nullopt for an
// odd count or anything that is not a hex digit.
std::optional<std::vector<std::uint8_t>> from_hex(std::string_view text);
// The value of one hex digit (either case), -1 if c is none.
constexpr int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// ---- base64 ----------------------------------------------------------------
// RFC 4648 section 4 (the "+/" alphabet), always padded: what HTTP header values
// carry (Standard Webhooks signatures and secrets, RFC 9530 digests). The
// lenient decoding of vCard values is proto/vcard's own.

std::string to_base64(std::span<const std::uint8_t> bytes);
// The canonical encoding only: a length that is a multiple of 4, at most two
// '=' and only at the end, no other character outside the alphabet, no
// whitespace, and zero bits where the last symbol overhangs the data; nullopt
// otherwise, so each byte string has exactly one accepted text.
std::optional<std::vector<std::uint8_t>> from_base64(std::string_view text);
// What RFC 8941 asks of a byte sequence's parser: '=' padding optional (but
// never more than completes the last group) and overhanging bits ignored;
// still no whitespace or character outside the alphabet.
std::optional<std::vector<std::uint8_t>> from_base64_lenient(std::string_view text);

// ---- little-endian integers ------------------------------------------------
// Loads and stores at bytes[offset...]; the caller has checked the length
// (ByteReader below checks it for you).

constexpr std::uint16_t load_le16(std::span<const std::uint8_t> bytes, std::size_t offset = 0) {
  return static_cast<std::uint16_t>(bytes[offset] | bytes[offset + 1] << 8);
}
constexpr std::uint32_t load_le32(std::span<const std::uint8_t> bytes, std::size_t offset = 0) {
  return std::uint32_t{load_le16(bytes, offset)} | std::uint32_t{load_le16(bytes, offset + 2)} << 16;
}
constexpr std::uint64_t load_le64(std::span<const std::uint8_t> bytes, std::size_t offset = 0) {
  return std::uint64_t{load_le32(bytes, offset)} | std::uint64_t{load_le32(bytes, offset + 4)} << 32;
}

constexpr void store_le16(std::span<std::uint8_t> bytes, std::size_t offset, std::uint16_t value) {
  bytes[offset] = static_cast<std::uint8_t>(value);
  bytes[offset + 1] = static_cast<std::uint8_t>(value >> 8);
}
constexpr void store_le32(std::span<std::uint8_t> bytes, std::size_t offset, std::uint32_t value) {
  store_le16(bytes, offset, static_cast<std::uint16_t>(value));
  store_le16(bytes, offset + 2, static_cast<std::uint16_t>(value >> 16));
}
constexpr void store_le64(std::span<std::uint8_t> bytes, std::size_t offset, std::uint64_t value) {
  store_le32(bytes, offset, static_cast<std::uint32_t>(value));
  store_le32(bytes, offset + 4, static_cast<std::uint32_t>(value >> 32));
}

// ---- cursor and builder ----------------------------------------------------

// Reads little-endian fields in order. A read past the end returns false and
// moves nothing, so a decoder can refuse a short payload with one check.
class ByteReader {
 public:
  explicit ByteReader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  bool u8(std::uint8_t& out) { return take(1, [&] { out = bytes_[position_]; }); }
  bool u16(std::uint16_t& out) { return take(2, [&] { out = load_le16(bytes_, position_); }); }
  bool u32(std::uint32_t& out) { return take(4, [&] { out = load_le32(bytes_, position_); }); }
  bool u64(std::uint64_t& out) { return take(8, [&] { out = load_le64(bytes_, position_); }); }
  bool text(std::size_t length, std::string& out) {
    return take(length, [&] { out.assign(reinterpret_cast<const char*>(bytes_.data() + position_), length); });
  }
  std::size_t remaining() const { return bytes_.size() - position_; }

 private:
  template <typename Read>
  bool take(std::size_t size, Read read) {
    if (remaining() < size) return false;
    read();
    position_ += size;
    return true;
  }

  std::span<const std::uint8_t> bytes_;
  std::size_t position_ = 0;
};

// Appends little-endian fields; calls chain.
class ByteWriter {
 public:
  explicit ByteWriter(std::size_t capacity = 0) { bytes_.reserve(capacity); }

  ByteWriter& u8(std::uint8_t value) {
    bytes_.push_back(value);
    return *this;
  }
  ByteWriter& u16(std::uint16_t value) { return le(value, 2); }
  ByteWriter& u24(std::uint32_t value) { return le(value, 3); }
  ByteWriter& u32(std::uint32_t value) { return le(value, 4); }
  ByteWriter& u64(std::uint64_t value) { return le(value, 8); }
  ByteWriter& append(std::span<const std::uint8_t> more) {
    bytes_.insert(bytes_.end(), more.begin(), more.end());
    return *this;
  }
  ByteWriter& text(std::string_view value) {
    bytes_.insert(bytes_.end(), value.begin(), value.end());
    return *this;
  }
  std::size_t size() const { return bytes_.size(); }
  // Access to what was written so far, e.g. to patch a length or checksum in.
  std::vector<std::uint8_t>& bytes() { return bytes_; }
  std::vector<std::uint8_t> take() { return std::move(bytes_); }

 private:
  ByteWriter& le(std::uint64_t value, int size) {
    for (int i = 0; i < size; ++i) bytes_.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
    return *this;
  }

  std::vector<std::uint8_t> bytes_;
};

// True when text is well-formed UTF-8 without NUL bytes (what JSON clients
// and Vorbis comments need): no overlong forms, surrogates or values past
// U+10FFFF.
bool is_valid_utf8(std::string_view text);

}  // namespace deskline::proto
