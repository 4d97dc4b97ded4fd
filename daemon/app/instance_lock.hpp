// One daemon per data directory. A second desklined on the same database
// would run startup recovery against the first one's live calls (closing
// them as interrupted, "repairing" the recording being written), so the lock
// is taken before anything in the directory is touched. An exclusive flock(2)
// on <data_dir>/desklined.lock, holding the owner's pid for the message; the
// kernel drops it when the process exits, however it exits.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <utility>

#include "daemon/core/result.hpp"

namespace deskline::daemon {

class InstanceLock {
 public:
  // Fails with std::errc::resource_unavailable_try_again when another
  // process holds it (detail names its pid), or with the error of the file.
  static Result<InstanceLock> acquire(const std::filesystem::path& path);

  InstanceLock(InstanceLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  InstanceLock& operator=(InstanceLock&&) = delete;
  InstanceLock(const InstanceLock&) = delete;
  ~InstanceLock();

 private:
  explicit InstanceLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace deskline::daemon
