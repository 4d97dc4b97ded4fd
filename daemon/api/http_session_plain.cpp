#include "daemon/api/http_session.hpp"

namespace deskline::daemon {

std::shared_ptr<Session> start_http_session(tcp::socket socket, HttpServer& server) {
  auto session = std::make_shared<HttpSession<PlainStream>>(std::move(socket), server, nullptr);
  session->start();
  return session;
}

}  // namespace deskline::daemon
