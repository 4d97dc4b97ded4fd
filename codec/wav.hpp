// RIFF/WAVE 16-bit PCM: parse from bytes, encode to bytes. The caller does file I/O.
#pragma once

#include <cstddef>
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

// Where the samples of a WAV file are, for reading them in blocks rather
// than the whole file at once.
struct WavLayout {
  std::uint32_t rate_hz = 8000;
  std::uint16_t channels = 1;
  std::uint64_t data_offset = 0;  // of the first sample, from the start of the file
  std::uint32_t data_bytes = 0;   // whole frames of 16-bit samples
  std::uint64_t frames() const { return data_bytes / (2u * channels); }
};

struct WavLayoutParsed {
  std::optional<WavLayout> layout;
  std::string error;  // why it was refused
  explicit operator bool() const { return layout.has_value(); }
};

// From the first bytes of a file of file_size bytes; they must hold every
// chunk header up to the data chunk's, and the fmt chunk (refused otherwise).
WavLayoutParsed parse_wav_layout(std::span<const std::uint8_t> head, std::uint64_t file_size);
std::vector<std::uint8_t> encode_wav(const WavAudio& audio);
// The 44-byte header of a WAV file of frames 16-bit frames, for writing the
// samples after it as they come (a streamed download).
inline constexpr std::size_t wav_header_size = 44;
std::vector<std::uint8_t> encode_wav_header(std::uint32_t rate_hz, std::uint16_t channels, std::uint64_t frames);

}  // namespace deskline::codec
