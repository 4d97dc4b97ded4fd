#include "codec/wav.hpp"

#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>

#include "proto/bytes.hpp"

namespace deskline::codec {
namespace {

constexpr std::uint16_t format_pcm = 0x0001;
constexpr std::uint16_t format_extensible = 0xFFFE;
constexpr std::size_t riff_header_size = 12;  // "RIFF" size "WAVE"
constexpr std::size_t chunk_header_size = 8;  // id size
constexpr std::size_t pcm_fmt_size = 16;
constexpr std::size_t extensible_fmt_size = 40;

bool has_id(std::span<const std::uint8_t> bytes, std::size_t offset, std::string_view id) {
  for (std::size_t i = 0; i < 4; ++i)
    if (bytes[offset + i] != static_cast<std::uint8_t>(id[i])) return false;
  return true;
}

WavParsed refuse(std::string why) { return WavParsed{std::nullopt, std::move(why)}; }

struct Format {
  std::uint16_t channels = 0;
  std::uint32_t rate_hz = 0;
  std::uint16_t block_align = 0;
};

// Reads a fmt chunk body; returns an error text or an empty string.
std::string read_format(std::span<const std::uint8_t> body, Format& format) {
  if (body.size() < pcm_fmt_size) return "fmt chunk shorter than 16 bytes";
  std::uint16_t tag = proto::load_le16(body, 0);
  if (tag == format_extensible) {
    // WAVE_FORMAT_EXTENSIBLE names the real format in the first two bytes of
    // its sub-format GUID; sox writes it for more than two channels.
    if (body.size() < extensible_fmt_size) return "extensible fmt chunk shorter than 40 bytes";
    tag = proto::load_le16(body, 24);
  }
  if (tag != format_pcm) return "not PCM (format tag " + std::to_string(tag) + ")";
  format.channels = proto::load_le16(body, 2);
  format.rate_hz = proto::load_le32(body, 4);
  format.block_align = proto::load_le16(body, 12);
  const std::uint16_t bits_per_sample = proto::load_le16(body, 14);
  if (bits_per_sample != 16) return "not 16-bit (" + std::to_string(bits_per_sample) + " bits per sample)";
  if (format.channels == 0) return "zero channels";
  if (format.rate_hz == 0) return "zero sample rate";
  // A rate whose byte rate cannot be written in the fmt chunk is not a real file.
  if (std::uint64_t{format.rate_hz} * format.channels * 2u > std::numeric_limits<std::uint32_t>::max())
    return "sample rate " + std::to_string(format.rate_hz) + " too high for " +
           std::to_string(format.channels) + " channels";
  if (format.block_align != format.channels * 2u)
    return "block align " + std::to_string(format.block_align) + " does not match " +
           std::to_string(format.channels) + " channels of 16 bits";
  return {};
}

}  // namespace

WavLayoutParsed parse_wav_layout(std::span<const std::uint8_t> head, std::uint64_t file_size) {
  const auto refuse = [](std::string why) { return WavLayoutParsed{std::nullopt, std::move(why)}; };
  if (head.size() < riff_header_size) return refuse("truncated: shorter than the RIFF header");
  if (!has_id(head, 0, "RIFF")) return refuse("not RIFF");
  if (!has_id(head, 8, "WAVE")) return refuse("not WAVE");
  // The RIFF size counts everything after the size field itself.
  const std::uint64_t riff_end = std::uint64_t{proto::load_le32(head, 4)} + 8;
  if (riff_end > file_size) return refuse("truncated: RIFF length exceeds the file");
  if (riff_end < riff_header_size) return refuse("RIFF length shorter than its header");

  std::optional<Format> format;
  std::optional<std::pair<std::uint64_t, std::uint32_t>> data;  // offset, size
  std::uint64_t offset = riff_header_size;
  while (offset < riff_end) {
    if (riff_end - offset < chunk_header_size) return refuse("truncated: partial chunk header");
    if (offset + chunk_header_size > head.size()) {
      if (format && data) break;  // the rest is past what the caller read, and not needed
      return refuse("fmt or data chunk starts after the first " + std::to_string(head.size()) + " bytes");
    }
    const auto at = static_cast<std::size_t>(offset);
    const std::uint32_t chunk_size = proto::load_le32(head, at + 4);
    const std::uint64_t body_offset = offset + chunk_header_size;
    if (chunk_size > riff_end - body_offset) return refuse("truncated: chunk runs past the end");
    // First fmt and first data win; later duplicates are ignored like any unknown chunk.
    if (has_id(head, at, "fmt ") && !format) {
      if (body_offset + chunk_size > head.size())
        return refuse("fmt chunk ends after the first " + std::to_string(head.size()) + " bytes");
      Format read;
      if (auto error = read_format(head.subspan(at + chunk_header_size, chunk_size), read); !error.empty())
        return refuse(std::move(error));
      format = read;
    } else if (has_id(head, at, "data") && !data) {
      data.emplace(body_offset, chunk_size);
    }
    // Chunks are word aligned: an odd-sized body is followed by one pad byte.
    // Some writers omit the pad after the last chunk, so running out here is fine.
    offset = body_offset + chunk_size + (chunk_size & 1U);
  }
  if (!format) return refuse("no fmt chunk");
  if (!data) return refuse("no data chunk");
  if (data->second % format->block_align != 0)
    return refuse("data length " + std::to_string(data->second) + " is not a multiple of block align " +
                  std::to_string(format->block_align));
  return WavLayoutParsed{WavLayout{format->rate_hz, format->channels, data->first, data->second}, {}};
}

WavParsed parse_wav(std::span<const std::uint8_t> bytes) {
  const auto parsed = parse_wav_layout(bytes, bytes.size());
  if (!parsed) return refuse(parsed.error);
  const auto& layout = *parsed.layout;
  const auto data = bytes.subspan(static_cast<std::size_t>(layout.data_offset), layout.data_bytes);
  WavAudio audio;
  audio.rate_hz = layout.rate_hz;
  audio.channels = layout.channels;
  audio.samples.resize(data.size() / 2);
  for (std::size_t i = 0; i < audio.samples.size(); ++i)
    audio.samples[i] = static_cast<std::int16_t>(proto::load_le16(data, 2 * i));
  return WavParsed{std::move(audio), {}};
}

std::vector<std::uint8_t> encode_wav_header(std::uint32_t rate_hz, std::uint16_t channels, std::uint64_t frames) {
  if (channels == 0) throw std::invalid_argument("encode_wav: zero channels");
  if (rate_hz == 0) throw std::invalid_argument("encode_wav: zero sample rate");
  const std::uint64_t header_size = riff_header_size + chunk_header_size + pcm_fmt_size + chunk_header_size;
  if (frames > (std::numeric_limits<std::uint32_t>::max() - header_size) / 2 / channels)
    throw std::length_error("encode_wav: audio too long for a RIFF file");
  const std::uint64_t data_size = frames * channels * 2;

  const std::uint32_t block_align = channels * 2u;
  if (std::uint64_t{rate_hz} * block_align > std::numeric_limits<std::uint32_t>::max())
    throw std::length_error("encode_wav: byte rate does not fit in 32 bits");

  // The checks above keep every size below within 32 bits.
  proto::ByteWriter out(static_cast<std::size_t>(header_size));
  out.text("RIFF").u32(static_cast<std::uint32_t>(header_size - 8 + data_size)).text("WAVE");
  out.text("fmt ").u32(pcm_fmt_size).u16(format_pcm).u16(channels).u32(rate_hz);
  out.u32(rate_hz * block_align);  // byte rate
  out.u16(static_cast<std::uint16_t>(block_align)).u16(16);
  out.text("data").u32(static_cast<std::uint32_t>(data_size));
  return out.take();
}

std::vector<std::uint8_t> encode_wav(const WavAudio& audio) {
  if (audio.channels != 0 && audio.samples.size() % audio.channels != 0)
    throw std::invalid_argument("encode_wav: sample count is not a multiple of the channel count");
  auto bytes = encode_wav_header(audio.rate_hz, audio.channels, audio.channels ? audio.samples.size() / audio.channels : 0);
  proto::ByteWriter out(audio.samples.size() * 2);
  for (const std::int16_t sample : audio.samples) out.u16(static_cast<std::uint16_t>(sample));
  const auto samples = out.take();
  bytes.insert(bytes.end(), samples.begin(), samples.end());
  return bytes;
}

}  // namespace deskline::codec
