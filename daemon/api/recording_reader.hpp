// A recording as a download reads it (proto/http.md "Recordings"): the
// stored Ogg Opus file, or 16-bit PCM WAV decoded from it as it is sent
// (codec/ogg_opus_pcm.hpp), in slices of a bounded size. Used on the HTTP
// server's file worker only: opening and reading touch the disk and decode,
// which the io_context thread must never wait for. One reader per download.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <system_error>
#include <vector>

#include "daemon/api/http_request.hpp"

namespace deskline::codec {
class OggOpusPcmStream;
}

namespace deskline::daemon {

enum class RecordingReadError {
  changed = 1,  // the file is not the size its row says: replaced or cut behind the daemon's back
};
const std::error_category& recording_read_category();
std::error_code make_error_code(RecordingReadError error);

class RecordingReader {
 public:
  // Opens path; stored_bytes is the row's size, which the file must have.
  // For wav, reads the file's head and tail to know the WAV's length.
  static std::unique_ptr<RecordingReader> open(const std::filesystem::path& path, RecordingFormat format,
                                               std::uint64_t stored_bytes, std::error_code& error);
  ~RecordingReader();
  RecordingReader(const RecordingReader&) = delete;
  RecordingReader& operator=(const RecordingReader&) = delete;

  // Of the representation: the file, or the WAV (header and samples).
  std::uint64_t size() const { return size_; }
  std::int64_t modified_s() const { return modified_s_; }
  // The WAV's rate (the recording's own).
  std::uint32_t rate_hz() const { return rate_hz_; }

  // Ogg only: reads start at this offset of the file.
  void seek(std::uint64_t offset) { offset_ = offset; }
  // Appends the next bytes, at most max of them, to out; nothing at the end.
  std::error_code read(std::vector<std::uint8_t>& out, std::size_t max);

  // Ogg only, for sendfile(2) from the io thread: the open file, and its
  // bytes [offset, offset + length) brought into the page cache first
  // (readahead(2) returns once they are read), so that sendfile never
  // waits for the disk there.
  int fd() const { return fd_; }
  std::error_code load(std::uint64_t offset, std::uint64_t length) const;

 private:
  RecordingReader(int fd, std::uint64_t file_size, std::int64_t modified_s);
  std::error_code read_wav(std::vector<std::uint8_t>& out, std::size_t max);

  int fd_;
  std::uint64_t file_size_;
  std::uint64_t size_;
  std::int64_t modified_s_;
  std::uint64_t offset_ = 0;  // in the file
  // WAV only:
  std::uint32_t rate_hz_ = 0;
  std::unique_ptr<codec::OggOpusPcmStream> decoder_;
  std::vector<std::uint8_t> pending_;  // decoded bytes not yet read
  std::size_t pending_at_ = 0;
  bool finished_ = false;
};

}  // namespace deskline::daemon

template <>
struct std::is_error_code_enum<deskline::daemon::RecordingReadError> : std::true_type {};
