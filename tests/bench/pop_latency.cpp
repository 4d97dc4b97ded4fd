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
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tools/cli/subprocess.hpp"

namespace fs = std::filesystem;
using deskline::tools::run_capture;
using deskline::tools::spawn;
using deskline::tools::SpawnOptions;
using deskline::tools::wait_for;

namespace {

double realtime_s() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return now.tv_sec + now.tv_nsec / 1e9;
}

constexpr int lines = 8;
constexpr int calls_per_line = 50;

std::string number_for(int line, int call) { return fmt::format("139{:04d}{:04d}", line, call); }

// A CSV of `count` customers; the numbers the scenario rings are among them.
void write_customers(const fs::path& path, int count) {
  std::ofstream out(path);
  out << "id,name,company,phone\n";
  for (int i = 0; i < count; ++i) out << fmt::format("c{},Customer {},Company {},138{:08d}\n", i, i, i % 5000, i);
  for (int line = 1; line <= lines; ++line)
    for (int call = 0; call < calls_per_line; ++call)
      out << fmt::format("r{}-{},Ringing {} {},Acme,{}\n", line, call, line, call, number_for(line, call));
}

std::string scenario() {
  std::string text = fmt::format("box A serial=X800-BENCH lines={} rate=8000 decode=yes\n", lines);
  for (int line = 1; line <= lines; ++line)
    for (int call = 0; call < calls_per_line; ++call) {
      // Caller ID reported by the box before the ring, so call.ringing carries the match.
      const double at = 1.0 + call * 0.4 + line * 0.037;
      text += fmt::format("at {:.3f} A:{} callerid number={}\n", at, line, number_for(line, call));
      text += fmt::format("at {:.3f} A:{} ring cadence=0.1/0.1 count=1\n", at + 0.05, line);
      text += fmt::format("at {:.3f} A:{} offhook\n", at + 0.2, line);
      text += fmt::format("at {:.3f} A:{} onhook\n", at + 0.3, line);
    }
  text += fmt::format("at {:.1f} end\n", 3.0 + calls_per_line * 0.4);
  return text;
}

struct Received {
  std::string line;
  double at;
  bool matched;
};

int connect_events(const fs::path& socket_path) {
  for (int attempt = 0; attempt < 400; ++attempt) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) return fd;
    ::close(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return -1;
}

// All clients in one thread on epoll, so the measurement does not add 100
// threads competing with the daemon for two cores. Each read is stamped as it
// completes; JSON is parsed only after the run.
void read_events(const fs::path& socket_path, int count, std::vector<std::vector<Received>>& out) {
  struct Client {
    int fd;
    std::string buffer;
    std::vector<std::pair<std::string, double>> lines;  // raw line, read time
  };
  std::vector<Client> open;
  const int epoll = ::epoll_create1(EPOLL_CLOEXEC);
  for (int i = 0; i < count; ++i) {
    const int fd = connect_events(socket_path);
    if (fd < 0) break;
    open.push_back({fd, {}, {}});
  }
  for (std::size_t i = 0; i < open.size(); ++i) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = i;
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, open[i].fd, &event);
  }
  std::size_t live = open.size();
  std::vector<epoll_event> ready(open.size() + 1);
  char chunk[65536];
  while (live > 0) {
    const int n = ::epoll_wait(epoll, ready.data(), static_cast<int>(ready.size()), 60'000);
    if (n <= 0) break;
    for (int r = 0; r < n; ++r) {
      auto& client = open[ready[static_cast<std::size_t>(r)].data.u64];
      const ssize_t got = ::recv(client.fd, chunk, sizeof chunk, 0);
      const double now = realtime_s();
      if (got <= 0) {
        ::epoll_ctl(epoll, EPOLL_CTL_DEL, client.fd, nullptr);
        ::close(client.fd);
        --live;
        continue;
      }
      client.buffer.append(chunk, static_cast<std::size_t>(got));
      std::size_t newline;
      while ((newline = client.buffer.find('\n')) != std::string::npos) {
        client.lines.emplace_back(client.buffer.substr(0, newline), now);
        client.buffer.erase(0, newline + 1);
      }
    }
  }
  ::close(epoll);
  out.assign(open.size(), {});
  for (std::size_t i = 0; i < open.size(); ++i)
    for (const auto& [text, at] : open[i].lines) {
      const auto event = nlohmann::json::parse(text, nullptr, false);
      if (event.is_object() && event.value("event", "") == "call.ringing" && !event.value("replay", false))
        out[i].push_back({event.value("line", ""), at, !event["customers"].empty()});
    }
}

struct Result {
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  double first_p99_ms = 0;  // the first client to read each event: the pipeline without the fan-out
  std::size_t samples = 0, matched = 0;
};

Result run(const fs::path& bin, const fs::path& work, int client_count, bool with_directory, int customers) {
  fs::remove_all(work);
  fs::create_directories(work);
  std::ofstream(work / "deskline.toml") << fmt::format(
      "[daemon]\ndata_dir = \"{0}/data\"\nrun_dir = \"{0}/run\"\nlog_level = \"warning\"\n[http]\nport = 0\n"
      "[recording]\npolicy = \"never\"\n",
      work.string());
  if (with_directory) {
    const fs::path csv = fs::temp_directory_path() / fmt::format("deskline-pop-bench-{}-{}x{}.csv", customers, lines, calls_per_line);
    if (!fs::exists(csv)) write_customers(csv, customers);
    const fs::path cached = fs::temp_directory_path() / fmt::format("deskline-pop-bench-{}-{}x{}.db", customers, lines, calls_per_line);
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
  std::ofstream(work / "bench.scenario") << scenario();
  SpawnOptions options;
  options.stderr_path = work / "log";
  const pid_t simulator = spawn({(bin / "deskline-sim").string(), "--scenario", (work / "bench.scenario").string(),
                                 "--trace", (work / "trace.jsonl").string(), "--", (bin / "desklined").string(),
                                 "--config", (work / "deskline.toml").string()},
                                options);
  std::vector<std::vector<Received>> received;
  std::thread reader(read_events, work / "run" / "events.sock", client_count, std::ref(received));
  wait_for(simulator, std::chrono::minutes(5));
  reader.join();

  // Ring-start reports in the trace, per line in order.
  std::map<std::string, std::vector<double>> ring_reaped;
  std::ifstream trace(work / "trace.jsonl");
  for (std::string text; std::getline(trace, text);) {
    const auto entry = nlohmann::json::parse(text, nullptr, false);
    if (entry.is_object() && entry.value("kind", "") == "report" && entry.value("type", "") == "ring" &&
        entry.value("ringing", false))
      ring_reaped[fmt::format("X800-BENCH:{}", entry.value("line", 0))].push_back(entry.value("t_real", 0.0));
  }
  std::vector<double> latencies;
  std::map<std::pair<std::string, std::size_t>, double> first;  // (line, ring index) -> earliest read
  Result result;
  for (const auto& events : received) {
    std::map<std::string, std::size_t> index;
    for (const auto& event : events) {
      const auto& reaped = ring_reaped[event.line];
      const auto i = index[event.line]++;
      if (i < reaped.size()) {
        const double latency = (event.at - reaped[i]) * 1000;
        latencies.push_back(latency);
        auto [slot, inserted] = first.try_emplace({event.line, i}, latency);
        if (!inserted) slot->second = std::min(slot->second, latency);
      }
      result.matched += event.matched ? 1 : 0;
    }
  }
  auto percentile = [](std::vector<double> values, int p) {
    if (values.empty()) return 0.0;
    std::sort(values.begin(), values.end());
    return values[std::min(values.size() - 1, values.size() * static_cast<std::size_t>(p) / 100)];
  };
  std::vector<double> first_latencies;
  for (const auto& [key, latency] : first) first_latencies.push_back(latency);
  result.samples = latencies.size();
  result.p50_ms = percentile(latencies, 50);
  result.p99_ms = percentile(latencies, 99);
  result.max_ms = percentile(latencies, 100);
  result.first_p99_ms = percentile(first_latencies, 99);
  return result;
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
  std::printf("pop latency: report reaped -> event read by the client, %d lines x %d calls\n", lines, calls_per_line);
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
