// Crash-safe Ogg Opus recording (RFC 7845) with libopus and libogg, encoding at
// the box's native rate (8 or 16 kHz mono) without resampling to 48 kHz.
//
// Threading: an OggOpusWriter is used from one thread at a time (the line's
// encoder thread); create(), write() and finish() hand pages to the sink on
// that thread. Different writers are independent.
//
// Crash safety: after create() returns, the sink holds both header pages.
// write() hands a complete page to the sink every `page_ms` of audio (200 ms
// by default), so a process killed mid-call leaves a file whose every page but
// possibly a torn last one is valid; plan_ogg_repair() (ogg_repair.hpp) turns it
// into a complete file. finish() pads and encodes the last partial frame and
// writes the end-of-stream page whose granule trims the padding exactly.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace deskline::codec {

// Errors of the writer itself; sink errors (e.g. ENOSPC in the generic
// category) are passed through unchanged.
enum class OpusWriterError {
  unsupported_rate = 1,   // only 8000 and 16000 Hz
  invalid_bitrate,        // outside 6000..510000 b/s
  invalid_complexity,     // outside 0..10
  invalid_page_duration,  // not a multiple of 20 ms in 20..1000
  invalid_comment,        // not KEY=value with a printable ASCII key
  encoder_failed,         // libopus refused (message has no detail: see logs)
  muxer_failed,           // libogg refused a packet (out of memory)
  already_finished,       // write() or finish() after finish()
};
const std::error_category& opus_writer_category();
std::error_code make_error_code(OpusWriterError error);

// Where pages go. write() gets whole pages (or the header pages) and either
// stores all the bytes or returns an error.
class PageSink {
 public:
  virtual ~PageSink() = default;
  virtual std::error_code write(std::span<const std::uint8_t> bytes) = 0;
};

// Writes pages to a file descriptor with write(2), retrying EINTR and short
// writes; errno failures (ENOSPC, EIO, ...) come back in the generic category,
// and a write(2) that stores nothing without an errno counts as a full disk
// (ENOSPC). The first failure sticks: later writes return it and leave the
// file alone, so no page ever follows a torn or missing one.
//
// The sink remembers where the last whole page ended. When a write fails
// part-way on a seekable file it cuts the torn page off there (best effort;
// trim_to_last_page() tries again), so the file still ends on a page boundary;
// pipes and sockets cannot, and then the repair planner drops the torn page.
//
// FdSink(fd) borrows the descriptor; FdSink(fd, FdSink::Ownership::owned)
// closes it in close() or, failing that, in the destructor (without fsync).
class FdSink final : public PageSink {
 public:
  enum class Ownership { borrowed, owned };

  explicit FdSink(int fd, Ownership ownership = Ownership::borrowed) : fd_(fd), ownership_(ownership) {}
  ~FdSink() override;
  FdSink(const FdSink&) = delete;
  FdSink& operator=(const FdSink&) = delete;

  std::error_code write(std::span<const std::uint8_t> bytes) override;
  // Cuts the file back to the end of the last whole page, if a write left a
  // torn page behind; a no-op otherwise. ESPIPE when the descriptor cannot seek.
  std::error_code trim_to_last_page();
  // fsync(2) (unless the caller syncs the whole file system later, as a
  // daemon stopping with many files open does), then close(2) if owned; the
  // first error. Writes after it fail (EBADF).
  enum class Sync { file, later };
  std::error_code close(Sync sync = Sync::file);

  std::uint64_t bytes_written() const { return bytes_written_; }  // whole pages only
  std::error_code error() const { return error_; }

 private:
  int fd_;
  Ownership ownership_;
  std::uint64_t bytes_written_ = 0;
  std::error_code error_;
  bool torn_ = false;            // bytes of a failed write may follow the last whole page
  std::int64_t page_end_ = -1;  // file offset where the last whole page ends, once a write tore
};

// Appends to a vector: for tests, exports and the CLI's in-memory paths.
class MemorySink final : public PageSink {
 public:
  std::error_code write(std::span<const std::uint8_t> bytes) override {
    bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
    return {};
  }
  const std::vector<std::uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<std::uint8_t> bytes_;
};

struct OpusSettings {
  std::uint32_t rate_hz = 8000;  // 8000 (narrowband) or 16000 (wideband)
  int bitrate_bps = 16000;       // VBR target
  int complexity = 5;            // 0..10; 5 costs about half of 10 at 8 kHz
  std::uint32_t page_ms = 200;   // audio per page: bounds what a crash loses
};

class OggOpusWriter {
 public:
  static constexpr std::uint32_t frame_ms = 20;

  // Validates settings and comments (KEY=value each; the daemon passes
  // DESKLINE_CALL_ID, LINE, DIRECTION, NUMBER, START_TIME, ...), sets up the
  // encoder and a random stream serial, and writes OpusHead and OpusTags to
  // sink, each on its own page. The sink must outlive the writer. Returns
  // nullptr with error set on failure.
  static std::unique_ptr<OggOpusWriter> create(const OpusSettings& settings, std::vector<std::string> comments,
                                               PageSink& sink, std::error_code& error);
  ~OggOpusWriter();
  OggOpusWriter(const OggOpusWriter&) = delete;
  OggOpusWriter& operator=(const OggOpusWriter&) = delete;

  // Mono samples at settings.rate_hz, any count (a partial frame waits for
  // the next call). After an error every call returns that first error and
  // nothing more reaches the sink: what it stored before is a valid prefix.
  std::error_code write(std::span<const std::int16_t> samples);

  // Encodes the buffered partial frame and the encoder's lookahead, writes
  // the end-of-stream page. Call once, when the call ends; the destructor
  // does not finish (a writer dropped without finish() looks like a crash).
  std::error_code finish();

  std::uint64_t samples_in() const { return samples_in_; }
  std::uint64_t bytes_out() const { return bytes_out_; }
  std::uint64_t pages_out() const { return pages_out_; }
  double duration_s() const { return static_cast<double>(samples_in_) / settings_.rate_hz; }
  std::uint32_t serial() const { return serial_; }
  std::uint16_t pre_skip() const { return pre_skip_; }  // 48 kHz samples
  std::error_code error() const { return error_; }
  bool finished() const { return finished_; }

 private:
  struct State;  // libopus and libogg objects, kept out of this header
  OggOpusWriter(const OpusSettings& settings, std::unique_ptr<State> state, PageSink& sink);

  std::error_code write_headers(std::vector<std::string> comments);
  std::error_code encode_frame(std::span<const std::int16_t> frame, bool last);
  std::error_code flush_pages();
  std::error_code fail(std::error_code error);
  std::int64_t end_granule() const;  // pre-skip + all input, in 48 kHz samples

  OpusSettings settings_;
  std::unique_ptr<State> state_;
  PageSink& sink_;
  std::uint32_t frame_samples_;  // per 20 ms frame at the input rate
  std::uint32_t frames_per_page_;
  std::vector<std::int16_t> pending_;  // partial frame, capacity frame_samples_
  std::uint32_t serial_ = 0;
  std::uint16_t pre_skip_ = 0;
  std::int64_t packet_number_ = 0;
  std::int64_t granule_ = 0;  // 48 kHz samples decoded from the packets so far
  std::uint32_t frames_on_page_ = 0;
  std::uint64_t samples_in_ = 0;
  std::uint64_t bytes_out_ = 0;
  std::uint64_t pages_out_ = 0;
  std::error_code error_;
  bool finished_ = false;
};

}  // namespace deskline::codec

template <>
struct std::is_error_code_enum<deskline::codec::OpusWriterError> : std::true_type {};
