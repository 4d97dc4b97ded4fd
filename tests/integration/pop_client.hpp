// A minimal events-socket client for tests: JSON lines over a Unix socket.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/harness.hpp"

namespace deskline::testing {

class PopTestClient {
 public:
  // Connects, retrying while the daemon starts (up to timeout).
  ::testing::AssertionResult connect(const std::filesystem::path& socket_path,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(20),
                                     int receive_buffer = 0) {
    return wait_until(
        [&] {
          fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
          if (receive_buffer > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
          sockaddr_un address{};
          address.sun_family = AF_UNIX;
          std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
          if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) return true;
          ::close(fd_);
          fd_ = -1;
          return false;
        },
        timeout, "the daemon to accept a connection on " + socket_path.string());
  }

  ~PopTestClient() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  void send(const nlohmann::json& request) {
    const auto text = request.dump() + "\n";
    ::send(fd_, text.data(), text.size(), MSG_NOSIGNAL);
  }

  // Next JSON line after the hello (kept in hello), or nullopt at EOF/timeout.
  std::optional<nlohmann::json> next(std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (auto newline = buffer_.find('\n'); newline != std::string::npos) {
        auto line = nlohmann::json::parse(buffer_.substr(0, newline), nullptr, false);
        buffer_.erase(0, newline + 1);
        if (!line.contains("hello")) return line;
        hello = line["hello"];
        continue;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || fd_ < 0) return std::nullopt;
      pollfd poll_fd{fd_, POLLIN, 0};
      if (::poll(&poll_fd, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      char chunk[65536];
      const ssize_t count = ::recv(fd_, chunk, sizeof chunk, 0);
      if (count <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(count));
    }
  }

  // Reads until an event named `name` arrives (returns it) or the timeout.
  std::optional<nlohmann::json> until(const std::string& name, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (auto event = next(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()))) {
      seen.push_back(*event);
      if (event->value("event", "") == name) return event;
    }
    return std::nullopt;
  }

  std::vector<nlohmann::json> seen;
  nlohmann::json hello;  // the connection's hello, once read

 private:
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace deskline::testing
