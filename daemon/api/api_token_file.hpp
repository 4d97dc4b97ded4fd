// The API tokens of the pull API ([http] api_tokens_file, proto/api_tokens.hpp),
// read again whenever the file changes: before each request that presents a
// token the file is stat(2)ed (about a microsecond), and a new inode, size or
// modification time has it re-read, so `deskline tokens revoke` takes effect
// on the next request without a restart. A missing file holds no token; a
// file that cannot be read or parsed opens nothing until it is fixed (a
// broken edit must not keep a revoked token alive), and says so in the log.
// io_context thread only.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "daemon/core/log.hpp"
#include "proto/api_tokens.hpp"

namespace deskline::daemon {

class ApiTokenFile {
 public:
  ApiTokenFile(std::filesystem::path path, Logger& log) : path_(std::move(path)), log_(log) {}

  // Re-reads the file if it changed since the last read.
  void refresh();
  std::span<const proto::api_tokens::Entry> entries() const { return entries_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  // What tells one version of the file from the next.
  struct Version {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    timespec modified{};
    timespec changed{};
    bool operator==(const Version& other) const;
  };
  void load(const std::optional<Version>& version);
  std::optional<std::string> read() const;

  std::filesystem::path path_;
  Logger& log_;
  bool loaded_ = false;
  std::optional<Version> version_;  // none: the file did not exist
  std::vector<proto::api_tokens::Entry> entries_;
  std::string problem_;  // why the file opens nothing ("" when it was read, or is missing)
};

}  // namespace deskline::daemon
