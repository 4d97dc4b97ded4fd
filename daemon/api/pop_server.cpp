#include "daemon/api/pop_server.hpp"

#include "daemon/api/pop_filter.hpp"
#include "daemon/api/unix_socket.hpp"

#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace deskline::daemon {

namespace asio = boost::asio;
using stream_protocol = asio::local::stream_protocol;

// ---- PopClient ----------------------------------------------------------------

PopClient::PopClient(PopHub& hub, Logger& log, std::string peer, std::shared_ptr<const config::DeskConfig> desk)
    : hub_(hub), log_(log), peer_(std::move(peer)), desk_(std::move(desk)) {
  if (desk_) lines_.emplace(desk_->lines.begin(), desk_->lines.end());
}

PopClient::~PopClient() {
  if (subscribed_) hub_.unsubscribe(*this);
}

void PopClient::begin() {
  if (closed_) return;  // shut down before its transport was ready
  hub_.subscribe(*this);
  subscribed_ = true;
  enqueue_text(hub_.hello(desk_.get()));
  for (const auto& message : hub_.active_calls()) send_event(message);
}

void PopClient::deliver(const PopMessagePtr& message) {
  if (!first_live_seq_) first_live_seq_ = message->event.seq;
  send_event(message);
}

void PopClient::send_event(const PopMessagePtr& message) {
  const auto& line = message->event.line;
  // Device events concern every desk; call events only the lines asked for.
  if (lines_ && !line.empty() && !lines_->contains(line)) return;
  enqueue(message);
}

void PopClient::handle_request(std::string_view line) {
  auto parsed = proto::pop::parse_client_request(line);
  if (!parsed) {
    enqueue_text(nlohmann::json{{"v", proto::pop::schema_version}, {"error", parsed.error}}.dump() + "\n");
    return;
  }
  if (parsed.request->lines || parsed.request->desk) {
    const auto answer = resolve_pop_filter(*parsed.request, hub_.config(), desk_.get());
    if (answer.lines) lines_.emplace(answer.lines->begin(), answer.lines->end());
    enqueue_text(proto::pop::to_json(answer) + "\n");
  }
  // A seq of another stream (another database) means nothing here: the
  // client starts over, as the hello told it.
  if (parsed.request->resume_from && parsed.request->stream.value_or(hub_.stream_id()) == hub_.stream_id())
    resume(*parsed.request->resume_from);
}

void PopClient::resume(std::uint64_t after) {
  bool gap = false;
  auto events = hub_.history_since(after, gap);
  if (gap)
    enqueue_text(nlohmann::json{{"v", proto::pop::schema_version},
                                {"error", fmt::format("events after seq {} are no longer all kept; history starts "
                                                      "at seq {}",
                                                      after,
                                                      events.empty() ? hub_.last_seq() + 1 : events.front()->event.seq)}}
                     .dump() +
                 "\n");
  for (const auto& message : events)
    if (!first_live_seq_ || message->event.seq < *first_live_seq_) send_event(message);
}

void PopClient::enqueue(PopMessagePtr message) {
  if (closed_) return;
  hub_.count_queued();
  // Shares ownership of the message: its text is written by every client without copies.
  push(std::shared_ptr<const std::string>(message, &message->text));
}

void PopClient::enqueue_text(std::string text) {
  if (closed_) return;
  push(std::make_shared<const std::string>(std::move(text)));
}

void PopClient::push(std::shared_ptr<const std::string> text) {
  queued_bytes_ += text->size();
  queue_.push_back(std::move(text));
  if (queue_.size() > max_queued_messages || queued_bytes_ > max_queued_bytes) {
    hub_.count_slow_client_cut(queue_.size());
    close(fmt::format("more than {} events or {} KiB queued: client too slow", max_queued_messages,
                      max_queued_bytes / 1024));
    return;
  }
  write_queued();
}

void PopClient::pop_front() {
  queued_bytes_ -= queue_.front()->size();
  queue_.pop_front();
}

void PopClient::write_queued() {
  while (!writing_ && !closed_ && !queue_.empty()) {
    writing_ = true;
    if (!start_write(*queue_.front())) return;  // on_write_done() follows
    writing_ = false;
    pop_front();
  }
}

void PopClient::on_write_done() {
  writing_ = false;
  if (closed_ || queue_.empty()) return;
  pop_front();
  write_queued();
}

void PopClient::close(const std::string& reason) {
  if (closed_) return;
  closed_ = true;
  if (subscribed_) {
    hub_.unsubscribe(*this);
    subscribed_ = false;
  }
  if (!reason.empty()) log_.warning("pop client {} disconnected: {}", peer_, reason);
  close_transport();
}

// ---- Unix socket transport -----------------------------------------------------

class PopSocketServer::Connection : public PopClient {
 public:
  Connection(stream_protocol::socket socket, PopHub& hub, Logger& log, std::string peer)
      : PopClient(hub, log, std::move(peer)), socket_(std::move(socket)), buffer_(proto::pop::max_request_bytes) {}

  void start() {
    begin();
    do_read();
  }

 private:
  std::shared_ptr<Connection> self() { return std::static_pointer_cast<Connection>(shared_from_this()); }

  void do_read() {
    asio::async_read_until(socket_, buffer_, '\n', [self = self()](boost::system::error_code error, std::size_t length) {
      if (error == asio::error::not_found) {
        self->close("request longer than 4096 bytes");
        return;
      }
      if (error) {
        self->close("");  // the client went away
        return;
      }
      std::string line(asio::buffers_begin(self->buffer_.data()),
                       asio::buffers_begin(self->buffer_.data()) + static_cast<std::ptrdiff_t>(length) - 1);
      self->buffer_.consume(length);
      self->handle_request(line);
      if (!self->closed()) self->do_read();
    });
  }

  bool start_write(const std::string& text) override {
    // An event nearly always fits in the socket buffer: writing it here rather
    // than from a completion handler keeps the fan-out to many desks short.
    boost::system::error_code error;
    std::size_t written = 0;
    if (!socket_.non_blocking()) socket_.non_blocking(true, error);
    if (!error) written = socket_.write_some(asio::buffer(text), error);
    if (!error && written == text.size()) return true;
    if (error && error != asio::error::would_block) {
      close("");  // the client went away
      return false;
    }
    asio::async_write(socket_, asio::buffer(text) + written, [self = self()](boost::system::error_code error, std::size_t) {
      if (error) {
        self->close("");
        return;
      }
      self->on_write_done();
    });
    return false;
  }

  void close_transport() override {
    boost::system::error_code ignored;
    socket_.shutdown(stream_protocol::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  stream_protocol::socket socket_;
  asio::streambuf buffer_;
};

PopSocketServer::PopSocketServer(asio::io_context& io, std::filesystem::path socket_path, PopHub& hub, Logger& log)
    : hub_(hub), log_(log),
      listener_(io, std::move(socket_path), "pop",
                ListenerLimits{.max_sessions = max_clients, .max_sessions_per_peer = max_clients_per_uid}, log) {}

PopSocketServer::~PopSocketServer() { stop(); }

std::error_code PopSocketServer::start(std::optional<gid_t> group) {
  return listener_.start(group, [this](stream_protocol::socket socket) {
    auto connection =
        std::make_shared<Connection>(std::move(socket), hub_, log_, fmt::format("unix#{}", next_id_++));
    connection->start();
    return connection;
  });
}

void PopSocketServer::stop() { listener_.stop(); }

}  // namespace deskline::daemon
