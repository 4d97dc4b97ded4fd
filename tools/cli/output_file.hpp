// A file the CLI writes for the user (exports, encodes): written under a
// temporary name in the same folder and put in place only when complete, so a
// failed run never leaves a half-written file or removes one it did not make.
// Devices, FIFOs and paths under /dev or /proc (e.g. /dev/stdout, whatever
// it leads to) are written directly.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <system_error>

namespace deskline::tools {

class OutputFile {
 public:
  // Opens a temporary file next to path (mode: recordings are personal data).
  static std::optional<OutputFile> create(const std::string& path, mode_t mode, std::error_code& error);
  // Written in place, never replaced: a device, a FIFO, or anything under
  // /dev or /proc (/dev/stdout, also when it leads to a regular file).
  static bool is_direct(const std::string& path);
  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&&) = delete;
  ~OutputFile();  // an uncommitted temporary is removed

  int fd() const { return fd_; }
  bool direct() const { return temporary_.empty(); }

  std::error_code write_all(std::span<const std::uint8_t> bytes);
  // Flushes to disk and puts the file in place. replace=false keeps an existing
  // file (link(2) refuses atomically, where a test-then-rename would race):
  // the answer is then file_exists.
  std::error_code commit(bool replace);

 private:
  OutputFile(int fd, std::string path, std::string temporary)
      : fd_(fd), path_(std::move(path)), temporary_(std::move(temporary)) {}
  int fd_ = -1;
  std::string path_;
  std::string temporary_;  // empty when writing directly
  bool committed_ = false;
};

}  // namespace deskline::tools
