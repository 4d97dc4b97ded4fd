#include "tools/cli/subprocess.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

extern char** environ;

namespace deskline::tools {

pid_t spawn(const std::vector<std::string>& argv, const SpawnOptions& options) {
  std::vector<char*> arguments;
  for (const auto& argument : argv) arguments.push_back(const_cast<char*>(argument.c_str()));
  arguments.push_back(nullptr);

  std::vector<std::string> environment_storage;
  for (char** entry = environ; *entry; ++entry) environment_storage.emplace_back(*entry);
  for (const auto& extra : options.environment) {
    const auto name = extra.substr(0, extra.find('=') + 1);
    std::erase_if(environment_storage, [&](const std::string& entry) { return entry.starts_with(name); });
    environment_storage.push_back(extra);
  }
  std::vector<char*> environment;
  for (auto& entry : environment_storage) environment.push_back(entry.data());
  environment.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (options.stdin_fd >= 0) posix_spawn_file_actions_adddup2(&actions, options.stdin_fd, STDIN_FILENO);
  if (options.stdout_fd >= 0) posix_spawn_file_actions_adddup2(&actions, options.stdout_fd, STDOUT_FILENO);
  if (options.stdout_path)
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, options.stdout_path->c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (options.stderr_path)
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, options.stderr_path->c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, arguments[0], &actions, nullptr, arguments.data(), environment.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    errno = rc;
    return -1;
  }
  return pid;
}

std::optional<int> wait_for(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    } else if (done < 0 && errno != EINTR) {
      return 255;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int run_capture(const std::vector<std::string>& argv, std::string& output,
                const std::vector<std::string>& environment) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return 255;
  SpawnOptions options;
  options.environment = environment;
  options.stdout_fd = pipe_fds[1];
  const pid_t pid = spawn(argv, options);
  ::close(pipe_fds[1]);
  if (pid < 0) {
    ::close(pipe_fds[0]);
    return 255;
  }
  char buffer[4096];
  ssize_t count;
  while ((count = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0 || (count < 0 && errno == EINTR))
    if (count > 0) output.append(buffer, static_cast<std::size_t>(count));
  ::close(pipe_fds[0]);
  return wait_for(pid, std::chrono::hours(1)).value_or(255);
}

std::filesystem::path executable_dir() {
  std::error_code error;
  auto path = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::filesystem::current_path() : path.parent_path();
}

}  // namespace deskline::tools
