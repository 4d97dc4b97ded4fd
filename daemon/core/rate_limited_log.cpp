#include "daemon/core/rate_limited_log.hpp"

namespace deskline::daemon {

void RateLimitedLog::flush() {
  summary_timer_.cancel();
  write_summaries(true);
}

void RateLimitedLog::arm_summary() {
  const auto due = limit_.next_summary_due();
  if (summary_armed_ || !due) return;
  summary_armed_ = true;
  summary_timer_.expires_at(*due);
  summary_timer_.async_wait([this](boost::system::error_code error) {
    if (error) return;  // cancelled: flush() wrote them, or the owner is gone
    summary_armed_ = false;
    write_summaries(false);
  });
}

void RateLimitedLog::write_summaries(bool flush_all) {
  for (const auto& summary : limit_.take_summaries(std::chrono::steady_clock::now(), flush_all))
    log_.warning("{}: {} more not logged one by one (at most {} lines per {} s{})", summary.key, summary.left_out,
                 burst, interval_.count(), summary_hint_);
  if (flush_all)
    summary_armed_ = false;
  else
    arm_summary();
}

}  // namespace deskline::daemon
