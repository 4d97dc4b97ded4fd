// Keeps a flood of one kind of message from flooding the log, while the
// counters that go with it stay exact: per key (e.g. "box X800-0001
// malformed_report"), the first `burst` messages of each interval are
// written, the rest only counted, and one summary per interval says how many
// were left out. Pure: the caller passes the time and asks for due summaries
// (a timer at next_summary_due()).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace deskline::daemon {

class LogRateLimit {
 public:
  using Clock = std::chrono::steady_clock;
  struct Summary {
    std::string key;
    std::uint64_t left_out = 0;  // messages not written during the interval
  };

  explicit LogRateLimit(int burst = 5, Clock::duration interval = std::chrono::seconds(60))
      : burst_(burst), interval_(interval) {}

  // Whether to write this message now; otherwise it is counted for the summary.
  bool admit(const std::string& key, Clock::time_point now);
  // Summaries of the intervals that ended by now with messages left out
  // (all of them when flushing at shutdown).
  std::vector<Summary> take_summaries(Clock::time_point now, bool flush_all = false);
  // When the next summary falls due, if any is pending.
  std::optional<Clock::time_point> next_summary_due() const;

 private:
  struct Window {
    Clock::time_point start;
    int written = 0;
    std::uint64_t left_out = 0;
  };

  int burst_;
  Clock::duration interval_;
  std::map<std::string, Window> windows_;
};

}  // namespace deskline::daemon
