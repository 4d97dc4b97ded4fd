#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

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

// Who is at the other end of a Unix socket, as the kernel recorded it when
// they connected (SO_PEERCRED, SO_PEERGROUPS): not what they claim.
struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups
};
std::optional<PeerCredentials> peer_credentials(boost::asio::local::stream_protocol::socket& socket);

// Whom the daemon serves as an admin: root, its own user, and the members of
// its own group (the group that may read its data folder).
struct AdminIdentity {
  uid_t uid;
  gid_t gid;
  static AdminIdentity of_this_process();
};
bool may_administer(const PeerCredentials& peer, const AdminIdentity& admins);

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
