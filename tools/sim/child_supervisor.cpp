#include "tools/sim/child_supervisor.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>

#include "tools/sim/log.hpp"

namespace deskline::sim {

namespace {

constexpr Nanoseconds child_grace_ns = 10 * nanoseconds_per_second;

void wake(int event_fd) {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto written = write(event_fd, &one, sizeof one);
}

void drain(int event_fd) {
  std::uint64_t count = 0;
  [[maybe_unused]] auto got = read(event_fd, &count, sizeof count);
}

}  // namespace

ChildSupervisor::ChildSupervisor(Settings settings, int signal_fd, std::vector<std::unique_ptr<UsbBox>>& boxes,
                                 Trace& trace)
    : settings_(std::move(settings)),
      signal_fd_(signal_fd),
      runner_fd_(eventfd(0, EFD_CLOEXEC)),
      restart_fd_(eventfd(0, EFD_CLOEXEC)),
      boxes_(boxes),
      trace_(trace) {}

ChildSupervisor::~ChildSupervisor() {
  if (runner_fd_ >= 0) close(runner_fd_);
  if (restart_fd_ >= 0) close(restart_fd_);
}

void ChildSupervisor::runner_done(RunnerOutcome outcome) {
  outcome_ = outcome;
  wake(runner_fd_);
}

void ChildSupervisor::request_restart(proto::scenario::StopSignal signal) {
  restart_signal_ = signal == proto::scenario::StopSignal::kill ? SIGKILL : SIGTERM;
  wake(restart_fd_);
}

void ChildSupervisor::end_child(const char* why) {
  ending_ = true;
  if (kill_deadline_ || !child_.running()) return;  // already being stopped
  log("{}: sending SIGTERM to the child (pid {})", why, child_.pid());
  child_.signal(SIGTERM);
  kill_deadline_ = monotonic_ns() + child_grace_ns;
}

void ChildSupervisor::stop_for_restart() {
  if (ending_ || restart_pending_ || !child_.running()) return;
  const int signal_number = restart_signal_.load();
  log("restart: sending {} to the child (pid {}); the boxes stay powered", strsignal(signal_number), child_.pid());
  child_.signal(signal_number);
  restart_pending_ = true;
  kill_deadline_ = monotonic_ns() + child_grace_ns;
}

bool ChildSupervisor::start_again(int old_status) {
  const pid_t old_pid = child_.pid();
  restart_pending_ = false;
  kill_deadline_.reset();
  for (auto& box : boxes_) box->host_exited();
  if (!spawn()) return false;
  log("restart: child pid {} exited with status {}; started it again as pid {}", old_pid, exit_code_of(old_status),
      child_.pid());
  trace_.write(
      {{"kind", "child_restart"}, {"old_pid", old_pid}, {"exit_code", exit_code_of(old_status)}, {"pid", child_.pid()}});
  return true;
}

void ChildSupervisor::on_signal() {
  signalfd_siginfo info{};
  if (read(signal_fd_, &info, sizeof info) != sizeof info || info.ssi_signo == SIGCHLD) return;
  log("got {}: forwarding it to the child", strsignal(static_cast<int>(info.ssi_signo)));
  child_.signal(static_cast<int>(info.ssi_signo));
  ending_ = true;
  if (!kill_deadline_) kill_deadline_ = monotonic_ns() + child_grace_ns;
}

void ChildSupervisor::on_runner_done() {
  drain(runner_fd_);
  if (outcome_ == RunnerOutcome::start_timeout) {
    start_failed_ = true;
    log("the host did not open every plugged box within {} s (--start-timeout)", settings_.start_timeout_s);
    end_child("start timeout");
  } else if (outcome_ == RunnerOutcome::finished) {
    if (settings_.keep_running) log("scenario done; --keep-running: waiting for the child to exit");
    else end_child("scenario done");
  }
}

SupervisionEnd ChildSupervisor::run() {
  while (true) {
    if (const auto status = child_.poll()) {
      if (ending_ || !restart_pending_) break;
      if (!start_again(*status)) return SupervisionEnd::restart_failed;
      continue;
    }
    int timeout_ms = -1;
    if (kill_deadline_)
      timeout_ms = static_cast<int>(std::max<Nanoseconds>(0, *kill_deadline_ - monotonic_ns()) / 1'000'000);
    pollfd fds[3] = {{signal_fd_, POLLIN, 0}, {runner_fd_, POLLIN, 0}, {restart_fd_, POLLIN, 0}};
    const int ready = ::poll(fds, 3, timeout_ms);
    if (ready < 0 && errno != EINTR) break;
    if (fds[0].revents & POLLIN) on_signal();
    if (fds[2].revents & POLLIN) {
      drain(restart_fd_);
      stop_for_restart();
    }
    if (fds[1].revents & POLLIN) on_runner_done();
    if (kill_deadline_ && monotonic_ns() >= *kill_deadline_ && !child_.poll()) {
      log("the child ignored SIGTERM for 10 s: SIGKILL");
      child_.signal(SIGKILL);
      kill_deadline_ = monotonic_ns() + 3600 * nanoseconds_per_second;
    }
  }
  return start_failed_ ? SupervisionEnd::start_timeout : SupervisionEnd::child_exited;
}

}  // namespace deskline::sim
