// The daemon's count of orphan recordings (files no row names) and of rows
// whose file is missing, for `deskline status`. Counted once at start, after
// recovery, by RecordingScan in slices on the io_context, so that calls and
// pops go on meanwhile. Not repeated on a timer: orphans appear when the
// database is deleted or replaced (which the database watch reports; the next
// start counts them) or restored from a backup (a start, too). Counted again
// once re-attaching stops for a moment (reattached()), so the count stays
// exact however the orphans were re-attached. io_context thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "daemon/archive/recording_scan.hpp"
#include "daemon/core/log.hpp"
#include "daemon/store/store.hpp"

namespace deskline::daemon {

class RecordingsCheck {
 public:
  // One slice may take about this long before the io_context gets its turn.
  static constexpr auto slice_budget = std::chrono::milliseconds(5);
  // Files or rows looked at between two looks at the clock.
  static constexpr std::size_t items_per_look = 32;
  // Re-attaching quiet this long: count again.
  static constexpr auto recount_after = std::chrono::seconds(2);

  struct Summary {
    bool checked = false;          // a check has finished; the counts are its
    bool checking = false;         // one is running now
    RecordingScan::Counts counts;  // of the last finished check
    std::string problem;           // what it could not check, "" when nothing
  };

  RecordingsCheck(boost::asio::io_context& io, const Store& store, std::filesystem::path recordings_dir, Logger& log);

  // Starts a check unless one runs (then it is run again once it finishes).
  void start();
  // Stops a running check for good; idempotent.
  void stop();
  // An orphan got its rows back: count again once re-attaching pauses.
  void reattached();

  const Summary& summary() const { return summary_; }

 private:
  void run_slice();
  void finish();

  boost::asio::io_context& io_;
  const Store& store_;
  std::filesystem::path recordings_dir_;
  Logger& log_;
  std::optional<RecordingScan> scan_;
  std::chrono::steady_clock::time_point started_;
  std::size_t slices_ = 0;
  std::chrono::steady_clock::duration longest_slice_{};
  bool again_ = false;
  bool stopped_ = false;
  boost::asio::steady_timer recount_timer_;
  Summary summary_;
};

}  // namespace deskline::daemon
