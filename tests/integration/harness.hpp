// Runs the real binaries: desklined under deskline-sim, then the deskline CLI.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/require_tools.hpp"
#include "tools/cli/subprocess.hpp"

namespace deskline::testing {

namespace fs = std::filesystem;

inline fs::path bin(const std::string& name) { return fs::path(DESKLINE_BIN_DIR) / name; }

// The tests read the CLI's English, whatever language the developer's
// session speaks: every process they start inherits LC_ALL=C.UTF-8 (the
// language tests set their own).
inline const bool processes_speak_english = [] {
  ::setenv("LC_ALL", "C.UTF-8", 1);
  ::unsetenv("LANGUAGE");
  return true;
}();

// Whether PATH has an executable program.
inline bool on_path(const std::string& program) {
  std::istringstream path(std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin");
  for (std::string dir; std::getline(path, dir, ':');)
    if (!dir.empty() && ::access((fs::path(dir) / program).c_str(), X_OK) == 0) return true;
  return false;
}

// A file's bytes ("" when it cannot be read).
inline std::string read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), {}};
}

// Waits for something to have happened: calls ready() every poll interval
// until it returns true or the timeout has passed. Tests wait on what they
// need (a status over the control socket, a line in the simulator's trace, a
// file), never for a fixed time; the timeout is only a generous bound. Use it
// as ASSERT_TRUE(wait_until(...)) << more context; on a timeout it says what
// it waited for.
template <typename Ready>
::testing::AssertionResult wait_until(Ready&& ready, std::chrono::milliseconds timeout, std::string_view what,
                                      std::chrono::milliseconds poll = std::chrono::milliseconds(50)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (ready()) return ::testing::AssertionSuccess();
    if (std::chrono::steady_clock::now() >= deadline)
      return ::testing::AssertionFailure() << "gave up after " << timeout.count() << " ms waiting for " << what;
    std::this_thread::sleep_for(poll);
  }
}

// Runs argv; its exit status, with stdout and stderr together in output.
inline int run_with_stderr(std::vector<std::string> argv, std::string& output) {
  argv.insert(argv.begin(), {"sh", "-c", "exec \"$0\" \"$@\" 2>&1"});
  return tools::run_capture(argv, output);
}

// Whether data holds a whole HTTP response: the head of a 101 (WebSocket,
// no body), or a head and the Content-Length bytes it announces.
inline bool http_response_complete(const std::string& data) {
  const auto head_end = data.find("\r\n\r\n");
  if (head_end == std::string::npos) return false;
  std::smatch length;
  const std::string head = data.substr(0, head_end);
  if (head.find(" 101 ") != std::string::npos) return true;
  return std::regex_search(head, length, std::regex(R"(Content-Length: (\d+))", std::regex::icase)) &&
         data.size() >= head_end + 4 + std::stoul(length[1]);
}

// Scenario lines for a flood of pop events: on each of a box's 16 lines, 15
// short identified calls 0.4 s apart from first_at on: about a thousand
// events in six seconds.
inline std::string short_calls_on_every_line(const std::string& box, double first_at) {
  std::string scenario;
  for (int port = 1; port <= 16; ++port)
    for (int call = 0; call < 15; ++call) {
      const double at = first_at + call * 0.4 + port * 0.01;
      scenario += fmt::format("at {:.2f} {}:{} ring cadence=0.1/0.1 count=1\n", at, box, port);
      scenario += fmt::format("at {:.2f} {}:{} callerid number=1380000{:02d}{:02d}\n", at + 0.05, box, port, port, call);
      scenario += fmt::format("at {:.2f} {}:{} offhook\n", at + 0.15, box, port);
      scenario += fmt::format("at {:.2f} {}:{} onhook\n", at + 0.3, box, port);
    }
  return scenario;
}

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

// What run_scenario and wait_for_simulator check of desklined's final stop,
// from the simulator's trace (its child_exit line, proto/scenario.md 7.1).
enum class StopCheck {
  clean,       // it exited by itself after SIGTERM (never SIGKILLed) with status 0
  any_status,  // only that it was never SIGKILLed: for a daemon that exits early, or killed by the test
};

// A fresh folder holding one daemon's config, database, sockets and logs.
// A throwaway CA and a server certificate for host and 127.0.0.1 (not
// localhost, so a client asking for that name is refused) in folder: ca.pem,
// server.pem, server.key.
inline void make_test_certificates(const fs::path& folder, const std::string& host) {
  const auto run = [&](std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), {"sh", "-c", "cd \"$0\" && exec \"$@\"", folder.string(), "openssl"});
    std::string output;
    ASSERT_EQ(run_with_stderr(arguments, output), 0) << output;
  };
  run({"req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-keyout",
       "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=deskline test CA"});
  run({"req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-keyout", "server.key",
       "-out", "server.csr", "-subj", "/CN=" + host, "-addext", "subjectAltName=DNS:" + host + ",IP:127.0.0.1"});
  run({"x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
       "server.pem", "-days", "2", "-copy_extensions", "copy"});
}

// desklined running under deskline-sim, reached over its HTTP listener.
struct WebDaemon {
  pid_t simulator = -1;
  pid_t pid = -1;
  unsigned short port = 0;
  std::string scheme = "http";
  std::string token;  // the desk page's token
};

class Workspace {
 public:
  // extra_config is appended after the [http] table; daemon_keys go into
  // the [daemon] table.
  explicit Workspace(const std::string& name, const std::string& extra_config = "",
                     const std::string& daemon_keys = "") {
    dir_ = fs::temp_directory_path() / ("deskline-it-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(config_path()) << "[daemon]\n"
                                 << "data_dir = \"" << (dir_ / "data").string() << "\"\n"
                                 << "run_dir = \"" << (dir_ / "run").string() << "\"\n"
                                 << "log_level = \"debug\"\n"
                                 << daemon_keys << "[http]\nport = 0\n"  // tests run in parallel: any free port
                                 << extra_config;
  }
  ~Workspace() {
    stop_leftover_simulators();
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
  // launcher (e.g. setpriv and its options) runs the simulator, which passes
  // its credentials on to desklined; it is not run under the simulator's
  // preload library, which only instrumented programs can load in a
  // sanitizer build.
  pid_t start_daemon_under_sim(const fs::path& scenario, const std::vector<std::string>& launcher = {}) const {
    tools::SpawnOptions options;
    options.stderr_path = log_path();
    std::vector<std::string> argv(launcher);
    argv.insert(argv.end(), {bin("deskline-sim").string(), "--scenario", scenario.string(), "--trace",
                             trace_path().string(), "--", bin("desklined").string(), "--config",
                             config_path().string()});
    const pid_t simulator = tools::spawn(argv, options);
    if (simulator > 0) simulators_.push_back(simulator);
    return simulator;
  }

  // Starts desklined under the simulator and waits until `deskline status`
  // gives its pid and the pop page's address: the HTTP listener's scheme,
  // port and the desk page's token. On failure the test has failed and the
  // port is 0.
  WebDaemon start_web_daemon(const std::string& scenario) const {
    WebDaemon daemon;
    daemon.simulator = start_daemon_under_sim(write_scenario(scenario));
    nlohmann::json status;
    EXPECT_TRUE(wait_until(
        [&] {
          status = cli_json({"status", "--json"});
          return status.contains("web_page") && status.contains("pid");
        },
        std::chrono::seconds(30), "the daemon to answer `deskline status`"))
        << log();
    std::smatch page;
    const std::string web_page = status.value("web_page", "");
    if (!std::regex_search(web_page, page, std::regex(R"(^(https?)://.*:(\d+)/\?token=([0-9a-f]+))"))) {
      ADD_FAILURE() << "no page address in `deskline status`: " << web_page;
      return daemon;
    }
    daemon.pid = status["pid"].get<pid_t>();
    daemon.scheme = page[1];
    daemon.port = static_cast<unsigned short>(std::stoi(page[2]));
    daemon.token = page[3];
    return daemon;
  }

  // Stops a simulator started with start_daemon_under_sim (SIGTERM to the
  // simulator, which stops desklined): both must end cleanly. Tests that work
  // against a running daemon give their scenario no early end and stop it
  // here, so a loaded machine cannot end the scenario under them.
  void stop_simulator(pid_t simulator) const {
    ASSERT_EQ(::kill(simulator, SIGTERM), 0);
    EXPECT_EQ(wait_for_simulator(simulator, std::chrono::seconds(60)), 0) << log();
  }

  // Stops a daemon started by start_web_daemon.
  void stop_web_daemon(const WebDaemon& daemon) const { stop_simulator(daemon.simulator); }

  // Runs a scenario to its end; returns the simulator's exit status. Then
  // checks how desklined stopped (check_daemon_stop).
  int run_scenario(const std::string& text, StopCheck check = StopCheck::clean) const {
    const pid_t pid = start_daemon_under_sim(write_scenario(text));
    if (pid < 0) return -1;
    return wait_for_simulator(pid, std::chrono::minutes(3), check, -2);
  }

  // Waits for a simulator started with start_daemon_under_sim to end; returns
  // its exit status (on_timeout if it is still running). Once it has ended,
  // checks how desklined stopped (check_daemon_stop).
  int wait_for_simulator(pid_t simulator, std::chrono::milliseconds timeout = std::chrono::minutes(1),
                         StopCheck check = StopCheck::clean, int on_timeout = -1) const {
    const auto status = tools::wait_for(simulator, timeout);
    if (!status) {
      ADD_FAILURE() << "deskline-sim (pid " << simulator << ") still running after " << timeout.count() << " ms";
      return on_timeout;
    }
    std::erase(simulators_, simulator);
    check_daemon_stop(check);
    return *status;
  }

  // How the simulator's last child ended, from its child_exit trace line:
  // with StopCheck::clean it must have exited by itself (not SIGKILLed when
  // its 10 s grace ran out) with status 0. Only the final stop counts: stops
  // for a scenario's `restart` are child_restart lines. Prints the time from
  // SIGTERM to exit (a measurement, not a check) and appends it, with the
  // test's name, to the file named by $DESKLINE_STOP_TIMES if set.
  void check_daemon_stop(StopCheck check = StopCheck::clean) const {
    nlohmann::json exit;
    for (const auto& entry : trace())
      if (entry.value("kind", "") == "child_exit") exit = entry;
    if (!exit.is_object()) {
      ADD_FAILURE() << "no child_exit line in the simulator's trace " << trace_path();
      return;
    }
    const int exit_code = exit.value("exit_code", -1);
    const bool killed = exit.value("killed", false);
    const std::string stop_signal = exit["stop_signal"].is_string() ? exit["stop_signal"].get<std::string>() : "";
    EXPECT_FALSE(killed) << "desklined did not stop within the grace period after " << stop_signal
                         << ": deskline-sim had to SIGKILL it\n" << exit.dump();
    if (check == StopCheck::clean) {
      EXPECT_EQ(exit_code, 0) << "desklined's exit status\n" << exit.dump();
      EXPECT_EQ(stop_signal, "SIGTERM") << "desklined exited before the end of the scenario\n" << exit.dump();
    }
    if (!exit["after_signal_ms"].is_number()) {
      std::printf("[ stop     ] desklined exited with status %d before deskline-sim asked it to stop\n", exit_code);
      std::fflush(stdout);
      return;
    }
    const double stop_ms = exit["after_signal_ms"].get<double>();
    std::printf("[ stop     ] desklined stopped %.0f ms after %s%s (status %d)\n", stop_ms, stop_signal.c_str(),
                killed ? ", SIGKILLed" : "", exit_code);
    std::fflush(stdout);
    if (const char* record = std::getenv("DESKLINE_STOP_TIMES"); record && *record) {
      const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
      const std::string name = test ? std::string(test->test_suite_name()) + "." + test->name() : "(no test)";
      std::ofstream(record, std::ios::app) << name << " " << stop_ms << "\n";
    }
  }

  nlohmann::json cli_json(const std::vector<std::string>& arguments) const {
    std::vector<std::string> argv = {bin("deskline").string(), "--config", config_path().string()};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    std::string output;
    const int status = tools::run_capture(argv, output);
    auto json = nlohmann::json::parse(output, nullptr, false);
    // `status` exits with 1 when there are alarms, and still answers.
    if (status != 0 && !(status == 1 && json.is_object())) return nlohmann::json{{"exit_status", status}, {"output", output}};
    return json;
  }

  nlohmann::json calls() const { return cli_json({"calls", "--json"}); }

  // A program run to its end (a minute at most: a hang is a failure, not a
  // wait), its stdout and stderr apart. environment: extra NAME=VALUE
  // entries ("NAME=" for none).
  struct CliRun {
    int status = -1;  // -2: still running after a minute
    std::string out, err;
  };
  CliRun run_program(const std::vector<std::string>& argv, const std::vector<std::string>& environment = {}) const {
    tools::SpawnOptions options;
    options.environment = environment;
    options.stdout_path = dir_ / "run.out";
    options.stderr_path = dir_ / "run.err";
    // spawn appends: each result holds its own run's output alone.
    fs::remove(*options.stdout_path);
    fs::remove(*options.stderr_path);
    CliRun result;
    const pid_t pid = tools::spawn(argv, options);
    if (pid < 0) return result;
    result.status = tools::wait_for(pid, std::chrono::minutes(1)).value_or(-2);
    result.out = read_file(*options.stdout_path);
    result.err = read_file(*options.stderr_path);
    return result;
  }

  // `deskline --config ... arguments`, as run_program.
  CliRun run_cli(const std::vector<std::string>& arguments, const std::vector<std::string>& environment = {}) const {
    std::vector<std::string> argv = {bin("deskline").string(), "--config", config_path().string()};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    return run_program(argv, environment);
  }

  // `deskline tokens add NAME`: the API token it prints once ("" when it failed).
  std::string add_api_token(const std::string& name) const {
    std::string output;
    if (tools::run_capture({bin("deskline").string(), "--config", config_path().string(), "tokens", "add", name},
                           output) != 0)
      return "";
    while (!output.empty() && output.back() == '\n') output.pop_back();
    return output;
  }

  // `deskline tokens revoke NAME`: its exit status.
  int revoke_api_token(const std::string& name) const {
    std::string output;
    return tools::run_capture({bin("deskline").string(), "--config", config_path().string(), "tokens", "revoke", name},
                              output);
  }

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
    return cli_json({"customers", "import", (dir_ / "customers.csv").string(), "--json"});
  }

  std::string log() const { return read_file(log_path()); }

  // Wall-clock seconds of scenario time 0 (the trace's scenario_start), 0 if none yet.
  double scenario_start() const {
    for (const auto& entry : trace())
      if (entry.value("kind", "") == "scenario_start") return entry.value("t_real", 0.0);
    return 0;
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
  // A test that failed before it stopped its simulator (whose scenario runs
  // on until the test stops it): stopped here, so that neither the simulator
  // nor its daemon outlives the test holding its output open.
  void stop_leftover_simulators() {
    for (const pid_t simulator : simulators_) {
      int status = 0;
      if (::waitpid(simulator, &status, WNOHANG) != 0) continue;  // ended, or reaped elsewhere
      ::kill(simulator, SIGTERM);
      if (!tools::wait_for(simulator, std::chrono::seconds(30))) {
        ::kill(simulator, SIGKILL);
        tools::wait_for(simulator, std::chrono::seconds(30));
      }
    }
    simulators_.clear();
  }

  fs::path dir_;
  mutable std::vector<pid_t> simulators_;  // started and not yet waited for
};

}  // namespace deskline::testing
