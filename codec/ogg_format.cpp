#include "codec/ogg_format.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include "proto/bytes.hpp"

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
  if (crc != proto::load_le32(bytes, crc_offset)) return OggParse::invalid;

  page.flags = bytes[5];
  page.granule = static_cast<std::int64_t>(proto::load_le64(bytes, 6));
  page.serial = proto::load_le32(bytes, 14);
  page.sequence = proto::load_le32(bytes, 18);
  page.lacing = lacing;
  page.body = bytes.subspan(ogg_page_header_size + segments, body_size);
  page.size = page_size;
  return OggParse::complete;
}

void set_ogg_page_crc(std::span<std::uint8_t> page) {
  std::fill_n(page.begin() + crc_offset, 4, std::uint8_t{0});
  proto::store_le32(page, crc_offset, ogg_crc(page));
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

  proto::ByteWriter page(ogg_page_header_size + lacing.size() + body_size);
  page.text(capture_pattern).u8(0 /* version */).u8(flags).u64(static_cast<std::uint64_t>(granule));
  page.u32(serial).u32(sequence).u32(0 /* CRC, set below */);
  page.u8(static_cast<std::uint8_t>(lacing.size())).append(lacing);
  for (const auto& packet : packets) page.append(packet);
  set_ogg_page_crc(page.bytes());
  return page.take();
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
  proto::ByteWriter out(opus_head_size);
  out.text(opus_head_magic).u8(head.version).u8(head.channels).u16(head.pre_skip).u32(head.input_rate_hz);
  out.u16(static_cast<std::uint16_t>(head.output_gain_q8)).u8(head.mapping_family);
  return out.take();
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
  head.pre_skip = proto::load_le16(packet, 10);
  head.input_rate_hz = proto::load_le32(packet, 12);
  head.output_gain_q8 = static_cast<std::int16_t>(proto::load_le16(packet, 16));
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
  proto::ByteWriter out;
  out.text(opus_tags_magic).u32(static_cast<std::uint32_t>(tags.vendor.size())).text(tags.vendor);
  out.u32(static_cast<std::uint32_t>(tags.comments.size()));
  for (const auto& comment : tags.comments) out.u32(static_cast<std::uint32_t>(comment.size())).text(comment);
  return out.take();
}

std::optional<OpusTags> parse_opus_tags(std::span<const std::uint8_t> packet, std::string& why) {
  if (!starts_with(packet, opus_tags_magic)) {
    why = "second packet is not OpusTags";
    return std::nullopt;
  }
  proto::ByteReader reader(packet.subspan(opus_tags_magic.size()));
  // Reads a 32-bit length and that many bytes; false when the packet ends first.
  auto read_string = [&](std::string& text) {
    std::uint32_t length = 0;
    return reader.u32(length) && reader.text(length, text);
  };
  OpusTags tags;
  if (!read_string(tags.vendor)) {
    why = "OpusTags vendor string truncated";
    return std::nullopt;
  }
  std::uint32_t count = 0;
  if (!reader.u32(count)) {
    why = "OpusTags comment count missing";
    return std::nullopt;
  }
  // Each comment takes at least its 4-byte length: bound the count before reserving.
  if (count > reader.remaining() / 4) {
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
