// Delivery of pop events to desk clients: the Unix socket (JSON lines) here,
// the WebSocket in http_server. Both share PopClient: on connect the hello,
// the active calls, then live events; requests to resume by seq and to filter lines; a
// bounded queue per client, so a stalled client is cut off and never slows
// the daemon or the other clients.
#pragma once

#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/streambuf.hpp>

#include "daemon/api/listener.hpp"
#include "daemon/core/log.hpp"
#include "daemon/api/pop_hub.hpp"
#include "daemon/api/unix_socket.hpp"

namespace deskline::daemon {

// Transport-independent part of one pop client.
class PopClient : public PopSubscriber, public Session, public std::enable_shared_from_this<PopClient> {
 public:
  static constexpr std::size_t max_queued_messages = 256;
  static constexpr std::size_t max_queued_bytes = 256 * 1024;

  // desk: a desk's page, which sees that desk's lines only (nullptr: every line).
  PopClient(PopHub& hub, Logger& log, std::string peer, std::shared_ptr<const config::DeskConfig> desk = nullptr);
  ~PopClient() override;

  // A live event from the hub.
  void deliver(const PopMessagePtr& message) override;
  // A request line from the client (proto::pop::ClientRequest).
  void handle_request(std::string_view line);
  // Stops delivery; the transport is closed by the subclass.
  void close(const std::string& reason);
  bool closed() const { return closed_; }
  void shutdown() override { close(""); }

 protected:
  // Subscribes and queues the hello and the calls in progress.
  void begin();
  // Writes the message at the queue's front. Returns true when it was written
  // whole at once; otherwise the transport calls on_write_done() when it is.
  virtual bool start_write(const std::string& text) = 0;
  virtual void close_transport() = 0;
  void on_write_done();

  PopHub& hub_;
  Logger& log_;
  std::string peer_;

 private:
  // Queues an event unless the client's line filter leaves it out.
  void send_event(const PopMessagePtr& message);
  void resume(std::uint64_t after);
  void enqueue(PopMessagePtr message);
  void enqueue_text(std::string text);
  // Queues text, or cuts the client when its queue is over either bound.
  void push(std::shared_ptr<const std::string> text);
  void pop_front();
  // Writes queued messages while the transport takes them at once.
  void write_queued();

  std::deque<std::shared_ptr<const std::string>> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool closed_ = false;
  bool subscribed_ = false;
  std::shared_ptr<const config::DeskConfig> desk_;
  std::optional<std::set<std::string, std::less<>>> lines_;  // none: every line
  // The seq of the first live event: a resume sends only older ones, so
  // that no event reaches a client twice on one connection.
  std::optional<std::uint64_t> first_live_seq_;
};

class PopSocketServer {
 public:
  static constexpr std::size_t max_clients = 256;
  static constexpr std::size_t max_clients_per_uid = 64;

  PopSocketServer(boost::asio::io_context& io, std::filesystem::path socket_path, PopHub& hub, Logger& log);
  ~PopSocketServer();

  // Binds (group as in bind_unix_socket) and accepts.
  std::error_code start(std::optional<gid_t> group = std::nullopt);
  // Closes the socket and every client; removes the socket file. Idempotent.
  void stop();
  const ListenerCounters& counters() const { return listener_.counters(); }

 private:
  class Connection;

  PopHub& hub_;
  Logger& log_;
  UnixSocketListener listener_;
  std::uint64_t next_id_ = 1;
};

}  // namespace deskline::daemon
