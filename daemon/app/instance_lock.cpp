#include "daemon/app/instance_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <fmt/format.h>

namespace deskline::daemon {
namespace {

std::error_code last_error() { return {errno, std::generic_category()}; }

// The pid the holder wrote, or "" when it cannot be read.
std::string holder_pid(int fd) {
  char text[32] = {};
  const ssize_t count = ::pread(fd, text, sizeof text - 1, 0);
  if (count <= 0) return "";
  std::string pid(text, static_cast<std::size_t>(count));
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid;
}

}  // namespace

Result<InstanceLock> InstanceLock::acquire(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd < 0) return Error{last_error(), fmt::format("cannot open the lock file {}: {}", path.string(),
                                                     last_error().message())};
  InstanceLock lock(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const auto error = last_error();
    if (error != std::errc::resource_unavailable_try_again)
      return Error{error, fmt::format("cannot lock {}: {}", path.string(), error.message())};
    const auto pid = holder_pid(fd);
    return Error{error, fmt::format("another desklined{} is running on this data directory (lock file {}); "
                                    "stop it first, or give this one its own data_dir",
                                    pid.empty() ? "" : " (pid " + pid + ")", path.string())};
  }
  const auto pid = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
    return Error{last_error(), fmt::format("cannot write the lock file {}: {}", path.string(),
                                           last_error().message())};
  return lock;
}

InstanceLock::~InstanceLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock; the file stays for the next daemon
}

}  // namespace deskline::daemon
