#include "tools/sim/log.hpp"

#include <cstdio>
#include <mutex>
#include <string>

namespace deskline::sim {

void log_line(std::string_view message) {
  static std::mutex mutex;
  std::string line = "deskline-sim: ";
  line.append(message);
  line.push_back('\n');
  std::lock_guard lock(mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace deskline::sim
