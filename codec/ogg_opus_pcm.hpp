// Ogg Opus to 16-bit PCM as a stream: file bytes in, in order and in any
// slices, samples out, as `opusdec --rate R --no-dither` makes them, sample
// for sample: decoded at 48 kHz in float (pre-skip, end trimming and the
// header's output gain as libopusfile applies them), resampled to R by the
// Speex resampler at quality 5 (with its latency skipped, and drained at the
// end), soft-clipped, rounded. For `?format=wav` downloads (proto/http.md),
// whose Content-Length is known before the first byte: pcm_frames() says how
// many frames the stream will give from the file's head and tail alone.
//
// Threading: one object is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

namespace deskline::codec {

enum class OpusPcmError {
  unsupported_rate = 1,  // only 8000, 12000, 16000, 24000, 48000 Hz
  not_opus,              // the head or tail holds no Ogg Opus stream (or no granule)
  too_many_channels,     // channel mapping family 0 only: mono or stereo
  decoder_failed,        // libopus or the resampler refused
};
const std::error_category& opus_pcm_category();
std::error_code make_error_code(OpusPcmError error);

// What a stream will give: read from the file's first page and the last
// page with a granule position.
struct OpusPcmLength {
  std::uint16_t channels = 1;
  std::uint16_t pre_skip = 0;      // 48 kHz samples
  std::int64_t end_granule = 0;    // of the last page on which a packet ends
  std::uint64_t frames_48k() const {
    return end_granule > pre_skip ? static_cast<std::uint64_t>(end_granule) - pre_skip : 0;
  }
  // Frames at rate_hz, rounded down as opusdec counts them.
  std::uint64_t frames_at(std::uint32_t rate_hz) const;
};

// head: the first bytes of the file (its first page holds OpusHead; 4 KiB is
// plenty); tail: its last bytes (a page is at most 65,307 bytes, so 64 KiB
// holds the last whole page). For a file shorter than both, pass it twice.
std::optional<OpusPcmLength> read_opus_pcm_length(std::span<const std::uint8_t> head,
                                                  std::span<const std::uint8_t> tail, std::error_code& error);

class OggOpusPcmStream {
 public:
  // length as read_opus_pcm_length gave it for the same file.
  static std::unique_ptr<OggOpusPcmStream> create(const OpusPcmLength& length, std::uint32_t rate_hz,
                                                  std::error_code& error);
  ~OggOpusPcmStream();
  OggOpusPcmStream(const OggOpusPcmStream&) = delete;
  OggOpusPcmStream& operator=(const OggOpusPcmStream&) = delete;

  // The next bytes of the file; appends the samples they complete (interleaved).
  std::error_code feed(std::span<const std::uint8_t> bytes, std::vector<std::int16_t>& pcm);
  // After the last byte: the resampler's tail. Afterwards the stream has
  // given frames_at(rate) frames in all (short files are padded with silence).
  std::error_code finish(std::vector<std::int16_t>& pcm);

  std::uint64_t frames_out() const { return frames_out_; }

 private:
  struct State;  // libogg, libopus and Speex objects, kept out of this header
  OggOpusPcmStream(const OpusPcmLength& length, std::uint32_t rate_hz, std::unique_ptr<State> state);

  std::error_code on_packet(std::span<const std::uint8_t> packet, std::vector<std::int16_t>& pcm);
  void resample(std::span<const float> input, std::vector<std::int16_t>& pcm);

  OpusPcmLength length_;
  std::uint32_t rate_hz_;
  std::unique_ptr<State> state_;
  std::uint64_t packets_ = 0;       // Ogg packets seen, headers included
  std::uint64_t skipped_48k_ = 0;   // pre-skip dropped so far
  std::uint64_t read_48k_ = 0;      // decoded samples kept (after pre-skip, before the end)
  std::uint64_t frames_out_ = 0;
};

}  // namespace deskline::codec

template <>
struct std::is_error_code_enum<deskline::codec::OpusPcmError> : std::true_type {};
