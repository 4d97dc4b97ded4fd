// A client socket that sends exactly the bytes a test writes: idle clients,
// hostile clients, HTTP by hand.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>

namespace deskline::testing {

class RawConnection {
 public:
  RawConnection() = default;
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;
  RawConnection(RawConnection&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  ~RawConnection() { close(); }

  // From source_address (any loopback address: 127.0.0.2 is another peer to the daemon).
  // receive_buffer > 0 shrinks the socket's receive buffer, for a client that stalls.
  bool connect_tcp(unsigned short port, const char* source_address = "127.0.0.1", int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (receive_buffer > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    sockaddr_in source{};
    source.sin_family = AF_INET;
    ::inet_pton(AF_INET, source_address, &source.sin_addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&source), sizeof source) != 0) return false;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }

  bool connect_unix(const std::filesystem::path& path, int send_buffer = 0) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (send_buffer > 0) ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &send_buffer, sizeof send_buffer);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    return ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  void send(const std::string& data) const { ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL); }

  // Sends data over and over without blocking until the socket takes no more:
  // a client that pipelines requests and never reads. Returns the bytes sent.
  std::size_t send_until_full(const std::string& data) const {
    std::size_t sent = 0;
    while (true) {
      const ssize_t count = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (count <= 0) return sent;
      sent += static_cast<std::size_t>(count);
    }
  }

  // Reads until complete(data) holds, the peer closes, or timeout passes.
  std::string read_until(const std::function<bool(const std::string&)>& complete,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string data = std::move(pending_);
    pending_.clear();
    char buffer[65536];
    while (!complete(data)) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd poll_fd{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&poll_fd, 1, static_cast<int>(left.count())) <= 0) break;
      const ssize_t count = ::recv(fd_, buffer, sizeof buffer, 0);
      if (count <= 0) {
        closed_ = true;
        break;
      }
      data.append(buffer, static_cast<std::size_t>(count));
    }
    return data;
  }

  // Sends request and reads until `complete` says the answer is whole.
  std::string exchange(const std::string& request, const std::function<bool(const std::string&)>& complete) {
    send(request);
    return read_until(complete);
  }

  // Reads and counts everything until the peer closes (or resets) the
  // connection; nullopt if it is still open after timeout.
  std::optional<std::size_t> drain_until_closed(std::chrono::milliseconds timeout) {
    const auto data = read_until([](const std::string&) { return false; }, timeout);
    if (!closed_) return std::nullopt;
    return data.size();
  }

  // Whether the peer has closed, seen without reading (reading would let a
  // server go on answering a client that is meant to never read).
  bool peer_closed() const {
    pollfd entry{fd_, POLLRDHUP, 0};
    return ::poll(&entry, 1, 0) == 1 && (entry.revents & (POLLHUP | POLLRDHUP)) != 0;
  }

  // Keeps bytes read past one answer for the next read_until (a keep-alive client).
  void keep_for_next(std::string bytes) { pending_ = std::move(bytes); }

  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  bool closed_ = false;
  std::string pending_;
};

}  // namespace deskline::testing
