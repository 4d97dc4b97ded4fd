#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <system_error>

#include <boost/asio/local/stream_protocol.hpp>

#include "daemon/api/listener.hpp"

namespace deskline::daemon {

// Binds and listens on a Unix stream socket at path (mode 0660, owned by group
// when given), creating its folder. A stale socket file left by a killed daemon
// is replaced; one that a live process answers on is refused with address_in_use.
std::error_code bind_unix_socket(boost::asio::local::stream_protocol::acceptor& acceptor,
                                 const std::filesystem::path& path, std::optional<gid_t> group = std::nullopt);

// The id of a group by name; nullopt when the system has no such group.
std::optional<gid_t> find_group(const std::string& name);

// A Listener on a socket file: bound with bind_unix_socket at start, the file
// removed at stop.
class UnixSocketListener {
 public:
  using Protocol = boost::asio::local::stream_protocol;

  UnixSocketListener(boost::asio::io_context& io, std::filesystem::path path, std::string name,
                     ListenerLimits limits, Logger& log)
      : path_(std::move(path)), listener_(io, std::move(name), limits, log) {}
  ~UnixSocketListener() { stop(); }

  std::error_code start(std::optional<gid_t> group, Listener<Protocol>::SessionFactory factory);
  // Closes the socket and every session; removes the socket file. Idempotent.
  void stop();
  const ListenerCounters& counters() const { return listener_.counters(); }

 private:
  std::filesystem::path path_;
  Listener<Protocol> listener_;
  bool bound_ = false;
};

}  // namespace deskline::daemon
