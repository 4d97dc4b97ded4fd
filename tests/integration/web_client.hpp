// The daemon's HTTP side as raw clients see it: hand-built requests (a
// hostile client builds its own bytes) and just enough of a WebSocket client
// for the pop events.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <regex>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "tests/integration/harness.hpp"

namespace deskline::testing {

// Waits for the running daemon's status and returns its pop page address.
// Two lines of box `serial` at two desks: "Front" (Sales 1, Li Na; may
// listen) and "Back" (Sales 2, Wang Wei), with these page tokens.
inline constexpr const char* front_desk_token = "front-desk-token-0001";
inline constexpr const char* back_desk_token = "back-desk-token-00001";
inline std::string two_desks_config(const std::string& serial) {
  return "[[line]]\nbox = \"" + serial + "\"\nport = 1\nname = \"Sales 1\"\nuser = \"Li Na\"\n\n"
         "[[line]]\nbox = \"" + serial + "\"\nport = 2\nname = \"Sales 2\"\nuser = \"Wang Wei\"\n\n"
         "[[desk]]\nname = \"Front\"\ntoken = \"" + front_desk_token + "\"\nlines = [\"Sales 1\"]\nmay_listen = true\n\n"
         "[[desk]]\nname = \"Back\"\ntoken = \"" + back_desk_token + "\"\nlines = [\"Sales 2\"]\n";
}

inline std::string web_page(const Workspace& workspace) {
  std::string page;
  EXPECT_TRUE(wait_until(
      [&] {
        auto status = workspace.cli_json({"status", "--json"});
        if (status.is_object() && status.contains("web_page")) page = status["web_page"];
        return !page.empty();
      },
      std::chrono::seconds(30), "the daemon to answer `deskline status`"));
  return page;
}

inline std::pair<unsigned short, std::string> port_and_token(const std::string& url) {
  std::smatch parts;
  if (!std::regex_search(url, parts, std::regex(R"(:(\d+)/\?token=([0-9a-f]+))"))) return {0, ""};
  return {static_cast<unsigned short>(std::stoi(parts[1])), parts[2]};
}

struct HttpAnswer {
  int status = -1;
  std::string body;
};

// A TCP connection to the daemon's port whose reads give up after 5 s; -1 when refused.
inline int connect_local(unsigned short port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) return fd;
  ::close(fd);
  return -1;
}

// One raw request (a hostile client builds its own bytes); reads until the
// server closes or a complete Content-Length body has arrived.
inline HttpAnswer http_exchange(unsigned short port, const std::string& request) {
  HttpAnswer answer;
  const int fd = connect_local(port);
  if (fd < 0) return answer;
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string data;
  char buffer[4096];
  ssize_t count;
  while (!http_response_complete(data) && (count = ::recv(fd, buffer, sizeof buffer, 0)) > 0)
    data.append(buffer, static_cast<std::size_t>(count));
  ::close(fd);
  if (data.size() > 12) std::sscanf(data.c_str(), "HTTP/1.1 %d", &answer.status);
  if (const auto head_end = data.find("\r\n\r\n"); head_end != std::string::npos) answer.body = data.substr(head_end + 4);
  return answer;
}

inline int get_status(unsigned short port, const std::string& target, const std::string& method = "GET") {
  return http_exchange(port, method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").status;
}

// A WebSocket upgrade, by hand.
inline std::string upgrade_request(const std::string& target, const std::string& origin) {
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\n";
  if (!origin.empty()) request += "Origin: " + origin + "\r\n";
  return request + "\r\n";
}

// Sends a WebSocket upgrade; returns the HTTP status code.
inline int upgrade_status(unsigned short port, const std::string& target, const std::string& origin) {
  return http_exchange(port, upgrade_request(target, origin)).status;
}

// Just enough of a WebSocket client (RFC 6455) for the events: short masked
// text messages out, unfragmented text messages in.
class WebSocketEvents {
 public:
  WebSocketEvents(unsigned short port, const std::string& token) : fd_(connect_local(port)) {
    const auto request = upgrade_request("/v1/events?token=" + token, "");
    if (fd_ >= 0) ::send(fd_, request.data(), request.size(), MSG_NOSIGNAL);
    std::size_t head_end;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos)
      if (!fill(buffer_.size() + 1)) return;
    upgraded_ = buffer_.find(" 101 ") < head_end;
    buffer_.erase(0, head_end + 4);
  }
  ~WebSocketEvents() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool upgraded() const { return upgraded_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  void send(const nlohmann::json& request) {
    const auto text = request.dump();
    const char mask[4] = {0x12, 0x34, 0x56, 0x78};
    std::string frame = {'\x81', static_cast<char>(0x80 | text.size()), mask[0], mask[1], mask[2], mask[3]};
    for (std::size_t i = 0; i < text.size(); ++i) frame += static_cast<char>(text[i] ^ mask[i % 4]);
    ::send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL);
  }

  // The next message as JSON; nullopt when the connection closed or 5 s passed.
  std::optional<nlohmann::json> next() {
    if (!fill(2)) return std::nullopt;
    const auto opcode = static_cast<unsigned char>(buffer_[0]) & 0x0F;
    std::size_t length = static_cast<unsigned char>(buffer_[1]) & 0x7F;
    std::size_t header = 2;
    if (length >= 126) {
      header += length == 126 ? 2 : 8;
      if (!fill(header)) return std::nullopt;
      length = 0;
      for (std::size_t i = 2; i < header; ++i) length = length << 8 | static_cast<unsigned char>(buffer_[i]);
    }
    if (opcode != 1 || !fill(header + length)) return std::nullopt;
    auto message = nlohmann::json::parse(buffer_.substr(header, length), nullptr, false);
    buffer_.erase(0, header + length);
    return message;
  }

 private:
  bool fill(std::size_t size) {
    char chunk[4096];
    while (buffer_.size() < size) {
      const ssize_t count = fd_ < 0 ? -1 : ::recv(fd_, chunk, sizeof chunk, 0);
      if (count <= 0) return false;
      buffer_.append(chunk, static_cast<std::size_t>(count));
    }
    return true;
  }

  int fd_;
  std::string buffer_;
  bool upgraded_ = false;
};

}  // namespace deskline::testing
