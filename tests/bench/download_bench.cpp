// Pull API: recording downloads (issue 10's acceptance benchmark). In one run:
//
// 1. The CRM drain bench's backlog (tests/bench/call_backlog.hpp): N answered
//    calls, each with a complete S s Ogg Opus recording, copied into the
//    daemon's data dir (the files are in the page cache for both servers).
// 2. desklined under deskline-sim with a steady ring scenario for the whole
//    run, [crm] off, [http] limits raised so that they are not what is
//    measured, one API token made with `deskline tokens add`.
// 3. Idle: rings only, for --idle-s: pop latency (tests/bench/pop_measure.hpp)
//    and the daemon's CPU time.
// 4. Rounds of two passes, the order alternating: desklined serving every
//    recording once (GET /v1/recordings/{id}) to curl --parallel
//    --parallel-max C over loopback, then nginx (Debian's, started by the
//    bench with a minimal config: sendfile on, access_log off,
//    worker_processes auto) serving the same files by path to the same curl
//    command, curl at --client-nice (10) for both. Per pass: wall time,
//    MiB/s, the server's CPU time (nginx: master and workers), curl's, and
//    the pop latency of the rings reaped during it.
// Every answer must be a 200 of the recording's size (curl's -w), and a
// sample's SHA-256 must match its row, or the bench fails.
//
//   deskline_download_bench [--calls N] [--seconds S] [--clients C] [--rounds R] [--idle-s T]
//                           [--ring-spacing S] [--client-nice N|idle] [--bin DIR]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "daemon/archive/recording_file.hpp"
#include "tests/bench/bench_run.hpp"
#include "tests/bench/call_backlog.hpp"
#include "tests/bench/pop_measure.hpp"
#include "tests/bench/speech_audio.hpp"
#include "tests/process_usage.hpp"
#include "tools/cli/subprocess.hpp"

namespace deskline::bench {
namespace {

using testing::cpu_seconds;

struct Options {
  int calls = 1000;
  int seconds = 60;
  int clients = 50;
  // Each round: one daemon pass and one nginx pass, of a second or less each:
  // enough of them for a p99 of the pops during the daemon's.
  // A p99 of the pops during the passes needs over 100 of them: about 3.5
  // per pass at the default ring spacing.
  int rounds = 40;
  // curl runs at this nice value against both servers: in production the
  // CRM pulling recordings is another machine, here its 50 transfers would
  // take a core from the rings, the simulator and the pop reader, a load
  // the daemon never causes (0: curl at the bench's own priority; idle:
  // SCHED_IDLE).
  std::string client_nice = "10";
  double idle_s = 30;           // the idle window (rings, no downloads)
  double ring_spacing_s = 0.4;  // between rings on each of the 8 lines (pop_latency's)
  fs::path bin;
};

// [http] raised above what the bench asks for: the limits would answer 429
// (and be what is measured) at the defaults of 20 requests/s and 4 downloads
// per token, 32 connections per address.
constexpr const char* http_limits =
    "max_connections = 128\nmax_connections_per_address = 128\n"
    "requests_per_s = 10000\nrequest_burst = 100000\ndownloads_per_token = 64\n";

// A free loopback port (bound, read back, released).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    fail("no free loopback port");
  ::close(fd);
  return ntohs(address.sin_port);
}

bool accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return connected;
}

void wait_listening(int port, pid_t server, const std::string& name, const fs::path& log) {
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (!accepts(port)) {
    if (tools::wait_for(server, std::chrono::milliseconds(0))) fail(name + " ended: see " + log.string());
    if (Clock::now() > deadline) fail(name + " does not listen on port " + std::to_string(port));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// ---- the servers -------------------------------------------------------------------

// desklined under deskline-sim, ringing for as long as it runs; one events
// client reads the pops.
class Daemon {
 public:
  Daemon(const Options& options, const fs::path& work)
      : work_(work), port_(free_port()), scenario_(rings(3600, options.ring_spacing_s)) {
    std::ofstream(work / "deskline.toml") << fmt::format(
        "[daemon]\ndata_dir = \"{0}/data\"\nrun_dir = \"{0}/run\"\nlog_level = \"info\"\n"
        "[http]\nport = {1}\n{2}[recording]\npolicy = \"never\"\n",
        work.string(), port_, http_limits);
    std::string output;
    if (tools::run_capture({(options.bin / "deskline").string(), "--config", (work / "deskline.toml").string(),
                            "tokens", "add", "bench"},
                           output) != 0 ||
        !output.starts_with("dlk_"))
      fail("deskline tokens add failed: " + output);
    token_ = output.substr(0, output.find_first_of(" \r\n"));
    std::ofstream(work / "rings.scenario") << scenario_.text();
    tools::SpawnOptions spawn_options;
    spawn_options.stderr_path = work / "log";
    simulator_ = tools::spawn({(options.bin / "deskline-sim").string(), "--scenario",
                               (work / "rings.scenario").string(), "--trace", (work / "trace.jsonl").string(), "--",
                               (options.bin / "desklined").string(), "--config", (work / "deskline.toml").string()},
                              spawn_options);
    reader_ = std::thread(read_pops, work / "run" / "events.sock", 1, std::ref(received_));
    try {
      wait_listening(port_, simulator_, "the simulator", work / "log");
      const auto deadline = Clock::now() + std::chrono::seconds(20);
      while (!(pid_ = child_named(simulator_, "desklined")))
        if (Clock::now() > deadline) fail("desklined did not start");
    } catch (...) {
      end();
      throw;
    }
  }
  ~Daemon() { end(); }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  std::string url() const { return fmt::format("http://127.0.0.1:{}/v1/recordings/", port_); }
  const std::string& token() const { return token_; }
  double cpu_s() const { return cpu_seconds(*pid_); }

  // Stops the simulator and the daemon; then the pops of the rings reaped in
  // windows can be told.
  void stop_and_read() {
    end();
    reaped_ = rings_reaped(work_ / "trace.jsonl", scenario_.serial);
  }
  PopLatency pops(const std::vector<Window>& windows) const { return pop_latency(received_, reaped_, windows); }

 private:
  fs::path work_;
  int port_;
  std::string token_;
  RingScenario scenario_;
  pid_t simulator_ = -1;
  std::optional<pid_t> pid_;
  std::thread reader_;
  std::vector<std::vector<ReceivedPop>> received_;
  std::map<std::string, std::vector<double>> reaped_;

  void end() {
    if (simulator_ > 0) stop(simulator_);
    simulator_ = -1;
    if (reader_.joinable()) reader_.join();
  }
};

// Debian's nginx with a config of the bench's own in folder: the same files
// by path, on a free loopback port, Debian's defaults where they matter
// (worker_processes auto, sendfile, tcp_nopush), no access log.
class Nginx {
 public:
  Nginx(const fs::path& folder, const fs::path& root) : port_(free_port()) {
    fs::remove_all(folder);
    fs::create_directories(folder);
    // As root, the workers would run as nobody, who cannot read the daemon's 0640 recordings.
    const std::string user = ::geteuid() == 0 ? "user root;\n" : "";
    std::ofstream(folder / "nginx.conf") << fmt::format(
        "{0}worker_processes auto;\npid {1}/nginx.pid;\nerror_log {1}/error.log;\n"
        "events {{ worker_connections 1024; }}\n"
        "http {{\n  types {{ audio/ogg opus; }}\n  default_type application/octet-stream;\n"
        "  sendfile on;\n  tcp_nopush on;\n  access_log off;\n"
        "  client_body_temp_path {1}/client_body;\n  proxy_temp_path {1}/proxy;\n"
        "  fastcgi_temp_path {1}/fastcgi;\n  uwsgi_temp_path {1}/uwsgi;\n  scgi_temp_path {1}/scgi;\n"
        "  server {{\n    listen 127.0.0.1:{2};\n    root {3};\n  }}\n}}\n",
        user, folder.string(), port_, root.string());
    tools::SpawnOptions options;
    options.stderr_path = folder / "stderr";
    master_ = tools::spawn({"/usr/sbin/nginx", "-p", folder.string(), "-c", (folder / "nginx.conf").string(), "-e",
                            (folder / "error.log").string(), "-g", "daemon off;"},
                           options);
    if (master_ < 0) fail("cannot start /usr/sbin/nginx (tools/install-deps.sh installs it)");
    wait_listening(port_, master_, "nginx", folder / "error.log");
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while ((workers_ = children_named(master_, "nginx")).empty())
      if (Clock::now() > deadline) fail("nginx started no worker");
  }
  ~Nginx() { stop(master_); }
  Nginx(const Nginx&) = delete;
  Nginx& operator=(const Nginx&) = delete;

  std::string url() const { return fmt::format("http://127.0.0.1:{}/", port_); }
  std::size_t workers() const { return workers_.size(); }
  double cpu_s() const {
    double total = cpu_seconds(master_);
    for (const pid_t worker : workers_) total += cpu_seconds(worker);
    return total;
  }

 private:
  int port_;
  pid_t master_ = -1;
  std::vector<pid_t> workers_;
};

// ---- the downloads ------------------------------------------------------------------

// Where one server has each recording, and the header it needs.
struct Server {
  std::string name;
  std::function<std::string(const BacklogCall&)> url;
  std::string header;  // empty: none
  std::function<double()> cpu_s;
};

struct Pass {
  std::string name;
  double wall_s = 0, server_cpu_s = 0, curl_cpu_s = 0;
  Window window;
  PopLatency pops;
};

// One operation of one url per recording (each downloaded once, to
// /dev/null), curl's -w line per transfer to check what came.
void write_curl_config(const Backlog& backlog, const Server& server, const fs::path& path) {
  std::ofstream config(path);
  config << "write-out = \"%{http_code} %{size_download} %{url_effective}\\n\"\n";
  if (!server.header.empty()) config << fmt::format("header = \"{}\"\n", server.header);
  for (const auto& entry : backlog.calls)
    config << fmt::format("url = \"{}\"\noutput = \"/dev/null\"\n", server.url(entry));
}

// Every recording once, a 200 of its very size.
void check_transfers(const Backlog& backlog, const Server& server, const fs::path& written) {
  std::map<std::string, std::uint64_t> expected;
  for (const auto& entry : backlog.calls) expected[server.url(entry)] = entry.recording.bytes;
  std::ifstream in(written);
  std::size_t good = 0;
  std::map<std::string, int> wrong;  // "code size" -> count
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string code, url;
    std::uint64_t size = 0;
    fields >> code >> size >> url;
    const auto found = expected.find(url);
    if (code == "200" && found != expected.end() && found->second == size) {
      ++good;
      expected.erase(found);
    } else {
      ++wrong[code + " (" + std::to_string(size) + " bytes)"];
    }
  }
  if (good != backlog.calls.size()) {
    std::string what;
    for (const auto& [answer, count] : wrong) what += fmt::format(" {}x {}", count, answer);
    fail(fmt::format("{}: {} of {} recordings came whole;{}", server.name, good, backlog.calls.size(), what));
  }
}

// A sample's bytes against the rows' SHA-256 (outside the timed passes).
void check_sample(const Backlog& backlog, const Server& server, const fs::path& folder) {
  const std::size_t step = std::max<std::size_t>(1, backlog.calls.size() / 10);
  for (std::size_t i = 0; i < backlog.calls.size(); i += step) {
    const auto& entry = backlog.calls[i];
    const auto file = folder / "sample.opus";
    std::vector<std::string> argv = {"curl", "-sf", "-o", file.string(), server.url(entry)};
    if (!server.header.empty()) argv.insert(argv.end(), {"-H", server.header});
    std::string output;
    if (tools::run_capture(argv, output) != 0 || daemon::sha256_of_file(file) != entry.recording.sha256)
      fail(fmt::format("{}: {} is not the recorded file", server.name, server.url(entry)));
  }
}

Pass download_all(const Options& options, const Backlog& backlog, const Server& server, const fs::path& folder) {
  fs::create_directories(folder);
  write_curl_config(backlog, server, folder / "curl.conf");
  Pass pass;
  pass.name = server.name;
  tools::SpawnOptions spawn_options;
  spawn_options.stdout_path = folder / "transfers";
  const double cpu_before = server.cpu_s();
  pass.window.first = realtime_s();
  const auto started = Clock::now();
  std::vector<std::string> argv = {"curl", "--silent", "--no-progress-meter", "--show-error", "--parallel",
                                   "--parallel-max", std::to_string(options.clients), "--config",
                                   (folder / "curl.conf").string()};
  const auto priority = at_priority(options.client_nice);
  argv.insert(argv.begin(), priority.begin(), priority.end());
  const auto curl_cpu = run_timed(argv, spawn_options);
  pass.wall_s = wall_since(started);
  pass.window.second = realtime_s();
  pass.server_cpu_s = server.cpu_s() - cpu_before;
  if (!curl_cpu) fail(server.name + ": curl failed");
  pass.curl_cpu_s = *curl_cpu;
  check_transfers(backlog, server, folder / "transfers");
  return pass;
}

// ---- report ---------------------------------------------------------------------------

void print_pass(const Pass& pass, const Backlog& backlog) {
  const double mib = static_cast<double>(backlog.bytes) / (1 << 20);
  const bool downloads = pass.wall_s > 0;
  std::printf("%-26s %7.2f %8s %8s %9.2f %9s %6zu %7.2f %7.2f %7.2f\n", pass.name.c_str(),
              pass.window.second - pass.window.first,
              downloads ? fmt::format("{:.1f}", mib / pass.wall_s).c_str() : "-",
              downloads ? fmt::format("{:.0f}", static_cast<double>(backlog.calls.size()) / pass.wall_s).c_str() : "-",
              pass.server_cpu_s, downloads ? fmt::format("{:.2f}", pass.curl_cpu_s).c_str() : "-",
              pass.pops.samples, pass.pops.p50_ms, pass.pops.p99_ms, pass.pops.max_ms);
}

int run(const Options& options) {
  const fs::path root = fs::temp_directory_path() / "deskline-download";
  fs::remove_all(root);
  fs::create_directories(root);
  std::printf("load average at start: %s\n", load_average().c_str());
  const auto prepared = Clock::now();
  const auto backlog = prepare_backlog(options.calls, options.seconds, root / "daemon" / "data");
  const double mib = static_cast<double>(backlog.bytes) / (1 << 20);
  std::printf("recordings: %zu of %d s (%s): %.1f MiB, %.1f KiB each (ready in %.1f s)\n", backlog.calls.size(),
              options.seconds, backlog.audio_source.c_str(), mib,
              static_cast<double>(backlog.bytes) / 1024 / static_cast<double>(backlog.calls.size()),
              wall_since(prepared));
  std::printf("curl --parallel --parallel-max %d, every recording once to /dev/null; %d rounds of a desklined and an "
              "nginx pass, the order alternating\n",
              options.clients, options.rounds);
  std::printf("rings: 8 lines, one ring every %.2f s on each (%.0f pops/s), 1 events client, for the whole run\n",
              options.ring_spacing_s, 8 / options.ring_spacing_s);
  std::fflush(stdout);

  Daemon daemon(options, root / "daemon");
  const fs::path recordings = root / "daemon" / "data" / "recordings";
  Nginx nginx(root / "nginx", recordings);
  std::printf("nginx: %s, worker_processes auto (%zu workers), sendfile on, access_log off\n",
              nginx.url().c_str(), nginx.workers());
  const Server desklined{"desklined",
                         [&](const BacklogCall& entry) { return daemon.url() + entry.call.id; },
                         "Authorization: Bearer " + daemon.token(), [&] { return daemon.cpu_s(); }};
  const Server reference{"nginx",
                         [&](const BacklogCall& entry) {
                           return nginx.url() + fs::path(entry.recording.path).lexically_relative(recordings).string();
                         },
                         "", [&] { return nginx.cpu_s(); }};
  check_sample(backlog, desklined, root);
  check_sample(backlog, reference, root);

  // The idle window, once the daemon has settled.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  Pass idle;
  idle.name = "idle (rings only)";
  const double idle_cpu_before = daemon.cpu_s();
  idle.window.first = realtime_s();
  std::this_thread::sleep_for(std::chrono::duration<double>(options.idle_s));
  idle.window.second = realtime_s();
  idle.server_cpu_s = daemon.cpu_s() - idle_cpu_before;
  std::printf("idle window done, load average %s\n", load_average().c_str());
  std::fflush(stdout);

  std::vector<Pass> passes;
  for (int round = 1; round <= options.rounds; ++round) {
    const bool daemon_first = round % 2 == 1;
    for (const auto* server : daemon_first ? std::array{&desklined, &reference} : std::array{&reference, &desklined}) {
      passes.push_back(download_all(options, backlog, *server, root / fmt::format("{}-{}", server->name, round)));
      passes.back().name = fmt::format("{}, round {}", server->name, round);
      std::printf("%s: %.2f s, load average %s\n", passes.back().name.c_str(), passes.back().wall_s,
                  load_average().c_str());
      std::fflush(stdout);
    }
  }
  // A last stretch of rings so the passes' last pops are read.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  daemon.stop_and_read();
  idle.pops = daemon.pops({idle.window});
  for (auto& pass : passes) pass.pops = daemon.pops({pass.window});

  std::printf("\n%-26s %7s %8s %8s %9s %9s %6s %7s %7s %7s\n", "window", "wall s", "MiB/s", "files/s", "server CPU s",
              "curl CPU s", "pops", "p50 ms", "p99 ms", "max ms");
  print_pass(idle, backlog);
  for (const auto& pass : passes) print_pass(pass, backlog);
  std::printf("idle: desklined used %.1f%% of a core (the rings)\n\n",
              100 * idle.server_cpu_s / (idle.window.second - idle.window.first));

  // Each server over all its passes: each pass is seconds long, too few
  // rings in one for a p99 of its own.
  struct Total {
    double wall_s = 0, cpu_s = 0;
    std::vector<Window> windows;
  };
  std::map<std::string, Total> totals;
  for (const auto* server : {&desklined, &reference})
    for (const auto& pass : passes)
      if (pass.name.starts_with(server->name + ",")) {
        auto& total = totals[server->name];
        total.wall_s += pass.wall_s;
        total.cpu_s += pass.server_cpu_s;
        total.windows.push_back(pass.window);
      }
  std::printf("%-10s %8s %14s %6s %7s %7s %7s\n", "server", "MiB/s", "CPU ms / MiB", "pops", "p50 ms", "p99 ms",
              "max ms");
  std::map<std::string, PopLatency> pooled;
  for (const auto& [name, total] : totals) {
    pooled[name] = daemon.pops(total.windows);
    const double served = mib * static_cast<double>(total.windows.size());
    std::printf("%-10s %8.1f %14.1f %6zu %7.2f %7.2f %7.2f\n", name.c_str(), served / total.wall_s,
                1000 * total.cpu_s / served, pooled[name].samples, pooled[name].p50_ms, pooled[name].p99_ms,
                pooled[name].max_ms);
  }
  const double throughput = totals["nginx"].wall_s / totals["desklined"].wall_s;
  const bool pops_measured = idle.pops.samples > 0 && pooled["desklined"].samples > 0;
  const double p99_ratio = pops_measured ? pooled["desklined"].p99_ms / idle.pops.p99_ms : 0;
  std::printf("desklined / nginx throughput = %.2f (target >= 0.8)\n", throughput);
  if (pops_measured)
    std::printf("pop p99 during desklined's downloads / idle = %.2f (target <= 1.5); during nginx's: %.2f\n",
                p99_ratio, pooled["nginx"].p99_ms / idle.pops.p99_ms);
  else
    std::printf("pop p99 during the downloads / idle: not measured (no pops in a window)\n");
  std::printf("targets: >= 0.8x nginx throughput: %s; pop p99 within 1.5x idle: %s\n",
              throughput >= 0.8 ? "met" : "MISSED",
              !pops_measured ? "not measured" : p99_ratio <= 1.5 ? "met" : "MISSED");
  std::printf("load average at end: %s\n", load_average().c_str());
  return 0;
}

}  // namespace
}  // namespace deskline::bench

int main(int argc, char** argv) {
  deskline::bench::Options options;
  options.bin = deskline::tools::executable_dir();
  using deskline::bench::sets;
  if (!deskline::bench::parse_options(argc, argv,
                                      {{"--calls", sets(options.calls)},
                                       {"--seconds", sets(options.seconds)},
                                       {"--clients", sets(options.clients)},
                                       {"--rounds", sets(options.rounds)},
                                       {"--client-nice", [&](const std::string& value) { options.client_nice = value; }},
                                       {"--idle-s", sets(options.idle_s)},
                                       {"--ring-spacing", sets(options.ring_spacing_s)},
                                       {"--bin", sets(options.bin)}},
                                      "[--calls N] [--seconds S] [--clients C] [--rounds R] [--idle-s T] "
                                      "[--ring-spacing S] [--client-nice N|idle] [--bin DIR]"))
    return 2;
  return deskline::bench::run_bench("download bench", [&] { return deskline::bench::run(options); });
}
