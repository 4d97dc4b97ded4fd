// Ogg framing (RFC 3533) and the Opus identification and comment headers
// (RFC 7845 §5): pure functions over byte buffers, shared by the writer, the
// reader and the repair planner so they agree on one reading of the format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace deskline::codec {

inline constexpr std::size_t ogg_page_header_size = 27;  // before the lacing values
inline constexpr std::uint8_t ogg_flag_continued = 0x01;
inline constexpr std::uint8_t ogg_flag_bos = 0x02;
inline constexpr std::uint8_t ogg_flag_eos = 0x04;
inline constexpr std::int64_t ogg_no_granule = -1;  // no packet ends on the page

// Ogg's CRC-32 (polynomial 0x04C11DB7, not reflected, initial value 0).
std::uint32_t ogg_crc(std::span<const std::uint8_t> bytes);

// One page as it sits in a buffer; the spans point into that buffer.
struct OggPage {
  std::uint8_t flags = 0;
  std::int64_t granule = ogg_no_granule;
  std::uint32_t serial = 0;
  std::uint32_t sequence = 0;
  std::span<const std::uint8_t> lacing;  // segment sizes
  std::span<const std::uint8_t> body;
  std::size_t size = 0;  // header + lacing + body

  bool continued() const { return (flags & ogg_flag_continued) != 0; }
  bool bos() const { return (flags & ogg_flag_bos) != 0; }
  bool eos() const { return (flags & ogg_flag_eos) != 0; }
  // A packet ends wherever a lacing value is below 255.
  std::size_t packets_completed() const;
};

enum class OggParse {
  invalid,    // not a page here: bad capture pattern, version, flags or CRC
  complete,   // page parsed
  need_more,  // a page may start here but the buffer ends first
};

// Parses the page at the start of bytes.
OggParse parse_ogg_page(std::span<const std::uint8_t> bytes, OggPage& page);

// Writes the page CRC field of a serialized page (header through body).
void set_ogg_page_crc(std::span<std::uint8_t> page);

// Serializes one page holding the given packets, all complete, none larger
// than 255 * 255 - 1 bytes so that they fit one page (Opus packets do).
std::vector<std::uint8_t> build_ogg_page(std::uint32_t serial, std::uint32_t sequence, std::uint8_t flags,
                                         std::int64_t granule, std::span<const std::span<const std::uint8_t>> packets);

// The pages of the first logical stream in a buffer, in order: from offset 0,
// each next page must be valid, of the same serial and with the next sequence
// number. A crash-cut file stops at a truncated page; the walk never skips
// ahead to resynchronise, so nothing after a damaged page is trusted.
struct OggPageAt {
  std::size_t offset = 0;
  OggPage page;
};
enum class OggWalkEnd {
  end_of_data,   // the last page ends exactly at the end of the buffer
  truncated,     // a page starts but the buffer ends inside it
  invalid,       // bytes that are not a valid page (garbage, bit rot)
  other_stream,  // a valid page of another serial (multiplexed or chained)
  sequence_gap,  // a page is missing
  after_eos,     // bytes follow the end-of-stream page
};
struct OggWalk {
  std::vector<OggPageAt> pages;
  OggWalkEnd end = OggWalkEnd::end_of_data;
  std::size_t valid_bytes = 0;  // offset just past the last walked page
};
OggWalk walk_ogg_stream(std::span<const std::uint8_t> bytes);

// Calls on_packet(packet, page_index) for every packet completed on the
// walked pages, in order; page_index is where the packet ends. A packet
// continued from before the first page is skipped. Stops early when on_packet
// returns false. packet is valid only during the call.
template <typename OnPacket>
void for_each_ogg_packet(const OggWalk& walk, OnPacket&& on_packet);

// RFC 7845 §5.1 identification header. Only channel mapping family 0 (mono
// or stereo, no mapping table) is supported, which is all Deskline writes.
struct OpusHead {
  std::uint8_t version = 1;
  std::uint8_t channels = 1;
  std::uint16_t pre_skip = 0;  // 48 kHz samples to drop at the start
  std::uint32_t input_rate_hz = 0;
  std::int16_t output_gain_q8 = 0;  // dB in Q7.8
  std::uint8_t mapping_family = 0;
};
inline constexpr std::size_t opus_head_size = 19;
std::vector<std::uint8_t> encode_opus_head(const OpusHead& head);
// nullopt with why set when the packet is not a usable OpusHead.
std::optional<OpusHead> parse_opus_head(std::span<const std::uint8_t> packet, std::string& why);

// RFC 7845 §5.2 comment header: vendor and KEY=value comments.
struct OpusTags {
  std::string vendor;
  std::vector<std::string> comments;
};
std::vector<std::uint8_t> encode_opus_tags(const OpusTags& tags);
std::optional<OpusTags> parse_opus_tags(std::span<const std::uint8_t> packet, std::string& why);

// A comment is KEY=value with a non-empty key of printable ASCII other than
// '=' (0x20-0x7D), as Vorbis comments require.
bool valid_opus_comment(std::string_view comment);

// Value of the first comment with this key (case-insensitive), if any.
std::optional<std::string> find_opus_comment(const OpusTags& tags, std::string_view key);

template <typename OnPacket>
void for_each_ogg_packet(const OggWalk& walk, OnPacket&& on_packet) {
  std::vector<std::uint8_t> spanning;  // a packet continued across pages
  bool in_packet = false;              // spanning holds the start of a packet
  for (std::size_t index = 0; index < walk.pages.size(); ++index) {
    const OggPage& page = walk.pages[index].page;
    bool skip_first = page.continued() && !in_packet;
    if (!page.continued()) {
      spanning.clear();
      in_packet = false;
    }
    std::size_t start = 0;
    std::size_t offset = 0;
    for (const auto segment : page.lacing) {
      offset += segment;
      if (segment == 255) continue;
      const auto piece = page.body.subspan(start, offset - start);
      start = offset;
      if (skip_first) {
        skip_first = false;
        spanning.clear();
        in_packet = false;
        continue;
      }
      bool keep_going = true;
      if (in_packet) {
        spanning.insert(spanning.end(), piece.begin(), piece.end());
        keep_going = on_packet(std::span<const std::uint8_t>(spanning), index);
        spanning.clear();
        in_packet = false;
      } else {
        keep_going = on_packet(piece, index);
      }
      if (!keep_going) return;
    }
    if (start < offset && !skip_first) {
      // The page ends inside a packet: keep its start for the next page.
      const auto piece = page.body.subspan(start, offset - start);
      spanning.insert(spanning.end(), piece.begin(), piece.end());
      in_packet = true;
    }
  }
}

}  // namespace deskline::codec
