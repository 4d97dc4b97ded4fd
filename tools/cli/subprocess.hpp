// Starting and waiting for child processes (the demo runs the simulator and
// the daemon; integration tests run them the same way).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace deskline::tools {

struct SpawnOptions {
  std::vector<std::string> environment;  // extra NAME=VALUE entries
  std::optional<std::filesystem::path> stdout_path;  // else inherited
  std::optional<std::filesystem::path> stderr_path;
  int stdout_fd = -1;  // dup'ed onto the child's stdout when >= 0
  int stdin_fd = -1;   // dup'ed onto the child's stdin when >= 0, else inherited
};

// Returns the child's pid, or -1 with errno set.
pid_t spawn(const std::vector<std::string>& argv, const SpawnOptions& options = {});

// Exit status (0-255), 128+signal when killed, nullopt if still running at the timeout.
std::optional<int> wait_for(pid_t pid, std::chrono::milliseconds timeout);

// Runs to completion, capturing stdout. Returns the exit status.
int run_capture(const std::vector<std::string>& argv, std::string& output,
                const std::vector<std::string>& environment = {});

// The folder of the running executable (for finding sibling binaries).
std::filesystem::path executable_dir();

}  // namespace deskline::tools
