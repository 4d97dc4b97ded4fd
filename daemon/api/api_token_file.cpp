#include "daemon/api/api_token_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

namespace deskline::daemon {

bool ApiTokenFile::Version::operator==(const Version& other) const {
  auto same = [](const timespec& a, const timespec& b) { return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec; };
  return device == other.device && inode == other.inode && size == other.size && same(modified, other.modified) &&
         same(changed, other.changed);
}

void ApiTokenFile::refresh() {
  struct stat status{};
  std::optional<Version> version;
  if (::stat(path_.c_str(), &status) == 0)
    version = Version{status.st_dev, status.st_ino, status.st_size, status.st_mtim, status.st_ctim};
  if (loaded_ && version == version_ && problem_.empty()) return;
  load(version);
}

void ApiTokenFile::load(const std::optional<Version>& version) {
  loaded_ = true;
  version_ = version;
  const auto before = entries_.size();
  entries_.clear();
  std::string problem;
  if (!version) {
    if (before > 0) log_.info("http: {} is gone: no API token is accepted", path_.string());
  } else if (auto text = read(); !text) {
    problem = "cannot be read";
  } else if (auto parsed = proto::api_tokens::parse(*text); !parsed) {
    problem = "is refused (" + parsed.describe() + ")";
  } else {
    entries_ = std::move(*parsed.entries);
    log_.info("http: {} API token(s) from {}", entries_.size(), path_.string());
  }
  // Said once per problem, not on every request while it lasts.
  if (!problem.empty() && problem != problem_)
    log_.error("http: the API tokens file {} {}: no API token is accepted until it is fixed", path_.string(), problem);
  problem_ = std::move(problem);
}

std::optional<std::string> ApiTokenFile::read() const {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path_, error)) return std::nullopt;
  std::ifstream file(path_, std::ios::binary);
  if (!file) return std::nullopt;
  // One byte more than the parser takes, so an oversized file is refused as such.
  std::string text(proto::api_tokens::max_file_bytes + 1, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (file.bad()) return std::nullopt;
  text.resize(static_cast<std::size_t>(file.gcount()));
  return text;
}

}  // namespace deskline::daemon
