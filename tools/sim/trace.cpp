#include "tools/sim/trace.hpp"

#include <cmath>

#include "tools/sim/clock.hpp"

namespace deskline::sim {

Trace::~Trace() {
  if (file_) std::fclose(file_);
}

bool Trace::open(const std::string& path) {
  file_ = std::fopen(path.c_str(), "w");
  return file_ != nullptr;
}

void Trace::write(nlohmann::json event) {
  if (!file_) return;
  // Rounded to the microsecond so the printed float is exactly what was measured.
  event["t_real"] = std::round(realtime_s() * 1e6) / 1e6;
  std::string line = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line.push_back('\n');
  std::lock_guard lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), file_);
  // Line-buffered by hand: tests tail the file while the simulator runs.
  std::fflush(file_);
}

}  // namespace deskline::sim
