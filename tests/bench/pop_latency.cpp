// Pop latency, end to end through the real binaries: from the moment the
// daemon reaps the box's report (deskline-sim's trace: the report's t_real is
// when the daemon's read completed) to the moment a client on the events
// socket has read the pop (CLOCK_REALTIME in the client thread).
//
//   deskline_pop_latency BIN_DIR [CUSTOMERS]
//
// Runs, in one invocation: the floor (empty directory: no match, one client),
// then 1 and 100 clients against a directory of CUSTOMERS (default 1,000,000)
// customers whose numbers the calls use. Prints p50/p99 per run.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "tests/bench/pop_measure.hpp"
#include "tools/cli/subprocess.hpp"

namespace fs = std::filesystem;
using deskline::tools::run_capture;
using deskline::tools::spawn;
using deskline::tools::SpawnOptions;
using deskline::tools::wait_for;

namespace {

using deskline::bench::RingScenario;

// The scenario's rings: 8 lines x 50 calls, 0.4 s apart on each line.
const RingScenario scenario{};

// A CSV of `count` customers; the numbers the scenario rings are among them.
void write_customers(const fs::path& path, int count) {
  std::ofstream out(path);
  out << "id,name,company,phone\n";
  for (int i = 0; i < count; ++i) out << fmt::format("c{},Customer {},Company {},138{:08d}\n", i, i, i % 5000, i);
  for (int line = 1; line <= scenario.lines; ++line)
    for (int call = 0; call < scenario.calls_per_line; ++call)
      out << fmt::format("r{}-{},Ringing {} {},Acme,{}\n", line, call, line, call, RingScenario::number(line, call));
}

deskline::bench::PopLatency run(const fs::path& bin, const fs::path& work, int client_count, bool with_directory, int customers) {
  fs::remove_all(work);
  fs::create_directories(work);
  std::ofstream(work / "deskline.toml") << fmt::format(
      "[daemon]\ndata_dir = \"{0}/data\"\nrun_dir = \"{0}/run\"\nlog_level = \"warning\"\n[http]\nport = 0\n"
      "[recording]\npolicy = \"never\"\n",
      work.string());
  if (with_directory) {
    const fs::path csv = fs::temp_directory_path() / fmt::format("deskline-pop-bench-{}-{}x{}.csv", customers, scenario.lines, scenario.calls_per_line);
    if (!fs::exists(csv)) write_customers(csv, customers);
    const fs::path cached = fs::temp_directory_path() / fmt::format("deskline-pop-bench-{}-{}x{}.db", customers, scenario.lines, scenario.calls_per_line);
    if (!fs::exists(cached)) {
      std::string output;
      run_capture({(bin / "deskline").string(), "--config", (work / "deskline.toml").string(), "customers", "import",
                   csv.string()},
                  output);
      fs::copy_file(work / "data" / "directory.db", cached);
    } else {
      fs::create_directories(work / "data");
      fs::copy_file(cached, work / "data" / "directory.db");
    }
  }
  std::ofstream(work / "bench.scenario") << scenario.text();
  SpawnOptions options;
  options.stderr_path = work / "log";
  const pid_t simulator = spawn({(bin / "deskline-sim").string(), "--scenario", (work / "bench.scenario").string(),
                                 "--trace", (work / "trace.jsonl").string(), "--", (bin / "desklined").string(),
                                 "--config", (work / "deskline.toml").string()},
                                options);
  std::vector<std::vector<deskline::bench::ReceivedPop>> received;
  std::thread reader(deskline::bench::read_pops, work / "run" / "events.sock", client_count, std::ref(received));
  wait_for(simulator, std::chrono::minutes(5));
  reader.join();
  return deskline::bench::pop_latency(received, deskline::bench::rings_reaped(work / "trace.jsonl", scenario.serial));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s BIN_DIR [CUSTOMERS]\n", argv[0]);
    return 2;
  }
  const fs::path bin = argv[1];
  const int customers = argc > 2 ? std::atoi(argv[2]) : 1'000'000;
  const fs::path work = fs::temp_directory_path() / "deskline-pop-bench";
  std::printf("pop latency: report reaped -> event read by the client, %d lines x %d calls\n", scenario.lines, scenario.calls_per_line);
  std::printf("%-44s %7s %7s %7s %7s %7s %12s\n", "run", "events", "matched", "p50 ms", "p99 ms", "max ms",
              "p99 first ms");
  struct Run {
    const char* name;
    int clients;
    bool directory;
  };
  const Run runs[] = {{"floor: no lookup, 1 client", 1, false},
                      {"1 client, directory", 1, true},
                      {"100 clients, directory", 100, true}};
  for (const auto& spec : runs) {
    const auto result = run(bin, work, spec.clients, spec.directory, customers);
    std::printf("%-44s %7zu %7zu %7.3f %7.3f %7.3f %12.3f\n",
                fmt::format("{} ({} customers)", spec.name, spec.directory ? customers : 0).c_str(), result.samples,
                result.matched, result.p50_ms, result.p99_ms, result.max_ms, result.first_p99_ms);
  }
  fs::remove_all(work);
  return 0;
}
