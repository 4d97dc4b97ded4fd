#include "daemon/api/unix_socket.hpp"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace deskline::daemon {

namespace asio = boost::asio;
using stream_protocol = asio::local::stream_protocol;

std::error_code bind_unix_socket(stream_protocol::acceptor& acceptor, const std::filesystem::path& path,
                                 std::optional<gid_t> group) {
  std::error_code error;
  std::filesystem::create_directories(path.parent_path(), error);
  if (error) return error;
  if (std::filesystem::exists(path)) {
    // A socket nobody answers on is left over from a killed daemon.
    stream_protocol::socket probe(acceptor.get_executor());
    boost::system::error_code connect_error;
    probe.connect(stream_protocol::endpoint(path.string()), connect_error);
    if (!connect_error) return std::make_error_code(std::errc::address_in_use);
    std::filesystem::remove(path, error);
  }
  boost::system::error_code asio_error;
  acceptor.open(stream_protocol(), asio_error);
  if (!asio_error) acceptor.bind(stream_protocol::endpoint(path.string()), asio_error);
  if (!asio_error) acceptor.listen(asio::socket_base::max_listen_connections, asio_error);
  if (asio_error) return std::error_code(asio_error.value(), std::system_category());
  if (::chmod(path.c_str(), 0660) != 0 || (group && ::chown(path.c_str(), static_cast<uid_t>(-1), *group) != 0)) {
    const std::error_code failed(errno, std::system_category());
    acceptor.close(asio_error);
    std::filesystem::remove(path, error);
    return failed;
  }
  return {};
}

std::optional<gid_t> find_group(const std::string& name) {
  std::vector<char> buffer(16384);
  group entry{};
  group* found = nullptr;
  if (::getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || !found) return std::nullopt;
  return found->gr_gid;
}

std::optional<PeerCredentials> peer_credentials(stream_protocol::socket& socket) {
  const int fd = socket.native_handle();
  ucred credentials{};
  socklen_t length = sizeof credentials;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return std::nullopt;
  PeerCredentials peer{credentials.pid, credentials.uid, credentials.gid, {}};
  // SO_PEERGROUPS answers ERANGE with the size it needs.
  peer.groups.resize(16);
  for (int attempt = 0; attempt < 4; ++attempt) {
    length = static_cast<socklen_t>(peer.groups.size() * sizeof(gid_t));
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, peer.groups.data(), &length) == 0) {
      peer.groups.resize(length / sizeof(gid_t));
      return peer;
    }
    if (errno != ERANGE) return std::nullopt;
    peer.groups.resize(length / sizeof(gid_t) + 1);
  }
  return std::nullopt;
}

AdminIdentity AdminIdentity::of_this_process() { return {::geteuid(), ::getegid()}; }

bool may_administer(const PeerCredentials& peer, const AdminIdentity& admins) {
  return peer.uid == 0 || peer.uid == admins.uid || peer.gid == admins.gid ||
         std::find(peer.groups.begin(), peer.groups.end(), admins.gid) != peer.groups.end();
}

std::error_code UnixSocketListener::start(std::optional<gid_t> group, Listener<Protocol>::SessionFactory factory) {
  if (auto error = bind_unix_socket(listener_.acceptor(), path_, group)) return error;
  bound_ = true;
  listener_.start(std::move(factory));
  return {};
}

void UnixSocketListener::stop() {
  listener_.stop();
  if (!bound_) return;
  bound_ = false;
  std::error_code remove_error;
  std::filesystem::remove(path_, remove_error);
}

}  // namespace deskline::daemon
