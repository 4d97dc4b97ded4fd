// Runs the real binaries: desklined under deskline-sim, then the deskline CLI.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/cli/subprocess.hpp"

namespace deskline::testing {

namespace fs = std::filesystem;

inline fs::path bin(const std::string& name) { return fs::path(DESKLINE_BIN_DIR) / name; }

// Seconds since the epoch of "2026-11-27T09:00:01.500+08:00" (the call JSON's times).
inline double parse_iso8601(const std::string& text) {
  std::tm parts{};
  int milliseconds = 0, offset_hours = 0, offset_minutes = 0;
  char sign = '+';
  std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d.%d%c%d:%d", &parts.tm_year, &parts.tm_mon, &parts.tm_mday,
              &parts.tm_hour, &parts.tm_min, &parts.tm_sec, &milliseconds, &sign, &offset_hours, &offset_minutes);
  parts.tm_year -= 1900;
  parts.tm_mon -= 1;
  const double offset = (offset_hours * 3600 + offset_minutes * 60) * (sign == '-' ? -1 : 1);
  return static_cast<double>(timegm(&parts)) - offset + milliseconds / 1000.0;
}

// The call with this number in a calls list (`deskline calls --json`), or nullptr.
inline const nlohmann::json* find_call_by_number(const nlohmann::json& calls, const std::string& number) {
  for (const auto& call : calls)
    if (call.value("number", "") == number) return &call;
  return nullptr;
}

// A media file's duration as ffprobe reads it; -1 when ffprobe fails.
inline double ffprobe_duration(const fs::path& file) {
  std::string output;
  if (tools::run_capture({"ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                          file.string()},
                         output) != 0)
    return -1;
  return std::atof(output.c_str());
}

// A fresh folder holding one daemon's config, database, sockets and logs.
class Workspace {
 public:
  explicit Workspace(const std::string& name, const std::string& extra_config = "") {
    dir_ = fs::temp_directory_path() / ("deskline-it-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(config_path()) << "[daemon]\n"
                                 << "data_dir = \"" << (dir_ / "data").string() << "\"\n"
                                 << "run_dir = \"" << (dir_ / "run").string() << "\"\n"
                                 << "log_level = \"debug\"\n"
                                 << "[http]\nport = 0\n"  // tests run in parallel: any free port
                                 << extra_config;
  }
  ~Workspace() {
    std::error_code ignored;  // never throw from here; a failed test keeps its folder for inspection
    if (!::testing::Test::HasFailure()) fs::remove_all(dir_, ignored);
  }

  const fs::path& dir() const { return dir_; }
  fs::path config_path() const { return dir_ / "deskline.toml"; }
  fs::path log_path() const { return dir_ / "desklined.log"; }
  fs::path trace_path() const { return dir_ / "trace.jsonl"; }

  fs::path write_scenario(const std::string& text) const {
    auto path = dir_ / "test.scenario";
    std::ofstream(path) << text;
    return path;
  }

  // Starts deskline-sim running desklined; returns the simulator's pid.
  pid_t start_daemon_under_sim(const fs::path& scenario) const {
    tools::SpawnOptions options;
    options.stderr_path = log_path();
    return tools::spawn({bin("deskline-sim").string(), "--scenario", scenario.string(), "--trace",
                         trace_path().string(), "--", bin("desklined").string(), "--config",
                         config_path().string()},
                        options);
  }

  // Runs a scenario to its end; returns the simulator's exit status.
  int run_scenario(const std::string& text) const {
    const pid_t pid = start_daemon_under_sim(write_scenario(text));
    if (pid < 0) return -1;
    return tools::wait_for(pid, std::chrono::minutes(3)).value_or(-2);
  }

  nlohmann::json cli_json(const std::vector<std::string>& arguments) const {
    std::vector<std::string> argv = {bin("deskline").string(), "--config", config_path().string()};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    std::string output;
    const int status = tools::run_capture(argv, output);
    if (status != 0) return nlohmann::json{{"exit_status", status}, {"output", output}};
    return nlohmann::json::parse(output, nullptr, false);
  }

  nlohmann::json calls() const { return cli_json({"calls", "--json"}); }

  // The recording file of a call, or an empty path when there is none.
  fs::path recording_of(const std::string& call_id) const {
    const auto recordings = dir_ / "data" / "recordings";
    if (!fs::exists(recordings)) return {};
    for (const auto& entry : fs::recursive_directory_iterator(recordings))
      if (entry.path().filename() == call_id + ".opus") return entry.path();
    return {};
  }

  // Imports a customer CSV with `deskline customers import`; the JSON summary,
  // or {"exit_status", "output"} when it failed.
  nlohmann::json import_customers(const std::string& csv) const {
    std::ofstream(dir_ / "customers.csv") << csv;
    return cli_json({"customers", "import", (dir_ / "customers.csv").string()});
  }

  std::string log() const {
    std::ifstream file(log_path());
    return {std::istreambuf_iterator<char>(file), {}};
  }

  std::vector<nlohmann::json> trace() const {
    std::vector<nlohmann::json> lines;
    std::ifstream file(trace_path());
    for (std::string line; std::getline(file, line);) {
      auto parsed = nlohmann::json::parse(line, nullptr, false);
      if (!parsed.is_discarded()) lines.push_back(std::move(parsed));
    }
    return lines;
  }

 private:
  fs::path dir_;
};

}  // namespace deskline::testing
