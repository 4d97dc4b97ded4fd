#include "daemon/store/wal_checkpointer.hpp"

namespace deskline::daemon {

std::unique_ptr<WalCheckpointer> WalCheckpointer::start(sqlite::Connection connection,
                                                        std::chrono::milliseconds period, Logger& log) {
  hand_over(connection.database);
  return std::unique_ptr<WalCheckpointer>(new WalCheckpointer(std::move(connection), period, log));
}

WalCheckpointer::WalCheckpointer(sqlite::Connection connection, std::chrono::milliseconds period, Logger& log)
    : connection_(std::move(connection)), period_(period), log_(log), thread_([this] { run(); }) {}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void WalCheckpointer::hand_over(sqlite3* connection) { sqlite3_wal_autocheckpoint(connection, backstop_pages); }

void WalCheckpointer::run() {
  std::unique_lock lock(mutex_);
  bool failing = false;  // said once per stretch of failures
  while (!wake_.wait_for(lock, period_, [this] { return stopping_; })) {
    lock.unlock();
    int wal_frames = 0, copied = 0;
    const int result =
        sqlite3_wal_checkpoint_v2(connection_.database, "main", SQLITE_CHECKPOINT_PASSIVE, &wal_frames, &copied);
    if (result == SQLITE_OK && wal_frames > 0 && copied == wal_frames) checkpoints_.fetch_add(1);
    if (result != SQLITE_OK && result != SQLITE_BUSY && !failing)
      log_.error("database checkpoint failed: {}", sqlite3_errmsg(connection_.database));
    failing = result != SQLITE_OK && result != SQLITE_BUSY;
    lock.lock();
  }
}

}  // namespace deskline::daemon
