// The simulator's main-thread loop around the program under test: starts it,
// forwards the simulator's signals to it, ends it when the scenario is done
// (SIGTERM, then SIGKILL after a grace period), and restarts it on the
// scenario's "restart" action while the boxes stay powered, and stops and
// continues it for the "stall" action (SIGSTOP, SIGCONT). Traces every
// signal it sends the child (child_signal) and how long each child took to
// exit after the first of them (child_restart, child_exit).
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "proto/scenario.hpp"
#include "tools/sim/child_process.hpp"
#include "tools/sim/clock.hpp"
#include "tools/sim/scenario_runner.hpp"
#include "tools/sim/trace.hpp"
#include "tools/sim/usb_box.hpp"

namespace deskline::sim {

enum class SupervisionEnd { child_exited, start_timeout, restart_failed, spawn_failed };

class ChildSupervisor {
 public:
  struct Settings {
    std::vector<std::string> command;
    std::vector<std::string> environment;  // complete "NAME=value" list
    double start_timeout_s = 15;           // for the log message only: the runner enforces it
    bool keep_running = false;             // after the scenario, wait for the child to exit by itself
  };

  // signal_fd: a signalfd of the signals the simulator handles (SIGCHLD among them).
  ChildSupervisor(Settings settings, int signal_fd, std::vector<std::unique_ptr<UsbBox>>& boxes, Trace& trace);
  ~ChildSupervisor();
  ChildSupervisor(const ChildSupervisor&) = delete;
  ChildSupervisor& operator=(const ChildSupervisor&) = delete;

  bool ready() const { return runner_fd_ >= 0 && restart_fd_ >= 0 && stall_fd_ >= 0; }
  bool spawn() { return child_.spawn(settings_.command, settings_.environment); }

  // Called on the runner thread; they only wake the main thread.
  void runner_done(RunnerOutcome outcome);
  void request_restart(proto::scenario::StopSignal signal);
  // true: SIGSTOP the child; false: SIGCONT it.
  void request_stall(bool stalled);

  // Runs until the child has exited for good; its wait status is child_status().
  SupervisionEnd run();
  int child_status() { return child_.poll().value_or(0); }

 private:
  void end_child(const char* why);
  void stop_for_restart();
  bool start_again(int old_status, Nanoseconds exited_ns);
  // Sends a signal to the child and traces it; the first one starts its stop
  // time. A stalled child is continued first, so that it can act on it.
  void signal_child(int signal_number, const char* why);
  void send_and_trace(int signal_number, const char* why);
  void apply_stall();
  // after_signal_ms, stop_signal and killed of the child that exited at exited_ns.
  nlohmann::json stop_fields(Nanoseconds exited_ns) const;
  void trace_exit(int status, Nanoseconds exited_ns);
  void on_signal();
  void on_runner_done();

  Settings settings_;
  int signal_fd_;
  int runner_fd_;
  int restart_fd_;
  int stall_fd_;
  std::vector<std::unique_ptr<UsbBox>>& boxes_;
  Trace& trace_;
  ChildProcess child_;
  std::atomic<RunnerOutcome> outcome_{RunnerOutcome::stopped};
  std::atomic<int> restart_signal_{0};
  std::atomic<bool> stall_wanted_{false};
  bool stalled_ = false;  // the child is stopped by SIGSTOP
  std::optional<Nanoseconds> kill_deadline_;
  bool start_failed_ = false;
  bool ending_ = false;           // the run is over once the child exits
  bool restart_pending_ = false;  // the child is being stopped to start again
  // The current child's stop: the first signal sent to end it (0: none yet),
  // when, and whether the grace period ran out so that it had to be killed.
  int stop_signal_ = 0;
  Nanoseconds stop_signal_ns_ = 0;
  bool killed_ = false;
};

}  // namespace deskline::sim
