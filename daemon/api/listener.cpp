#include "daemon/api/listener.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <map>

namespace deskline::daemon {

void SessionRegistry::add(const std::shared_ptr<Session>& session, std::string peer) {
  forget_released();
  sessions_.push_back({session, std::move(peer)});
}

std::size_t SessionRegistry::live() {
  forget_released();
  return sessions_.size();
}

std::size_t SessionRegistry::live_of(std::string_view peer) {
  forget_released();
  return static_cast<std::size_t>(
      std::count_if(sessions_.begin(), sessions_.end(), [&](const Entry& entry) { return entry.peer == peer; }));
}

bool SessionRegistry::close_idle(std::optional<std::string_view> peer) {
  forget_released();
  if (!peer) {
    // The peer with the most sessions gives one up: one flooding peer cannot
    // push out the few connections of another.
    std::map<std::string_view, std::size_t> idle_per_peer;
    for (const auto& entry : sessions_) {
      const auto session = entry.session.lock();
      if (session && session->idle()) ++idle_per_peer[entry.peer];
    }
    if (idle_per_peer.empty()) return false;
    std::map<std::string_view, std::size_t> held;
    for (const auto& entry : sessions_) ++held[entry.peer];
    peer = std::max_element(idle_per_peer.begin(), idle_per_peer.end(), [&](const auto& a, const auto& b) {
             return held[a.first] < held[b.first];
           })->first;
  }
  const auto found = std::find_if(sessions_.begin(), sessions_.end(), [&](const Entry& entry) {
    const auto session = entry.session.lock();
    return entry.peer == *peer && session && session->idle();
  });
  if (found == sessions_.end()) return false;
  const auto session = found->session.lock();
  sessions_.erase(found);  // gone from the count now, whenever its handlers finish
  session->shutdown();
  return true;
}

void SessionRegistry::shutdown_all() {
  // Shutting one down may release it (and others): work on a copy.
  const auto sessions = std::move(sessions_);
  sessions_.clear();
  for (const auto& entry : sessions)
    if (auto session = entry.session.lock()) session->shutdown();
}

void SessionRegistry::forget_released() {
  std::erase_if(sessions_, [](const Entry& entry) { return entry.session.expired(); });
}

std::string peer_of(boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code error;
  const auto endpoint = socket.remote_endpoint(error);
  return error ? "unknown address" : endpoint.address().to_string();
}

std::string peer_of(boost::asio::local::stream_protocol::socket& socket) {
  ucred credentials{};
  socklen_t length = sizeof credentials;
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0)
    return "unknown uid";
  return "uid " + std::to_string(credentials.uid);
}

}  // namespace deskline::daemon
