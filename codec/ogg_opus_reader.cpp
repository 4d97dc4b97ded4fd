#include "codec/ogg_opus_reader.hpp"

#include <opus.h>

#include <algorithm>
#include <cmath>
#include <memory>

namespace deskline::codec {
namespace {

constexpr std::uint64_t granule_rate_hz = 48000;
constexpr std::uint32_t max_packet_ms = 120;  // RFC 6716: longest Opus packet

bool opus_can_decode_at(std::uint32_t rate_hz) {
  return rate_hz == 8000 || rate_hz == 12000 || rate_hz == 16000 || rate_hz == 24000 || rate_hz == 48000;
}

// 48 kHz granule units to samples at rate_hz, without overflow for any granule.
std::uint64_t to_rate(std::uint64_t granule, std::uint32_t rate_hz) {
  return granule / granule_rate_hz * rate_hz + granule % granule_rate_hz * rate_hz / granule_rate_hz;
}

struct DecoderDeleter {
  void operator()(OpusDecoder* decoder) const { opus_decoder_destroy(decoder); }
};

DecodedOpus failed(DecodedOpus decoded, std::string why) {
  decoded.error = std::move(why);
  decoded.samples.clear();
  return decoded;
}

void apply_gain(std::vector<std::int16_t>& samples, std::int16_t gain_q8) {
  if (gain_q8 == 0) return;
  const double factor = std::pow(10.0, gain_q8 / (20.0 * 256.0));
  for (auto& sample : samples)
    sample = static_cast<std::int16_t>(std::clamp(std::lround(sample * factor), -32768L, 32767L));
}

}  // namespace

DecodedOpus decode_ogg_opus(std::span<const std::uint8_t> bytes, const DecodeOptions& options) {
  DecodedOpus decoded;
  const OggWalk walk = walk_ogg_stream(bytes);
  decoded.pages = walk.pages.size();
  if (walk.pages.empty()) return failed(std::move(decoded), "not an Ogg file");
  decoded.serial = walk.pages.front().page.serial;
  decoded.complete = walk.pages.back().page.eos();
  if (options.rate_hz != 0 && !opus_can_decode_at(options.rate_hz))
    return failed(std::move(decoded), "Opus cannot decode at " + std::to_string(options.rate_hz) + " Hz");

  // Audio ends at the granule of the last page a packet ends on.
  for (auto page = walk.pages.rbegin(); page != walk.pages.rend(); ++page) {
    if (page->page.granule != ogg_no_granule) {
      decoded.last_granule = page->page.granule;
      break;
    }
  }

  std::string why;
  std::size_t packet_index = 0;
  std::unique_ptr<OpusDecoder, DecoderDeleter> decoder;
  std::vector<opus_int16> pcm;
  std::uint64_t wanted_frames = 0;  // decoding past the last granule is wasted
  for_each_ogg_packet(walk, [&](std::span<const std::uint8_t> packet, std::size_t) {
    const std::size_t index = packet_index++;
    if (index == 0) {
      auto head = parse_opus_head(packet, why);
      if (!head) return false;
      decoded.head = *head;
      return true;
    }
    if (index == 1) {
      auto tags = parse_opus_tags(packet, why);
      if (!tags) return false;
      decoded.tags = std::move(*tags);
      decoded.rate_hz = options.rate_hz != 0                             ? options.rate_hz
                        : opus_can_decode_at(decoded.head.input_rate_hz) ? decoded.head.input_rate_hz
                                                                         : 48000;
      int result = OPUS_OK;
      decoder.reset(opus_decoder_create(static_cast<opus_int32>(decoded.rate_hz), decoded.head.channels, &result));
      if (result != OPUS_OK || !decoder) {
        why = "cannot create the Opus decoder";
        return false;
      }
      pcm.resize(std::size_t{decoded.rate_hz} / 1000 * max_packet_ms * decoded.head.channels);
      // Counted as pre-skip plus playable length, as the repair planner counts it.
      if (decoded.last_granule > decoded.head.pre_skip)
        wanted_frames =
            to_rate(decoded.head.pre_skip, decoded.rate_hz) +
            to_rate(static_cast<std::uint64_t>(decoded.last_granule) - decoded.head.pre_skip, decoded.rate_hz);
      return true;
    }
    ++decoded.audio_packets;
    if (decoded.frames() >= wanted_frames) return false;
    if (packet.empty()) return true;  // no TOC: no duration to account for
    const int max_frames = static_cast<int>(pcm.size() / decoded.head.channels);
    int frames =
        opus_decode(decoder.get(), packet.data(), static_cast<opus_int32>(packet.size()), pcm.data(), max_frames, 0);
    if (frames < 0) {
      // Keep the timeline: a damaged packet becomes silence of its duration.
      ++decoded.bad_packets;
      frames = std::clamp(opus_packet_get_nb_samples(packet.data(), static_cast<opus_int32>(packet.size()),
                                                     static_cast<opus_int32>(decoded.rate_hz)),
                          0, max_frames);
      std::fill_n(pcm.begin(), static_cast<std::size_t>(frames) * decoded.head.channels, opus_int16{0});
    }
    decoded.samples.insert(
        decoded.samples.end(), pcm.begin(),
        pcm.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(frames) * decoded.head.channels));
    return true;
  });
  if (!why.empty()) return failed(std::move(decoded), why);
  if (packet_index < 2) return failed(std::move(decoded), "the Opus headers are incomplete");

  // Drop the encoder's lookahead at the start and the padding after the last
  // granule (end trimming); a stream cut by a crash ends at its last page.
  const std::size_t channels = decoded.head.channels;
  const std::uint64_t start = to_rate(decoded.head.pre_skip, decoded.rate_hz);
  const std::uint64_t end = std::min<std::uint64_t>(wanted_frames, decoded.frames());
  if (end <= start) {
    decoded.samples.clear();
  } else {
    decoded.samples.resize(static_cast<std::size_t>(end) * channels);
    decoded.samples.erase(decoded.samples.begin(),
                          decoded.samples.begin() + static_cast<std::ptrdiff_t>(start * channels));
  }
  apply_gain(decoded.samples, decoded.head.output_gain_q8);
  return decoded;
}

}  // namespace deskline::codec
