// The download sender (daemon/api/file_sender.*): a stored file's head and
// range over a real loopback TCP connection with sendfile(2), on its own
// thread, and each way a transfer ends (done, the file cut short, a client
// that takes nothing, a connection shut down by its session).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "daemon/api/file_sender.hpp"
#include "daemon/api/recording_reader.hpp"
#include "daemon/core/log.hpp"

namespace deskline::daemon {
namespace {

namespace fs = std::filesystem;

// Both ends of one loopback TCP connection: server (non-blocking, as a
// session's socket is) and client. With small buffers, both fixed (no
// autotuning, whatever the machine's tcp_wmem/tcp_rmem), a client that
// reads nothing fills them after a few hundred KiB.
struct Connection {
  int server = -1, client = -1;
  explicit Connection(bool small_buffers = false) {
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    EXPECT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(listener, 1), 0);
    EXPECT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
    client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int buffer_bytes = 64 * 1024;
    if (small_buffers) {  // before connect: the window is agreed then
      EXPECT_EQ(::setsockopt(client, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes), 0);
    }
    EXPECT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    server = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (small_buffers) {
      EXPECT_EQ(::setsockopt(server, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof buffer_bytes), 0);
    }
    ::close(listener);
  }
  ~Connection() {
    ::close(server);
    ::close(client);
  }
  // Reads until count bytes or the end of the stream.
  std::string read(std::size_t count) const {
    std::string data;
    char buffer[65536];
    while (data.size() < count) {
      const auto got = ::read(client, buffer, std::min(sizeof buffer, count - data.size()));
      if (got <= 0) break;
      data.append(buffer, static_cast<std::size_t>(got));
    }
    return data;
  }
};

class FileSenderTest : public testing::Test {
 protected:
  void SetUp() override {
    folder_ = fs::temp_directory_path() / fmt::format("deskline-file-sender-{}", ::getpid());
    fs::create_directories(folder_);
  }
  void TearDown() override {
    sender_.reset();
    loader_.join();
    fs::remove_all(folder_);
  }

  // A file of size bytes, each byte its offset's low bits.
  std::shared_ptr<RecordingReader> file(std::uint64_t size) {
    content_.resize(size);
    for (std::uint64_t i = 0; i < size; ++i) content_[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
    const auto path = folder_ / "recording.opus";
    std::ofstream(path, std::ios::binary).write(content_.data(), static_cast<std::streamsize>(size));
    std::error_code error;
    auto reader = RecordingReader::open(path, RecordingFormat::ogg, size, error);
    EXPECT_FALSE(error) << error.message();
    return std::shared_ptr<RecordingReader>(std::move(reader));
  }

  FileSender& sender(std::chrono::milliseconds stall = FileSender::default_stall_timeout) {
    sender_.emplace(loader_, log_, stall);
    return *sender_;
  }

  // Starts the job; outcome() runs this thread's loop until it is posted back.
  void send(FileSender::Job job) {
    sender_->send(std::move(job), io_, [this](FileSender::Outcome outcome) {
      outcome_ = outcome;
      io_.stop();
    });
  }
  // A whole file far beyond what a small-buffered connection holds, for a
  // client that reads none of it.
  void send_more_than_fits(const Connection& connection) {
    auto reader = file(4 * 1024 * 1024);
    send({.socket = connection.server,
          .reader = reader,
          .head = "H\r\n\r\n",
          .next = 0,
          .end = content_.size(),
          .loaded_end = 0});
  }
  FileSender::Outcome outcome() {
    const auto work = boost::asio::make_work_guard(io_);
    io_.run_for(std::chrono::seconds(30));  // a bound for a broken sender only: done stops it
    EXPECT_TRUE(outcome_.has_value()) << "the transfer never ended";
    return outcome_.value_or(FileSender::Outcome{});
  }

  fs::path folder_;
  std::string content_;
  Logger log_{LogLevel::error};
  boost::asio::thread_pool loader_{1};
  std::optional<FileSender> sender_;
  boost::asio::io_context io_;
  std::optional<FileSender::Outcome> outcome_;
};

TEST_F(FileSenderTest, SendsTheHeadThenTheRangeWhileTheFileIsLoadedAhead) {
  // Three loads ahead of the socket, and a client slower than the kernel's
  // buffers.
  constexpr std::uint64_t size = 3 * FileSender::load_ahead_bytes + 12345;
  Connection connection;
  auto reader = file(size);
  sender();
  const std::string head = "HTTP/1.1 206 Partial Content\r\nContent-Length: 3000000\r\n\r\n";
  send(
      {.socket = connection.server, .reader = reader, .head = head, .next = 100, .end = 3'000'100, .loaded_end = 4096});
  const auto received = connection.read(head.size() + 3'000'000);
  const auto ended = outcome();
  EXPECT_FALSE(ended.file_error) << ended.file_error.message();
  EXPECT_FALSE(ended.socket_error) << ended.socket_error.message();
  ASSERT_EQ(received.size(), head.size() + 3'000'000);
  EXPECT_EQ(received.substr(0, head.size()), head);
  EXPECT_TRUE(received.substr(head.size()) == content_.substr(100, 3'000'000)) << "the body differs from the range";
  // The connection is the session's again: still open, nothing more on it.
  EXPECT_EQ(::send(connection.server, "x", 1, MSG_NOSIGNAL), 1);
  EXPECT_EQ(connection.read(1), "x");
}

TEST_F(FileSenderTest, AFileShorterThanItsRowSaysEndsTheTransferAsChanged) {
  Connection connection;
  auto reader = file(50'000);
  sender();
  // The row said 80,000 bytes: the file was cut behind the daemon's back.
  send({.socket = connection.server,
        .reader = reader,
        .head = "HEAD\r\n\r\n",
        .next = 0,
        .end = 80'000,
        .loaded_end = 50'000});
  const auto ended = outcome();
  EXPECT_EQ(ended.file_error, RecordingReadError::changed);
  EXPECT_FALSE(ended.socket_error);
  EXPECT_EQ(connection.read(8 + 50'000).size(), 8u + 50'000);
}

TEST_F(FileSenderTest, AClientThatTakesNothingIsCutAfterTheStallTimeout) {
  Connection connection(/*small_buffers=*/true);
  sender(std::chrono::milliseconds(200));
  send_more_than_fits(connection);
  const auto ended = outcome();
  EXPECT_EQ(ended.socket_error, std::errc::timed_out);
  EXPECT_FALSE(ended.file_error);
}

TEST_F(FileSenderTest, AConnectionTheSessionShutsDownEndsTheTransferWithItsError) {
  Connection connection(/*small_buffers=*/true);
  sender();
  send_more_than_fits(connection);
  // As HttpSession::close does while a transfer waits for the socket.
  ::shutdown(connection.server, SHUT_RDWR);
  const auto ended = outcome();
  EXPECT_TRUE(ended.socket_error);
  EXPECT_FALSE(ended.file_error);
}

TEST_F(FileSenderTest, ABadDescriptorEndsTheTransferWithItsError) {
  auto reader = file(10);
  sender();
  send({.socket = -1, .reader = reader, .head = "H", .next = 0, .end = 10, .loaded_end = 10});
  EXPECT_EQ(outcome().socket_error, std::errc::bad_file_descriptor);
}

}  // namespace
}  // namespace deskline::daemon
