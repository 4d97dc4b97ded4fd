// The program under test: started with the testbed's environment, signalled
// and reaped by the simulator's main thread.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace deskline::sim {

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // environment: complete "NAME=value" list. May be called again once the
  // previous child has been reaped (poll() returned its status). The child gets default signal
  // dispositions and an empty signal mask, and dies with the simulator
  // (PR_SET_PDEATHSIG) so a crashed simulator leaves nothing behind.
  bool spawn(const std::vector<std::string>& command, const std::vector<std::string>& environment);
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !status_; }
  void signal(int signal_number) const;
  // Reaps the child if it has exited; returns its raw wait status then.
  std::optional<int> poll();
  std::optional<int> status() const { return status_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// Exit code for the simulator from a wait status: the child's exit code, or
// 128 + signal number when a signal killed it (as shells report it).
int exit_code_of(int wait_status);

// "NAME=value" pairs of the current environment with overrides applied:
// set replaces (or adds) a variable.
std::vector<std::string> environment_with(const std::vector<std::pair<std::string, std::string>>& set);

}  // namespace deskline::sim
