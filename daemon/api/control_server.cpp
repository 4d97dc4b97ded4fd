#include "daemon/api/control_server.hpp"

#include "daemon/api/unix_socket.hpp"

#include <array>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

namespace deskline::daemon {

namespace asio = boost::asio;
using stream_protocol = asio::local::stream_protocol;

namespace {
// One answer line. Text from outside (a CRM's answer body) may not be UTF-8:
// replaced, not thrown.
std::string dump(const nlohmann::json& response) {
  return response.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}
}  // namespace

class ControlServer::Session : public daemon::Session, public std::enable_shared_from_this<Session> {
 public:
  Session(stream_protocol::socket socket, ControlServer& server)
      : socket_(std::move(socket)), server_(server), timer_(server.io_) {}

  void start() {
    boost::system::error_code ignored;
    socket_.set_option(asio::socket_base::send_buffer_size(send_buffer_bytes), ignored);
    do_read();
  }

  // Says why and closes, reading nothing the client sent.
  void refuse(const std::string& reason) { reply_and_close({{"ok", false}, {"error", reason}}); }

  void shutdown() override {
    boost::system::error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
  }

  // Between requests, with nothing of the next one received.
  bool idle() const override { return reading_ && framer_.empty(); }

 private:
  // Closes the connection unless what it waits for happens within limit.
  void arm_timer(std::chrono::milliseconds limit) {
    timer_.expires_after(limit);
    timer_.async_wait([weak = weak_from_this()](boost::system::error_code error) {
      if (auto self = weak.lock(); self && !error) self->shutdown();
    });
  }

  // Answers the next request that has arrived whole, or reads more of it.
  void do_read() {
    std::string line;
    switch (framer_.next(line)) {
      case proto::control::Framed::line: return answer(line);
      case proto::control::Framed::too_long:
        return reply_and_close({{"ok", false}, {"error", "request longer than 64 KiB"}});
      case proto::control::Framed::need_more: break;
    }
    // Between requests the idle limit runs; once a request has begun, the
    // rest of it must arrive within the request limit, however it is split
    // (the timer keeps running across reads: trickling bytes do not reset it).
    if (framer_.empty()) {
      arm_timer(server_.timeouts_.idle);
      awaiting_request_rest_ = false;
    } else if (!awaiting_request_rest_) {
      arm_timer(server_.timeouts_.request);
      awaiting_request_rest_ = true;
    }
    reading_ = true;
    socket_.async_read_some(asio::buffer(chunk_),
                            [self = shared_from_this()](boost::system::error_code error, std::size_t length) {
                              self->reading_ = false;
                              if (error) {  // EOF or closed: the client is done
                                self->timer_.cancel();
                                return;
                              }
                              self->framer_.append({self->chunk_.data(), length});
                              self->do_read();
                            });
  }

  void answer(const std::string& line) {
    const auto parsed = proto::control::parse_request(line);
    const auto response =
        parsed ? server_.handler_(*parsed.request) : nlohmann::json{{"ok", false}, {"error", parsed.error}};
    do_write(dump(response), false);
  }

  void reply_and_close(const nlohmann::json& response) { do_write(dump(response), true); }

  void do_write(std::string text, bool close_after) {
    arm_timer(server_.timeouts_.write);
    awaiting_request_rest_ = false;
    auto data = std::make_shared<std::string>(std::move(text));
    asio::async_write(socket_, asio::buffer(*data),
                      [self = shared_from_this(), data, close_after](boost::system::error_code error, std::size_t) {
                        self->timer_.cancel();
                        if (error || close_after) return;
                        self->do_read();
                      });
  }

  stream_protocol::socket socket_;
  ControlServer& server_;
  proto::control::LineFramer framer_;
  std::array<char, 4096> chunk_{};
  asio::steady_timer timer_;
  bool reading_ = false;
  bool awaiting_request_rest_ = false;  // the request timer runs
};

ControlServer::ControlServer(asio::io_context& io, std::filesystem::path socket_path, Handler handler, Logger& log,
                             AdminIdentity admins, ControlTimeouts timeouts)
    : io_(io), handler_(std::move(handler)), admins_(admins), timeouts_(timeouts), refusals_(io, log),
      listener_(io, std::move(socket_path), "control", ListenerLimits{.max_sessions = max_sessions, .max_sessions_per_peer = max_sessions_per_uid}, log) {}

ControlServer::~ControlServer() { stop(); }

std::error_code ControlServer::start() {
  return listener_.start(std::nullopt, [this](stream_protocol::socket socket) {
    const bool admitted = admit(socket);
    auto session = std::make_shared<Session>(std::move(socket), *this);
    if (admitted) session->start();
    else session->refuse("not allowed: the control socket is for desklined's admins (root, its user, its group)");
    return session;
  });
}

bool ControlServer::admit(stream_protocol::socket& socket) {
  const auto peer = peer_credentials(socket);
  if (peer && may_administer(*peer, admins_)) return true;
  ++forbidden_;
  if (peer)
    refusals_.warning("control: refused a non-admin", "control: refused uid {} gid {} (pid {}): not root, uid {} or a member of gid {}",
                      peer->uid, peer->gid, peer->pid, admins_.uid, admins_.gid);
  else
    refusals_.warning("control: refused a non-admin", "control: refused a client whose credentials are unknown");
  return false;
}

void ControlServer::stop() {
  listener_.stop();
  refusals_.flush();
}

}  // namespace deskline::daemon
