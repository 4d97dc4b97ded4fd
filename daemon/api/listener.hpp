// The one accept loop of the daemon's servers (control socket, events socket,
// HTTP): a bounded registry of live sessions, refusals logged at most once per
// interval, a back-off instead of a spin when the process is out of file
// descriptors (EMFILE/ENFILE) or memory, and a stop() that closes every
// session it accepted, so nothing a session references outlives it.
// io_context thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "daemon/core/log.hpp"

namespace deskline::daemon {

// What a server can ask of each of its sessions.
class Session {
 public:
  virtual ~Session() = default;
  // Closes the transport now: pending operations complete with
  // operation_aborted and release the session.
  virtual void shutdown() = 0;
};

// The sessions a server has accepted and not yet released (weak references:
// a session lives as long as its pending operations).
class SessionRegistry {
 public:
  void add(const std::shared_ptr<Session>& session);
  std::size_t live();
  // Shuts every live session down.
  void shutdown_all();

 private:
  std::vector<std::weak_ptr<Session>> sessions_;
};

// When an accept fails for lack of resources, or a session is refused for
// the limit: how long to wait before accepting again, and how often to say so.
struct ListenerLimits {
  std::size_t max_sessions = 64;
  std::chrono::milliseconds resource_backoff{250};
  std::chrono::seconds log_interval{10};
};

template <typename Protocol>
class Listener {
 public:
  using Acceptor = typename Protocol::acceptor;
  using Socket = typename Protocol::socket;
  // Makes and starts a session for an accepted socket; nullptr refuses it.
  using SessionFactory = std::function<std::shared_ptr<Session>(Socket socket)>;

  Listener(boost::asio::io_context& io, std::string name, ListenerLimits limits, Logger& log)
      : name_(std::move(name)), limits_(limits), log_(log), acceptor_(io), backoff_(io) {}
  ~Listener() { stop(); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // The acceptor to bind before start().
  Acceptor& acceptor() { return acceptor_; }
  SessionRegistry& sessions() { return sessions_; }
  // Accepts that failed (each followed by a back-off), and connections refused for the limit.
  std::uint64_t failed_accepts() const { return failed_accepts_; }
  std::uint64_t refused_sessions() const { return refused_sessions_; }

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
      ++failed_accepts_;
      note_refusal(fmt::format("accept failed: {}", error.message()));
      backoff_.expires_after(limits_.resource_backoff);
      backoff_.async_wait([this](boost::system::error_code wait_error) {
        if (!wait_error && acceptor_.is_open()) do_accept();
      });
      return;
    }
    if (sessions_.live() >= limits_.max_sessions) {
      ++refused_sessions_;
      note_refusal(fmt::format("refusing a connection: {} sessions open", limits_.max_sessions));
    } else if (auto session = factory_(std::move(socket))) {
      sessions_.add(session);
    }
    do_accept();
  }

  void note_refusal(const std::string& what) {
    const auto now = std::chrono::steady_clock::now();
    if (last_logged_ && now - *last_logged_ < limits_.log_interval) {
      ++unlogged_;
      return;
    }
    if (unlogged_ > 0)
      log_.warning("{}: {} ({} more since the last report)", name_, what, unlogged_);
    else
      log_.warning("{}: {}", name_, what);
    unlogged_ = 0;
    last_logged_ = now;
  }

  std::string name_;
  ListenerLimits limits_;
  Logger& log_;
  Acceptor acceptor_;
  boost::asio::steady_timer backoff_;
  SessionRegistry sessions_;
  SessionFactory factory_;
  std::optional<std::chrono::steady_clock::time_point> last_logged_;
  std::uint64_t unlogged_ = 0;
  std::uint64_t failed_accepts_ = 0;
  std::uint64_t refused_sessions_ = 0;
};

}  // namespace deskline::daemon
