// RIFF/WAVE 16-bit PCM: parse from bytes, encode to bytes. The caller does file I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace deskline::codec {

struct WavAudio {
  std::uint32_t rate_hz = 8000;
  std::uint16_t channels = 1;
  std::vector<std::int16_t> samples;  // interleaved
};

struct WavParsed {
  std::optional<WavAudio> audio;
  std::string error;  // why it was refused
  explicit operator bool() const { return audio.has_value(); }
};

WavParsed parse_wav(std::span<const std::uint8_t> bytes);
std::vector<std::uint8_t> encode_wav(const WavAudio& audio);

}  // namespace deskline::codec
