// Bulk threads (daemon/core/thread_priority.*): named, and at a lower CPU
// priority than the thread that started them, which keeps its own.
#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <thread>

#include "daemon/core/thread_priority.hpp"

namespace deskline::daemon {
namespace {

TEST(ThreadPriority, ABulkThreadIsNamedAndNicerThanTheRestOfTheDaemon) {
  Logger log(LogLevel::error);
  const int before = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  if (before > bulk_thread_nice) GTEST_SKIP() << "the tests already run at nice " << before;
  int bulk_nice = 0;
  std::string bulk_name;
  std::thread bulk([&] {
    become_bulk_thread("desklined-test", log);
    bulk_nice = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
    std::ifstream(fmt::format("/proc/self/task/{}/comm", gettid())) >> bulk_name;
  });
  bulk.join();
  EXPECT_EQ(bulk_name, "desklined-test");
  EXPECT_EQ(bulk_nice, bulk_thread_nice);
  EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())), before) << "only the bulk thread changed";
}

// A daemon started nicer still (systemd's Nice=15) keeps its bulk threads at
// its own nice value: a bulk thread never gets ahead of the rest.
TEST(ThreadPriority, ADaemonNicerThanBulkKeepsItsNiceValue) {
  Logger log(LogLevel::error);
  constexpr int daemon_nice = bulk_thread_nice + 5;
  int daemon_thread_nice = 0, bulk_nice = 0;
  std::thread daemon_thread([&] {
    ASSERT_EQ(setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), daemon_nice), 0);
    daemon_thread_nice = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
    std::thread bulk([&] {  // inherits the daemon thread's nice value
      become_bulk_thread("desklined-test", log);
      bulk_nice = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
    });
    bulk.join();
  });
  daemon_thread.join();
  ASSERT_EQ(daemon_thread_nice, daemon_nice);
  EXPECT_EQ(bulk_nice, daemon_nice);
}

}  // namespace
}  // namespace deskline::daemon
