#include "tools/sim/child_supervisor.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <string>

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

// "SIGTERM" for SIGTERM (the trace's spelling).
std::string signal_name(int signal_number) {
  const char* abbreviation = sigabbrev_np(signal_number);
  return abbreviation ? std::string("SIG") + abbreviation : std::to_string(signal_number);
}

}  // namespace

ChildSupervisor::ChildSupervisor(Settings settings, int signal_fd, std::vector<std::unique_ptr<UsbBox>>& boxes,
                                 Trace& trace)
    : settings_(std::move(settings)),
      signal_fd_(signal_fd),
      runner_fd_(eventfd(0, EFD_CLOEXEC)),
      restart_fd_(eventfd(0, EFD_CLOEXEC)),
      stall_fd_(eventfd(0, EFD_CLOEXEC)),
      boxes_(boxes),
      trace_(trace) {}

ChildSupervisor::~ChildSupervisor() {
  if (runner_fd_ >= 0) close(runner_fd_);
  if (restart_fd_ >= 0) close(restart_fd_);
  if (stall_fd_ >= 0) close(stall_fd_);
}

void ChildSupervisor::runner_done(RunnerOutcome outcome) {
  outcome_ = outcome;
  wake(runner_fd_);
}

void ChildSupervisor::request_restart(proto::scenario::StopSignal signal) {
  restart_signal_ = signal == proto::scenario::StopSignal::kill ? SIGKILL : SIGTERM;
  wake(restart_fd_);
}

void ChildSupervisor::request_stall(bool stalled) {
  stall_wanted_ = stalled;
  wake(stall_fd_);
}

void ChildSupervisor::send_and_trace(int signal_number, const char* why) {
  child_.signal(signal_number);
  trace_.write({{"kind", "child_signal"}, {"pid", child_.pid()}, {"signal", signal_name(signal_number)}, {"why", why}});
}

void ChildSupervisor::signal_child(int signal_number, const char* why) {
  if (!child_.running()) return;
  if (stalled_) {
    send_and_trace(SIGCONT, "stall cut short");
    stalled_ = false;
  }
  if (stop_signal_ == 0) {
    stop_signal_ = signal_number;
    stop_signal_ns_ = monotonic_ns();
  }
  send_and_trace(signal_number, why);
}

void ChildSupervisor::apply_stall() {
  drain(stall_fd_);
  const bool wanted = stall_wanted_;
  // A child on its way out (or a cut-short stall) is not stopped again.
  if (wanted == stalled_ || !child_.running() || (wanted && (ending_ || restart_pending_))) return;
  stalled_ = wanted;
  log("stall: {} the child (pid {})", wanted ? "stopping" : "continuing", child_.pid());
  send_and_trace(wanted ? SIGSTOP : SIGCONT, wanted ? "stall" : "stall over");
}

nlohmann::json ChildSupervisor::stop_fields(Nanoseconds exited_ns) const {
  nlohmann::json fields{{"stop_signal", nullptr}, {"after_signal_ms", nullptr}, {"killed", killed_}};
  if (stop_signal_ != 0) {
    fields["stop_signal"] = signal_name(stop_signal_);
    // Rounded to the microsecond, like t_real.
    fields["after_signal_ms"] = std::round(static_cast<double>(exited_ns - stop_signal_ns_) / 1e3) / 1e3;
  }
  return fields;
}

void ChildSupervisor::trace_exit(int status, Nanoseconds exited_ns) {
  auto event = stop_fields(exited_ns);
  if (stop_signal_ != 0)
    log("child pid {} exited with status {} {:.1f} ms after {}{}", child_.pid(), exit_code_of(status),
        event["after_signal_ms"].get<double>(), signal_name(stop_signal_), killed_ ? " (killed: SIGKILL)" : "");
  event["kind"] = "child_exit";
  event["pid"] = child_.pid();
  event["exit_code"] = exit_code_of(status);
  trace_.write(std::move(event));
}

void ChildSupervisor::end_child(const char* why) {
  ending_ = true;
  if (kill_deadline_ || !child_.running()) return;  // already being stopped
  log("{}: sending SIGTERM to the child (pid {})", why, child_.pid());
  signal_child(SIGTERM, why);
  kill_deadline_ = monotonic_ns() + child_grace_ns;
}

void ChildSupervisor::stop_for_restart() {
  if (ending_ || restart_pending_ || !child_.running()) return;
  const int signal_number = restart_signal_.load();
  log("restart: sending {} to the child (pid {}); the boxes stay powered", strsignal(signal_number), child_.pid());
  signal_child(signal_number, "restart");
  restart_pending_ = true;
  kill_deadline_ = monotonic_ns() + child_grace_ns;
}

bool ChildSupervisor::start_again(int old_status, Nanoseconds exited_ns) {
  const pid_t old_pid = child_.pid();
  auto event = stop_fields(exited_ns);
  restart_pending_ = false;
  kill_deadline_.reset();
  for (auto& box : boxes_) box->host_exited();
  if (!spawn()) return false;
  stop_signal_ = 0;
  killed_ = false;
  stalled_ = false;
  log("restart: child pid {} exited with status {} ({} ms after the signal); started it again as pid {}", old_pid,
      exit_code_of(old_status), event["after_signal_ms"].dump(), child_.pid());
  event["kind"] = "child_restart";
  event["old_pid"] = old_pid;
  event["exit_code"] = exit_code_of(old_status);
  event["pid"] = child_.pid();
  trace_.write(std::move(event));
  return true;
}

void ChildSupervisor::on_signal() {
  signalfd_siginfo info{};
  if (read(signal_fd_, &info, sizeof info) != sizeof info || info.ssi_signo == SIGCHLD) return;
  log("got {}: forwarding it to the child", strsignal(static_cast<int>(info.ssi_signo)));
  signal_child(static_cast<int>(info.ssi_signo), "forwarded");
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
      const Nanoseconds exited_ns = monotonic_ns();  // reaped just now (or by the grace check below)
      if (ending_ || !restart_pending_) {
        trace_exit(*status, exited_ns);
        break;
      }
      if (!start_again(*status, exited_ns)) {
        trace_exit(*status, exited_ns);  // it stays gone
        return SupervisionEnd::restart_failed;
      }
      continue;
    }
    int timeout_ms = -1;
    if (kill_deadline_)
      timeout_ms = static_cast<int>(std::max<Nanoseconds>(0, *kill_deadline_ - monotonic_ns()) / 1'000'000);
    pollfd fds[4] = {{signal_fd_, POLLIN, 0}, {runner_fd_, POLLIN, 0}, {restart_fd_, POLLIN, 0}, {stall_fd_, POLLIN, 0}};
    const int ready = ::poll(fds, 4, timeout_ms);
    if (ready < 0 && errno != EINTR) {
      trace_exit(child_status(), monotonic_ns());
      break;
    }
    if (fds[0].revents & POLLIN) on_signal();
    if (fds[2].revents & POLLIN) {
      drain(restart_fd_);
      stop_for_restart();
    }
    if (fds[3].revents & POLLIN) apply_stall();
    if (fds[1].revents & POLLIN) on_runner_done();
    if (kill_deadline_ && monotonic_ns() >= *kill_deadline_ && !child_.poll()) {
      log("the child ignored {} for 10 s: SIGKILL", signal_name(stop_signal_));
      killed_ = true;
      signal_child(SIGKILL, "grace period over");
      kill_deadline_ = monotonic_ns() + 3600 * nanoseconds_per_second;
    }
  }
  return start_failed_ ? SupervisionEnd::start_timeout : SupervisionEnd::child_exited;
}

}  // namespace deskline::sim
