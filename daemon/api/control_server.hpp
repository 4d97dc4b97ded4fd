// The control socket: JSON lines over a Unix stream socket, one request per
// line, one response line each. Used by the deskline CLI. For admins only:
// the file's group is the daemon's, and each client's credentials are checked
// as well (SO_PEERCRED), so a socket file opened up by mistake still serves no
// one else. Sessions are bounded in number (in all and per uid), request size,
// idle time, and the time a client may leave an answer unread
// (proto/control.md).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <system_error>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <nlohmann/json.hpp>

#include "daemon/api/listener.hpp"
#include "daemon/core/log.hpp"
#include "daemon/core/rate_limited_log.hpp"
#include "daemon/api/unix_socket.hpp"
#include "proto/control.hpp"

namespace deskline::daemon {

// How long a session may take, each closing it when it runs out.
struct ControlTimeouts {
  std::chrono::milliseconds idle{std::chrono::seconds(60)};     // between requests
  std::chrono::milliseconds request{std::chrono::seconds(10)};  // the rest of a request once it has begun
  // One answer is written at a time and the next request read only after it:
  // a client that sends requests and never reads holds one answer (at most a
  // page of calls) for this long, then is cut.
  std::chrono::milliseconds write{std::chrono::seconds(10)};
};

class ControlServer {
 public:
  using Handler = std::function<nlohmann::json(const proto::control::Request& request)>;

  static constexpr std::size_t max_request_bytes = proto::control::max_request_bytes;
  static constexpr std::size_t max_sessions = 32;
  static constexpr std::size_t max_sessions_per_uid = 16;
  // The kernel send buffer of a session (the kernel doubles it). Unbounded,
  // a client that pipelines requests and never reads makes the daemon build
  // as many answers as megabytes of buffer hold before anything is cut.
  static constexpr int send_buffer_bytes = 32 * 1024;

  ControlServer(boost::asio::io_context& io, std::filesystem::path socket_path, Handler handler, Logger& log,
                AdminIdentity admins = AdminIdentity::of_this_process(), ControlTimeouts timeouts = {});
  ~ControlServer();

  // Binds (replacing a stale socket file, refusing a live one; mode 0660,
  // the daemon's group) and accepts.
  std::error_code start();
  // Closes the socket and every session; removes the socket file. Idempotent.
  void stop();
  const ListenerCounters& counters() const { return listener_.counters(); }
  // Connections refused because the client is not an admin.
  std::uint64_t forbidden() const { return forbidden_; }

 private:
  class Session;

  // Whether the client of socket may use the control socket; logs a refusal.
  bool admit(boost::asio::local::stream_protocol::socket& socket);

  boost::asio::io_context& io_;
  Handler handler_;
  AdminIdentity admins_;
  ControlTimeouts timeouts_;
  RateLimitedLog refusals_;
  std::uint64_t forbidden_ = 0;
  UnixSocketListener listener_;
};

}  // namespace deskline::daemon
