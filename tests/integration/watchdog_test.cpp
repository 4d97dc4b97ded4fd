// The systemd watchdog, driven as systemd drives it: NOTIFY_SOCKET names a
// datagram socket (the test's) and WATCHDOG_USEC the timeout. desklined says
// READY=1, then pings WATCHDOG=1 from its io thread. While another process
// holds the database's write lock, the calls' writes wait on the store
// writer thread and the pings go on; while the io thread itself is stuck
// (`deskline sync retry`, whose outbox write is its own, waits on that lock)
// the pings stop; once it moves again they come back.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "tests/integration/database_lock.hpp"
#include "tests/integration/harness.hpp"

namespace deskline::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Every datagram sent to a socket at path, with when it came, read by a thread
// of its own.
class NotifySocket {
 public:
  struct Message {
    Clock::time_point at;
    std::string text;
  };

  explicit NotifySocket(const fs::path& path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    reader_ = std::thread([this] { read(); });
  }
  ~NotifySocket() {
    done_ = true;
    reader_.join();
    ::close(fd_);
  }

  bool bound() const { return bound_; }
  std::vector<Message> messages() const {
    std::lock_guard lock(mutex_);
    return messages_;
  }
  // The times of the messages with this text.
  std::vector<Clock::time_point> times_of(const std::string& text) const {
    std::vector<Clock::time_point> times;
    for (const auto& message : messages())
      if (message.text == text) times.push_back(message.at);
    return times;
  }

 private:
  void read() {
    char buffer[4096];
    while (!done_) {
      pollfd ready{fd_, POLLIN, 0};
      if (::poll(&ready, 1, 50) <= 0) continue;
      const auto count = ::recv(fd_, buffer, sizeof buffer, 0);
      if (count <= 0) continue;
      std::string text(buffer, static_cast<std::size_t>(count));
      while (!text.empty() && text.back() == '\n') text.pop_back();
      std::lock_guard lock(mutex_);
      messages_.push_back({Clock::now(), std::move(text)});
    }
  }

  int fd_ = -1;
  bool bound_ = false;
  std::atomic<bool> done_{false};
  mutable std::mutex mutex_;
  std::vector<Message> messages_;
  std::thread reader_;
};

// An outbound call, then a DTMF digit every 0.25 s: each is a call event the
// io thread stores.
std::string digits_every_quarter_second() {
  std::string scenario = R"(box A serial=X800-DOG lines=1
at 0.5 A:1 offhook
at 1.0 A:1 dial digits=13800000000
at 3.0 A:1 polarity
)";
  for (int quarter = 16; quarter < 4 * 600; ++quarter)
    scenario += fmt::format("at {:.2f} A:1 dial digits=5\n", quarter / 4.0);
  return scenario;
}

TEST(Watchdog, PingsFromTheIoThreadStopWhileItIsStuckAndComeBack) {
  Workspace workspace("watchdog");
  NotifySocket notify(workspace.dir() / "notify.sock");
  ASSERT_TRUE(notify.bound());
  // What systemd sets for a unit with WatchdogSec=200ms (pings every 100 ms);
  // desklined under the simulator inherits it, as under systemd.
  ::setenv("NOTIFY_SOCKET", (workspace.dir() / "notify.sock").c_str(), 1);
  ::setenv("WATCHDOG_USEC", "200000", 1);
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(digits_every_quarter_second()));
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  ASSERT_GT(simulator, 0);

  ASSERT_TRUE(wait_until([&] { return workspace.log().find("digit 5 during call") != std::string::npos; },
                         std::chrono::seconds(30), "the digits to be stored"))
      << workspace.log();
  ASSERT_TRUE(wait_until([&] { return notify.times_of("WATCHDOG=1").size() >= 3; }, std::chrono::seconds(30),
                         "three watchdog pings"));
  const auto messages = notify.messages();
  ASSERT_FALSE(messages.empty());
  EXPECT_EQ(messages.front().text, "READY=1") << "READY=1 comes before any ping";

  const auto database = workspace.dir() / "data" / "deskline.db";
  const auto pings_between = [&](Clock::time_point from, Clock::time_point to) {
    const auto pings = notify.times_of("WATCHDOG=1");
    return std::count_if(pings.begin(), pings.end(), [&](auto at) { return at > from && at < to; });
  };
  // The faults themselves, not waits for something: the lock is held for
  // 1.5 s, then 2 s, within the daemon's 5 s busy timeout.
  // First the digits' writes wait on it, on the writer: the io thread pings on.
  DatabaseWriteLock first(database);
  ASSERT_TRUE(first.held());
  const auto first_lock = Clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const auto first_release = Clock::now();
  EXPECT_TRUE(first.release());
  EXPECT_GE(pings_between(first_lock, first_release), 3) << "the io thread waited for the store's writes";

  // Then the io thread's own write waits on it.
  DatabaseWriteLock second(database);
  ASSERT_TRUE(second.held());
  const auto locked = Clock::now();
  tools::SpawnOptions quiet;
  quiet.stdout_path = workspace.dir() / "retry.out";
  quiet.stderr_path = workspace.dir() / "retry.err";
  const pid_t retry = tools::spawn(
      {bin("deskline").string(), "--config", workspace.config_path().string(), "sync", "retry", "--parked"}, quiet);
  ASSERT_GT(retry, 0);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const auto released = Clock::now();
  EXPECT_TRUE(second.release());
  EXPECT_EQ(tools::wait_for(retry, std::chrono::seconds(30)).value_or(-1), 0);

  const auto pings_after = [&] {
    const auto pings = notify.times_of("WATCHDOG=1");
    return std::count_if(pings.begin(), pings.end(), [&](auto at) { return at > released; });
  };
  EXPECT_TRUE(wait_until([&] { return pings_after() >= 3; }, std::chrono::seconds(30), "pings after the lock"))
      << workspace.log();
  workspace.stop_simulator(simulator);

  // The longest silence that overlaps the second lock: the io thread was
  // stuck for most of its 2 s (pings are 100 ms apart otherwise).
  const auto pings = notify.times_of("WATCHDOG=1");
  Clock::duration longest{};
  for (std::size_t i = 1; i < pings.size(); ++i)
    if (pings[i] > locked && pings[i - 1] < released) longest = std::max(longest, pings[i] - pings[i - 1]);
  EXPECT_GE(longest, std::chrono::milliseconds(1000))
      << "longest gap between pings while the lock was held: "
      << std::chrono::duration_cast<std::chrono::milliseconds>(longest).count() << " ms";
  EXPECT_NE(workspace.log().find("systemd watchdog: a ping every 100 ms"), std::string::npos) << workspace.log();
}

}  // namespace
}  // namespace deskline::testing
