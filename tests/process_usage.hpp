// What a running process uses, read from /proc: for tests and benchmarks
// that watch the daemon (CPU under a flood, memory during a drain).
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace deskline::testing {

// User plus system CPU time the process has used, in seconds (/proc/PID/stat;
// 0 when it is gone).
inline double cpu_seconds(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(file)), {});
  const auto name_end = stat.rfind(')');  // the name may hold spaces
  if (name_end == std::string::npos) return 0;
  std::istringstream fields(stat.substr(name_end + 2));
  std::string field;
  double ticks = 0;
  for (int index = 3; fields >> field && index <= 15; ++index)
    if (index >= 14) ticks += std::stod(field);  // utime, stime
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// A "VmRSS:"-style line of /proc/PID/status, in KiB (0 when gone).
inline long status_kib(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(key)) return std::strtol(line.c_str() + key.size(), nullptr, 10);
  return 0;
}

}  // namespace deskline::testing
