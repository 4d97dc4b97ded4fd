#include "daemon/core/log.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <vector>

namespace deskline::daemon {

bool parse_log_level(std::string_view name, LogLevel& level) {
  if (name == "debug") level = LogLevel::debug;
  else if (name == "info") level = LogLevel::info;
  else if (name == "warning") level = LogLevel::warning;
  else if (name == "error") level = LogLevel::error;
  else return false;
  return true;
}

namespace {

bool is_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

// The word (up to a space or the end) after key, where key starts a word.
std::string_view word_after(std::string_view message, std::string_view key) {
  for (auto at = message.find(key); at != std::string_view::npos; at = message.find(key, at + 1)) {
    if (at != 0 && message[at - 1] != ' ') continue;
    const auto value = message.substr(at + key.size());
    return value.substr(0, value.find(' '));
  }
  return {};
}

// Whether stderr is the journal stream systemd connected: JOURNAL_STREAM is
// "DEVICE:INODE" of it, and is inherited by children whose stderr is elsewhere.
bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  unsigned long long device = 0, inode = 0;
  struct stat status {};
  return stream && std::sscanf(stream, "%llu:%llu", &device, &inode) == 2 && ::fstat(STDERR_FILENO, &status) == 0 &&
         status.st_dev == device && status.st_ino == inode;
}

// One record in the journal's native protocol (systemd.io/JOURNAL_NATIVE_PROTOCOL),
// one datagram to journald's socket: "KEY=value\n" per field, or for a value
// with a newline "KEY\n", its length as 64-bit little-endian, the value, "\n".
// Written here rather than through libsystemd, which would load its own
// dependencies into every program that logs (the CLI too).
bool send_to_journal(const std::vector<std::pair<std::string_view, std::string_view>>& fields) {
  static const int journal = [] {
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, "/run/systemd/journal/socket", sizeof address.sun_path - 1);
    if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }();
  if (journal < 0) return false;
  std::string record;
  for (const auto& [key, value] : fields) {
    record += key;
    if (value.find('\n') == std::string_view::npos) {
      record += '=';
    } else {
      record += '\n';
      const std::uint64_t size = value.size();
      for (int byte = 0; byte < 8; ++byte) record += static_cast<char>((size >> (8 * byte)) & 0xff);
    }
    record += value;
    record += '\n';
  }
  return ::send(journal, record.data(), record.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(record.size());
}

}  // namespace

LogFields log_fields(std::string_view message) {
  LogFields fields;
  if (const auto call = word_after(message, "call="); is_uuid(call)) fields.call_id = call;
  for (auto at = message.find("line="); at != std::string_view::npos; at = message.find("line=", at + 1)) {
    if (at != 0 && message[at - 1] != ' ') continue;
    auto value = message.substr(at + 5);
    const auto call = value.find(" call=");
    fields.line = value.substr(0, call != std::string_view::npos ? call : value.find(' '));
    break;
  }
  fields.box = word_after(message, "box=");
  if (fields.box.empty() && message.starts_with("box ")) fields.box = word_after(message, "box ");
  return fields;
}

Logger::Logger(LogLevel minimum) : minimum_(minimum), journal_(stderr_is_journal()) {}

void Logger::write(LogLevel level, std::string_view message) {
  static std::mutex output_mutex;
  static constexpr const char* names[] = {"debug", "info", "warning", "error"};
  static constexpr int syslog_priorities[] = {7, 6, 4, 3};
  const auto index = static_cast<int>(level);
  std::string line;
  if (journal_) {
    const auto fields = log_fields(message);
    const auto priority = std::to_string(syslog_priorities[index]);
    std::vector<std::pair<std::string_view, std::string_view>> record = {
        {"MESSAGE", message}, {"PRIORITY", priority}, {"SYSLOG_IDENTIFIER", "desklined"}};
    if (!fields.call_id.empty()) record.emplace_back("CALL_ID", fields.call_id);
    if (!fields.line.empty()) record.emplace_back("LINE", fields.line);
    if (!fields.box.empty()) record.emplace_back("BOX", fields.box);
    if (send_to_journal(record)) return;
    line = fmt::format("<{}>{}\n", syslog_priorities[index], message);  // the journal refused it: its stream
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
