#include "daemon/api/control_server.hpp"

#include "daemon/api/unix_socket.hpp"

#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

namespace deskline::daemon {

namespace asio = boost::asio;
using stream_protocol = asio::local::stream_protocol;

class ControlServer::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(stream_protocol::socket socket, ControlServer& server)
      : socket_(std::move(socket)), server_(server), buffer_(max_request_bytes), idle_timer_(server.io_),
        live_sessions_(server.live_sessions_) {
    ++*live_sessions_;
  }
  ~Session() { --*live_sessions_; }

  void start() { do_read(); }

 private:
  void do_read() {
    idle_timer_.expires_after(idle_timeout);
    idle_timer_.async_wait([weak = weak_from_this()](boost::system::error_code error) {
      if (auto self = weak.lock(); self && !error) self->socket_.close();
    });
    asio::async_read_until(socket_, buffer_, '\n',
                           [self = shared_from_this()](boost::system::error_code error, std::size_t length) {
                             self->on_read(error, length);
                           });
  }

  void on_read(boost::system::error_code error, std::size_t length) {
    idle_timer_.cancel();
    if (error == asio::error::not_found) {  // streambuf full without a newline
      reply_and_close({{"ok", false}, {"error", "request longer than 64 KiB"}});
      return;
    }
    if (error) return;  // EOF or closed: the client is done
    std::string line(asio::buffers_begin(buffer_.data()), asio::buffers_begin(buffer_.data()) + length);
    buffer_.consume(length);
    const auto parsed = proto::control::parse_request(line);
    const auto response =
        parsed ? server_.handler_(*parsed.request) : nlohmann::json{{"ok", false}, {"error", parsed.error}};
    do_write(response.dump() + "\n", false);
  }

  void reply_and_close(const nlohmann::json& response) { do_write(response.dump() + "\n", true); }

  void do_write(std::string text, bool close_after) {
    auto data = std::make_shared<std::string>(std::move(text));
    asio::async_write(socket_, asio::buffer(*data),
                      [self = shared_from_this(), data, close_after](boost::system::error_code error, std::size_t) {
                        if (error || close_after) return;
                        self->do_read();
                      });
  }

  stream_protocol::socket socket_;
  ControlServer& server_;
  asio::streambuf buffer_;
  asio::steady_timer idle_timer_;
  std::shared_ptr<std::size_t> live_sessions_;
};

ControlServer::ControlServer(asio::io_context& io, std::filesystem::path socket_path, Handler handler, Logger& log)
    : io_(io), socket_path_(std::move(socket_path)), handler_(std::move(handler)), log_(log), acceptor_(io) {}

ControlServer::~ControlServer() { stop(); }

std::error_code ControlServer::start(std::optional<gid_t> group) {
  if (auto error = bind_unix_socket(acceptor_, socket_path_, group)) return error;
  do_accept();
  return {};
}

void ControlServer::stop() {
  if (!acceptor_.is_open()) return;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  std::error_code remove_error;
  std::filesystem::remove(socket_path_, remove_error);
}

void ControlServer::do_accept() {
  acceptor_.async_accept([this](boost::system::error_code error, stream_protocol::socket socket) {
    if (error == asio::error::operation_aborted) return;
    if (!error) {
      if (*live_sessions_ >= max_sessions) {
        log_.warning("control: refusing a client: {} sessions open", max_sessions);
      } else {
        std::make_shared<Session>(std::move(socket), *this)->start();
      }
    }
    do_accept();
  });
}

}  // namespace deskline::daemon
