#include "daemon/store/store_writer.hpp"

#include <pthread.h>

#include <utility>

#include "daemon/core/thread_priority.hpp"
#include "daemon/store/store.hpp"

namespace deskline::daemon {

StoreWriter::StoreWriter(Store& store, Logger& log) : store_(store), log_(log), thread_([this] { run(); }) {}

StoreWriter::~StoreWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_.notify_one();
  thread_.join();
}

void StoreWriter::write(std::string failure, Write write) {
  submit([this, failure = std::move(failure), write = std::move(write)] {
    if (auto written = write(store_); !written) log_.error("{}: {}", failure, written.error().message());
  });
}

void StoreWriter::submit(Job job) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(job));
    ++submitted_;
  }
  work_.notify_one();
}

void StoreWriter::flush() {
  std::unique_lock lock(mutex_);
  const auto target = submitted_;
  progress_.wait(lock, [&] { return finished_ >= target; });
}

std::size_t StoreWriter::backlog() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(submitted_ - finished_);
}

void StoreWriter::run() {
  become_bulk_thread("desklined-store", log_);
  std::unique_lock lock(mutex_);
  for (;;) {
    work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything queued has run
    auto job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    job();
    job = nullptr;  // what it captured goes before anyone is told it ran
    lock.lock();
    ++finished_;
    progress_.notify_all();
  }
}

}  // namespace deskline::daemon
