// Sends stored recordings to plain HTTP connections with sendfile(2), on a
// thread of its own at bulk priority (daemon/core/thread_priority.hpp): the
// io_context thread decides a download and hands its connection over here
// for the body, so 50 downloads' socket work neither queues ahead of a pop
// on the io_context nor takes its core. The file worker (the loader) brings
// the file into the page cache 1 MiB ahead of the socket, so sendfile never
// waits for the disk.
//
// The session hands over its connection's descriptor and keeps it open until
// done has run (a session closing meanwhile only shuts it down, which ends
// the transfer with an error); it neither reads nor writes the connection in
// between.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "daemon/api/recording_reader.hpp"
#include "daemon/core/log.hpp"

namespace deskline::daemon {

class FileSender {
 public:
  // A client that takes nothing for this long is cut.
  static constexpr std::chrono::milliseconds default_stall_timeout = std::chrono::seconds(60);
  // The file worker keeps the page cache this far ahead of the socket.
  static constexpr std::uint64_t load_ahead_bytes = 1024 * 1024;

  struct Job {
    int socket = -1;                          // the connection, non-blocking; open until done has run
    std::shared_ptr<RecordingReader> reader;  // the open recording
    std::string head;                         // the response's head, sent first with MSG_MORE
    std::uint64_t next = 0, end = 0;          // the file's bytes [next, end) follow it
    std::uint64_t loaded_end = 0;             // those before this are in the page cache
  };
  // How a transfer ended: no error once the last byte is with the kernel.
  // file_error: the file ended early (RecordingReadError::changed) or could
  // not be loaded; socket_error: the connection failed or was shut down, or
  // the client took nothing for stall_timeout (timed_out).
  struct Outcome {
    std::error_code file_error, socket_error;
  };
  using Done = std::function<void(Outcome)>;

  // loader: the thread that loads files into the page cache; it must
  // outlive the sender's thread (stop() before the loader's join()).
  FileSender(boost::asio::thread_pool& loader, Logger& log,
             std::chrono::milliseconds stall_timeout = default_stall_timeout);
  ~FileSender();
  FileSender(const FileSender&) = delete;
  FileSender& operator=(const FileSender&) = delete;

  // Starts the transfer on the sender's thread; done is posted to reply_to.
  void send(Job job, boost::asio::io_context& reply_to, Done done);
  // Stops and joins the thread; transfers still running end there, their
  // done never runs. Idempotent.
  void stop();

 private:
  struct Transfer;
  void send_loaded(const std::shared_ptr<Transfer>& transfer);
  void load_next(const std::shared_ptr<Transfer>& transfer);
  void await_socket(const std::shared_ptr<Transfer>& transfer);
  static void finish(Transfer& transfer, Outcome outcome);

  boost::asio::thread_pool& loader_;
  Logger& log_;
  std::chrono::milliseconds stall_timeout_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

}  // namespace deskline::daemon
