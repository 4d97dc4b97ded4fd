#include "daemon/core/log.hpp"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

namespace deskline::daemon {

bool parse_log_level(std::string_view name, LogLevel& level) {
  if (name == "debug") level = LogLevel::debug;
  else if (name == "info") level = LogLevel::info;
  else if (name == "warning") level = LogLevel::warning;
  else if (name == "error") level = LogLevel::error;
  else return false;
  return true;
}

Logger::Logger(LogLevel minimum) : minimum_(minimum), journal_(std::getenv("JOURNAL_STREAM") != nullptr) {}

void Logger::write(LogLevel level, std::string_view message) {
  static std::mutex output_mutex;
  static constexpr const char* names[] = {"debug", "info", "warning", "error"};
  static constexpr int syslog_priorities[] = {7, 6, 4, 3};
  const auto index = static_cast<int>(level);
  std::string line;
  if (journal_) {
    line = fmt::format("<{}>{}\n", syslog_priorities[index], message);
  } else {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    tm local{};
    localtime_r(&now.tv_sec, &local);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%H:%M:%S", &local);
    line = fmt::format("{}.{:03} desklined {}: {}\n", stamp, now.tv_nsec / 1'000'000, names[index], message);
  }
  std::lock_guard lock(output_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace deskline::daemon
