// Runs the daemon's database writes on a thread of their own, one at a time
// in the order they were submitted, so that the io thread never waits for
// the disk: a commit is a write(2) into the page cache, but it waits as long
// as the disk does whenever SQLite syncs the WAL's header (the first write
// after a checkpoint) or a page of the WAL is still being written back, and
// under a draining CRM that reached 280 ms (BENCHMARKS.md). A pop or a ring
// behind such a commit on the io thread was late by as much.
//
// The writer's Store is its own connection, touched only by jobs (SQLite
// statements are not shared between threads); the io thread reads through
// other connections. A read that depends on the io thread's own writes waits
// for them (flush), or is done inside the job that writes.
//
// A bulk thread (daemon/core/thread_priority.hpp): nothing on a pop's path
// waits for it, and during a CRM drain its commits of the outbox's
// transitions at the daemon's own priority took the CPU from the io thread
// often enough to double the pops' p99 (BENCHMARKS.md "The CRM sync on a
// thread of its own").
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "daemon/core/log.hpp"
#include "daemon/core/result.hpp"

namespace deskline::daemon {

class Store;

class StoreWriter {
 public:
  using Job = std::function<void()>;
  using Write = std::function<Result<void>(Store&)>;

  // Writes through store from its thread from now on.
  StoreWriter(Store& store, Logger& log);
  // Runs every job still queued, then joins the thread.
  ~StoreWriter();
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  // Queues write after every job submitted before; a failure is logged as
  // "<failure>: <the error>". Nobody waits for it.
  void write(std::string failure, Write write);
  // Queues any other job (one that writes through a connection it owns and
  // reports its own failures).
  void submit(Job job);
  // Waits until every job submitted before this call has run. For the rare
  // read that must see the io thread's own writes, and for shutdown.
  void flush();
  // Jobs submitted and not yet finished.
  std::size_t backlog() const;

 private:
  void run();

  Store& store_;
  Logger& log_;
  mutable std::mutex mutex_;
  std::condition_variable work_;
  std::condition_variable progress_;
  std::deque<Job> queue_;
  std::uint64_t submitted_ = 0;
  std::uint64_t finished_ = 0;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the rest is made
};

}  // namespace deskline::daemon
