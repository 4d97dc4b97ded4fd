// Leveled logging. Under systemd, when stderr is the journal (JOURNAL_STREAM
// names it), each line goes to journald as a record with PRIORITY and the
// fields its text names (CALL_ID, LINE, BOX: journalctl CALL_ID=…), in the
// journal's native protocol; if that
// send fails, to stderr with an sd-daemon "<N>" priority prefix. Otherwise
// to stderr with a local timestamp. Log lines name their object:
// "line=Sales 1 call=…", "box X800-0001 …".
#pragma once

#include <atomic>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace deskline::daemon {

enum class LogLevel { debug = 0, info, warning, error };

// Returns false for an unknown name.
bool parse_log_level(std::string_view name, LogLevel& level);

// What a log line's text names, by the daemon's conventions: "call=UUID";
// "line=NAME" (up to " call=" when one follows, else one word); "box=SERIAL"
// or a leading "box SERIAL". Empty when not named.
struct LogFields {
  std::string call_id;
  std::string line;
  std::string box;
};
LogFields log_fields(std::string_view message);

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
