#include <filesystem>
#include "tools/sim/child_process.hpp"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>

#include "tools/sim/log.hpp"

extern char** environ;

namespace deskline::sim {
namespace {

// PATH lookup done before fork(): only async-signal-safe calls may follow it.
std::string resolve_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string directories = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::string_view rest = directories;
  while (true) {
    const auto end = rest.find(':');
    const std::string_view directory = rest.substr(0, end);
    std::filesystem::path candidate = directory.empty() ? std::filesystem::path(".") : std::filesystem::path(directory);
    candidate /= name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
    if (end == std::string_view::npos) return name;
    rest.remove_prefix(end + 1);
  }
}

}  // namespace

bool ChildProcess::spawn(const std::vector<std::string>& command, const std::vector<std::string>& environment) {
  if (command.empty()) return false;
  status_.reset();  // a restart reuses the object once the previous child was reaped
  const std::string program = resolve_program(command[0]);
  std::vector<char*> arguments;
  for (const auto& argument : command) arguments.push_back(const_cast<char*>(argument.c_str()));
  arguments.push_back(nullptr);
  std::vector<char*> variables;
  for (const auto& variable : environment) variables.push_back(const_cast<char*>(variable.c_str()));
  variables.push_back(nullptr);
  const pid_t parent = getpid();

  pid_ = fork();
  if (pid_ < 0) {
    log("cannot fork: {}", std::strerror(errno));
    return false;
  }
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);  // the simulator died before prctl took effect
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    for (int signal_number : {SIGPIPE, SIGINT, SIGTERM, SIGCHLD, SIGHUP, SIGQUIT})
      sigaction(signal_number, &default_action, nullptr);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(program.c_str(), arguments.data(), variables.data());
    const char message[] = "deskline-sim: cannot execute the command\n";
    [[maybe_unused]] auto ignored = write(STDERR_FILENO, message, sizeof message - 1);
    _exit(127);
  }
  log("started {} (pid {})", command[0], pid_);
  return true;
}

void ChildProcess::signal(int signal_number) const {
  if (pid_ > 0 && !status_) kill(pid_, signal_number);
}

std::optional<int> ChildProcess::poll() {
  if (pid_ <= 0 || status_) return status_;
  int wait_status = 0;
  const pid_t result = waitpid(pid_, &wait_status, WNOHANG);
  if (result == pid_) status_ = wait_status;
  return status_;
}

int exit_code_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

std::vector<std::string> environment_with(const std::vector<std::pair<std::string, std::string>>& set) {
  std::map<std::string, std::string> overrides(set.begin(), set.end());
  std::vector<std::string> result;
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string variable(*entry);
    const auto equals = variable.find('=');
    const std::string name = variable.substr(0, equals);
    if (overrides.count(name)) continue;
    result.push_back(std::move(variable));
  }
  for (const auto& [name, value] : set) result.push_back(name + "=" + value);
  return result;
}

}  // namespace deskline::sim
