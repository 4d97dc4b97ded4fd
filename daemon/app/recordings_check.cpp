#include "daemon/app/recordings_check.hpp"

#include <boost/asio/post.hpp>

namespace deskline::daemon {

RecordingsCheck::RecordingsCheck(boost::asio::io_context& io, const Store& store, std::filesystem::path recordings_dir,
                                 Logger& log)
    : io_(io), store_(store), recordings_dir_(std::move(recordings_dir)), log_(log), recount_timer_(io) {}

void RecordingsCheck::start() {
  if (stopped_) return;
  if (scan_) {
    again_ = true;
    return;
  }
  scan_.emplace(store_, recordings_dir_);
  summary_.checking = true;
  started_ = std::chrono::steady_clock::now();
  slices_ = 0;
  longest_slice_ = {};
  boost::asio::post(io_, [this] { run_slice(); });
}

void RecordingsCheck::stop() {
  stopped_ = true;
  recount_timer_.cancel();
  scan_.reset();
  summary_.checking = false;
}

void RecordingsCheck::reattached() {
  if (stopped_) return;
  recount_timer_.expires_after(recount_after);
  recount_timer_.async_wait([this](boost::system::error_code error) {
    if (!error) start();
  });
}

void RecordingsCheck::run_slice() {
  if (stopped_ || !scan_) return;
  const auto begun = std::chrono::steady_clock::now();
  const auto deadline = begun + slice_budget;
  bool more = true;
  // The daemon keeps only the counts; the CLI lists what was found.
  while ((more = scan_->step(items_per_look, [](const RecordingScan::Finding&) {})) &&
         std::chrono::steady_clock::now() < deadline) {
  }
  ++slices_;
  longest_slice_ = std::max(longest_slice_, std::chrono::steady_clock::now() - begun);
  if (more)
    boost::asio::post(io_, [this] { run_slice(); });
  else
    finish();
}

void RecordingsCheck::finish() {
  const auto& counts = scan_->counts();
  summary_.checked = true;
  summary_.checking = false;
  summary_.counts = counts;
  summary_.problem = scan_->problem();
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  const auto took = duration_cast<milliseconds>(std::chrono::steady_clock::now() - started_).count();
  const auto longest = duration_cast<milliseconds>(longest_slice_).count();
  if (counts.orphans > 0 || counts.missing_files > 0)
    log_.warning("recordings check: {} of {} recording files have no row in the database (orphans) and {} of {} rows "
                 "name a missing file; `deskline recordings check` lists them, `--reattach` gives orphans their rows "
                 "back ({} ms in {} slices, longest {} ms)",
                 counts.orphans, counts.files, counts.missing_files, counts.rows, took, slices_, longest);
  else
    log_.info("recordings check: {} recording files and {} rows agree ({} ms in {} slices, longest {} ms)",
              counts.files, counts.rows, took, slices_, longest);
  if (!summary_.problem.empty()) log_.error("recordings check incomplete: {}", summary_.problem);
  scan_.reset();
  if (again_) {
    again_ = false;
    start();
  }
}

}  // namespace deskline::daemon
