// A tmpfs of a few KiB mounted over a folder (a disk that fills up), for the
// full-disk tests. Needs root (CAP_SYS_ADMIN).
#pragma once

#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

namespace deskline::testing {

// Unmounted when it goes out of scope: declare it after the Workspace so it goes first.
class SmallTmpfs {
 public:
  SmallTmpfs(const std::filesystem::path& where, const char* size) : where_(where) {
    std::filesystem::create_directories(where);
    mounted_ = ::mount("tmpfs", where.c_str(), "tmpfs", 0, (std::string("size=") + size + ",mode=0755").c_str()) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(where_.c_str(), MNT_DETACH);
  }
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::filesystem::path where_;
  bool mounted_ = false;
  std::string error_;
};

}  // namespace deskline::testing
