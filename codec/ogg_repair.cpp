#include "codec/ogg_repair.hpp"

#include <algorithm>
#include <optional>

#include "codec/ogg_format.hpp"

namespace deskline::codec {
namespace {

// TOC byte of one 20 ms SILK narrowband frame (RFC 6716 §3.1, config 1, code 0).
// Alone, it is a zero-length frame: decoders conceal it as silence.
constexpr std::uint8_t silent_frame_toc = 0x08;
constexpr std::uint8_t toc_stereo_flag = 0x04;

RepairPlan refuse(std::string why) {
  RepairPlan plan;
  plan.verdict = RepairVerdict::refused;
  plan.reason = std::move(why);
  return plan;
}

std::string describe(OggWalkEnd end) {
  switch (end) {
    case OggWalkEnd::end_of_data: return "the file ends without an end-of-stream page";
    case OggWalkEnd::truncated: return "the last page is cut short";
    case OggWalkEnd::invalid: return "damaged bytes follow the last valid page";
    case OggWalkEnd::other_stream: return "a page of another stream follows";
    case OggWalkEnd::sequence_gap: return "a page is missing";
    case OggWalkEnd::after_eos: return "bytes follow the end-of-stream page";
  }
  return "unknown";
}

// Where the headers end and what they say.
struct Headers {
  OpusHead head;
  std::vector<std::string> comments;
  std::size_t last_page = 0;  // index of the page where OpusTags ends
};

// nullopt with why set when a header is malformed, with why empty when the
// walked pages end before both headers are complete.
std::optional<Headers> read_headers(const OggWalk& walk, std::string& why) {
  std::optional<OpusHead> head;
  std::optional<std::size_t> tags_page;
  std::vector<std::string> comments;
  std::size_t packet_index = 0;
  for_each_ogg_packet(walk, [&](std::span<const std::uint8_t> packet, std::size_t page_index) {
    if (packet_index++ == 0) {
      head = parse_opus_head(packet, why);
      return head.has_value();
    }
    if (auto tags = parse_opus_tags(packet, why)) {
      tags_page = page_index;
      comments = std::move(tags->comments);
    }
    return false;
  });
  if (!head || !tags_page) return std::nullopt;
  return Headers{*head, std::move(comments), *tags_page};
}

// The page re-serialized with only its completed packets and the EOS flag.
std::vector<std::uint8_t> reemit_as_last_page(const OggPage& page) {
  std::size_t segments = page.lacing.size();
  while (segments > 0 && page.lacing[segments - 1] == 255) --segments;  // drop an unfinished packet
  std::size_t body_size = 0;
  for (std::size_t i = 0; i < segments; ++i) body_size += page.lacing[i];

  std::vector<std::uint8_t> bytes(ogg_page_header_size + segments + body_size);
  // Same header fields as the original, with the EOS flag and the new segment count.
  bytes[0] = 'O';
  bytes[1] = 'g';
  bytes[2] = 'g';
  bytes[3] = 'S';
  bytes[4] = 0;
  bytes[5] = static_cast<std::uint8_t>(page.flags | ogg_flag_eos);
  const auto granule = static_cast<std::uint64_t>(page.granule);
  for (std::size_t i = 0; i < 8; ++i) bytes[6 + i] = static_cast<std::uint8_t>(granule >> (8 * i));
  for (std::size_t i = 0; i < 4; ++i) bytes[14 + i] = static_cast<std::uint8_t>(page.serial >> (8 * i));
  for (std::size_t i = 0; i < 4; ++i) bytes[18 + i] = static_cast<std::uint8_t>(page.sequence >> (8 * i));
  bytes[26] = static_cast<std::uint8_t>(segments);
  std::copy_n(page.lacing.begin(), segments, bytes.begin() + ogg_page_header_size);
  std::copy_n(page.body.begin(), body_size,
              bytes.begin() + static_cast<std::ptrdiff_t>(ogg_page_header_size + segments));
  set_ogg_page_crc(bytes);
  return bytes;
}

void set_duration(RepairPlan& plan, const OpusHead& head, std::int64_t final_granule) {
  plan.input_rate_hz = head.input_rate_hz != 0 ? head.input_rate_hz : 48000;
  plan.pre_skip = head.pre_skip;
  plan.final_granule = final_granule;
  plan.duration_48k = final_granule > head.pre_skip ? static_cast<std::uint64_t>(final_granule - head.pre_skip) : 0;
  // Divide before multiplying so that a corrupt huge granule cannot overflow.
  const std::uint64_t whole_seconds = plan.duration_48k / 48000;
  const std::uint64_t rest = plan.duration_48k % 48000;
  plan.duration_samples = whole_seconds * plan.input_rate_hz + rest * plan.input_rate_hz / 48000;
}

}  // namespace

RepairPlan plan_ogg_repair(std::span<const std::uint8_t> bytes) {
  const OggWalk walk = walk_ogg_stream(bytes);
  if (walk.pages.empty()) {
    if (walk.end == OggWalkEnd::truncated)
      return refuse("the Opus headers are incomplete: the file ends inside its first page");
    if (bytes.empty()) return refuse("the file is empty");
    return refuse("not an Ogg file");
  }
  if (!walk.pages.front().page.bos()) return refuse("the first page does not begin a stream");

  std::string why;
  const auto headers = read_headers(walk, why);
  if (!headers) {
    if (!why.empty()) return refuse(why);
    return refuse("the Opus headers are incomplete: " + describe(walk.end));
  }

  RepairPlan plan;
  plan.comments = headers->comments;
  const OggPageAt& last = walk.pages.back();
  if (last.page.eos()) {
    set_duration(plan, headers->head, last.page.granule);
    plan.keep_bytes = walk.valid_bytes;
    plan.dropped_bytes = bytes.size() - walk.valid_bytes;
    OggPage next;
    const bool foreign_page_follows =
        plan.dropped_bytes > 0 && parse_ogg_page(bytes.subspan(walk.valid_bytes), next) == OggParse::complete;
    if (plan.dropped_bytes == 0 || foreign_page_follows) {
      // A chained file is complete as far as we read it; never cut a stream off.
      plan.verdict = RepairVerdict::complete;
      plan.keep_bytes = bytes.size();
      plan.dropped_bytes = 0;
      if (foreign_page_follows) plan.reason = "another Ogg stream follows; left as is";
      return plan;
    }
    plan.verdict = RepairVerdict::repairable;
    plan.reason = std::to_string(plan.dropped_bytes) + " stray bytes follow the end-of-stream page";
    return plan;
  }

  plan.verdict = RepairVerdict::repairable;
  plan.reason = describe(walk.end);
  // The last audio page on which a packet ends carries the granule of all the
  // audio before it; pages after it hold only the start of an unfinished packet.
  std::optional<std::size_t> last_audio;
  for (std::size_t index = walk.pages.size(); index-- > headers->last_page + 1;) {
    if (walk.pages[index].page.granule != ogg_no_granule) {
      last_audio = index;
      break;
    }
  }
  if (last_audio) {
    const OggPageAt& page = walk.pages[*last_audio];
    plan.keep_bytes = page.offset;
    plan.tail = reemit_as_last_page(page.page);
    set_duration(plan, headers->head, page.page.granule);
  } else {
    // Headers only: end the stream with one silent packet, all of it trimmed.
    const OggPageAt& tags = walk.pages[headers->last_page];
    plan.keep_bytes = tags.offset + tags.page.size;
    const std::uint8_t toc = headers->head.channels == 2 ? silent_frame_toc | toc_stereo_flag : silent_frame_toc;
    const std::uint8_t packet[] = {toc};
    const std::span<const std::uint8_t> packets[] = {packet};
    set_duration(plan, headers->head, headers->head.pre_skip);
    plan.tail = build_ogg_page(tags.page.serial, tags.page.sequence + 1, ogg_flag_eos, headers->head.pre_skip, packets);
  }
  plan.dropped_bytes = bytes.size() - plan.keep_bytes;
  return plan;
}

std::vector<std::uint8_t> apply_ogg_repair(std::span<const std::uint8_t> bytes, const RepairPlan& plan) {
  if (plan.verdict == RepairVerdict::refused || plan.keep_bytes > bytes.size()) return {};
  std::vector<std::uint8_t> repaired(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(plan.keep_bytes));
  repaired.insert(repaired.end(), plan.tail.begin(), plan.tail.end());
  return repaired;
}

}  // namespace deskline::codec
