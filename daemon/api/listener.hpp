// The one accept loop of the daemon's servers (control socket, events socket,
// HTTP): a budget of live sessions and a share of it per peer (source address
// for TCP, uid for Unix sockets), idle sessions closed first to make room,
// refusals logged rate-limited and counted exactly, a back-off instead of a
// spin when the process is out of file descriptors (EMFILE/ENFILE) or memory,
// and a stop() that closes every session it accepted, so nothing a session
// references outlives it. io_context thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>

#include "daemon/core/rate_limited_log.hpp"
#include "daemon/core/log.hpp"

namespace deskline::daemon {

// What a server can ask of each of its sessions.
class Session {
 public:
  virtual ~Session() = default;
  // Closes the transport now: pending operations complete with
  // operation_aborted and release the session.
  virtual void shutdown() = 0;
  // Whether closing it costs its client nothing it asked for: it waits for a
  // request and has shown no credentials. Idle sessions are the first to go
  // when a new connection needs room.
  virtual bool idle() const { return false; }
};

// The sessions a server has accepted and not yet released (weak references:
// a session lives as long as its pending operations), with their peers.
class SessionRegistry {
 public:
  void add(const std::shared_ptr<Session>& session, std::string peer);
  std::size_t live();
  std::size_t live_of(std::string_view peer);
  // Shuts down the oldest idle session of peer, or with no peer given, of the
  // peer that holds the most sessions; false when there is none to close.
  bool close_idle(std::optional<std::string_view> peer);
  // Shuts every live session down.
  void shutdown_all();

 private:
  struct Entry {
    std::weak_ptr<Session> session;
    std::string peer;
  };
  void forget_released();

  std::vector<Entry> sessions_;  // oldest first
};

// Who a connection comes from, as far as the kernel can tell: the source
// address of a TCP connection ("127.0.0.1"; its owner is not knowable), the
// uid of a Unix socket's client ("uid 1000", SO_PEERCRED).
std::string peer_of(boost::asio::ip::tcp::socket& socket);
std::string peer_of(boost::asio::local::stream_protocol::socket& socket);

struct ListenerLimits {
  std::size_t max_sessions = 64;
  std::size_t max_sessions_per_peer = 64;
  // How long to wait before accepting again when an accept failed for lack of resources.
  std::chrono::milliseconds resource_backoff{250};
};

// Exact counts since start, whatever the log left out.
struct ListenerCounters {
  std::uint64_t failed_accepts = 0;   // each followed by a back-off
  std::uint64_t refused = 0;          // connections closed unanswered: no room
  std::uint64_t closed_idle = 0;      // idle sessions closed to make room
};

template <typename Protocol>
class Listener {
 public:
  using Acceptor = typename Protocol::acceptor;
  using Socket = typename Protocol::socket;
  // Makes and starts a session for an accepted socket; nullptr refuses it.
  using SessionFactory = std::function<std::shared_ptr<Session>(Socket socket)>;

  Listener(boost::asio::io_context& io, std::string name, ListenerLimits limits, Logger& log)
      : name_(std::move(name)), limits_(limits), log_(io, log), acceptor_(io), backoff_(io) {}
  ~Listener() { stop(); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // The acceptor to bind before start().
  Acceptor& acceptor() { return acceptor_; }
  SessionRegistry& sessions() { return sessions_; }
  const ListenerCounters& counters() const { return counters_; }

  void start(SessionFactory factory) {
    factory_ = std::move(factory);
    do_accept();
  }

  // Closes the acceptor and every session. Idempotent.
  void stop() {
    boost::system::error_code ignored;
    if (acceptor_.is_open()) acceptor_.close(ignored);
    backoff_.cancel();
    sessions_.shutdown_all();
    log_.flush();
  }

 private:
  void do_accept() {
    acceptor_.async_accept([this](boost::system::error_code error, Socket socket) { on_accept(error, std::move(socket)); });
  }

  void on_accept(boost::system::error_code error, Socket socket) {
    if (error == boost::asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (error) {
      // EMFILE and friends leave the connection queued: accepting again at
      // once would fail again at once, forever, at full CPU.
      ++counters_.failed_accepts;
      log_.warning(name_ + ": accept failed", "{}: accept failed: {}", name_, error.message());
      backoff_.expires_after(limits_.resource_backoff);
      backoff_.async_wait([this](boost::system::error_code wait_error) {
        if (!wait_error && acceptor_.is_open()) do_accept();
      });
      return;
    }
    auto peer = peer_of(socket);
    if (make_room(peer)) {
      if (auto session = factory_(std::move(socket))) sessions_.add(session, std::move(peer));
    }
    do_accept();
  }

  // Closes an idle session if that is what it takes to stay within the
  // budget and the peer's share; false when the connection must be refused.
  bool make_room(const std::string& peer) {
    if (sessions_.live_of(peer) >= limits_.max_sessions_per_peer && !close_idle(peer)) {
      ++counters_.refused;
      log_.warning(name_ + ": refused a connection", "{}: refused a connection from {}: it has {} open", name_, peer,
                   limits_.max_sessions_per_peer);
      return false;
    }
    if (sessions_.live() >= limits_.max_sessions && !close_idle(std::nullopt)) {
      ++counters_.refused;
      log_.warning(name_ + ": refused a connection", "{}: refused a connection from {}: {} open", name_, peer,
                   limits_.max_sessions);
      return false;
    }
    return true;
  }

  bool close_idle(std::optional<std::string_view> peer) {
    if (!sessions_.close_idle(peer)) return false;
    ++counters_.closed_idle;
    log_.warning(name_ + ": closed an idle connection", "{}: closed an idle connection to make room", name_);
    return true;
  }

  std::string name_;
  ListenerLimits limits_;
  RateLimitedLog log_;
  Acceptor acceptor_;
  boost::asio::steady_timer backoff_;
  SessionRegistry sessions_;
  SessionFactory factory_;
  ListenerCounters counters_;
};

}  // namespace deskline::daemon
