// Leveled logging to stderr. Under systemd (JOURNAL_STREAM set) lines carry
// sd-daemon "<N>" priority prefixes so journald keeps the level; otherwise a
// local timestamp. Log lines name their object: "line=Sales 1 call=…".
#pragma once

#include <atomic>
#include <string_view>

#include <fmt/format.h>

namespace deskline::daemon {

enum class LogLevel { debug = 0, info, warning, error };

// Returns false for an unknown name.
bool parse_log_level(std::string_view name, LogLevel& level);

class Logger {
 public:
  explicit Logger(LogLevel minimum = LogLevel::info);
  // Any thread: a reload changes the level while the other threads log.
  void set_minimum(LogLevel minimum) { minimum_.store(minimum, std::memory_order_relaxed); }
  bool enabled(LogLevel level) const { return level >= minimum_.load(std::memory_order_relaxed); }
  void write(LogLevel level, std::string_view message);

  template <typename... Args>
  void debug(fmt::format_string<Args...> format, Args&&... args) {
    if (enabled(LogLevel::debug)) write(LogLevel::debug, fmt::format(format, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void info(fmt::format_string<Args...> format, Args&&... args) {
    if (enabled(LogLevel::info)) write(LogLevel::info, fmt::format(format, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void warning(fmt::format_string<Args...> format, Args&&... args) {
    if (enabled(LogLevel::warning)) write(LogLevel::warning, fmt::format(format, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void error(fmt::format_string<Args...> format, Args&&... args) {
    if (enabled(LogLevel::error)) write(LogLevel::error, fmt::format(format, std::forward<Args>(args)...));
  }

 private:
  std::atomic<LogLevel> minimum_;
  bool journal_;
};

}  // namespace deskline::daemon
