// The servers' one accept loop: the session budget and each peer's share of
// it, idle sessions closed to make room, stop() closing every session, and a
// back-off instead of a busy loop when the process is out of file descriptors.
#include "daemon/api/listener.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <filesystem>
#include <vector>

#include "daemon/api/unix_socket.hpp"

namespace deskline::daemon {
namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using stream_protocol = asio::local::stream_protocol;

// A session that only waits for its client to talk; idle() as the test says.
class IdleSession : public Session, public std::enable_shared_from_this<IdleSession> {
 public:
  IdleSession(stream_protocol::socket socket, bool idle) : socket_(std::move(socket)), idle_(idle) {}
  void start() {
    socket_.async_read_some(asio::buffer(byte_), [self = shared_from_this()](boost::system::error_code, std::size_t) {});
  }
  void shutdown() override {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }
  bool idle() const override { return idle_; }

 private:
  stream_protocol::socket socket_;
  bool idle_;
  std::array<char, 1> byte_{};
};

// A session without a transport, for the registry alone.
class FakeSession : public Session {
 public:
  explicit FakeSession(bool idle) : idle_(idle) {}
  void shutdown() override { shut_down = true; }
  bool idle() const override { return idle_; }
  bool shut_down = false;

 private:
  bool idle_;
};

class ListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("deskline-listener-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void start(ListenerLimits limits, bool idle_sessions = false) {
    listener_.emplace(io_, "test", limits, log_);
    ASSERT_FALSE(bind_unix_socket(listener_->acceptor(), path()));
    listener_->start([this, idle_sessions](stream_protocol::socket socket) {
      auto session = std::make_shared<IdleSession>(std::move(socket), idle_sessions);
      session->start();
      ++accepted_;
      return session;
    });
  }

  std::unique_ptr<stream_protocol::socket> connect() {
    auto client = std::make_unique<stream_protocol::socket>(io_);
    client->connect(stream_protocol::endpoint(path().string()));
    return client;
  }

  // Runs the io_context until ready() holds (or 10 s pass: a failure).
  template <typename Ready>
  bool run_until(Ready ready) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!ready() && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_for(std::chrono::milliseconds(10));
    }
    return ready();
  }

  fs::path path() const { return dir_ / "test.sock"; }

  fs::path dir_;
  Logger log_{LogLevel::error};
  asio::io_context io_;
  std::optional<Listener<stream_protocol>> listener_;
  int accepted_ = 0;
};

TEST_F(ListenerTest, RefusesPastTheLimitAndAcceptsAgainWhenASessionEnds) {
  start({.max_sessions = 2});
  std::vector<std::unique_ptr<stream_protocol::socket>> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(connect());
  ASSERT_TRUE(run_until([&] { return listener_->counters().refused == 1; }));
  EXPECT_EQ(accepted_, 2);
  EXPECT_EQ(listener_->sessions().live(), 2u);

  // The refused client was hung up on; one that leaves frees its slot.
  clients[0]->close();
  ASSERT_TRUE(run_until([&] { return listener_->sessions().live() == 1; }));
  clients.push_back(connect());
  ASSERT_TRUE(run_until([&] { return accepted_ == 3; }));
}

TEST_F(ListenerTest, APeerGetsItsShareOnly) {
  start({.max_sessions = 10, .max_sessions_per_peer = 2});
  std::vector<std::unique_ptr<stream_protocol::socket>> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(connect());
  ASSERT_TRUE(run_until([&] { return listener_->counters().refused == 1; }));
  EXPECT_EQ(accepted_, 2);
  EXPECT_EQ(listener_->sessions().live_of("uid " + std::to_string(::getuid())), 2u);
}

TEST_F(ListenerTest, IdleSessionsMakeRoomOldestFirst) {
  start({.max_sessions = 2}, /*idle_sessions=*/true);
  auto oldest = connect();
  ASSERT_TRUE(run_until([&] { return accepted_ == 1; }));
  auto second = connect();
  auto newest = connect();
  ASSERT_TRUE(run_until([&] { return accepted_ == 3; }));
  EXPECT_EQ(listener_->counters().closed_idle, 1u);
  EXPECT_EQ(listener_->counters().refused, 0u);
  EXPECT_EQ(listener_->sessions().live(), 2u);
  char byte;
  EXPECT_EQ(::read(oldest->native_handle(), &byte, 1), 0);  // the one closed to make room
}

TEST(SessionRegistry, ThePeerHoldingMostGivesUpAnIdleSessionFirst) {
  SessionRegistry registry;
  std::vector<std::shared_ptr<FakeSession>> sessions;
  auto add = [&](const std::string& peer, bool idle) {
    sessions.push_back(std::make_shared<FakeSession>(idle));
    registry.add(sessions.back(), peer);
  };
  add("127.0.0.2", true);   // 0: idle, but its peer holds one session
  add("127.0.0.1", false);  // 1: busy
  add("127.0.0.1", true);   // 2: the oldest idle one of the busiest peer
  add("127.0.0.1", true);   // 3
  ASSERT_TRUE(registry.close_idle(std::nullopt));
  EXPECT_TRUE(sessions[2]->shut_down);
  EXPECT_EQ(registry.live(), 3u);  // out of the count at once
  ASSERT_TRUE(registry.close_idle(std::string_view("127.0.0.2")));
  EXPECT_TRUE(sessions[0]->shut_down);
  ASSERT_TRUE(registry.close_idle(std::nullopt));
  EXPECT_TRUE(sessions[3]->shut_down);
  EXPECT_FALSE(registry.close_idle(std::nullopt));  // only a busy one is left
  EXPECT_FALSE(sessions[1]->shut_down);
}

TEST_F(ListenerTest, StopClosesEverySessionAndReleasesIt) {
  start({});
  auto first = connect();
  auto second = connect();
  ASSERT_TRUE(run_until([&] { return listener_->sessions().live() == 2; }));
  listener_->stop();
  // The sessions' reads complete as aborted and release them: nothing is left
  // for the io_context, which therefore runs out of work.
  io_.restart();
  io_.run_for(std::chrono::seconds(10));
  EXPECT_TRUE(io_.stopped());
  EXPECT_EQ(listener_->sessions().live(), 0u);
  char byte;
  EXPECT_EQ(::read(first->native_handle(), &byte, 1), 0);  // the daemon side hung up
}

TEST_F(ListenerTest, BacksOffInsteadOfSpinningWhenOutOfFileDescriptors) {
  start({.resource_backoff = std::chrono::milliseconds(100)});
  // Run the accept and back-off paths once first: UBSan checks a dynamic type
  // the first time through a pipe, which a process out of descriptors cannot
  // make (a false "invalid vptr"); checked types are cached.
  auto first = connect();
  ASSERT_TRUE(run_until([&] { return accepted_ == 1; }));
  asio::steady_timer warm(io_);
  bool warmed = false;
  warm.expires_after(std::chrono::milliseconds(1));
  warm.async_wait([&](boost::system::error_code) { warmed = true; });
  ASSERT_TRUE(run_until([&] { return warmed; }));
  auto client = connect();
  // Use up every descriptor the process may open, so the accept fails with EMFILE.
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  std::vector<int> filler;
  rlimit low = saved;
  low.rlim_cur = 256;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  for (int fd; (fd = ::dup(0)) >= 0;) filler.push_back(fd);
  ASSERT_EQ(errno, EMFILE);

  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until([&] { return listener_->counters().failed_accepts >= 3; }));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  // A spinning loop fails thousands of times in this time; a backing-off one
  // at most once per back-off period (plus the first try).
  EXPECT_LE(listener_->counters().failed_accepts, 2 + static_cast<std::uint64_t>(elapsed / std::chrono::milliseconds(100)));
  EXPECT_EQ(accepted_, 1);

  for (int fd : filler) ::close(fd);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  // The waiting connection is accepted once descriptors are free again.
  EXPECT_TRUE(run_until([&] { return accepted_ == 2; }));
  listener_->stop();
}

}  // namespace
}  // namespace deskline::daemon
