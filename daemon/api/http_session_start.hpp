// Starts an HTTP session on an accepted connection: plain, or TLS with the
// server's context. Each kind is compiled in a file of its own
// (http_session_plain.cpp, http_session_tls.cpp).
#pragma once

#include <memory>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "daemon/api/listener.hpp"

namespace deskline::daemon {

class HttpServer;

std::shared_ptr<Session> start_http_session(boost::asio::ip::tcp::socket socket, HttpServer& server);
std::shared_ptr<Session> start_https_session(boost::asio::ip::tcp::socket socket, HttpServer& server,
                                             boost::asio::ssl::context& tls);

}  // namespace deskline::daemon
