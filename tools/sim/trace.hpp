// --trace FILE: one JSON object per line for every scenario action executed,
// every report delivered to the host and every command received. Each line
// gets "t_real" (CLOCK_REALTIME seconds, microsecond resolution) when written.
// Thread-safe: the runner, the USB handler and the audio writer all write.
#pragma once

#include <cstdio>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace deskline::sim {

class Trace {
 public:
  Trace() = default;
  ~Trace();
  Trace(const Trace&) = delete;
  Trace& operator=(const Trace&) = delete;

  // Returns false (with errno set) when the file cannot be created.
  bool open(const std::string& path);
  bool enabled() const { return file_ != nullptr; }
  void write(nlohmann::json event);

 private:
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
};

}  // namespace deskline::sim
