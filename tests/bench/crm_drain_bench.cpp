// CRM sync: draining a backlog (issue 9's acceptance benchmark). In one run:
//
// 1. A backlog of N answered calls, each with a complete Ogg Opus recording of
//    S seconds of speech, stored through daemon/store with the CRM outbox on,
//    so migration 7's triggers queue them as in production (call ended, then
//    recording complete): tests/bench/call_backlog.hpp. Built once, cached
//    under /tmp.
// 2. Idle: desklined under deskline-sim, [crm] pointing at a reference CRM
//    (deskline-crm-ref) on loopback, no backlog; a steady ring scenario, pop
//    latency measured as pop_latency does (tests/bench/pop_measure.hpp).
// 3. Drain: the same with the backlog, parked until the daemon has run 2 s
//    and then released (sync_retry): the CRM's span from the first to the
//    last PUT of a backlog call, wall time until the outbox is empty
//    (sync_status on the control socket every 100 ms), the daemon's peak RSS
//    (VmHWM, and VmRSS sampled), its CPU time, and the pop latency of the
//    rings reaped during the drain.
// 4. curl on the same files against a fresh reference CRM each, beside the
//    same background (the daemon with the same rings syncing its own calls
//    to that CRM, settled 2 s): the entries first, then the recordings, with
//    the daemon's headers (token, Standard Webhooks signature made
//    beforehand, Repr-Digest, Content-Type), one process over keep-alive,
//    then --parallel --parallel-max M ([crm] max_in_flight).
// 3 and 4 (the latter with --parallel) run in --rounds rounds, the order
// alternating; the throughput verdict is the median round's, the pop verdict
// is on the pops of every round's drain pooled.
// After every upload run the CRM must hold all N calls with recordings of
// the right SHA-256 (/_ref/calls), or the bench fails.
//
//   deskline_crm_drain_bench [--calls N] [--seconds S] [--max-in-flight M] [--rounds R] [--idle-s T]
//                            [--ring-spacing S] [--crm-dir DIR] [--crm-nice N|idle] [--bin DIR]
//
// --crm-dir puts the reference CRMs' databases and recordings elsewhere (on
// tmpfs, /dev/shm/..., their fsyncs cost nothing: the clients' own costs show).
// --crm-nice runs every reference CRM at that nice value (default 10, as the
// download bench runs its curl): in production the CRM is another machine;
// here, at the bench's own priority, its work for whichever client uploads
// takes a core from the rings, the simulator and the pop reader (the pops
// beside curl --parallel, which never touches the daemon, show that share).
// --crm-nice idle runs it under SCHED_IDLE (chrt --idle): it then gets a core
// only when nothing else wants one, the closest this machine comes to a CRM
// on another machine.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <sqlite3.h>
#include <nlohmann/json.hpp>

#include "daemon/crm/call_entry.hpp"
#include "daemon/crm/crm_credentials.hpp"
#include "proto/repr_digest.hpp"
#include "tests/bench/bench_run.hpp"
#include "tests/bench/call_backlog.hpp"
#include "tests/bench/pop_measure.hpp"
#include "tests/process_usage.hpp"
#include "tools/cli/subprocess.hpp"

namespace deskline::bench {
namespace {

using testing::cpu_seconds;
using testing::status_kib;

struct Options {
  int calls = 1000;
  int seconds = 60;
  int max_in_flight = 4;  // [crm] max_in_flight, its default
  // Rounds of a drain and a curl --parallel run, the order alternating: the
  // disk's speed drifts by up to 2x over minutes on this VM (curl's own span
  // varied 2.6-4.9 s), so a drain and the curl run it is compared with
  // must run side by side, and the verdict takes the rounds' median. A
  // drain lasts ~3 s, 24 pops: five rounds pool over 100 pops, so the pop
  // verdict's p99 is not the largest of a few dozen.
  int rounds = 5;
  double idle_s = 60;     // length of the idle ring run
  double ring_spacing_s = 1.0;  // between rings on each of the 8 lines
  fs::path crm_dir;             // the reference CRMs' data (default: beside the daemon's, on the same disk)
  std::string crm_nice = "10";  // a nice value, or "idle" (SCHED_IDLE)
  fs::path bin;
};

struct Credentials {
  fs::path token_file, secret_file;
  daemon::CrmCredentials read;
};

Credentials write_credentials(const fs::path& folder) {
  Credentials credentials{folder / "crm-token", folder / "crm-secret", {}};
  std::ofstream(credentials.token_file) << "bench-token-7f3a9c2e51d84b6a\n";
  std::ofstream(credentials.secret_file) << "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n";
  config::CrmConfig config;
  config.token_file = credentials.token_file;
  config.signing_secret_file = credentials.secret_file;
  auto read = daemon::read_crm_credentials(config);
  if (!read) fail("credentials: " + read.error().message());
  credentials.read = std::move(*read);
  return credentials;
}

// The reference CRM on a free loopback port, its data in folder.
class ReferenceCrm {
 public:
  ReferenceCrm(const fs::path& bin, const fs::path& folder, const Credentials& credentials, const std::string& nice) {
    fs::remove_all(folder);
    fs::create_directories(folder);
    tools::SpawnOptions options;
    options.stdout_path = folder / "crm.out";
    options.stderr_path = folder / "crm.err";
    std::vector<std::string> argv = {(bin / "deskline-crm-ref").string(), "--data", (folder / "data").string(),
                                     "--token-file", credentials.token_file.string(), "--signing-secret-file",
                                     credentials.secret_file.string(), "--port", "0"};
    const auto priority = at_priority(nice);
    argv.insert(argv.begin(), priority.begin(), priority.end());
    pid_ = tools::spawn(argv, options);
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    const std::string prefix = "listening on http://127.0.0.1:";
    while (port_ == 0) {
      std::ifstream out(folder / "crm.out");
      std::string line;
      if (std::getline(out, line) && line.starts_with(prefix)) port_ = std::atoi(line.c_str() + prefix.size());
      else if (Clock::now() > deadline) fail("the reference CRM did not start: see " + (folder / "crm.err").string());
      else std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ~ReferenceCrm() { stop(pid_); }
  ReferenceCrm(const ReferenceCrm&) = delete;
  ReferenceCrm& operator=(const ReferenceCrm&) = delete;

  std::string url() const { return fmt::format("http://127.0.0.1:{}", port_); }

  // Seconds from the first to the last PUT of a backlog call the CRM logged
  // (each stamped when answered, to the millisecond): the upload without
  // process starts, nor the entries of the rings' calls before and after it.
  // Prints the requests it logged by method and status (retries show there).
  double put_span_s(const std::string& who, const Backlog& backlog) const {
    std::string output;
    if (tools::run_capture({"curl", "-sf", url() + "/_ref/requests"}, output) != 0) fail("GET /_ref/requests failed");
    const auto requests = nlohmann::json::parse(output, nullptr, false);
    std::set<std::string> backlog_ids;
    for (const auto& [call, recording] : backlog.calls) backlog_ids.insert(call.id);
    std::vector<double> answered;  // second of the day, in log order
    std::map<std::string, int> by_status;
    for (const auto& request : requests.is_array() ? requests : nlohmann::json::array()) {
      ++by_status[fmt::format("{} {}", request.value("method", ""), request.value("status", 0))];
      if (request.value("method", "") != "PUT") continue;
      // "/v1/calls/{id}" or "/v1/calls/{id}/recording"
      const auto path = request.value("path", "");
      const std::string_view calls_prefix = "/v1/calls/";
      if (!path.starts_with(calls_prefix) || !backlog_ids.contains(path.substr(calls_prefix.size(), 36)))
        continue;
      // "2026-11-27T09:00:01.500+08:00": the time of day is enough here.
      const auto at = request.value("at", "");
      if (at.size() < 23) continue;
      const double second_of_day = std::stoi(at.substr(11, 2)) * 3600 + std::stoi(at.substr(14, 2)) * 60 +
                                   std::stod(at.substr(17, 6));
      answered.push_back(second_of_day);
    }
    std::string counts;
    for (const auto& [what, count] : by_status) counts += fmt::format(" {} x{}", what, count);
    std::printf("CRM requests from %s:%s\n", who.c_str(), counts.c_str());
    if (answered.empty()) return 0;
    const auto since_first = [&](double at) {
      return at >= answered.front() ? at - answered.front() : at + 86400 - answered.front();
    };
    // Where the time goes: a slow start, a steady rate or a long tail.
    std::string progress;
    for (const int percent : {10, 25, 50, 75, 90, 99})
      progress += fmt::format(" {}%: {:.2f}", percent, since_first(answered[(answered.size() - 1) * percent / 100]));
    std::printf("CRM PUTs answered, s after the first:%s\n", progress.c_str());
    return since_first(answered.back());
  }
  double cpu_s() const { return cpu_seconds(pid_); }

  // Fails unless the CRM stored every backlog call with its very recording.
  void verify(const Backlog& backlog, const std::string& who) const {
    std::string output;
    if (tools::run_capture({"curl", "-sf", url() + "/_ref/calls"}, output) != 0) fail(who + ": GET /_ref/calls failed");
    const auto listed = nlohmann::json::parse(output, nullptr, false);
    const auto& array = listed.is_object() && listed.contains("calls") ? listed["calls"] : listed;
    std::map<std::string, nlohmann::json> stored;
    if (array.is_array())
      for (const auto& call : array) stored[call.value("id", "")] = call;
    std::size_t missing = 0, wrong = 0;
    for (const auto& [call, recording] : backlog.calls) {
      const auto found = stored.find(call.id);
      if (found == stored.end()) {
        ++missing;
        continue;
      }
      const auto& stored_recording = found->second["recording"];
      if (!stored_recording.is_object() || stored_recording.value("sha256", "") != recording.sha256) ++wrong;
    }
    if (missing || wrong)
      fail(fmt::format("{}: the CRM lacks {} of the {} calls and has {} without the right recording", who, missing,
                       backlog.calls.size(), wrong));
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// One request line to the control socket, its answer (null when none).
class ControlClient {
 public:
  explicit ControlClient(const fs::path& socket_path) : path_(socket_path) {}
  ~ControlClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  nlohmann::json ask(const std::string& request) {
    if (fd_ < 0 && !connect()) return nullptr;
    const std::string line = request + "\n";
    if (::send(fd_, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) return reset();
    std::string answer;
    char chunk[4096];
    while (answer.find('\n') == std::string::npos) {
      const ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
      if (got <= 0) return reset();
      answer.append(chunk, static_cast<std::size_t>(got));
    }
    return nlohmann::json::parse(answer.substr(0, answer.find('\n')), nullptr, false);
  }

 private:
  bool connect() {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path_.c_str(), sizeof address.sun_path - 1);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) return true;
    reset();
    return false;
  }
  std::nullptr_t reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    return nullptr;
  }

  fs::path path_;
  int fd_ = -1;
};

// ---- the daemon's runs -------------------------------------------------------------

struct DaemonRun {
  double wall_s = 0;  // the backlog's release to an empty outbox (drain), or the idle time
  double cpu_s = 0;   // desklined's utime + stime over that time
  long hwm_kib = 0, rss_max_kib = 0;
  double crm_cpu_s = 0;   // over that time
  double crm_span_s = 0;  // the CRM's first to last PUT
  PopLatency pops;
};

// desklined under deskline-sim with the steady rings, [crm] pointing at crm,
// one events client reading pops. The uploads beside it come from its own
// outbox (the drain) or from curl.
class SimulatedDaemon {
 public:
  SimulatedDaemon(const Options& options, const fs::path& work, const ReferenceCrm& crm,
                  const Credentials& credentials, double scenario_s)
      : work_(work), crm_(crm), scenario_(rings(scenario_s, options.ring_spacing_s)), control_(work / "run" / "control.sock") {
    std::ofstream(work / "deskline.toml") << fmt::format(
        "[daemon]\ndata_dir = \"{0}/data\"\nrun_dir = \"{0}/run\"\nlog_level = \"info\"\n[http]\nport = 0\n"
        "[recording]\npolicy = \"never\"\n"
        "[crm]\nurl = \"{1}\"\ntoken_file = \"{2}\"\nsigning_secret_file = \"{3}\"\nmax_in_flight = {4}\n",
        work.string(), crm.url(), credentials.token_file.string(), credentials.secret_file.string(),
        options.max_in_flight);
    std::ofstream(work / "rings.scenario") << scenario_.text();
    tools::SpawnOptions spawn_options;
    spawn_options.stderr_path = work / "log";
    crm_cpu_before_ = crm.cpu_s();
    started_at_ = realtime_s();
    started_ = Clock::now();
    simulator_ = tools::spawn(
        {(options.bin / "deskline-sim").string(), "--scenario", (work / "rings.scenario").string(), "--trace",
         (work / "trace.jsonl").string(), "--", (options.bin / "desklined").string(), "--config",
         (work / "deskline.toml").string()},
        spawn_options);
    reader_ = std::thread(read_pops, work / "run" / "events.sock", 1, std::ref(received_));
  }
  ~SimulatedDaemon() { end(); }
  SimulatedDaemon(const SimulatedDaemon&) = delete;
  SimulatedDaemon& operator=(const SimulatedDaemon&) = delete;

  // Every 100 ms: samples the daemon's RSS and asks sync_status (in every
  // run, so all pay for the answers) until done(status, seconds since the
  // start) says so.
  void poll_until(const std::function<bool(const nlohmann::json& status, double elapsed_s)>& done) {
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (!daemon_) daemon_ = child_named(simulator_, "desklined");
      if (daemon_) rss_max_kib_ = std::max(rss_max_kib_, status_kib(*daemon_, "VmRSS:"));
      if (tools::wait_for(simulator_, std::chrono::milliseconds(0)))
        fail("the simulator ended: see " + (work_ / "log").string());
      if (done(control_.ask(R"({"cmd": "sync_status"})"), wall_since(started_))) return;
    }
  }
  // Stops the simulator; the pops are those of rings reaped in [from, to].
  DaemonRun finish(double from, double to) {
    DaemonRun run;
    run.wall_s = wall_since(started_);
    if (!daemon_) fail("desklined did not start");
    run.cpu_s = cpu_seconds(*daemon_);
    run.hwm_kib = status_kib(*daemon_, "VmHWM:");
    run.rss_max_kib = rss_max_kib_;
    run.crm_cpu_s = crm_.cpu_s() - crm_cpu_before_;
    end();
    run.pops = pop_latency(received_, rings_reaped(work_ / "trace.jsonl", scenario_.serial), from, to);
    return run;
  }
  double started_at() const { return started_at_; }
  // desklined's and the CRM's CPU seconds so far.
  std::pair<double, double> cpu_s() const { return {daemon_ ? cpu_seconds(*daemon_) : 0, crm_.cpu_s()}; }
  nlohmann::json ask(const std::string& request) { return control_.ask(request); }

 private:
  void end() {
    if (!reader_.joinable()) return;
    stop(simulator_);
    reader_.join();
  }

  fs::path work_;
  const ReferenceCrm& crm_;
  RingScenario scenario_;
  ControlClient control_;
  pid_t simulator_ = -1;
  std::optional<pid_t> daemon_;
  long rss_max_kib_ = 0;
  double crm_cpu_before_ = 0, started_at_ = 0;
  Clock::time_point started_;
  std::vector<std::vector<ReceivedPop>> received_;
  std::thread reader_;
};

// Parks every item of the copied backlog's outbox, so that the daemon starts
// with nothing to send until the bench releases them (sync_retry, as
// `deskline sync retry --parked` does).
void park_backlog(const fs::path& database) {
  sqlite3* connection = nullptr;
  const bool parked = sqlite3_open(database.c_str(), &connection) == SQLITE_OK &&
                      sqlite3_exec(connection, "UPDATE crm_outbox SET state = 'parked'", nullptr, nullptr, nullptr) ==
                          SQLITE_OK;
  const std::string error = connection ? sqlite3_errmsg(connection) : "out of memory";
  sqlite3_close(connection);
  if (!parked) fail("cannot park the backlog in " + database.string() + ": " + error);
}

// Up, syncing, and past its start-up work (the audio devices, the first rings).
bool settled(const nlohmann::json& status, double elapsed_s) {
  return status.is_object() && status.value("ok", false) && elapsed_s >= 2;
}

// Idle (drain false): options.idle_s of rings. Drain: the backlog is
// released once the daemon has settled, as curl starts beside a settled
// daemon; then until the outbox is empty.
DaemonRun run_daemon(const Options& options, const fs::path& work, const ReferenceCrm& crm,
                     const Credentials& credentials, bool drain) {
  if (drain) park_backlog(work / "data" / "deskline.db");
  SimulatedDaemon daemon(options, work, crm, credentials, drain ? 3600 : options.idle_s);
  if (!drain) {
    daemon.poll_until([&](const nlohmann::json&, double elapsed_s) { return elapsed_s >= options.idle_s; });
    return daemon.finish(daemon.started_at(), realtime_s());
  }
  daemon.poll_until(settled);
  const auto released = daemon.ask(R"({"cmd": "sync_retry", "parked": true})");
  if (!released.is_object() || released.value("retried", 0) != 2 * static_cast<int>(options.calls))
    fail("releasing the backlog: " + released.dump());
  const double released_at = realtime_s();
  const auto [daemon_cpu_at_release, crm_cpu_at_release] = daemon.cpu_s();
  daemon.poll_until([&](const nlohmann::json& status, double elapsed_s) {
    if (status.is_object() && status.value("ok", false)) {
      if (status.value("parked", 0) > 0) fail("items were parked: " + status.dump());
      if (status.value("backlog", -1) == 0) return true;
    }
    if (elapsed_s > 3600) fail("the outbox did not drain within an hour");
    return false;
  });
  auto run = daemon.finish(released_at, realtime_s());
  // The drain's own: from the release on.
  run.wall_s = realtime_s() - released_at;
  run.cpu_s -= daemon_cpu_at_release;
  run.crm_cpu_s -= crm_cpu_at_release;
  return run;
}

// ---- curl ---------------------------------------------------------------------------

std::string header_lines(const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string text;
  for (const auto& [name, value] : headers) text += fmt::format("header = \"{}: {}\"\n", name, value);
  return text;
}

// A curl config of one operation per request, the daemon's headers signed
// now: every call entry (revision 2, as the daemon sends it once the
// recording is complete), then every recording.
void write_curl_config(const Backlog& backlog, const Credentials& credentials, const std::string& url,
                       const fs::path& folder) {
  fs::create_directories(folder / "entries");
  const auto timestamp = static_cast<std::int64_t>(realtime_s());
  const std::string common = fmt::format(
      "output = \"/dev/null\"\nsilent\nshow-error\nfail\nuser-agent = \"deskline/{}\"\nheader = \"Expect:\"\n",
      DESKLINE_VERSION);
  std::ofstream config(folder / "curl.conf");
  // "next" separates operations: before every one but the first.
  bool first = true;
  const auto next = [&] {
    if (!first) config << "next\n";
    first = false;
  };
  for (const auto& [call, recording] : backlog.calls) {
    const auto body = daemon::call_entry_json(call, recording, 2);
    const auto body_file = folder / "entries" / (call.id + ".json");
    std::ofstream(body_file, std::ios::binary) << body;
    auto headers = daemon::signed_headers(credentials.read, fmt::format("call-{}-r2", call.id), timestamp, body);
    headers.emplace_back("Content-Type", "application/json");
    next();
    config << fmt::format("url = \"{}/v1/calls/{}\"\nupload-file = \"{}\"\n", url, call.id, body_file.string())
           << common << header_lines(headers);
  }
  for (const auto& [call, recording] : backlog.calls) {
    const auto id = fmt::format("rec-{}-{}", call.id, recording.sha256.substr(0, 16));
    proto::webhook::Signer signer(credentials.read.key, id, timestamp);
    std::ifstream file(recording.path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(file)), {});
    signer.update(bytes);
    std::array<std::uint8_t, proto::digest::sha256_bytes> sha{};
    for (std::size_t i = 0; i < sha.size(); ++i)
      sha[i] = static_cast<std::uint8_t>(std::stoi(recording.sha256.substr(i * 2, 2), nullptr, 16));
    auto headers = daemon::headers_with_signature(credentials.read, id, timestamp, signer.finish());
    headers.emplace_back("Content-Type", "audio/ogg");
    headers.emplace_back("Repr-Digest", proto::digest::format_repr_digest(sha));
    next();
    config << fmt::format("url = \"{}/v1/calls/{}/recording\"\nupload-file = \"{}\"\n", url, call.id, recording.path)
           << common << header_lines(headers);
  }
}

struct ClientRun {
  double wall_s = 0, cpu_s = 0, crm_cpu_s = 0, crm_span_s = 0;
  PopLatency pops;  // of the daemon running beside curl
};

// curl beside the drain's background: the daemon under the simulator with
// the same rings, syncing its own calls to the same CRM, but no backlog.
ClientRun run_curl(const Options& options, const Backlog& backlog, const Credentials& credentials,
                   const fs::path& folder, int parallel) {
  const std::string who = parallel > 0 ? "curl --parallel" : "curl";
  ReferenceCrm crm(options.bin, options.crm_dir / folder.filename(), credentials, options.crm_nice);
  write_curl_config(backlog, credentials, crm.url(), folder);
  std::vector<std::string> argv = {"curl", "--silent", "--no-progress-meter", "--show-error", "--config",
                                   (folder / "curl.conf").string()};
  if (parallel > 0) argv.insert(argv.end(), {"--parallel", "--parallel-max", std::to_string(parallel)});
  fs::create_directories(folder / "daemon");
  SimulatedDaemon beside(options, folder / "daemon", crm, credentials, 3600);
  beside.poll_until(settled);
  const double crm_cpu_before = crm.cpu_s();
  const double from = realtime_s();
  const auto started = Clock::now();
  const auto cpu = run_timed(argv);
  ClientRun run{wall_since(started), cpu.value_or(0), crm.cpu_s() - crm_cpu_before, 0, {}};
  run.pops = beside.finish(from, realtime_s()).pops;
  if (!cpu) fail(who + " failed");
  run.crm_span_s = crm.put_span_s(who, backlog);
  crm.verify(backlog, who);
  return run;
}

// ---- report ---------------------------------------------------------------------------

void print_upload(const std::string& name, const Backlog& backlog, double wall_s, double span_s, double cpu_s,
                  double crm_cpu_s) {
  const double mib = static_cast<double>(backlog.bytes) / (1 << 20);
  std::printf("%-34s %8.2f %8.2f %8.1f %12.2f %14.2f %10.2f\n", name.c_str(), wall_s, mib / wall_s,
              static_cast<double>(backlog.calls.size()) / wall_s, span_s, cpu_s, crm_cpu_s);
  std::fflush(stdout);
}

int run(Options options) {
  const fs::path root = fs::temp_directory_path() / "deskline-crm-drain";
  fs::remove_all(root);
  fs::create_directories(root);
  if (options.crm_dir.empty()) options.crm_dir = root / "crm";
  std::printf("reference CRM data in %s, at %s %s\n", options.crm_dir.c_str(),
              options.crm_nice == "idle" ? "scheduling policy" : "nice", options.crm_nice.c_str());
  const auto credentials = write_credentials(root);
  std::printf("load average at start: %s\n", load_average().c_str());

  const auto prepared = Clock::now();
  const auto backlog = prepare_backlog(options.calls, options.seconds, root / "drain" / "data");
  // The copy's dirty pages are written back now, not during the drain (where
  // the CRM's fsyncs would wait for them; curl's runs come later).
  ::sync();
  const double mib = static_cast<double>(backlog.bytes) / (1 << 20);
  std::printf("backlog: %zu answered calls, %d s of speech each (%s), Ogg Opus 8 kHz 16 kb/s: %.1f MiB, %.1f KiB a call "
              "(ready in %.1f s)\n",
              backlog.calls.size(), options.seconds, backlog.audio_source.c_str(), mib,
              static_cast<double>(backlog.bytes) / 1024 / static_cast<double>(backlog.calls.size()),
              wall_since(prepared));
  std::printf("curl: one operation per request from a config file, every entry first, then every recording\n");
  std::printf("[crm] max_in_flight = %d; rings: 8 lines, one ring every %.2f s on each (%.0f pops/s), 1 events client\n",
              options.max_in_flight, options.ring_spacing_s, 8 / options.ring_spacing_s);
  std::fflush(stdout);

  DaemonRun idle;
  {
    fs::create_directories(root / "idle");
    ReferenceCrm crm(options.bin, options.crm_dir / "idle", credentials, options.crm_nice);
    idle = run_daemon(options, root / "idle", crm, credentials, false);
  }
  std::printf("idle run done (%.0f s), load average %s\n", idle.wall_s, load_average().c_str());
  const auto sequential = run_curl(options, backlog, credentials, root / "curl-sequential", 0);
  struct Round {
    DaemonRun drained;
    ClientRun parallel;
    double ratio() const { return drained.crm_span_s / parallel.crm_span_s; }
  };
  std::vector<Round> rounds(static_cast<std::size_t>(std::max(1, options.rounds)));
  for (std::size_t r = 0; r < rounds.size(); ++r) {
    auto& round = rounds[r];
    const auto drain = [&] {
      if (r > 0) prepare_backlog(options.calls, options.seconds, root / "drain" / "data");  // its outbox full again
      ::sync();
      ReferenceCrm crm(options.bin, options.crm_dir / "drain", credentials, options.crm_nice);
      round.drained = run_daemon(options, root / "drain", crm, credentials, true);
      crm.verify(backlog, "desklined");
      round.drained.crm_span_s = crm.put_span_s("desklined", backlog);
      fs::remove_all(options.crm_dir / "drain");
    };
    const auto curl = [&] {
      fs::remove_all(root / "curl-parallel");  // a fresh daemon beside it, as in the first round
      round.parallel = run_curl(options, backlog, credentials, root / "curl-parallel", options.max_in_flight);
      fs::remove_all(options.crm_dir / "curl-parallel");
    };
    if (r % 2 == 0) drain(), curl();
    else curl(), drain();
    std::printf("round %zu: CRM span desklined %.2f s, curl --parallel %.2f s: %.2f; pops while draining %zu, "
                "max %.1f ms; load average %s\n",
                r + 1, round.drained.crm_span_s, round.parallel.crm_span_s, round.ratio(), round.drained.pops.samples,
                round.drained.pops.max_ms, load_average().c_str());
    std::fflush(stdout);
  }
  // The round of the median ratio stands for the run in the tables below.
  std::vector<std::size_t> order(rounds.size());
  for (std::size_t r = 0; r < order.size(); ++r) order[r] = r;
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return rounds[a].ratio() < rounds[b].ratio(); });
  const auto& median = rounds[order[order.size() / 2]];
  const auto& drained = median.drained;
  const auto& parallel = median.parallel;
  std::printf("\nthe median round (%zu of %zu) below\n\n", order[order.size() / 2] + 1, rounds.size());

  std::printf("%-34s %8s %8s %8s %12s %14s %10s\n", "uploader", "wall s", "MiB/s", "calls/s", "CRM span s",
              "client CPU s", "CRM CPU s");
  print_upload(fmt::format("desklined ({} in flight)", options.max_in_flight), backlog, drained.wall_s, drained.crm_span_s,
               drained.cpu_s, drained.crm_cpu_s);
  print_upload("curl, one keep-alive connection", backlog, sequential.wall_s, sequential.crm_span_s,
               sequential.cpu_s, sequential.crm_cpu_s);
  print_upload(fmt::format("curl --parallel-max {}", options.max_in_flight), backlog, parallel.wall_s,
               parallel.crm_span_s, parallel.cpu_s, parallel.crm_cpu_s);
  std::printf("\ndesklined during the drain: VmHWM %.1f MiB, VmRSS max sampled %.1f MiB (target < 64 MiB); "
              "idle run VmHWM %.1f MiB\n",
              static_cast<double>(drained.hwm_kib) / 1024, static_cast<double>(drained.rss_max_kib) / 1024,
              static_cast<double>(idle.hwm_kib) / 1024);
  std::printf("pop latency   %19s %7s %8s %8s %8s\n", "", "pops", "p50 ms", "p99 ms", "max ms");
  std::vector<PopLatency> drains, beside_parallel;
  for (const auto& round : rounds) {
    drains.push_back(round.drained.pops);
    beside_parallel.push_back(round.parallel.pops);
  }
  const auto draining = pooled(drains);
  const auto all_rounds = fmt::format(", {} rounds", rounds.size());
  for (const auto& [name, pops] :
       {std::pair{std::string("idle"), idle.pops}, std::pair{std::string("draining, median round"), drained.pops},
        std::pair{"draining" + all_rounds, draining}, std::pair{std::string("beside curl"), sequential.pops},
        std::pair{"beside curl --parallel" + all_rounds, pooled(beside_parallel)}})
    std::printf("  %-31s %7zu %8.3f %8.3f %8.3f\n", name.c_str(), pops.samples, pops.p50_ms, pops.p99_ms, pops.max_ms);
  // No pops in either run (a drain shorter than the ring spacing): no verdict.
  const bool pops_measured = idle.pops.samples > 0 && draining.samples > 0;
  const double ratio = pops_measured ? draining.p99_ms / idle.pops.p99_ms : 0;
  if (pops_measured) std::printf("  p99 draining (%zu rounds) / idle = %.2f (target <= 1.5)\n\n", rounds.size(), ratio);
  else std::printf("  p99 draining / idle: not measured (no pops in a run)\n\n");
  std::string ratios;
  for (const auto& round : rounds) ratios += fmt::format(" {:.2f}", round.ratio());
  std::printf("CRM span desklined / curl --parallel by round:%s; median %.2f\n", ratios.c_str(), median.ratio());
  std::printf("targets: as fast as curl --parallel: %s; RSS < 64 MiB: %s; pop p99 within 1.5x idle: %s\n",
              drained.crm_span_s <= parallel.crm_span_s ? "met" : "MISSED", drained.hwm_kib < 64 * 1024 ? "met" : "MISSED",
              !pops_measured ? "not measured" : ratio <= 1.5 ? "met" : "MISSED");
  std::printf("load average at end: %s\n", load_average().c_str());
  // The CRMs' copies of the recordings (tmpfs holds them in memory); the daemon's logs stay.
  for (const auto* name : {"idle", "drain", "curl-sequential", "curl-parallel"}) fs::remove_all(options.crm_dir / name);
  fs::remove_all(root / "curl-sequential");
  fs::remove_all(root / "curl-parallel");
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
                                       {"--max-in-flight", sets(options.max_in_flight)},
                                       {"--rounds", sets(options.rounds)},
                                       {"--idle-s", sets(options.idle_s)},
                                       {"--ring-spacing", sets(options.ring_spacing_s)},
                                       {"--crm-dir", sets(options.crm_dir)},
                                       {"--crm-nice", [&](const std::string& value) { options.crm_nice = value; }},
                                       {"--bin", sets(options.bin)}},
                                      "[--calls N] [--seconds S] [--max-in-flight M] [--rounds R] [--idle-s T] "
                                      "[--ring-spacing S] [--crm-dir DIR] [--crm-nice N|idle] [--bin DIR]"))
    return 2;
  return deskline::bench::run_bench("crm drain bench", [&] { return deskline::bench::run(options); });
}
