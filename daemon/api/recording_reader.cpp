#include "daemon/api/recording_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "codec/ogg_format.hpp"
#include "codec/ogg_opus_pcm.hpp"
#include "codec/wav.hpp"

namespace deskline::daemon {

namespace {

// How much of the file a WAV read decodes at a time: about 8 s of a
// 16 kb/s recording, a few milliseconds of the worker's time.
constexpr std::size_t wav_input_slice = 16 * 1024;
constexpr std::size_t head_bytes = 4096;
constexpr std::size_t tail_bytes = 65536;  // holds the last whole page (at most 65,307 bytes)

class RecordingReadCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "recording_read"; }
  std::string message(int value) const override {
    switch (static_cast<RecordingReadError>(value)) {
      case RecordingReadError::changed: return "the recording file does not have the size its row says";
    }
    return "unknown recording read error";
  }
};

std::error_code last_error() { return {errno, std::generic_category()}; }

// pread(2) until count bytes or the end of the file; the bytes read.
std::error_code pread_fully(int fd, std::uint8_t* data, std::size_t count, std::uint64_t offset, std::size_t& got) {
  got = 0;
  while (got < count) {
    const ssize_t n = ::pread(fd, data + got, count - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return last_error();
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  return {};
}

std::vector<std::uint8_t> read_at(int fd, std::uint64_t offset, std::size_t count, std::error_code& error) {
  std::vector<std::uint8_t> bytes(count);
  std::size_t got = 0;
  error = pread_fully(fd, bytes.data(), count, offset, got);
  bytes.resize(got);
  return bytes;
}

}  // namespace

const std::error_category& recording_read_category() {
  static const RecordingReadCategory category;
  return category;
}

std::error_code make_error_code(RecordingReadError error) { return {static_cast<int>(error), recording_read_category()}; }

RecordingReader::RecordingReader(int fd, std::uint64_t file_size, std::int64_t modified_s)
    : fd_(fd), file_size_(file_size), size_(file_size), modified_s_(modified_s) {}

RecordingReader::~RecordingReader() { ::close(fd_); }

std::unique_ptr<RecordingReader> RecordingReader::open(const std::filesystem::path& path, RecordingFormat format,
                                                       std::uint64_t stored_bytes, std::error_code& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    error = last_error();
    return nullptr;
  }
  struct stat status {};
  if (::fstat(fd, &status) != 0) {
    error = last_error();
    ::close(fd);
    return nullptr;
  }
  if (!S_ISREG(status.st_mode) || static_cast<std::uint64_t>(status.st_size) != stored_bytes) {
    error = RecordingReadError::changed;
    ::close(fd);
    return nullptr;
  }
  std::unique_ptr<RecordingReader> reader(new RecordingReader(fd, stored_bytes, status.st_mtim.tv_sec));
  if (format == RecordingFormat::ogg) return reader;

  const auto head = read_at(fd, 0, static_cast<std::size_t>(std::min<std::uint64_t>(head_bytes, stored_bytes)), error);
  if (error) return nullptr;
  const auto tail_size = std::min<std::uint64_t>(tail_bytes, stored_bytes);
  const auto tail = read_at(fd, stored_bytes - tail_size, static_cast<std::size_t>(tail_size), error);
  if (error) return nullptr;
  const auto length = codec::read_opus_pcm_length(head, tail, error);
  if (!length) return nullptr;
  std::string why;
  codec::OggPage first;
  codec::parse_ogg_page(head, first);  // read_opus_pcm_length parsed it
  const auto opus_head = codec::parse_opus_head(first.body, why);
  // The recording's own rate when Opus decodes at it (8 or 16 kHz for every box).
  reader->rate_hz_ = opus_head && opus_head->input_rate_hz ? opus_head->input_rate_hz : 48000;
  reader->decoder_ = codec::OggOpusPcmStream::create(*length, reader->rate_hz_, error);
  if (!reader->decoder_) return nullptr;
  const auto frames = length->frames_at(reader->rate_hz_);
  try {
    reader->pending_ = codec::encode_wav_header(reader->rate_hz_, length->channels, frames);
  } catch (const std::length_error&) {
    error = std::make_error_code(std::errc::file_too_large);
    return nullptr;
  }
  reader->size_ = codec::wav_header_size + frames * length->channels * 2;
  return reader;
}

std::error_code RecordingReader::read(std::vector<std::uint8_t>& out, std::size_t max) {
  if (decoder_) return read_wav(out, max);
  const auto count = static_cast<std::size_t>(std::min<std::uint64_t>(max, file_size_ - std::min(offset_, file_size_)));
  const auto start = out.size();
  out.resize(start + count);
  std::size_t got = 0;
  auto error = pread_fully(fd_, out.data() + start, count, offset_, got);
  out.resize(start + got);
  offset_ += got;
  if (!error && got < count) error = RecordingReadError::changed;  // cut short since it was opened
  return error;
}

std::error_code RecordingReader::load(std::uint64_t offset, std::uint64_t length) const {
  if (::readahead(fd_, static_cast<off64_t>(offset), static_cast<std::size_t>(length)) != 0) return last_error();
  return {};
}

std::error_code RecordingReader::read_wav(std::vector<std::uint8_t>& out, std::size_t max) {
  std::vector<std::int16_t> pcm;
  std::vector<std::uint8_t> input;
  while (pending_.size() - pending_at_ < max && !finished_) {
    pcm.clear();
    if (offset_ < file_size_) {
      std::error_code error;
      input = read_at(fd_, offset_, static_cast<std::size_t>(std::min<std::uint64_t>(wav_input_slice, file_size_ - offset_)), error);
      if (error) return error;
      if (input.empty()) return RecordingReadError::changed;
      offset_ += input.size();
      if (auto decode_error = decoder_->feed(input, pcm)) return decode_error;
    } else {
      if (auto decode_error = decoder_->finish(pcm)) return decode_error;
      finished_ = true;
    }
    // Drop what is already read before the buffer grows, so it holds one slice at most.
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(pending_at_));
    pending_at_ = 0;
    for (const auto sample : pcm) {
      const auto bits = static_cast<std::uint16_t>(sample);
      pending_.push_back(static_cast<std::uint8_t>(bits & 0xFF));
      pending_.push_back(static_cast<std::uint8_t>(bits >> 8));
    }
  }
  // Never more than announced: the decoder stops at the announced length.
  const auto count = std::min(max, pending_.size() - pending_at_);
  out.insert(out.end(), pending_.begin() + static_cast<std::ptrdiff_t>(pending_at_),
             pending_.begin() + static_cast<std::ptrdiff_t>(pending_at_ + count));
  pending_at_ += count;
  return {};
}

}  // namespace deskline::daemon
