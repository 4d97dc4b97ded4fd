#include "codec/ogg_opus.hpp"

#include <ogg/ogg.h>
#include <opus.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <ctime>

#include "codec/ogg_format.hpp"

namespace deskline::codec {
namespace {

constexpr std::uint32_t granule_rate_hz = 48000;  // RFC 7845: granules count 48 kHz samples
constexpr std::int64_t granule_per_frame = granule_rate_hz / 1000 * OggOpusWriter::frame_ms;
// libopus never emits more than 1275 bytes per 20 ms frame; its docs advise 4000.
constexpr std::size_t max_packet_bytes = 4000;

class OpusWriterCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "opus_writer"; }
  std::string message(int code) const override {
    switch (static_cast<OpusWriterError>(code)) {
      case OpusWriterError::unsupported_rate: return "sample rate must be 8000 or 16000 Hz";
      case OpusWriterError::invalid_bitrate: return "bitrate must be between 6000 and 510000 b/s";
      case OpusWriterError::invalid_complexity: return "complexity must be between 0 and 10";
      case OpusWriterError::invalid_page_duration: return "page duration must be a multiple of 20 ms up to 1000 ms";
      case OpusWriterError::invalid_comment: return "comment is not KEY=value with a printable ASCII key";
      case OpusWriterError::encoder_failed: return "Opus encoder failed";
      case OpusWriterError::muxer_failed: return "Ogg muxer failed";
      case OpusWriterError::already_finished: return "recording already finished";
    }
    return "unknown Opus writer error";
  }
};

// Serials only need to differ between streams (chaining, concatenation), not
// to be secret: without entropy yet (early boot) a clock and pid mix does.
std::uint32_t random_serial() {
  std::uint32_t serial = 0;
  if (getrandom(&serial, sizeof serial, GRND_NONBLOCK) == static_cast<ssize_t>(sizeof serial)) return serial;
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  static std::uint64_t counter = 0;
  std::uint64_t mix = static_cast<std::uint64_t>(now.tv_sec) * 1000000007u + static_cast<std::uint64_t>(now.tv_nsec) +
                      (static_cast<std::uint64_t>(getpid()) << 32) + ++counter;
  // splitmix64 finalizer spreads close inputs over all bits.
  mix = (mix ^ (mix >> 30)) * 0xBF58476D1CE4E5B9u;
  mix = (mix ^ (mix >> 27)) * 0x94D049BB133111EBu;
  return static_cast<std::uint32_t>(mix ^ (mix >> 31));
}

std::error_code check_settings(const OpusSettings& settings, const std::vector<std::string>& comments) {
  if (settings.rate_hz != 8000 && settings.rate_hz != 16000) return OpusWriterError::unsupported_rate;
  if (settings.bitrate_bps < 6000 || settings.bitrate_bps > 510000) return OpusWriterError::invalid_bitrate;
  if (settings.complexity < 0 || settings.complexity > 10) return OpusWriterError::invalid_complexity;
  if (settings.page_ms < OggOpusWriter::frame_ms || settings.page_ms > 1000 ||
      settings.page_ms % OggOpusWriter::frame_ms != 0)
    return OpusWriterError::invalid_page_duration;
  for (const auto& comment : comments)
    if (!valid_opus_comment(comment)) return OpusWriterError::invalid_comment;
  return {};
}

}  // namespace

const std::error_category& opus_writer_category() {
  static const OpusWriterCategory category;
  return category;
}

std::error_code make_error_code(OpusWriterError error) { return {static_cast<int>(error), opus_writer_category()}; }

// ---------------------------------------------------------------------------

FdSink::~FdSink() {
  if (ownership_ == Ownership::owned && fd_ >= 0) ::close(fd_);
}

std::error_code FdSink::write(std::span<const std::uint8_t> bytes) {
  if (error_) return error_;
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t written = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (written > 0) {
      done += static_cast<std::size_t>(written);
      continue;
    }
    if (written < 0 && errno == EINTR) continue;
    error_ = std::error_code(written < 0 ? errno : ENOSPC, std::generic_category());
    if (done > 0) {
      // Every earlier write completed, so the last whole page ends where this
      // one started.
      torn_ = true;
      const off_t end = ::lseek(fd_, 0, SEEK_CUR);
      if (end >= static_cast<off_t>(done)) page_end_ = end - static_cast<off_t>(done);
      (void)trim_to_last_page();
    }
    return error_;
  }
  bytes_written_ += done;
  return {};
}

std::error_code FdSink::trim_to_last_page() {
  if (!torn_) return {};
  if (page_end_ < 0) return std::make_error_code(std::errc::invalid_seek);
  const auto page_end = static_cast<off_t>(page_end_);
  if (::ftruncate(fd_, page_end) != 0 || ::lseek(fd_, page_end, SEEK_SET) < 0)
    return {errno, std::generic_category()};
  torn_ = false;
  return {};
}

std::error_code FdSink::close(Sync sync) {
  std::error_code result;
  if (sync == Sync::file && ::fsync(fd_) != 0) result = std::error_code(errno, std::generic_category());
  if (ownership_ == Ownership::owned && ::close(fd_) != 0 && !result)
    result = std::error_code(errno, std::generic_category());
  fd_ = -1;
  return result;
}

// ---------------------------------------------------------------------------

struct OggOpusWriter::State {
  OpusEncoder* encoder = nullptr;
  ogg_stream_state stream{};
  bool stream_ready = false;
  std::array<unsigned char, max_packet_bytes> packet{};
  std::vector<std::uint8_t> page;  // header + body, so each page is one sink write

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() {
    if (encoder != nullptr) opus_encoder_destroy(encoder);
    if (stream_ready) ogg_stream_clear(&stream);
  }
};

std::unique_ptr<OggOpusWriter> OggOpusWriter::create(const OpusSettings& settings, std::vector<std::string> comments,
                                                     PageSink& sink, std::error_code& error) {
  error = check_settings(settings, comments);
  if (error) return nullptr;

  auto state = std::make_unique<State>();
  int result = OPUS_OK;
  state->encoder = opus_encoder_create(static_cast<opus_int32>(settings.rate_hz), 1, OPUS_APPLICATION_VOIP, &result);
  if (result != OPUS_OK || state->encoder == nullptr) {
    error = OpusWriterError::encoder_failed;
    return nullptr;
  }
  // Above the input's Nyquist frequency there is nothing to code; capping the
  // bandwidth also keeps the encoder off its costlier wideband/hybrid paths.
  const int max_bandwidth = settings.rate_hz == 8000 ? OPUS_BANDWIDTH_NARROWBAND : OPUS_BANDWIDTH_WIDEBAND;
  int lookahead = 0;
  if (opus_encoder_ctl(state->encoder, OPUS_SET_BITRATE(settings.bitrate_bps)) != OPUS_OK ||
      opus_encoder_ctl(state->encoder, OPUS_SET_COMPLEXITY(settings.complexity)) != OPUS_OK ||
      opus_encoder_ctl(state->encoder, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE)) != OPUS_OK ||
      opus_encoder_ctl(state->encoder, OPUS_SET_MAX_BANDWIDTH(max_bandwidth)) != OPUS_OK ||
      opus_encoder_ctl(state->encoder, OPUS_GET_LOOKAHEAD(&lookahead)) != OPUS_OK) {
    error = OpusWriterError::encoder_failed;
    return nullptr;
  }

  const std::uint32_t serial = random_serial();
  if (ogg_stream_init(&state->stream, static_cast<int>(serial)) != 0) {
    error = OpusWriterError::muxer_failed;
    return nullptr;
  }
  state->stream_ready = true;

  std::unique_ptr<OggOpusWriter> writer(new OggOpusWriter(settings, std::move(state), sink));
  writer->serial_ = serial;
  writer->pre_skip_ = static_cast<std::uint16_t>(lookahead * static_cast<int>(granule_rate_hz / settings.rate_hz));
  error = writer->write_headers(std::move(comments));
  if (error) return nullptr;
  return writer;
}

OggOpusWriter::OggOpusWriter(const OpusSettings& settings, std::unique_ptr<State> state, PageSink& sink)
    : settings_(settings),
      state_(std::move(state)),
      sink_(sink),
      frame_samples_(settings.rate_hz / 1000 * frame_ms),
      frames_per_page_(settings.page_ms / frame_ms) {
  pending_.reserve(frame_samples_);
}

OggOpusWriter::~OggOpusWriter() = default;

std::error_code OggOpusWriter::write_headers(std::vector<std::string> comments) {
  OpusHead head;
  head.channels = 1;
  head.pre_skip = pre_skip_;
  head.input_rate_hz = settings_.rate_hz;
  auto head_bytes = encode_opus_head(head);
  auto tags_bytes = encode_opus_tags(OpusTags{"deskline " DESKLINE_VERSION, std::move(comments)});

  // RFC 7845 §3: OpusHead alone on the first page, OpusTags ending its page.
  for (auto* header : {&head_bytes, &tags_bytes}) {
    ogg_packet packet{};
    packet.packet = header->data();
    packet.bytes = static_cast<long>(header->size());
    packet.b_o_s = header == &head_bytes ? 1 : 0;
    packet.granulepos = 0;
    packet.packetno = packet_number_++;
    if (ogg_stream_packetin(&state_->stream, &packet) != 0) return fail(OpusWriterError::muxer_failed);
    if (auto error = flush_pages()) return error;
  }
  return {};
}

std::error_code OggOpusWriter::write(std::span<const std::int16_t> samples) {
  if (finished_) return OpusWriterError::already_finished;
  if (error_) return error_;
  samples_in_ += samples.size();
  while (!samples.empty()) {
    if (pending_.empty() && samples.size() >= frame_samples_) {
      // Whole frames straight from the caller's buffer: no copy.
      if (auto error = encode_frame(samples.first(frame_samples_), false)) return error;
      samples = samples.subspan(frame_samples_);
      continue;
    }
    const std::size_t take = std::min<std::size_t>(frame_samples_ - pending_.size(), samples.size());
    pending_.insert(pending_.end(), samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(take));
    samples = samples.subspan(take);
    if (pending_.size() == frame_samples_) {
      if (auto error = encode_frame(pending_, false)) return error;
      pending_.clear();
    }
  }
  return {};
}

std::error_code OggOpusWriter::finish() {
  if (finished_) return OpusWriterError::already_finished;
  if (error_) return error_;
  // The decoder's output runs pre_skip behind the input: encode silence until
  // every input sample has come out, then trim the rest with the EOS granule.
  const std::int64_t frames_needed = (end_granule() + granule_per_frame - 1) / granule_per_frame;
  std::int64_t frames_left = std::max<std::int64_t>(1, frames_needed - granule_ / granule_per_frame);

  pending_.resize(frame_samples_, 0);  // zero-pad the partial frame (or a whole silent one)
  while (frames_left-- > 0) {
    const bool last = frames_left == 0;
    if (auto error = encode_frame(pending_, last)) return error;
    std::fill(pending_.begin(), pending_.end(), std::int16_t{0});
  }
  pending_.clear();
  finished_ = true;
  return {};
}

std::error_code OggOpusWriter::encode_frame(std::span<const std::int16_t> frame, bool last) {
  const opus_int32 size = opus_encode(state_->encoder, frame.data(), static_cast<int>(frame_samples_),
                                      state_->packet.data(), static_cast<opus_int32>(state_->packet.size()));
  if (size < 0) return fail(OpusWriterError::encoder_failed);
  granule_ += granule_per_frame;

  ogg_packet packet{};
  packet.packet = state_->packet.data();
  packet.bytes = size;
  packet.e_o_s = last ? 1 : 0;
  packet.granulepos = granule_;
  // End trimming: the EOS page's granule stops playback at the last input sample.
  if (last) packet.granulepos = end_granule();
  packet.packetno = packet_number_++;
  if (ogg_stream_packetin(&state_->stream, &packet) != 0) return fail(OpusWriterError::muxer_failed);
  if (++frames_on_page_ >= frames_per_page_ || last) return flush_pages();
  return {};
}

std::error_code OggOpusWriter::flush_pages() {
  frames_on_page_ = 0;
  ogg_page page;
  while (ogg_stream_flush(&state_->stream, &page) != 0) {
    auto& bytes = state_->page;
    bytes.assign(page.header, page.header + page.header_len);
    bytes.insert(bytes.end(), page.body, page.body + page.body_len);
    if (auto error = sink_.write(bytes)) return fail(error);
    bytes_out_ += bytes.size();
    ++pages_out_;
  }
  return {};
}

std::int64_t OggOpusWriter::end_granule() const {
  return pre_skip_ +
         static_cast<std::int64_t>(samples_in_) * static_cast<std::int64_t>(granule_rate_hz / settings_.rate_hz);
}

std::error_code OggOpusWriter::fail(std::error_code error) {
  error_ = error;
  return error;
}

}  // namespace deskline::codec
