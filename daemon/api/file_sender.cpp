#include "daemon/api/file_sender.hpp"

#include <pthread.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "daemon/core/thread_priority.hpp"

namespace deskline::daemon {

namespace asio = boost::asio;

namespace {

std::error_code last_error() { return {errno, std::generic_category()}; }

// sendfile(2) has no MSG_NOSIGNAL: to a client that has gone it raises
// SIGPIPE, which kills a process that does not ignore it. Blocked on this
// thread, the signal stays pending here and sendfile fails with EPIPE, so the
// sender does not depend on the rest of the process ignoring SIGPIPE.
void block_sigpipe_on_this_thread() {
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
}

FileSender::Outcome socket_failed(std::error_code error) { return {.file_error = {}, .socket_error = error}; }
FileSender::Outcome file_failed(std::error_code error) { return {.file_error = error, .socket_error = {}}; }

}  // namespace

struct FileSender::Transfer {
  Transfer(asio::io_context& io, Job job_, asio::io_context& reply_to_, Done done_)
      : waiter(io), stall(io), job(std::move(job_)), reply_to(reply_to_), done(std::move(done_)) {}
  // A transfer dropped by stop() leaves the descriptor to its session too.
  ~Transfer() {
    if (waiter.is_open()) waiter.release();
  }

  // Watches the connection once the socket is full (most files go out
  // without a wait); released, never closed, at the end: it is the session's.
  asio::posix::stream_descriptor waiter;
  asio::steady_timer stall;  // the client taking nothing
  Job job;
  asio::io_context& reply_to;
  Done done;
  std::size_t head_sent = 0;
  bool loading = false, awaiting_socket = false, finished = false;
  std::uint64_t stall_generation = 0;  // a stall timer armed before this is void
};

FileSender::FileSender(asio::thread_pool& loader, Logger& log, std::chrono::milliseconds stall_timeout)
    : loader_(loader), log_(log), stall_timeout_(stall_timeout), work_(io_.get_executor()), thread_([this] {
        block_sigpipe_on_this_thread();
        become_bulk_thread("desklined-send", log_);
        io_.run();
      }) {}

FileSender::~FileSender() { stop(); }

void FileSender::stop() {
  if (!thread_.joinable()) return;
  work_.reset();
  io_.stop();
  thread_.join();
}

void FileSender::send(Job job, asio::io_context& reply_to, Done done) {
  asio::post(io_, [this, job = std::move(job), &reply_to, done = std::move(done)]() mutable {
    auto transfer = std::make_shared<Transfer>(io_, std::move(job), reply_to, std::move(done));
    send_loaded(transfer);
  });
}

// Sends the head, then what is loaded, until the socket is full (then waits
// for it) or nothing loaded is left (then the file worker's load goes on).
void FileSender::send_loaded(const std::shared_ptr<Transfer>& transfer) {
  auto& job = transfer->job;
  if (job.loaded_end - job.next < load_ahead_bytes) load_next(transfer);
  const int socket = job.socket;
  // MSG_MORE: the kernel holds the head until the body's first bytes join it.
  while (transfer->head_sent < job.head.size()) {
    const ssize_t sent = ::send(socket, job.head.data() + transfer->head_sent, job.head.size() - transfer->head_sent,
                                MSG_MORE | MSG_NOSIGNAL);
    if (sent >= 0) {
      transfer->head_sent += static_cast<std::size_t>(sent);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return await_socket(transfer);
    return finish(*transfer, socket_failed(last_error()));
  }
  while (job.next < job.loaded_end) {
    auto offset = static_cast<off_t>(job.next);
    const ssize_t sent =
        ::sendfile(socket, job.reader->fd(), &offset, static_cast<std::size_t>(job.loaded_end - job.next));
    if (sent > 0) {
      job.next += static_cast<std::uint64_t>(sent);
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return await_socket(transfer);
    // The file ended before the length its row (and the head) promised.
    if (sent == 0) return finish(*transfer, file_failed(RecordingReadError::changed));
    return finish(*transfer, socket_failed(last_error()));
  }
  if (job.next == job.end) return finish(*transfer, {});
  load_next(transfer);  // everything loaded is out: the load's answer goes on
}

void FileSender::load_next(const std::shared_ptr<Transfer>& transfer) {
  auto& job = transfer->job;
  if (transfer->loading || job.loaded_end >= job.end) return;
  const auto from = job.loaded_end;
  const auto length = std::min(load_ahead_bytes, job.end - from);
  transfer->loading = true;
  asio::post(loader_, [this, transfer, from, length] {
    const auto error = transfer->job.reader->load(from, length);
    asio::post(io_, [this, transfer, length, error] {
      transfer->loading = false;
      if (transfer->finished) return;
      if (error) return finish(*transfer, file_failed(error));
      transfer->job.loaded_end += length;
      if (!transfer->awaiting_socket) send_loaded(transfer);
    });
  });
}

void FileSender::await_socket(const std::shared_ptr<Transfer>& transfer) {
  if (!transfer->waiter.is_open()) {
    boost::system::error_code error;
    transfer->waiter.assign(transfer->job.socket, error);
    if (error) return finish(*transfer, socket_failed({error.value(), std::generic_category()}));
  }
  transfer->awaiting_socket = true;
  const auto generation = ++transfer->stall_generation;
  transfer->stall.expires_after(stall_timeout_);
  transfer->stall.async_wait([transfer, generation](boost::system::error_code error) {
    if (error || generation != transfer->stall_generation || transfer->finished) return;
    finish(*transfer, socket_failed(std::make_error_code(std::errc::timed_out)));
  });
  transfer->waiter.async_wait(asio::posix::stream_descriptor::wait_write,
                              [this, transfer](boost::system::error_code error) {
                                ++transfer->stall_generation;
                                transfer->stall.cancel();
                                transfer->awaiting_socket = false;
                                if (transfer->finished) return;
                                if (error)
                                  return finish(*transfer, socket_failed({error.value(), std::generic_category()}));
                                send_loaded(transfer);
                              });
}

void FileSender::finish(Transfer& transfer, Outcome outcome) {
  if (transfer.finished) return;
  transfer.finished = true;
  transfer.stall.cancel();
  if (transfer.waiter.is_open()) {
    boost::system::error_code ignored;
    transfer.waiter.cancel(ignored);
    transfer.waiter.release();
  }
  asio::post(transfer.reply_to, [done = std::move(transfer.done), outcome] { done(outcome); });
}

}  // namespace deskline::daemon
