#include "daemon/api/http_server.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <fstream>

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <fmt/format.h>

#include "daemon/api/pop_server.hpp"
#include "proto/http_target.hpp"

namespace deskline::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

constexpr auto request_timeout = std::chrono::seconds(30);
constexpr std::size_t max_header_bytes = 8 * 1024;
constexpr std::size_t max_body_bytes = 64 * 1024;
constexpr std::size_t max_calls_listed = 1000;

std::string presented_token(const http::request<http::string_body>& request, const proto::http::Target& target) {
  const auto authorization = request[http::field::authorization];
  if (authorization.starts_with("Bearer ")) return std::string(authorization.substr(7));
  return std::string(target.parameter("token"));
}

}  // namespace

// ---- WebSocket pop client ------------------------------------------------------

class WebSocketPopSession : public PopClient {
 public:
  WebSocketPopSession(tcp::socket socket, HttpServer& server, std::string peer)
      : PopClient(server.hub(), server.log(), std::move(peer)), stream_(std::move(socket)) {}

  void start(http::request<http::string_body> request) {
    stream_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    stream_.read_message_max(proto::pop::max_request_bytes);
    stream_.async_accept(request, [self = self()](beast::error_code error) {
      if (error) return;
      self->begin();
      self->do_read();
    });
  }

 private:
  std::shared_ptr<WebSocketPopSession> self() {
    return std::static_pointer_cast<WebSocketPopSession>(shared_from_this());
  }

  void do_read() {
    stream_.async_read(buffer_, [self = self()](beast::error_code error, std::size_t) {
      if (error == websocket::error::buffer_overflow) {
        self->close("request longer than 4096 bytes");
        return;
      }
      if (error) {
        self->close("");
        return;
      }
      const auto text = beast::buffers_to_string(self->buffer_.data());
      self->buffer_.consume(self->buffer_.size());
      self->handle_request(text);
      if (!self->closed()) self->do_read();
    });
  }

  bool start_write(const std::string& text) override {
    stream_.text(true);
    // One event per message; the trailing newline of the JSON line is not sent.
    const std::size_t length = !text.empty() && text.back() == '\n' ? text.size() - 1 : text.size();
    stream_.async_write(asio::buffer(text.data(), length), [self = self()](beast::error_code error, std::size_t) {
      if (error) {
        self->close("");
        return;
      }
      self->on_write_done();
    });
    return false;
  }

  void close_transport() override {
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream_).close();
  }

  websocket::stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

// ---- plain HTTP --------------------------------------------------------------------

class HttpSession : public Session, public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, HttpServer& server) : stream_(std::move(socket)), server_(server) {
    beast::error_code ignored;
    const auto endpoint = stream_.socket().remote_endpoint(ignored);
    peer_ = fmt::format("{}:{}", endpoint.address().to_string(), endpoint.port());
  }

  void start() { do_read(); }
  void shutdown() override { close(); }

 private:
  void do_read() {
    parser_.emplace();
    parser_->header_limit(max_header_bytes);
    parser_->body_limit(max_body_bytes);
    stream_.expires_after(request_timeout);
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code error, std::size_t) {
      self->on_read(error);
    });
  }

  void on_read(beast::error_code error) {
    if (error == http::error::end_of_stream || error == beast::error::timeout) return close();
    if (error) {
      // Malformed or oversized: answer 400 and hang up.
      return send(error_response(http::status::bad_request, error.message(), 11, false), true);
    }
    auto request = parser_->release();
    auto parsed_target = proto::http::parse_target(request.target());
    if (!parsed_target)
      return send(error_response(http::status::bad_request, parsed_target.error, request.version(), false), true);
    const auto& target = *parsed_target.target;
    const auto& path = target.path;
    if (request.method() != http::verb::get && request.method() != http::verb::head)
      return send(error_response(http::status::method_not_allowed, "only GET", request.version(), request.keep_alive()));
    if (path == "/" || path == "/index.html") return send_page(request);
    if (!path.starts_with("/v1/")) return send(error_response(http::status::not_found, "no such page", request.version(),
                                                               request.keep_alive()));
    const auto origin = request[http::field::origin];
    if (!origin.empty() && !server_.origin_allowed(origin)) {
      server_.log().warning("http: {} refused: origin {} not allowed", peer_, std::string(origin));
      return send(error_response(http::status::forbidden, "origin not allowed", request.version(), false), true);
    }
    if (!server_.token_matches(presented_token(request, target))) {
      server_.log().warning("http: {} refused: missing or wrong token for {}", peer_, std::string(path));
      return send(error_response(http::status::unauthorized, "missing or wrong token", request.version(), false), true);
    }
    if (path == "/v1/events") {
      if (!websocket::is_upgrade(request))
        return send(error_response(http::status::upgrade_required, "WebSocket only", request.version(), false), true);
      stream_.expires_never();
      auto session = std::make_shared<WebSocketPopSession>(
          stream_.release_socket(), server_, fmt::format("ws#{} {}", server_.next_websocket_id(), peer_));
      server_.adopt(session);
      session->start(std::move(request));
      return;
    }
    if (path == "/v1/calls") {
      std::size_t limit = 50;
      if (const auto text = target.parameter("limit"); !text.empty()) {
        const auto count = proto::http::parse_count(text, max_calls_listed);
        if (!count)
          return send(error_response(http::status::bad_request, "limit must be an integer from 1 to 1000",
                                     request.version(), request.keep_alive()));
        limit = *count;
      }
      http::response<http::string_body> response{http::status::ok, request.version()};
      response.set(http::field::content_type, "application/json");
      response.set(http::field::cache_control, "no-store");
      response.body() = server_.calls()(limit).dump();
      response.keep_alive(request.keep_alive());
      response.prepare_payload();
      return send(std::move(response));
    }
    send(error_response(http::status::not_found, "no such resource", request.version(), request.keep_alive()));
  }

  void send_page(const http::request<http::string_body>& request) {
    http::response<http::string_body> response{http::status::ok, request.version()};
    response.set(http::field::content_type, "text/html; charset=utf-8");
    response.set(http::field::cache_control, "no-store");
    response.set("Content-Security-Policy",
                 "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
                 "img-src 'self' data:; frame-ancestors 'none'");
    response.set("X-Content-Type-Options", "nosniff");
    response.body() = request.method() == http::verb::head ? "" : pop_page_html;
    response.keep_alive(request.keep_alive());
    response.prepare_payload();
    send(std::move(response));
  }

  static http::response<http::string_body> error_response(http::status status, std::string_view message,
                                                          unsigned version, bool keep_alive) {
    http::response<http::string_body> response{status, version};
    response.set(http::field::content_type, "application/json");
    response.body() = nlohmann::json{{"error", message}}.dump();
    response.keep_alive(keep_alive);
    response.prepare_payload();
    return response;
  }

  void send(http::response<http::string_body> response, bool close_after = false) {
    auto shared = std::make_shared<http::response<http::string_body>>(std::move(response));
    if (close_after) shared->keep_alive(false);
    http::async_write(stream_, *shared, [self = shared_from_this(), shared](beast::error_code error, std::size_t) {
      if (error || !shared->keep_alive()) return self->close();
      self->do_read();
    });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  HttpServer& server_;
  std::string peer_;
  beast::flat_buffer buffer_{max_header_bytes + max_body_bytes};
  std::optional<http::request_parser<http::string_body>> parser_;
};

// ---- server ----------------------------------------------------------------------

HttpServer::HttpServer(asio::io_context& io, const config::HttpConfig& config, std::string token, PopHub& hub,
                       CallsProvider calls, Logger& log)
    : config_(config), token_(std::move(token)), hub_(hub), calls_(std::move(calls)), log_(log),
      listener_(io, "http", ListenerLimits{.max_sessions = max_sessions}, log) {}

HttpServer::~HttpServer() { stop(); }

std::error_code HttpServer::start() {
  boost::system::error_code error;
  const auto address = asio::ip::make_address(config_.address, error);
  if (error) return std::error_code(error.value(), std::system_category());
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(config_.port));
  auto& acceptor = listener_.acceptor();
  acceptor.open(endpoint.protocol(), error);
  if (!error) acceptor.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor.bind(endpoint, error);
  if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) return std::error_code(error.value(), std::system_category());
  port_ = acceptor.local_endpoint().port();
  listener_.start([this](tcp::socket socket) {
    auto session = std::make_shared<HttpSession>(std::move(socket), *this);
    session->start();
    return session;
  });
  return {};
}

void HttpServer::stop() { listener_.stop(); }

bool HttpServer::token_matches(std::string_view presented) const {
  if (presented.size() != token_.size() || token_.empty()) return false;
  unsigned char difference = 0;  // constant time: no early exit on the first wrong byte
  for (std::size_t i = 0; i < token_.size(); ++i)
    difference |= static_cast<unsigned char>(presented[i] ^ token_[i]);
  return difference == 0;
}

bool HttpServer::origin_allowed(std::string_view origin) const {
  for (const auto* host : {"127.0.0.1", "localhost", "[::1]"})
    if (origin == fmt::format("http://{}:{}", host, port_)) return true;
  if (origin == fmt::format("http://{}:{}", config_.address, port_)) return true;
  for (const auto& allowed : config_.allowed_origins)
    if (origin == allowed) return true;
  return false;
}

std::string load_or_create_token(const std::filesystem::path& path, std::error_code& error) {
  {
    std::ifstream file(path);
    std::string token;
    if (file && std::getline(file, token) && token.size() >= 16) return token;
  }
  std::uint8_t bytes[24];
  if (getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    error = std::error_code(errno, std::system_category());
    return "";
  }
  std::string token;
  for (auto byte : bytes) token += fmt::format("{:02x}", byte);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    error = std::error_code(errno, std::system_category());
    return "";
  }
  const auto line = token + "\n";
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
    error = std::error_code(errno, std::system_category());
  ::close(fd);
  return token;
}

}  // namespace deskline::daemon
