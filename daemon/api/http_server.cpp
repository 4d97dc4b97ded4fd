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

namespace deskline::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

// A request's header must arrive within this of connecting or of the previous
// answer, and its body within this again: a connection that sends nothing
// holds its slot no longer.
constexpr auto request_timeout = std::chrono::seconds(10);
// A WebSocket client that neither reads nor answers pings for this long is cut.
constexpr auto websocket_idle_timeout = std::chrono::seconds(30);
// The kernel doubles it. Without a fixed size, send-buffer autotuning lets a
// stalled reader hold megabytes of events in the kernel, beyond the queue's bound.
constexpr int websocket_send_buffer_bytes = 32 * 1024;

}  // namespace

// ---- WebSocket pop client ------------------------------------------------------

class WebSocketPopSession : public PopClient {
 public:
  WebSocketPopSession(tcp::socket socket, HttpServer& server, std::string peer)
      : PopClient(server.hub(), server.log(), std::move(peer)), stream_(std::move(socket)) {}

  void start(HttpRequest request) {
    boost::system::error_code ignored;
    beast::get_lowest_layer(stream_).socket().set_option(
        asio::socket_base::send_buffer_size(websocket_send_buffer_bytes), ignored);
    stream_.set_option(websocket::stream_base::timeout{.handshake_timeout = request_timeout,
                                                       .idle_timeout = websocket_idle_timeout,
                                                       .keep_alive_pings = true});
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
    peer_address_ = endpoint.address().to_string();
    peer_ = fmt::format("{}:{}", peer_address_, endpoint.port());
  }

  void start() { do_read(); }
  void shutdown() override { close(); }
  bool idle() const override { return awaiting_header_ && !authenticated_; }

 private:
  void do_read() {
    parser_.emplace();
    parser_->header_limit(max_http_header_bytes);
    parser_->body_limit(max_http_body_bytes);
    awaiting_header_ = true;
    stream_.expires_after(request_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code error, std::size_t) {
                              self->awaiting_header_ = false;
                              if (error) return self->on_read(error);
                              self->stream_.expires_after(request_timeout);
                              http::async_read(self->stream_, self->buffer_, *self->parser_,
                                               [self](beast::error_code body_error, std::size_t) {
                                                 self->on_read(body_error);
                                               });
                            });
  }

  void on_read(beast::error_code error) {
    if (error == http::error::end_of_stream || error == beast::error::timeout ||
        error == asio::error::operation_aborted)
      return close();
    if (error) {
      // Malformed or oversized: answer 400 and hang up.
      return send(error_response(http::status::bad_request, error.message(), 11), false, true);
    }
    auto request = parser_->release();
    const bool head = request.method() == http::verb::head;
    const auto decision = decide(request, server_.access());
    authenticated_ = authenticated_ || decision.authenticated;
    if (decision.scope == HttpScope::api)
      server_.log().debug("http: {} {} {} with API token {}", peer_, std::string(request.method_string()),
                          std::string(request.target().substr(0, request.target().find('?'))), decision.token_name);
    switch (decision.resource) {
      case HttpResource::page: return send(page_response(request.version()), head, !request.keep_alive());
      case HttpResource::calls: {
        http::response<http::string_body> response{http::status::ok, request.version()};
        response.set(http::field::content_type, "application/json");
        response.set(http::field::cache_control, "no-store");
        response.body() = server_.calls()(decision.calls_limit).dump();
        return send(std::move(response), head, !request.keep_alive());
      }
      case HttpResource::call_page:
      case HttpResource::call:
      case HttpResource::changes: return answer_pull(decision, request.version(), head, !request.keep_alive());
      case HttpResource::events: {
        stream_.expires_never();
        auto session = std::make_shared<WebSocketPopSession>(
            stream_.release_socket(), server_, fmt::format("ws#{} {}", server_.next_websocket_id(), peer_));
        server_.adopt(session, peer_address_);
        session->start(std::move(request));
        return;
      }
      case HttpResource::refused: break;
    }
    if (decision.status == http::status::forbidden && decision.scope == HttpScope::none)
      server_.refusals().warning("http: origin refused", "http: {} refused: origin {} not allowed", peer_,
                                 std::string(request[http::field::origin]));
    else if (decision.status == http::status::unauthorized)
      server_.refusals().warning("http: token refused", "http: {} refused: missing or wrong token for {}", peer_,
                                 std::string(request.target().substr(0, request.target().find('?'))));
    send(error_response(decision.status, decision.error, request.version()), head,
         decision.close || !request.keep_alive());
  }

  // The pull API answers from its worker; the session reads no further
  // request until the answer is written.
  void answer_pull(const HttpDecision& decision, unsigned version, bool head, bool close_after) {
    server_.pull().answer(decision, [self = shared_from_this(), version, head, close_after](PullAnswer answer) {
      http::response<http::string_body> response{answer.status, version};
      response.set(http::field::content_type, "application/json");
      response.set(http::field::cache_control, "no-store");
      response.body() = std::move(answer.body);
      self->send(std::move(response), head, close_after);
    });
  }

  static http::response<http::string_body> page_response(unsigned version) {
    http::response<http::string_body> response{http::status::ok, version};
    response.set(http::field::content_type, "text/html; charset=utf-8");
    response.set(http::field::cache_control, "no-store");
    response.set("Content-Security-Policy",
                 "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
                 "img-src 'self' data:; frame-ancestors 'none'");
    response.set("X-Content-Type-Options", "nosniff");
    response.body() = pop_page_html;
    return response;
  }

  static http::response<http::string_body> error_response(http::status status, std::string_view message,
                                                          unsigned version) {
    http::response<http::string_body> response{status, version};
    response.set(http::field::content_type, "application/json");
    response.body() = nlohmann::json{{"error", message}}.dump();
    return response;
  }

  // Writes the response; for HEAD only its header, with the Content-Length
  // the body would have (RFC 9110 9.3.2), so a keep-alive client stays in step.
  void send(http::response<http::string_body> response, bool head, bool close_after) {
    struct Outgoing {
      explicit Outgoing(http::response<http::string_body> message) : response(std::move(message)) {}
      http::response<http::string_body> response;
      http::response_serializer<http::string_body> serializer{response};
    };
    response.keep_alive(!close_after);
    response.prepare_payload();
    auto outgoing = std::make_shared<Outgoing>(std::move(response));
    auto on_written = [self = shared_from_this(), outgoing](beast::error_code error, std::size_t) {
      if (error || !outgoing->response.keep_alive()) return self->close();
      self->do_read();
    };
    if (head)
      http::async_write_header(stream_, outgoing->serializer, std::move(on_written));
    else
      http::async_write(stream_, outgoing->serializer, std::move(on_written));
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  HttpServer& server_;
  std::string peer_address_;  // the listener's peer: the source address
  std::string peer_;          // for the log: address and port
  beast::flat_buffer buffer_{max_http_header_bytes + max_http_body_bytes};
  std::optional<http::request_parser<http::string_body>> parser_;
  bool awaiting_header_ = false;
  bool authenticated_ = false;
};

// ---- server ----------------------------------------------------------------------

HttpServer::HttpServer(asio::io_context& io, const config::HttpConfig& config, std::string token,
                       std::filesystem::path api_tokens, std::filesystem::path database, PopHub& hub,
                       CallsProvider calls, Logger& log)
    : config_(config), access_{std::move(token), {}, {}}, api_tokens_(std::move(api_tokens), log),
      pull_(io, std::move(database), log), hub_(hub), calls_(std::move(calls)), log_(log),
      refusals_(io, log),
      listener_(io, "http",
                ListenerLimits{.max_sessions = static_cast<std::size_t>(config.max_connections),
                               .max_sessions_per_peer = static_cast<std::size_t>(config.max_connections_per_address)},
                log) {}

HttpServer::~HttpServer() { stop(); }

const HttpAccess& HttpServer::access() {
  api_tokens_.refresh();
  access_.api_tokens = api_tokens_.entries();
  return access_;
}

std::error_code HttpServer::start() {
  if (auto started = pull_.start(); !started) {
    log_.error("http: the pull API cannot read the database: {}", started.error().message());
    return started.error().code;
  }
  api_tokens_.refresh();
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
  // The daemon's own page may open the WebSocket from any of its addresses.
  access_.origins = config_.allowed_origins;
  for (const auto& host : {std::string("127.0.0.1"), std::string("localhost"), std::string("[::1]"), config_.address})
    access_.origins.push_back(fmt::format("http://{}:{}", host, port_));
  listener_.start([this](tcp::socket socket) {
    auto session = std::make_shared<HttpSession>(std::move(socket), *this);
    session->start();
    return session;
  });
  return {};
}

void HttpServer::stop() {
  listener_.stop();
  pull_.stop();
  refusals_.flush();
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
