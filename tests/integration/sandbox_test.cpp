// The service unit's system-call filter (systemd/desklined.service) against
// what the daemon really calls. Under systemd a call outside the filter
// fails with EPERM, so a library call the filter forgot would break the
// daemon only in production. Here the daemon runs under strace through a
// recorded call, its pops, the CRM sync of the call and its recording, and a
// download over the pull API; every system call of every daemon thread must
// be one the unit's SystemCallFilter= lines allow, as systemd-analyze
// expands their groups.
#include <gtest/gtest.h>

#include <signal.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <fmt/ranges.h>

#include "tests/integration/harness.hpp"
#include "tests/integration/reference_crm.hpp"

// clang says so through __has_feature, gcc through __SANITIZE_ADDRESS__.
#if defined(__SANITIZE_ADDRESS__)
#define DESKLINE_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DESKLINE_ADDRESS_SANITIZER 1
#endif
#endif

namespace deskline::testing {
namespace {

// The system calls in a systemd-analyze syscall-filter group, its nested
// groups expanded.
std::set<std::string> syscall_group(const std::string& group) {
  std::string output;
  EXPECT_EQ(tools::run_capture({"systemd-analyze", "syscall-filter", group}, output), 0) << output;
  std::set<std::string> calls;
  std::istringstream lines(output);
  std::string line;
  std::getline(lines, line);  // the group's own name
  while (std::getline(lines, line)) {
    const auto name = line.substr(std::min(line.find_first_not_of(' '), line.size()));
    if (name.empty() || name[0] == '#') continue;
    if (name[0] == '@')
      calls.merge(syscall_group(name));
    else
      calls.insert(name);
  }
  return calls;
}

// What the unit's SystemCallFilter= lines allow: the first an allow list,
// each later "~" line taken away from it.
std::set<std::string> allowed_by_unit(const fs::path& unit) {
  std::ifstream file(unit);
  std::set<std::string> allowed;
  for (std::string line; std::getline(file, line);) {
    if (!line.starts_with("SystemCallFilter=")) continue;
    auto value = line.substr(line.find('=') + 1);
    const bool deny = value.starts_with("~");
    if (deny) value.erase(0, 1);
    std::istringstream names(value);
    for (std::string name; names >> name;) {
      auto calls = name[0] == '@' ? syscall_group(name) : std::set<std::string>{name};
      if (!deny) allowed.merge(calls);
      for (const auto& call : calls)
        if (deny) allowed.erase(call);
    }
  }
  return allowed;
}

// The system calls (with a count each) that the desklined processes in an
// `strace -f` log made, their threads included: a task is the daemon's once
// it executes desklined or a daemon task creates it.
std::map<std::string, int> daemon_syscalls(const fs::path& log) {
  std::ifstream file(log);
  std::vector<std::string> lines;
  for (std::string line; std::getline(file, line);) lines.push_back(line);
  std::set<std::string> daemon;
  const std::regex exec(R"(^(\d+) +execve\("[^"]*/desklined")");
  const std::regex created(R"(^(\d+) +(?:<\.\.\. )?(?:clone3?|fork|vfork)[( ].*= (\d+)$)");
  std::smatch match;
  for (const auto& line : lines)
    if (std::regex_search(line, match, exec)) daemon.insert(match[1]);
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& line : lines)
      if (std::regex_search(line, match, created) && daemon.contains(match[1])) grew |= daemon.insert(match[2]).second;
  }
  std::map<std::string, int> calls;
  const std::regex call(R"(^(\d+) +(?:<\.\.\. )?([a-z_0-9]+)[( ])");
  for (const auto& line : lines)
    if (std::regex_search(line, match, call) && daemon.contains(match[1]) && match[2] != "exit") ++calls[match[2]];
  return calls;
}

TEST(Sandbox, EverySystemCallTheDaemonMakesIsInTheUnitsFilter) {
#if defined(DESKLINE_ADDRESS_SANITIZER)
  GTEST_SKIP() << "the sanitizers' runtime makes calls of its own (LeakSanitizer ptraces the threads) that the "
                  "installed daemon never makes; the g++ build runs this";
#endif
  for (const auto* program : {"strace", "systemd-analyze", "curl"})
    if (!on_path(program)) SKIP_OR_FAIL_MISSING() << program << " not installed (tools/install-deps.sh installs it)";
  const auto allowed = allowed_by_unit(fs::path(DESKLINE_SOURCE_DIR) / "systemd" / "desklined.service");
  ASSERT_GT(allowed.size(), 100u) << "no SystemCallFilter= in the unit";

  const int port = unused_port();
  Workspace workspace("sandbox", crm_config(port));
  write_credentials(workspace);
  ReferenceCrm crm(workspace, port);
  const auto token = workspace.add_api_token("crm");
  ASSERT_FALSE(token.empty());
  const auto log = workspace.dir() / "strace.log";
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(box A serial=X800-SANDBOX lines=1
at 0.5 A:1 callerid number=13812345678
at 1.0 A:1 ring cadence=1.0/2.0 count=1
at 2.0 A:1 offhook
at 2.2 A:1 play tone=440 level=-15 duration=2
at 4.5 A:1 onhook
at 120 end
)"),
                                                           {"strace", "-f", "-qq", "-o", log.string()});
  ASSERT_GT(simulator, 0);
  std::string call_id;
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& [id, stored] : crm.calls())
          if (stored.value("recording", nlohmann::json()).is_object()) call_id = id;
        return !call_id.empty();
      },
      std::chrono::seconds(60), "the call and its recording on the CRM"))
      << workspace.log();
  const auto status = workspace.cli_json({"status", "--json"});
  std::smatch page;
  const std::string web_page = status.value("web_page", "");
  ASSERT_TRUE(std::regex_search(web_page, page, std::regex(R"(^http://(.*):(\d+)/)"))) << web_page;
  std::string body;
  EXPECT_EQ(tools::run_capture({"curl", "-sf", "-o", (workspace.dir() / "download.opus").string(), "-H",
                                "Authorization: Bearer " + token,
                                fmt::format("http://{}:{}/v1/recordings/{}", page[1].str(), page[2].str(), call_id)},
                               body),
            0)
      << body;
  // strace runs the simulator as its child, and the stop goes to it (strace
  // would only detach); strace then exits with the simulator's status.
  pid_t traced = -1;
  std::ifstream(fmt::format("/proc/{}/task/{}/children", simulator, simulator)) >> traced;
  ASSERT_GT(traced, 0);
  ASSERT_EQ(::kill(traced, SIGTERM), 0);
  EXPECT_EQ(workspace.wait_for_simulator(simulator, std::chrono::seconds(60)), 0) << workspace.log();

  const auto used = daemon_syscalls(log);
  ASSERT_GT(used.size(), 30u) << "no desklined task found in " << log;
  std::vector<std::string> outside;
  for (const auto& [name, count] : used)
    if (!allowed.contains(name)) outside.push_back(fmt::format("{} ({}x)", name, count));
  EXPECT_TRUE(outside.empty()) << "desklined made system calls that the unit's filter refuses: "
                               << fmt::format("{}", fmt::join(outside, ", "));
}

}  // namespace
}  // namespace deskline::testing
