#include "codec/ogg_format.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

namespace deskline::codec {
namespace {

constexpr std::string_view capture_pattern = "OggS";
constexpr std::string_view opus_head_magic = "OpusHead";
constexpr std::string_view opus_tags_magic = "OpusTags";
constexpr std::size_t crc_offset = 22;
constexpr std::size_t max_lacing_values = 255;

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t index = 0; index < 256; ++index) {
    std::uint32_t value = index << 24;
    for (int bit = 0; bit < 8; ++bit) value = (value & 0x80000000u) ? (value << 1) ^ 0x04C11DB7u : value << 1;
    table[index] = value;
  }
  return table;
}
constexpr auto crc_table = make_crc_table();

std::uint32_t crc_update(std::uint32_t crc, std::span<const std::uint8_t> bytes) {
  for (const auto byte : bytes) crc = (crc << 8) ^ crc_table[((crc >> 24) ^ byte) & 0xFF];
  return crc;
}

std::uint16_t read_u16(std::span<const std::uint8_t> bytes, std::size_t offset) {
  return static_cast<std::uint16_t>(bytes[offset] | (bytes[offset + 1] << 8));
}

std::uint32_t read_u32(std::span<const std::uint8_t> bytes, std::size_t offset) {
  return static_cast<std::uint32_t>(bytes[offset]) | (static_cast<std::uint32_t>(bytes[offset + 1]) << 8) |
         (static_cast<std::uint32_t>(bytes[offset + 2]) << 16) | (static_cast<std::uint32_t>(bytes[offset + 3]) << 24);
}

std::uint64_t read_u64(std::span<const std::uint8_t> bytes, std::size_t offset) {
  return std::uint64_t{read_u32(bytes, offset)} | (std::uint64_t{read_u32(bytes, offset + 4)} << 32);
}

void put_u16(std::vector<std::uint8_t>& out, std::uint16_t value) {
  out.push_back(static_cast<std::uint8_t>(value));
  out.push_back(static_cast<std::uint8_t>(value >> 8));
}

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t value) {
  put_u16(out, static_cast<std::uint16_t>(value));
  put_u16(out, static_cast<std::uint16_t>(value >> 16));
}

void put_u64(std::vector<std::uint8_t>& out, std::uint64_t value) {
  put_u32(out, static_cast<std::uint32_t>(value));
  put_u32(out, static_cast<std::uint32_t>(value >> 32));
}

void put_text(std::vector<std::uint8_t>& out, std::string_view text) {
  out.insert(out.end(), text.begin(), text.end());
}

bool starts_with(std::span<const std::uint8_t> bytes, std::string_view prefix) {
  return bytes.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), bytes.begin(),
                    [](char a, std::uint8_t b) { return static_cast<std::uint8_t>(a) == b; });
}

}  // namespace

std::uint32_t ogg_crc(std::span<const std::uint8_t> bytes) { return crc_update(0, bytes); }

std::size_t OggPage::packets_completed() const {
  return static_cast<std::size_t>(
      std::count_if(lacing.begin(), lacing.end(), [](std::uint8_t size) { return size < 255; }));
}

OggParse parse_ogg_page(std::span<const std::uint8_t> bytes, OggPage& page) {
  const std::size_t pattern_bytes = std::min(bytes.size(), capture_pattern.size());
  if (!starts_with(bytes.first(pattern_bytes), capture_pattern.substr(0, pattern_bytes))) return OggParse::invalid;
  if (bytes.size() < ogg_page_header_size) return OggParse::need_more;
  if (bytes[4] != 0) return OggParse::invalid;  // stream structure version
  if ((bytes[5] & ~(ogg_flag_continued | ogg_flag_bos | ogg_flag_eos)) != 0) return OggParse::invalid;
  const std::size_t segments = bytes[26];
  if (bytes.size() < ogg_page_header_size + segments) return OggParse::need_more;
  const auto lacing = bytes.subspan(ogg_page_header_size, segments);
  std::size_t body_size = 0;
  for (const auto size : lacing) body_size += size;
  const std::size_t page_size = ogg_page_header_size + segments + body_size;
  if (bytes.size() < page_size) return OggParse::need_more;

  const std::array<std::uint8_t, 4> zero_crc{};
  std::uint32_t crc = crc_update(0, bytes.first(crc_offset));
  crc = crc_update(crc, zero_crc);
  crc = crc_update(crc, bytes.subspan(crc_offset + 4, page_size - crc_offset - 4));
  if (crc != read_u32(bytes, crc_offset)) return OggParse::invalid;

  page.flags = bytes[5];
  page.granule = static_cast<std::int64_t>(read_u64(bytes, 6));
  page.serial = read_u32(bytes, 14);
  page.sequence = read_u32(bytes, 18);
  page.lacing = lacing;
  page.body = bytes.subspan(ogg_page_header_size + segments, body_size);
  page.size = page_size;
  return OggParse::complete;
}

void set_ogg_page_crc(std::span<std::uint8_t> page) {
  std::fill_n(page.begin() + crc_offset, 4, std::uint8_t{0});
  const std::uint32_t crc = ogg_crc(page);
  for (std::size_t i = 0; i < 4; ++i) page[crc_offset + i] = static_cast<std::uint8_t>(crc >> (8 * i));
}

std::vector<std::uint8_t> build_ogg_page(std::uint32_t serial, std::uint32_t sequence, std::uint8_t flags,
                                         std::int64_t granule, std::span<const std::span<const std::uint8_t>> packets) {
  std::vector<std::uint8_t> lacing;
  std::size_t body_size = 0;
  for (const auto& packet : packets) {
    // A packet of exactly k*255 bytes needs a terminating 0 lacing value.
    lacing.insert(lacing.end(), packet.size() / 255, std::uint8_t{255});
    lacing.push_back(static_cast<std::uint8_t>(packet.size() % 255));
    body_size += packet.size();
  }
  lacing.resize(std::min(lacing.size(), max_lacing_values));  // callers keep packets small

  std::vector<std::uint8_t> page;
  page.reserve(ogg_page_header_size + lacing.size() + body_size);
  put_text(page, capture_pattern);
  page.push_back(0);  // version
  page.push_back(flags);
  put_u64(page, static_cast<std::uint64_t>(granule));
  put_u32(page, serial);
  put_u32(page, sequence);
  put_u32(page, 0);  // CRC, set below
  page.push_back(static_cast<std::uint8_t>(lacing.size()));
  page.insert(page.end(), lacing.begin(), lacing.end());
  for (const auto& packet : packets) page.insert(page.end(), packet.begin(), packet.end());
  set_ogg_page_crc(page);
  return page;
}

OggWalk walk_ogg_stream(std::span<const std::uint8_t> bytes) {
  OggWalk walk;
  std::size_t offset = 0;
  while (offset < bytes.size()) {
    if (!walk.pages.empty() && walk.pages.back().page.eos()) {
      walk.end = OggWalkEnd::after_eos;
      return walk;
    }
    OggPage page;
    const auto parsed = parse_ogg_page(bytes.subspan(offset), page);
    if (parsed == OggParse::need_more) {
      walk.end = OggWalkEnd::truncated;
      return walk;
    }
    if (parsed == OggParse::invalid) {
      walk.end = OggWalkEnd::invalid;
      return walk;
    }
    if (!walk.pages.empty()) {
      const OggPage& previous = walk.pages.back().page;
      if (page.serial != previous.serial) {
        walk.end = OggWalkEnd::other_stream;
        return walk;
      }
      if (page.bos()) {  // a second beginning of the same stream
        walk.end = OggWalkEnd::invalid;
        return walk;
      }
      if (page.sequence != previous.sequence + 1) {
        walk.end = OggWalkEnd::sequence_gap;
        return walk;
      }
    }
    walk.pages.push_back({offset, page});
    offset += page.size;
    walk.valid_bytes = offset;
  }
  walk.end = OggWalkEnd::end_of_data;
  return walk;
}

std::vector<std::uint8_t> encode_opus_head(const OpusHead& head) {
  std::vector<std::uint8_t> out;
  out.reserve(opus_head_size);
  put_text(out, opus_head_magic);
  out.push_back(head.version);
  out.push_back(head.channels);
  put_u16(out, head.pre_skip);
  put_u32(out, head.input_rate_hz);
  put_u16(out, static_cast<std::uint16_t>(head.output_gain_q8));
  out.push_back(head.mapping_family);
  return out;
}

std::optional<OpusHead> parse_opus_head(std::span<const std::uint8_t> packet, std::string& why) {
  if (!starts_with(packet, opus_head_magic)) {
    why = "first packet is not an OpusHead";
    return std::nullopt;
  }
  if (packet.size() < opus_head_size) {
    why = "OpusHead shorter than 19 bytes";
    return std::nullopt;
  }
  OpusHead head;
  head.version = packet[8];
  head.channels = packet[9];
  head.pre_skip = read_u16(packet, 10);
  head.input_rate_hz = read_u32(packet, 12);
  head.output_gain_q8 = static_cast<std::int16_t>(read_u16(packet, 16));
  head.mapping_family = packet[18];
  // Minor versions (low nibble) stay compatible; a new major version does not.
  if ((head.version & 0xF0) != 0) {
    why = "OpusHead version " + std::to_string(head.version) + " is not supported";
    return std::nullopt;
  }
  if (head.mapping_family != 0) {
    why = "channel mapping family " + std::to_string(head.mapping_family) + " is not supported";
    return std::nullopt;
  }
  if (head.channels < 1 || head.channels > 2) {
    why = "channel count " + std::to_string(head.channels) + " is invalid for mapping family 0";
    return std::nullopt;
  }
  return head;
}

std::vector<std::uint8_t> encode_opus_tags(const OpusTags& tags) {
  std::vector<std::uint8_t> out;
  put_text(out, opus_tags_magic);
  put_u32(out, static_cast<std::uint32_t>(tags.vendor.size()));
  put_text(out, tags.vendor);
  put_u32(out, static_cast<std::uint32_t>(tags.comments.size()));
  for (const auto& comment : tags.comments) {
    put_u32(out, static_cast<std::uint32_t>(comment.size()));
    put_text(out, comment);
  }
  return out;
}

std::optional<OpusTags> parse_opus_tags(std::span<const std::uint8_t> packet, std::string& why) {
  if (!starts_with(packet, opus_tags_magic)) {
    why = "second packet is not OpusTags";
    return std::nullopt;
  }
  std::size_t offset = opus_tags_magic.size();
  // Reads a 32-bit length and that many bytes; false when the packet ends first.
  auto read_string = [&](std::string& text) {
    if (packet.size() - offset < 4) return false;
    const std::uint32_t length = read_u32(packet, offset);
    offset += 4;
    if (packet.size() - offset < length) return false;
    text.assign(reinterpret_cast<const char*>(packet.data() + offset), length);
    offset += length;
    return true;
  };
  OpusTags tags;
  if (!read_string(tags.vendor)) {
    why = "OpusTags vendor string truncated";
    return std::nullopt;
  }
  if (packet.size() - offset < 4) {
    why = "OpusTags comment count missing";
    return std::nullopt;
  }
  const std::uint32_t count = read_u32(packet, offset);
  offset += 4;
  // Each comment takes at least its 4-byte length: bound the count before reserving.
  if (count > (packet.size() - offset) / 4) {
    why = "OpusTags comment count exceeds the packet";
    return std::nullopt;
  }
  tags.comments.resize(count);
  for (auto& comment : tags.comments) {
    if (!read_string(comment)) {
      why = "OpusTags comment truncated";
      return std::nullopt;
    }
  }
  return tags;
}

bool valid_opus_comment(std::string_view comment) {
  const auto equals = comment.find('=');
  if (equals == std::string_view::npos || equals == 0) return false;
  return std::all_of(comment.begin(), comment.begin() + static_cast<std::ptrdiff_t>(equals),
                     [](char c) { return c >= 0x20 && c <= 0x7D; });
}

std::optional<std::string> find_opus_comment(const OpusTags& tags, std::string_view key) {
  for (const auto& comment : tags.comments) {
    const auto equals = comment.find('=');
    if (equals != key.size()) continue;
    const bool same_key = std::equal(key.begin(), key.end(), comment.begin(), [](char a, char b) {
      return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
    });
    if (same_key) return comment.substr(equals + 1);
  }
  return std::nullopt;
}

}  // namespace deskline::codec
