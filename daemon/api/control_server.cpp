#include "daemon/api/control_server.hpp"

#include "daemon/api/unix_socket.hpp"

#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

namespace deskline::daemon {

namespace asio = boost::asio;
using stream_protocol = asio::local::stream_protocol;

class ControlServer::Session : public daemon::Session, public std::enable_shared_from_this<Session> {
 public:
  Session(stream_protocol::socket socket, ControlServer& server)
      : socket_(std::move(socket)), server_(server), buffer_(max_request_bytes), idle_timer_(server.io_) {}

  void start() { do_read(); }

  void shutdown() override {
    boost::system::error_code ignored;
    idle_timer_.cancel();
    socket_.close(ignored);
  }

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
};

ControlServer::ControlServer(asio::io_context& io, std::filesystem::path socket_path, Handler handler, Logger& log)
    : io_(io), handler_(std::move(handler)),
      listener_(io, std::move(socket_path), "control", ListenerLimits{.max_sessions = max_sessions}, log) {}

ControlServer::~ControlServer() { stop(); }

std::error_code ControlServer::start(std::optional<gid_t> group) {
  return listener_.start(group, [this](stream_protocol::socket socket) {
    auto session = std::make_shared<Session>(std::move(socket), *this);
    session->start();
    return session;
  });
}

void ControlServer::stop() { listener_.stop(); }

}  // namespace deskline::daemon
