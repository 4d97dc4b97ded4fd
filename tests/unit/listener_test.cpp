// The servers' one accept loop: the session limit, stop() closing every
// session, and a back-off instead of a busy loop when the process is out of
// file descriptors.
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

// A session that only waits for its client to talk, as an idle client does.
class IdleSession : public Session, public std::enable_shared_from_this<IdleSession> {
 public:
  explicit IdleSession(stream_protocol::socket socket) : socket_(std::move(socket)) {}
  void start() {
    socket_.async_read_some(asio::buffer(byte_), [self = shared_from_this()](boost::system::error_code, std::size_t) {});
  }
  void shutdown() override {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  stream_protocol::socket socket_;
  std::array<char, 1> byte_{};
};

class ListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("deskline-listener-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void start(ListenerLimits limits) {
    listener_.emplace(io_, "test", limits, log_);
    ASSERT_FALSE(bind_unix_socket(listener_->acceptor(), path()));
    listener_->start([this](stream_protocol::socket socket) {
      auto session = std::make_shared<IdleSession>(std::move(socket));
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
  ASSERT_TRUE(run_until([&] { return listener_->refused_sessions() == 1; }));
  EXPECT_EQ(accepted_, 2);
  EXPECT_EQ(listener_->sessions().live(), 2u);

  // The refused client was hung up on; one that leaves frees its slot.
  clients[0]->close();
  ASSERT_TRUE(run_until([&] { return listener_->sessions().live() == 1; }));
  clients.push_back(connect());
  ASSERT_TRUE(run_until([&] { return accepted_ == 3; }));
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
  ASSERT_TRUE(run_until([&] { return listener_->failed_accepts() >= 3; }));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  // A spinning loop fails thousands of times in this time; a backing-off one
  // at most once per back-off period (plus the first try).
  EXPECT_LE(listener_->failed_accepts(), 2 + static_cast<std::uint64_t>(elapsed / std::chrono::milliseconds(100)));
  EXPECT_EQ(accepted_, 1);

  for (int fd : filler) ::close(fd);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  // The waiting connection is accepted once descriptors are free again.
  EXPECT_TRUE(run_until([&] { return accepted_ == 2; }));
  listener_->stop();
}

}  // namespace
}  // namespace deskline::daemon
