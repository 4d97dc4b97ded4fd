#include "daemon/core/rate_limit.hpp"

namespace deskline::daemon {

bool LogRateLimit::admit(const std::string& key, Clock::time_point now) {
  auto [found, added] = windows_.try_emplace(key, Window{now});
  auto& window = found->second;
  // A window whose summary is still pending stays until take_summaries.
  if (!added && window.left_out == 0 && now >= window.start + interval_) window = Window{now};
  if (window.written < burst_) {
    ++window.written;
    return true;
  }
  ++window.left_out;
  return false;
}

std::vector<LogRateLimit::Summary> LogRateLimit::take_summaries(Clock::time_point now, bool flush_all) {
  std::vector<Summary> due;
  for (auto entry = windows_.begin(); entry != windows_.end();) {
    const auto& [key, window] = *entry;
    const bool ended = now >= window.start + interval_;
    if (window.left_out > 0 && (ended || flush_all)) due.push_back({key, window.left_out});
    if (ended || flush_all) entry = windows_.erase(entry);
    else ++entry;
  }
  return due;
}

std::optional<LogRateLimit::Clock::time_point> LogRateLimit::next_summary_due() const {
  std::optional<Clock::time_point> due;
  for (const auto& [key, window] : windows_)
    if (window.left_out > 0 && (!due || window.start + interval_ < *due)) due = window.start + interval_;
  return due;
}

}  // namespace deskline::daemon
