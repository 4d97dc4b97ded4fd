// The control socket: JSON lines over a Unix stream socket, one request per
// line, one response line each. Used by the deskline CLI. For admins only:
// the file's group is the daemon's, and each client's credentials are checked
// as well (SO_PEERCRED), so a socket file opened up by mistake still serves no
// one else. Sessions are bounded in number (in all and per uid), request size,
// idle time, and the time a client may leave an answer unread
// (proto/control.md).
#pragma once

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

class ControlServer {
 public:
  using Handler = std::function<nlohmann::json(const proto::control::Request& request)>;

  static constexpr std::size_t max_request_bytes = proto::control::max_request_bytes;
  static constexpr std::size_t max_sessions = 32;
  static constexpr std::size_t max_sessions_per_uid = 16;
  static constexpr std::chrono::seconds idle_timeout{60};
  // One answer is written at a time and the next request read only after it:
  // a client that sends requests and never reads holds one answer (at most a
  // page of calls) for this long, then is cut.
  static constexpr std::chrono::seconds write_timeout{10};

  ControlServer(boost::asio::io_context& io, std::filesystem::path socket_path, Handler handler, Logger& log,
                AdminIdentity admins = AdminIdentity::of_this_process());
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
  RateLimitedLog refusals_;
  std::uint64_t forbidden_ = 0;
  UnixSocketListener listener_;
};

}  // namespace deskline::daemon
