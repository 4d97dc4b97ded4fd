#include "codec/ogg_opus_pcm.hpp"

#include <ogg/ogg.h>
#include <opus.h>
#include <speex/speex_resampler.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "codec/ogg_format.hpp"

namespace deskline::codec {

namespace {

constexpr std::uint32_t granule_rate_hz = 48000;
constexpr int max_packet_frames = 5760;          // 120 ms at 48 kHz: the longest Opus packet
constexpr unsigned resampler_block_frames = 1024;  // opusdec's output block, which soft clipping sees
constexpr int resampler_quality = 5;               // opusdec's
constexpr int drain_block_frames = 100;            // opusdec feeds the resampler's tail in these

class OpusPcmCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "opus_pcm"; }
  std::string message(int value) const override {
    switch (static_cast<OpusPcmError>(value)) {
      case OpusPcmError::unsupported_rate: return "Opus decodes at 8000, 12000, 16000, 24000 or 48000 Hz only";
      case OpusPcmError::not_opus: return "not an Ogg Opus file with a known length";
      case OpusPcmError::too_many_channels: return "only mono and stereo Opus streams are decoded";
      case OpusPcmError::decoder_failed: return "the Opus decoder or the resampler failed";
    }
    return "unknown Opus PCM error";
  }
};

bool opus_rate(std::uint32_t rate_hz) {
  return rate_hz == 8000 || rate_hz == 12000 || rate_hz == 16000 || rate_hz == 24000 || rate_hz == 48000;
}

std::int16_t to_int16(float sample) {
  return static_cast<std::int16_t>(std::lrintf(std::fmax(-32768.0f, std::fmin(sample * 32768.0f, 32767.0f))));
}

}  // namespace

const std::error_category& opus_pcm_category() {
  static const OpusPcmCategory category;
  return category;
}

std::error_code make_error_code(OpusPcmError error) { return {static_cast<int>(error), opus_pcm_category()}; }

std::uint64_t OpusPcmLength::frames_at(std::uint32_t rate_hz) const {
  const auto frames = frames_48k();
  return frames / granule_rate_hz * rate_hz + frames % granule_rate_hz * rate_hz / granule_rate_hz;
}

std::optional<OpusPcmLength> read_opus_pcm_length(std::span<const std::uint8_t> head,
                                                  std::span<const std::uint8_t> tail, std::error_code& error) {
  error = OpusPcmError::not_opus;
  OggPage first;
  if (parse_ogg_page(head, first) != OggParse::complete || !first.bos()) return std::nullopt;
  std::string why;
  const auto opus_head = parse_opus_head(first.body, why);
  if (!opus_head) return std::nullopt;
  if (opus_head->channels > 2) {
    error = OpusPcmError::too_many_channels;
    return std::nullopt;
  }
  // The last page of the stream that ends a packet, found from the end.
  constexpr std::uint8_t capture[] = {'O', 'g', 'g', 'S'};
  for (std::size_t at = tail.size(); at-- > 0;) {
    if (tail.size() - at < sizeof capture || std::memcmp(tail.data() + at, capture, sizeof capture) != 0) continue;
    OggPage page;
    if (parse_ogg_page(tail.subspan(at), page) != OggParse::complete || page.serial != first.serial ||
        page.granule == ogg_no_granule)
      continue;
    error = {};
    return OpusPcmLength{.channels = opus_head->channels, .pre_skip = opus_head->pre_skip, .end_granule = page.granule};
  }
  return std::nullopt;
}

struct OggOpusPcmStream::State {
  ogg_sync_state sync{};
  ogg_stream_state stream{};
  bool stream_started = false;
  OpusDecoder* decoder = nullptr;
  SpeexResamplerState* resampler = nullptr;  // none at 48 kHz
  float clip_memory[2] = {0, 0};
  std::vector<float> decoded;
  std::vector<float> block;

  State() { ogg_sync_init(&sync); }
  ~State() {
    if (resampler) speex_resampler_destroy(resampler);
    if (decoder) opus_decoder_destroy(decoder);
    if (stream_started) ogg_stream_clear(&stream);
    ogg_sync_clear(&sync);
  }
  State(const State&) = delete;
  State& operator=(const State&) = delete;
};

std::unique_ptr<OggOpusPcmStream> OggOpusPcmStream::create(const OpusPcmLength& length, std::uint32_t rate_hz,
                                                           std::error_code& error) {
  if (!opus_rate(rate_hz)) {
    error = OpusPcmError::unsupported_rate;
    return nullptr;
  }
  if (length.channels < 1 || length.channels > 2) {
    error = OpusPcmError::too_many_channels;
    return nullptr;
  }
  auto state = std::make_unique<State>();
  int result = OPUS_OK;
  state->decoder = opus_decoder_create(static_cast<opus_int32>(granule_rate_hz), length.channels, &result);
  if (result != OPUS_OK || !state->decoder) {
    error = OpusPcmError::decoder_failed;
    return nullptr;
  }
  if (rate_hz != granule_rate_hz) {
    int speex_error = 0;
    state->resampler = speex_resampler_init(length.channels, granule_rate_hz, rate_hz, resampler_quality, &speex_error);
    if (!state->resampler || speex_error != RESAMPLER_ERR_SUCCESS) {
      error = OpusPcmError::decoder_failed;
      return nullptr;
    }
    speex_resampler_skip_zeros(state->resampler);
  }
  state->decoded.resize(std::size_t{max_packet_frames} * length.channels);
  state->block.resize(std::size_t{resampler_block_frames} * length.channels);
  error = {};
  return std::unique_ptr<OggOpusPcmStream>(new OggOpusPcmStream(length, rate_hz, std::move(state)));
}

OggOpusPcmStream::OggOpusPcmStream(const OpusPcmLength& length, std::uint32_t rate_hz, std::unique_ptr<State> state)
    : length_(length), rate_hz_(rate_hz), state_(std::move(state)) {}

OggOpusPcmStream::~OggOpusPcmStream() = default;

std::error_code OggOpusPcmStream::feed(std::span<const std::uint8_t> bytes, std::vector<std::int16_t>& pcm) {
  auto& state = *state_;
  if (!bytes.empty()) {
    char* buffer = ogg_sync_buffer(&state.sync, static_cast<long>(bytes.size()));
    if (!buffer) return OpusPcmError::decoder_failed;
    std::memcpy(buffer, bytes.data(), bytes.size());
    ogg_sync_wrote(&state.sync, static_cast<long>(bytes.size()));
  }
  ogg_page page;
  while (ogg_sync_pageout(&state.sync, &page) == 1) {
    if (!state.stream_started) {
      if (ogg_stream_init(&state.stream, ogg_page_serialno(&page)) != 0) return OpusPcmError::decoder_failed;
      state.stream_started = true;
    }
    if (ogg_stream_pagein(&state.stream, &page) != 0) continue;  // another stream's page
    ogg_packet packet;
    int got;
    while ((got = ogg_stream_packetout(&state.stream, &packet)) != 0) {
      if (got < 0) continue;  // a hole: libopusfile skips it too
      if (auto error = on_packet({packet.packet, static_cast<std::size_t>(packet.bytes)}, pcm)) return error;
    }
  }
  return {};
}

std::error_code OggOpusPcmStream::on_packet(std::span<const std::uint8_t> packet, std::vector<std::int16_t>& pcm) {
  auto& state = *state_;
  const std::uint64_t index = packets_++;
  if (index == 0) {
    std::string why;
    const auto head = parse_opus_head(packet, why);
    if (!head || head->channels != length_.channels) return OpusPcmError::not_opus;
    // libopusfile applies the header's gain in the decoder.
    opus_decoder_ctl(state.decoder, OPUS_SET_GAIN(head->output_gain_q8));
    return {};
  }
  if (index == 1) return {};  // OpusTags
  const int frames = opus_decode_float(state.decoder, packet.data(), static_cast<opus_int32>(packet.size()),
                                       state.decoded.data(), max_packet_frames, 0);
  if (frames <= 0) return {};  // an undecodable packet is dropped, as libopusfile does
  auto available = static_cast<std::uint64_t>(frames);
  const auto skip = std::min<std::uint64_t>(available, length_.pre_skip - skipped_48k_);
  skipped_48k_ += skip;
  available -= skip;
  const auto keep = std::min<std::uint64_t>(available, length_.frames_48k() - read_48k_);
  if (keep == 0) return {};
  read_48k_ += keep;
  resample({state.decoded.data() + skip * length_.channels, static_cast<std::size_t>(keep * length_.channels)}, pcm);
  return {};
}

// opusdec's audio_write(): never more output than the input read so far
// stands for, converted block by block.
void OggOpusPcmStream::resample(std::span<const float> input, std::vector<std::int16_t>& pcm) {
  auto& state = *state_;
  const std::size_t channels = length_.channels;
  const std::uint64_t allowed =
      read_48k_ / granule_rate_hz * rate_hz_ + read_48k_ % granule_rate_hz * rate_hz_ / granule_rate_hz;
  std::uint64_t room = allowed > frames_out_ ? allowed - frames_out_ : 0;
  std::size_t frames_in = input.size() / channels;
  const float* in = input.data();
  do {
    const float* output = nullptr;
    std::size_t out_frames = 0;
    if (state.resampler) {
      auto in_len = static_cast<spx_uint32_t>(frames_in);
      auto out_len = static_cast<spx_uint32_t>(std::min<std::uint64_t>(resampler_block_frames, room));
      speex_resampler_process_interleaved_float(state.resampler, in, &in_len, state.block.data(), &out_len);
      in += std::size_t{in_len} * channels;
      frames_in -= in_len;
      output = state.block.data();
      out_frames = out_len;
    } else {
      out_frames = static_cast<std::size_t>(std::min<std::uint64_t>(frames_in, room));
      std::copy_n(in, out_frames * channels, state.block.begin());
      frames_in = 0;
      output = state.block.data();
    }
    if (room == 0) break;
    opus_pcm_soft_clip(state.block.data(), static_cast<int>(out_frames), static_cast<int>(channels),
                       state.clip_memory);
    for (std::size_t i = 0; i < out_frames * channels; ++i) pcm.push_back(to_int16(output[i]));
    frames_out_ += out_frames;
    room -= out_frames;
  } while (frames_in > 0 && room > 0);
}

std::error_code OggOpusPcmStream::finish(std::vector<std::int16_t>& pcm) {
  auto& state = *state_;
  if (state.resampler) {
    const std::vector<float> zeros(std::size_t{drain_block_frames} * length_.channels, 0.0f);
    for (int drain = speex_resampler_get_input_latency(state.resampler); drain > 0; drain -= drain_block_frames) {
      const int frames = std::min(drain, drain_block_frames);
      resample({zeros.data(), static_cast<std::size_t>(frames) * length_.channels}, pcm);
    }
  }
  // A file shorter than its granule said (damaged) still gives every frame promised.
  const auto promised = length_.frames_at(rate_hz_);
  if (frames_out_ < promised) {
    pcm.insert(pcm.end(), static_cast<std::size_t>(promised - frames_out_) * length_.channels, 0);
    frames_out_ = promised;
  }
  return {};
}

}  // namespace deskline::codec
