// Decodes an Ogg Opus byte buffer to 16-bit PCM, honouring pre-skip, end
// trimming and output gain (RFC 7845 §4): for `deskline recordings export
// --format wav` and for tests. Reads files cut short by a crash up to their
// last complete page. Handles channel mapping family 0 (mono, stereo).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "codec/ogg_format.hpp"

namespace deskline::codec {

struct DecodeOptions {
  // Output rate: 8000, 12000, 16000, 24000 or 48000; 0 decodes at the stream's
  // input rate when Opus can, else at 48000.
  std::uint32_t rate_hz = 0;
};

struct DecodedOpus {
  std::string error;  // empty on success
  OpusHead head;
  OpusTags tags;
  std::uint32_t serial = 0;
  std::uint32_t rate_hz = 0;          // of samples
  std::vector<std::int16_t> samples;  // interleaved, head.channels per frame
  bool complete = false;              // the stream ended with its EOS page
  std::int64_t last_granule = 0;      // of the last page on which a packet ends
  std::size_t pages = 0;
  std::size_t audio_packets = 0;
  std::size_t bad_packets = 0;  // undecodable, replaced by silence of their duration

  explicit operator bool() const { return error.empty(); }
  std::size_t frames() const { return head.channels ? samples.size() / head.channels : 0; }
  double duration_s() const { return rate_hz ? static_cast<double>(frames()) / rate_hz : 0.0; }
};

DecodedOpus decode_ogg_opus(std::span<const std::uint8_t> bytes, const DecodeOptions& options = {});

}  // namespace deskline::codec
