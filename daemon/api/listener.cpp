#include "daemon/api/listener.hpp"

#include <algorithm>

namespace deskline::daemon {

void SessionRegistry::add(const std::shared_ptr<Session>& session) {
  std::erase_if(sessions_, [](const auto& weak) { return weak.expired(); });
  sessions_.push_back(session);
}

std::size_t SessionRegistry::live() {
  std::erase_if(sessions_, [](const auto& weak) { return weak.expired(); });
  return sessions_.size();
}

void SessionRegistry::shutdown_all() {
  // Shutting one down may release it (and others): work on a copy.
  const auto sessions = std::move(sessions_);
  sessions_.clear();
  for (const auto& weak : sessions)
    if (auto session = weak.lock()) session->shutdown();
}

}  // namespace deskline::daemon
