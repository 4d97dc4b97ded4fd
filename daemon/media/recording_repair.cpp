#include "daemon/media/recording_repair.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "codec/ogg_repair.hpp"

namespace deskline::daemon {

FileRepair repair_recording_file(const std::filesystem::path& path) {
  FileRepair outcome;
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    outcome.reason = std::strerror(errno);
    return outcome;
  }
  std::vector<std::uint8_t> bytes;
  std::uint8_t buffer[65536];
  ssize_t count;
  while ((count = ::read(fd, buffer, sizeof buffer)) > 0) bytes.insert(bytes.end(), buffer, buffer + count);
  if (count < 0) {
    outcome.reason = std::strerror(errno);
    ::close(fd);
    return outcome;
  }
  const auto plan = codec::plan_ogg_repair(bytes);
  outcome.duration_s = plan.duration_s();
  outcome.bytes = bytes.size();
  outcome.reason = plan.reason;
  switch (plan.verdict) {
    case codec::RepairVerdict::complete:
      outcome.result = FileRepair::Result::complete;
      break;
    case codec::RepairVerdict::refused:
      outcome.result = FileRepair::Result::refused;
      break;
    case codec::RepairVerdict::repairable:
      // The tail replaces the last page in place: no new disk space is needed.
      if (::pwrite(fd, plan.tail.data(), plan.tail.size(), static_cast<off_t>(plan.keep_bytes)) !=
              static_cast<ssize_t>(plan.tail.size()) ||
          ::ftruncate(fd, static_cast<off_t>(plan.repaired_size())) != 0 || ::fsync(fd) != 0) {
        outcome.result = FileRepair::Result::unreadable;
        outcome.reason = std::string("cannot rewrite: ") + std::strerror(errno);
        break;
      }
      outcome.result = FileRepair::Result::repaired;
      outcome.bytes = plan.repaired_size();
      break;
  }
  ::close(fd);
  return outcome;
}

}  // namespace deskline::daemon
