// The daemon's log as journal records under systemd: when stderr is the
// journal stream (JOURNAL_STREAM names it), each line is a record with
// PRIORITY and the CALL_ID, LINE and BOX its text names. Where journald runs,
// journalctl reads them back; elsewhere the test is journald: it binds the
// journal's socket and reads the records the daemon sends there, in the
// journal's native protocol.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "tests/integration/harness.hpp"

namespace deskline::testing {
namespace {

constexpr const char* journal_socket = "/run/systemd/journal/socket";

using Record = std::map<std::string, std::string>;

std::string field(const Record& record, const std::string& key) {
  const auto found = record.find(key);
  return found == record.end() ? "" : found->second;
}

// One datagram of the native protocol: "KEY=value\n" fields, or for binary
// values "KEY\n", a 64-bit little-endian length, the value and "\n".
Record parse_record(const std::string& datagram) {
  Record record;
  std::size_t at = 0;
  while (at < datagram.size()) {
    const auto end = datagram.find('\n', at);
    if (end == std::string::npos) break;
    const auto field = datagram.substr(at, end - at);
    if (const auto equals = field.find('='); equals != std::string::npos) {
      record[field.substr(0, equals)] = field.substr(equals + 1);
      at = end + 1;
      continue;
    }
    std::uint64_t size = 0;
    if (end + 1 + 8 > datagram.size()) break;
    std::memcpy(&size, datagram.data() + end + 1, 8);  // little-endian, as this host
    record[field] = datagram.substr(end + 9, size);
    at = end + 9 + size + 1;
  }
  return record;
}

// A journald stand-in on the journal's socket, reading records as they come
// (a full socket would make the daemon's sends wait).
class FakeJournal {
 public:
  FakeJournal() {
    created_folder_ = ::mkdir("/run/systemd", 0755) == 0;
    created_journal_folder_ = ::mkdir("/run/systemd/journal", 0755) == 0;
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const int buffer = 8 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, journal_socket, sizeof address.sun_path - 1);
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    timeval timeout{0, 100'000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    reader_ = std::thread([this] {
      std::vector<char> datagram(1 << 20);
      while (!stopping_) {
        const auto n = ::recv(fd_, datagram.data(), datagram.size(), 0);
        if (n <= 0) continue;
        auto record = parse_record(std::string(datagram.data(), static_cast<std::size_t>(n)));
        std::lock_guard lock(mutex_);
        records_.push_back(std::move(record));
      }
    });
  }
  ~FakeJournal() {
    stopping_ = true;
    reader_.join();
    ::close(fd_);
    if (bound_) ::unlink(journal_socket);
    if (created_journal_folder_) ::rmdir("/run/systemd/journal");
    if (created_folder_) ::rmdir("/run/systemd");
  }
  bool bound() const { return bound_; }
  std::vector<Record> records() const {
    std::lock_guard lock(mutex_);
    return records_;
  }

 private:
  int fd_ = -1;
  bool bound_ = false;
  bool created_folder_ = false;
  bool created_journal_folder_ = false;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::vector<Record> records_;
  std::thread reader_;
};

constexpr const char* one_call = R"(
box A serial=X800-JNL lines=1
at 1.0 A:1 ring cadence=1.0/2.0 count=1
at 1.2 A:1 callerid number=13812345678
at 2.0 A:1 offhook
at 4.0 A:1 onhook
at 120 end
)";  // the test stops it once the call is over

// The daemon's records in the running journald (journalctl's JSON; a binary
// value, an array of bytes, is left out).
std::vector<Record> journald_records(pid_t pid) {
  std::string output;
  tools::run_capture({"journalctl", "-o", "json", "--no-pager", fmt::format("_PID={}", pid)}, output);
  std::vector<Record> records;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    const auto entry = nlohmann::json::parse(line, nullptr, false);
    if (!entry.is_object()) continue;
    Record record;
    for (const auto& [key, value] : entry.items())
      if (value.is_string()) record[key] = value.get<std::string>();
    records.push_back(std::move(record));
  }
  return records;
}

TEST(Journal, EachLineIsARecordWithItsPriorityCallLineAndBox) {
  // Where a journald runs, the records are read back with journalctl;
  // elsewhere the test stands in for it, which needs root.
  struct stat existing {};
  const bool journald = ::stat(journal_socket, &existing) == 0;
  std::optional<FakeJournal> fake;
  if (!journald) {
    if (::geteuid() != 0) SKIP_OR_FAIL_MISSING() << "standing in for journald needs root (/run/systemd/journal)";
    fake.emplace();
    ASSERT_TRUE(fake->bound()) << std::strerror(errno);
  }

  Workspace workspace("journal");
  std::ofstream(workspace.log_path()).flush();  // the daemon's stderr, opened for appending: this inode
  struct stat log {};
  ASSERT_EQ(::stat(workspace.log_path().c_str(), &log), 0);
  ::setenv("JOURNAL_STREAM", fmt::format("{}:{}", log.st_dev, log.st_ino).c_str(), 1);
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(one_call));
  ::unsetenv("JOURNAL_STREAM");
  ASSERT_GT(simulator, 0);
  pid_t daemon = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        daemon = workspace.cli_json({"status", "--json"}).value("pid", 0);
        return daemon > 0;
      },
      std::chrono::seconds(30), "the daemon to answer"));
  const auto records = [&] { return fake ? fake->records() : journald_records(daemon); };

  // The call's "ended" line, as a record.
  Record ended;
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& record : records())
          if (field(record, "MESSAGE").find(" ended inbound ") != std::string::npos) ended = record;
        return !ended.empty();
      },
      std::chrono::seconds(60), "the call's end in the journal"))
      << workspace.log();
  workspace.stop_simulator(simulator);

  const auto calls = workspace.calls();
  ASSERT_TRUE(calls.is_array() && calls.size() == 1) << calls.dump();
  const std::string call_id = calls[0].value("id", "");
  EXPECT_EQ(ended["CALL_ID"], call_id);
  EXPECT_EQ(ended["LINE"], "X800-JNL:1");
  EXPECT_EQ(ended["PRIORITY"], "6");
  EXPECT_EQ(ended["SYSLOG_IDENTIFIER"], "desklined");
  bool box_named = false, debug_level = false, stop_at_info = false;
  for (const auto& record : records()) {
    const auto message = field(record, "MESSAGE");
    box_named = box_named || (message.starts_with("box X800-JNL in service") && field(record, "BOX") == "X800-JNL");
    debug_level = debug_level || (message.find(" report {") != std::string::npos && field(record, "PRIORITY") == "7");
    stop_at_info = stop_at_info || (message == "stopped" && field(record, "PRIORITY") == "6");
  }
  EXPECT_TRUE(box_named);
  EXPECT_TRUE(debug_level) << "a box report logged at debug level (PRIORITY 7)";
  EXPECT_TRUE(stop_at_info) << "a clean stop at info level";
  // In the journal, not also on stderr.
  EXPECT_EQ(workspace.log().find(" ended inbound "), std::string::npos) << workspace.log();
}

}  // namespace
}  // namespace deskline::testing
