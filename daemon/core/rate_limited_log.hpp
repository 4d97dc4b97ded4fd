// Warnings a client can provoke at will (refused connections, wrong tokens)
// must not flood the log: per key, the first few of each interval are
// written, the rest counted, and one summary per interval gives the exact
// number left out (LogRateLimit, with the timer its summaries need).
// io_context thread only.
#pragma once

#include <chrono>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "daemon/core/log.hpp"
#include "daemon/core/rate_limit.hpp"

namespace deskline::daemon {

class RateLimitedLog {
 public:
  static constexpr int burst = 5;

  // summary_hint ends each summary line (e.g. where the exact counters are).
  RateLimitedLog(boost::asio::io_context& io, Logger& log, std::chrono::seconds interval = std::chrono::seconds(60),
                 std::string summary_hint = "")
      : log_(log), interval_(interval), summary_hint_(std::move(summary_hint)), limit_(burst, interval),
        summary_timer_(io) {}

  // A warning under key (what kind of thing happened, e.g. "http: refused a connection").
  template <typename... Args>
  void warning(const std::string& key, fmt::format_string<Args...> format, Args&&... args) {
    if (limit_.admit(key, std::chrono::steady_clock::now()))
      log_.warning(format, std::forward<Args>(args)...);
    else
      arm_summary();
  }

  // Writes the summaries still pending, at once (at stop).
  void flush();

 private:
  void arm_summary();
  void write_summaries(bool flush_all);

  Logger& log_;
  std::chrono::seconds interval_;
  std::string summary_hint_;
  LogRateLimit limit_;
  boost::asio::steady_timer summary_timer_;
  bool summary_armed_ = false;
};

}  // namespace deskline::daemon
