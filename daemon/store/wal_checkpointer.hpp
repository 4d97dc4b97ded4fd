// Checkpoints the daemon's database on a thread of its own, so that no
// commit on the io thread does. With synchronous = NORMAL a WAL commit syncs
// nothing; a checkpoint syncs the WAL and the database file (10-25 ms on the
// test VM), and SQLite runs it inside whichever commit takes the WAL past
// 1000 pages: at 8 rings a second that was a commit on the io thread every
// 2 s, and the pop behind it was late by as much (BENCHMARKS.md).
//
// The daemon's connections keep SQLite's automatic checkpoint only as a
// backstop (backstop_pages), in case this thread falls far behind.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "daemon/core/log.hpp"
#include "daemon/store/sqlite_database.hpp"

namespace deskline::daemon {

class WalCheckpointer {
 public:
  // 40 MiB of WAL: far past what this thread leaves at its period.
  static constexpr int backstop_pages = 10'000;

  // Takes a connection of its own to the database (Store::start_checkpointer)
  // and starts a thread that runs a passive checkpoint every period.
  // Passive: it never waits for a writer, and never holds one up.
  static std::unique_ptr<WalCheckpointer> start(sqlite::Connection connection, std::chrono::milliseconds period,
                                                Logger& log);
  // Stops and joins the thread.
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Leaves connection's checkpoints to this thread (the backstop aside).
  static void hand_over(sqlite3* connection);
  // Checkpoints that found frames in the WAL and left every one of them in
  // the database file.
  std::uint64_t checkpoints() const { return checkpoints_.load(); }

 private:
  WalCheckpointer(sqlite::Connection connection, std::chrono::milliseconds period, Logger& log);
  void run();

  sqlite::Connection connection_;
  std::chrono::milliseconds period_;
  Logger& log_;
  std::atomic<std::uint64_t> checkpoints_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the rest is made
};

}  // namespace deskline::daemon
