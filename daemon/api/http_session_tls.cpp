#include "daemon/api/http_session.hpp"

namespace deskline::daemon {

std::shared_ptr<Session> start_https_session(tcp::socket socket, HttpServer& server, ssl::context& tls) {
  auto session = std::make_shared<HttpSession<TlsStream>>(std::move(socket), server, &tls);
  session->start();
  return session;
}

}  // namespace deskline::daemon
