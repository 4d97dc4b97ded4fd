// What the end-to-end benches that run the real daemon share: the rings
// during a run, the load average they report, finding desklined under
// deskline-sim, stopping a child. Used by crm_drain_bench and download_bench.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <cstdio>
#include <exception>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tests/bench/pop_measure.hpp"
#include "tools/cli/subprocess.hpp"

namespace deskline::bench {

using Clock = std::chrono::steady_clock;

[[noreturn]] inline void fail(const std::string& what) { throw std::runtime_error(what); }

inline std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return fmt::format("{} {} {}", one, five, fifteen);
}

inline double wall_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Rings during a run: each of 8 lines every spacing_s, lines staggered
// evenly (8 / spacing_s pops a second, spread out), for as long as a run lasts.
inline RingScenario rings(double seconds, double spacing_s) {
  RingScenario scenario;
  scenario.spacing_s = spacing_s;
  scenario.line_offset_s = spacing_s / scenario.lines;
  scenario.calls_per_line = static_cast<int>(seconds / scenario.spacing_s) + 1;
  scenario.end_s = seconds + 3600;  // the bench stops the simulator
  return scenario;
}

// "pid (comm) state ppid ..." of /proc/PID/stat: comm and ppid, if readable.
inline std::optional<std::pair<std::string, pid_t>> name_and_parent(const std::filesystem::path& proc_entry) {
  std::ifstream in(proc_entry / "stat");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  const auto open = text.find('('), close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 4 > text.size()) return std::nullopt;
  return std::pair{text.substr(open + 1, close - open - 1), static_cast<pid_t>(std::atoi(text.c_str() + close + 4))};
}

// The children of parent named name (all of them, e.g. nginx's workers).
inline std::vector<pid_t> children_named(pid_t parent, const std::string& name) {
  std::vector<pid_t> children;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    const auto pid = std::atoi(entry.path().filename().c_str());
    if (pid <= 0) continue;
    const auto stat = name_and_parent(entry.path());
    if (stat && stat->first == name && stat->second == parent) children.push_back(pid);
  }
  return children;
}

// The child of parent named name, if it has started.
inline std::optional<pid_t> child_named(pid_t parent, const std::string& name) {
  const auto children = children_named(parent, name);
  if (children.empty()) return std::nullopt;
  return children.front();
}

inline void stop(pid_t pid) {
  ::kill(pid, SIGTERM);
  if (!tools::wait_for(pid, std::chrono::seconds(30))) {
    ::kill(pid, SIGKILL);
    tools::wait_for(pid, std::chrono::seconds(5));
  }
}

// A bench's command line: "--name value" pairs, each given to its setter.
// An unknown option or one without a value prints the usage: false.
using OptionSetters = std::map<std::string, std::function<void(const std::string&)>>;
inline bool parse_options(int argc, char** argv, const OptionSetters& setters, const char* usage) {
  for (int i = 1; i < argc; i += 2) {
    const auto setter = setters.find(argv[i]);
    if (setter == setters.end() || i + 1 == argc) {
      std::fprintf(stderr, "usage: %s %s\n", argv[0], usage);
      return false;
    }
    setter->second(argv[i + 1]);
  }
  return true;
}

inline std::function<void(const std::string&)> sets(int& field) {
  return [&field](const std::string& value) { field = std::stoi(value); };
}
inline std::function<void(const std::string&)> sets(double& field) {
  return [&field](const std::string& value) { field = std::stod(value); };
}
inline std::function<void(const std::string&)> sets(std::filesystem::path& field) {
  return [&field](const std::string& value) { field = value; };
}

// The command that runs a program at priority: a nice value ("10"), or
// "idle" for SCHED_IDLE (a core only when nothing else wants one, the
// nearest this machine comes to a client on another machine); "0": none.
inline std::vector<std::string> at_priority(const std::string& priority) {
  if (priority == "idle") return {"chrt", "--idle", "0"};
  if (priority == "0") return {};
  return {"nice", "-n", priority};
}

// The bench's exit status: body's, or 1 when it failed (with why).
inline int run_bench(const char* name, const std::function<int()>& body) {
  try {
    return body();
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s failed: %s\n", name, error.what());
    return 1;
  }
}

}  // namespace deskline::bench
