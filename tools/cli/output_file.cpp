#include "tools/cli/output_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace deskline::tools {

namespace {

std::error_code last_error() { return {errno, std::generic_category()}; }

}  // namespace

bool OutputFile::is_direct(const std::string& path) {
  // /dev/stdout is a regular file when the shell redirected it to one: a
  // temporary renamed over it would replace /dev's link, not fill the file.
  if (path.starts_with("/dev/") || path.starts_with("/proc/")) return true;
  struct stat existing {};
  return ::stat(path.c_str(), &existing) == 0 && !S_ISREG(existing.st_mode);
}

std::optional<OutputFile> OutputFile::create(const std::string& path, mode_t mode, std::error_code& error) {
  if (is_direct(path)) {
    struct stat existing {};
    const bool regular = ::stat(path.c_str(), &existing) == 0 && S_ISREG(existing.st_mode);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | (regular ? O_TRUNC : 0));
    if (fd < 0) return error = last_error(), std::nullopt;
    return OutputFile(fd, path, "");
  }
  std::string temporary = path + ".partial-XXXXXX";
  const int fd = ::mkostemp(temporary.data(), O_CLOEXEC);
  if (fd < 0) return error = last_error(), std::nullopt;
  OutputFile file(fd, path, std::move(temporary));
  if (::fchmod(fd, mode) != 0) return error = last_error(), std::nullopt;
  return file;
}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : fd_(other.fd_), path_(std::move(other.path_)), temporary_(std::move(other.temporary_)),
      committed_(other.committed_) {
  other.fd_ = -1;
  other.temporary_.clear();
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temporary_.empty()) ::unlink(temporary_.c_str());
}

std::error_code OutputFile::write_all(std::span<const std::uint8_t> bytes) {
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t written = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) return last_error();
    done += static_cast<std::size_t>(written);
  }
  return {};
}

std::error_code OutputFile::commit(bool replace) {
  if (direct()) return {};
  if (::fsync(fd_) != 0) return last_error();
  if (replace) {
    if (::rename(temporary_.c_str(), path_.c_str()) != 0) return last_error();
  } else {
    if (::link(temporary_.c_str(), path_.c_str()) != 0) return last_error();
    ::unlink(temporary_.c_str());
  }
  committed_ = true;
  return {};
}

}  // namespace deskline::tools
