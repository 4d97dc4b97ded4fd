#include "daemon/api/request_limits.hpp"

#include <algorithm>
#include <cmath>

namespace deskline::daemon {

std::optional<std::chrono::seconds> RequestLimits::admit(const std::string& client, Clock::time_point now) {
  auto [entry, added] = buckets_.try_emplace(client, Bucket{burst_, now});
  auto& bucket = entry->second;
  const std::chrono::duration<double> elapsed = now - bucket.refilled;
  bucket.tokens = std::min(burst_, bucket.tokens + std::max(0.0, elapsed.count()) * rate_);
  bucket.refilled = now;
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return std::nullopt;
  }
  const double wait_s = (1 - bucket.tokens) / rate_;
  return std::chrono::seconds(std::max<long>(1, static_cast<long>(std::ceil(wait_s))));
}

bool RequestLimits::start_download(const std::string& client) {
  auto& count = downloads_[client];
  if (count >= max_downloads_) return false;
  ++count;
  return true;
}

void RequestLimits::end_download(const std::string& client) {
  const auto found = downloads_.find(client);
  if (found == downloads_.end()) return;
  if (--found->second == 0) downloads_.erase(found);
}

std::size_t RequestLimits::downloads(const std::string& client) const {
  const auto found = downloads_.find(client);
  return found == downloads_.end() ? 0 : found->second;
}

}  // namespace deskline::daemon
