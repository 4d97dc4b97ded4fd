// CRM sync: draining a backlog (issue 9's acceptance benchmark). In one run:
//
// 1. A backlog of N answered calls, each with a complete Ogg Opus recording of
//    S seconds of speech made by codec/ogg_opus at the box's 8 kHz with the
//    daemon's default settings and tags, stored through daemon/store with the
//    CRM outbox on, so migration 7's triggers queue them as in production
//    (call ended, then recording complete). Built once, cached under /tmp.
// 2. Idle: desklined under deskline-sim, [crm] pointing at a reference CRM
//    (deskline-crm-ref) on loopback, no backlog; a steady ring scenario, pop
//    latency measured as pop_latency does (tests/bench/pop_measure.hpp).
// 3. Drain: the same with the backlog: wall time until the outbox is empty
//    (sync_status on the control socket every 100 ms), the daemon's peak RSS
//    (VmHWM, and VmRSS sampled), its CPU time, and the pop latency of the
//    rings reaped during the drain.
// 4. curl on the same files against a fresh reference CRM each: the entries
//    first, then the recordings, with the daemon's headers (token, Standard
//    Webhooks signature made beforehand, Repr-Digest, Content-Type), one
//    process over keep-alive, then --parallel --parallel-max M ([crm]
//    max_in_flight).
// After every upload run the CRM must hold all N calls with recordings of
// the right SHA-256 (/_ref/calls), or the bench fails.
//
//   deskline_crm_drain_bench [--calls N] [--seconds S] [--max-in-flight M] [--idle-s T] [--ring-spacing S]
//                            [--crm-dir DIR] [--bin DIR]
//
// --crm-dir puts the reference CRMs' databases and recordings elsewhere (on
// tmpfs, /dev/shm/..., their fsyncs cost nothing: the clients' own costs show).
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "codec/ogg_opus.hpp"
#include "daemon/archive/recording_file.hpp"
#include "daemon/crm/call_entry.hpp"
#include "daemon/crm/crm_credentials.hpp"
#include "daemon/domain/recording_tags.hpp"
#include "daemon/store/store.hpp"
#include "proto/repr_digest.hpp"
#include "tests/bench/pop_measure.hpp"
#include "tests/bench/speech_audio.hpp"
#include "tests/process_usage.hpp"
#include "tools/cli/subprocess.hpp"

namespace deskline::bench {
namespace {

using daemon::CallRecord;
using testing::cpu_seconds;
using testing::status_kib;
using daemon::RecordingRecord;
using Clock = std::chrono::steady_clock;

struct Options {
  int calls = 1000;
  int seconds = 60;
  int max_in_flight = 4;  // [crm] max_in_flight, its default
  double idle_s = 60;     // length of the idle ring run
  double ring_spacing_s = 1.0;  // between rings on each of the 8 lines
  fs::path crm_dir;             // the reference CRMs' data (default: beside the daemon's, on the same disk)
  fs::path bin;
};

// Rings during both runs: each of 8 lines every spacing_s, lines staggered
// evenly (8 / spacing_s pops a second, spread out), for as long as a run lasts.
RingScenario rings(double seconds, double spacing_s) {
  RingScenario scenario;
  scenario.spacing_s = spacing_s;
  scenario.line_offset_s = spacing_s / scenario.lines;
  scenario.calls_per_line = static_cast<int>(seconds / scenario.spacing_s) + 1;
  scenario.end_s = seconds + 3600;  // the bench stops the simulator
  return scenario;
}

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return fmt::format("{} {} {}", one, five, fifteen);
}

double wall_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// ---- the backlog ------------------------------------------------------------------

struct BacklogCall {
  CallRecord call;  // ended
  RecordingRecord recording;  // complete
};

struct Backlog {
  std::vector<BacklogCall> calls;
  std::uint64_t bytes = 0;
  std::string audio_source;
};

// <recordings>/YYYY/MM/DD/<call id>.opus by the call's local start date, as
// the daemon's RecordingService names them.
fs::path recording_path(const fs::path& root, const CallRecord& call) {
  const std::time_t seconds = call.started_at / 1'000'000;
  std::tm local{};
  localtime_r(&seconds, &local);
  return root / fmt::format("{:04}", local.tm_year + 1900) / fmt::format("{:02}", local.tm_mon + 1) /
         fmt::format("{:02}", local.tm_mday) / (call.id + ".opus");
}

// The calls of the backlog, a day ago, 70 s apart on 8 lines.
std::vector<BacklogCall> plan_backlog(const Options& options, const fs::path& data_dir) {
  const auto now = static_cast<daemon::WallTimeUs>(realtime_s() * 1e6);
  const daemon::WallTimeUs first = now - 86'400'000'000LL;
  std::vector<BacklogCall> calls;
  for (int i = 0; i < options.calls; ++i) {
    BacklogCall entry;
    auto& call = entry.call;
    call.id = fmt::format("d1a1b0c5-0000-4000-8000-{:012x}", i);
    call.port = 1 + i % 8;
    call.line = fmt::format("Sales {}", call.port);
    call.box = "X800-DRAIN";
    call.user = fmt::format("Desk {}", call.port);
    call.direction = daemon::Direction::inbound;
    call.number = fmt::format("1380013{:04d}", i % 10000);
    call.match.e164 = "+86" + call.number;
    call.match.display = fmt::format("138 0013 {:04d}", i % 10000);
    call.started_at = first + std::int64_t{i} * 70'000'000;
    call.answered_at = call.started_at + 4'200'000;
    call.ended_at = *call.answered_at + std::int64_t{options.seconds} * 1'000'000;
    entry.recording.call_id = call.id;
    entry.recording.path = recording_path(data_dir / "recordings", call).string();
    entry.recording.started_at = *call.answered_at;
    calls.push_back(std::move(entry));
  }
  return calls;
}

// One call's recording, as the daemon's encoder writes it (default
// [recording] bitrate and complexity, 200 ms pages, the daemon's tags).
void encode_recording(BacklogCall& entry, std::span<const std::int16_t> audio) {
  auto& recording = entry.recording;
  fs::create_directories(fs::path(recording.path).parent_path());
  const int fd = ::open(recording.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) fail("cannot create " + recording.path);
  codec::FdSink sink(fd, codec::FdSink::Ownership::owned);
  std::error_code error;
  auto writer = codec::OggOpusWriter::create({}, daemon::recording_comments(entry.call, recording.started_at),
                                             sink, error);
  if (!writer) fail("encoder: " + error.message());
  if ((error = writer->write(audio)) || (error = writer->finish()) || (error = sink.close(codec::FdSink::Sync::later)))
    fail(recording.path + ": " + error.message());
  recording.state = daemon::RecordingState::complete;
  recording.duration_s = writer->duration_s();
  recording.bytes = fs::file_size(recording.path);
  recording.sha256 = daemon::sha256_of_file(recording.path);
}

// Stores the calls as the daemon does over a call's life, each write its own
// transaction: the call at answer, its recording row, the call ended
// (queues its entry), the recording complete (queues it and the entry again).
void store_backlog(const fs::path& database, std::vector<BacklogCall>& calls) {
  auto store = daemon::Store::open(database);
  if (!store) fail("store: " + store.error().message());
  auto outbox = (*store)->open_crm_outbox();
  if (!outbox) fail("outbox: " + outbox.error().message());
  if (auto on = (*outbox)->set_queueing(true); !on) fail("outbox: " + on.error().message());
  for (auto& [call, recording] : calls) {
    auto active = call;
    active.state = daemon::CallState::active;
    auto row = recording;
    row.state = daemon::RecordingState::recording;
    row.duration_s = 0;
    row.bytes = 0;
    row.sha256.clear();
    call.state = daemon::CallState::ended;
    call.outcome = daemon::Outcome::answered;
    call.end_reason = daemon::EndReason::on_hook;
    const auto check = [](const daemon::Result<void>& written) {
      if (!written) fail("store: " + written.error().message());
    };
    check((*store)->insert_call(active));
    check((*store)->insert_recording(row));
    check((*store)->update_call(call));
    check((*store)->update_recording(recording));
  }
  const auto summary = (*outbox)->summary();
  if (!summary || summary->pending != static_cast<std::int64_t>(2 * calls.size()))
    fail(fmt::format("the outbox holds {} pending items, not {}", summary ? summary->pending : -1, 2 * calls.size()));
}

// Builds the backlog into data_dir, or copies it from the cache. The rows
// name their files by absolute path, so data_dir is always the same folder.
Backlog prepare_backlog(const Options& options, const fs::path& data_dir) {
  const fs::path cache = fs::temp_directory_path() / fmt::format("deskline-crm-drain-{}x{}s", options.calls, options.seconds);
  Backlog backlog;
  backlog.calls = plan_backlog(options, data_dir);
  fs::remove_all(data_dir);
  if (fs::exists(cache / "complete")) {
    fs::create_directories(data_dir.parent_path());
    fs::copy(cache / "data", data_dir, fs::copy_options::recursive);
    // The rows are the truth: read them back (the plan's times moved on).
    auto store = daemon::Store::open(data_dir / "deskline.db");
    if (!store) fail("store: " + store.error().message());
    for (auto& [call, recording] : backlog.calls) {
      auto stored_call = (*store)->find_call(call.id);
      auto stored_recording = (*store)->find_recording(call.id);
      if (!stored_call || !*stored_call || !stored_recording || !*stored_recording)
        fail("the cached backlog in " + cache.string() + " lacks call " + call.id + ": delete it");
      call = **stored_call;
      recording = **stored_recording;
      backlog.bytes += recording.bytes;
    }
    backlog.audio_source = "cached in " + cache.string();
    return backlog;
  }
  fs::create_directories(data_dir);
  const double speech_s = 600;
  const fs::path speech_cache = fs::temp_directory_path() / "deskline-bench";  // shared with the recording bench
  fs::create_directories(speech_cache);
  const Samples speech = speech_audio(speech_cache, speech_s, backlog.audio_source);
  const auto call_samples = static_cast<std::size_t>(options.seconds) * rate_hz;
  if (speech.size() < call_samples) fail("--seconds is longer than the speech (600 s)");
  std::fprintf(stderr, "encoding %d recordings of %d s (once; cached in %s)...\n", options.calls, options.seconds,
               cache.c_str());
  // Two encoder threads: one per core, as two lines recording would.
  std::vector<std::thread> encoders;
  for (int part = 0; part < 2; ++part)
    encoders.emplace_back([&, part] {
      for (std::size_t i = static_cast<std::size_t>(part); i < backlog.calls.size(); i += 2) {
        // Each call starts at another place in the speech.
        const std::size_t offset = (i * 37 * rate_hz) % (speech.size() - call_samples + 1);
        encode_recording(backlog.calls[i], std::span(speech).subspan(offset, call_samples));
      }
    });
  for (auto& encoder : encoders) encoder.join();
  store_backlog(data_dir / "deskline.db", backlog.calls);
  for (const auto& entry : backlog.calls) backlog.bytes += entry.recording.bytes;
  fs::remove_all(cache);
  fs::create_directories(cache);
  fs::copy(data_dir, cache / "data", fs::copy_options::recursive);
  std::ofstream(cache / "complete") << "ok\n";
  return backlog;
}

// ---- processes -----------------------------------------------------------------------

// The child of parent named name, if it has started (/proc/PID/stat: "pid
// (comm) state ppid ...").
std::optional<pid_t> child_named(pid_t parent, const std::string& name) {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator("/proc", error)) {
    const auto pid = std::atoi(entry.path().filename().c_str());
    if (pid <= 0) continue;
    std::ifstream in(entry.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    const auto open = text.find('('), close = text.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close + 4 > text.size()) continue;
    if (text.substr(open + 1, close - open - 1) == name && std::atoi(text.c_str() + close + 4) == parent) return pid;
  }
  return std::nullopt;
}

void stop(pid_t pid) {
  ::kill(pid, SIGTERM);
  if (!tools::wait_for(pid, std::chrono::seconds(30))) {
    ::kill(pid, SIGKILL);
    tools::wait_for(pid, std::chrono::seconds(5));
  }
}

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
  ReferenceCrm(const fs::path& bin, const fs::path& folder, const Credentials& credentials) {
    fs::remove_all(folder);
    fs::create_directories(folder);
    tools::SpawnOptions options;
    options.stdout_path = folder / "crm.out";
    options.stderr_path = folder / "crm.err";
    pid_ = tools::spawn({(bin / "deskline-crm-ref").string(), "--data", (folder / "data").string(), "--token-file",
                         credentials.token_file.string(), "--signing-secret-file", credentials.secret_file.string(),
                         "--port", "0"},
                        options);
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

  // Seconds from the first to the last PUT the CRM logged (each stamped
  // when answered, to the millisecond): the upload without process starts.
  // Prints the requests it logged by method and status (retries show there).
  double put_span_s(const std::string& who) const {
    std::string output;
    if (tools::run_capture({"curl", "-sf", url() + "/_ref/requests"}, output) != 0) fail("GET /_ref/requests failed");
    const auto requests = nlohmann::json::parse(output, nullptr, false);
    double first = -1, last = -1;
    std::map<std::string, int> by_status;
    for (const auto& request : requests.is_array() ? requests : nlohmann::json::array()) {
      ++by_status[fmt::format("{} {}", request.value("method", ""), request.value("status", 0))];
      if (request.value("method", "") != "PUT") continue;
      // "2026-11-27T09:00:01.500+08:00": the time of day is enough here.
      const auto at = request.value("at", "");
      if (at.size() < 23) continue;
      const double second_of_day = std::stoi(at.substr(11, 2)) * 3600 + std::stoi(at.substr(14, 2)) * 60 +
                                   std::stod(at.substr(17, 6));
      if (first < 0) first = second_of_day;
      last = second_of_day;
    }
    std::string counts;
    for (const auto& [what, count] : by_status) counts += fmt::format(" {} x{}", what, count);
    std::printf("CRM requests from %s:%s\n", who.c_str(), counts.c_str());
    if (first < 0) return 0;
    return last >= first ? last - first : last + 86400 - first;
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
  double wall_s = 0;  // simulator started to outbox empty (drain) or the idle time
  double cpu_s = 0;   // desklined's utime + stime over the run
  long hwm_kib = 0, rss_max_kib = 0;
  double crm_cpu_s = 0;
  double crm_span_s = 0;  // the CRM's first to last PUT
  PopLatency pops;
};

// desklined under deskline-sim with the ring scenario, syncing to crm. With
// drain, until its outbox is empty; else for options.idle_s.
DaemonRun run_daemon(const Options& options, const fs::path& work, const ReferenceCrm& crm,
                     const Credentials& credentials, bool drain) {
  std::ofstream(work / "deskline.toml") << fmt::format(
      "[daemon]\ndata_dir = \"{0}/data\"\nrun_dir = \"{0}/run\"\nlog_level = \"info\"\n[http]\nport = 0\n"
      "[recording]\npolicy = \"never\"\n"
      "[crm]\nurl = \"{1}\"\ntoken_file = \"{2}\"\nsigning_secret_file = \"{3}\"\nmax_in_flight = {4}\n",
      work.string(), crm.url(), credentials.token_file.string(), credentials.secret_file.string(),
      options.max_in_flight);
  const auto scenario = rings(drain ? 3600 : options.idle_s, options.ring_spacing_s);
  std::ofstream(work / "rings.scenario") << scenario.text();
  tools::SpawnOptions spawn_options;
  spawn_options.stderr_path = work / "log";
  const double crm_cpu_before = crm.cpu_s();
  const double started_at = realtime_s();
  const auto started = Clock::now();
  const pid_t simulator = tools::spawn(
      {(options.bin / "deskline-sim").string(), "--scenario", (work / "rings.scenario").string(), "--trace",
       (work / "trace.jsonl").string(), "--", (options.bin / "desklined").string(), "--config",
       (work / "deskline.toml").string()},
      spawn_options);
  std::vector<std::vector<ReceivedPop>> received;
  std::thread reader(read_pops, work / "run" / "events.sock", 1, std::ref(received));

  DaemonRun run;
  ControlClient control(work / "run" / "control.sock");
  std::optional<pid_t> daemon;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!daemon) daemon = child_named(simulator, "desklined");
    if (daemon) run.rss_max_kib = std::max(run.rss_max_kib, status_kib(*daemon, "VmRSS:"));
    if (tools::wait_for(simulator, std::chrono::milliseconds(0))) fail("the simulator ended: see " + (work / "log").string());
    // Asked in both runs, so both pay for the answers.
    const auto status = control.ask(R"({"cmd": "sync_status"})");
    if (drain) {
      if (status.is_object() && status.value("ok", false)) {
        if (status.value("parked", 0) > 0) fail("items were parked: " + status.dump());
        if (status.value("backlog", -1) == 0) break;
      }
      if (wall_since(started) > 3600) fail("the outbox did not drain within an hour");
    } else if (wall_since(started) >= options.idle_s) {
      break;
    }
  }
  const double ended_at = realtime_s();
  run.wall_s = wall_since(started);
  if (!daemon) fail("desklined did not start");
  run.cpu_s = cpu_seconds(*daemon);
  run.hwm_kib = status_kib(*daemon, "VmHWM:");
  run.crm_cpu_s = crm.cpu_s() - crm_cpu_before;
  stop(simulator);
  reader.join();
  run.pops = pop_latency(received, rings_reaped(work / "trace.jsonl", scenario.serial), started_at, ended_at);
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
};

ClientRun run_curl(const Options& options, const Backlog& backlog, const Credentials& credentials,
                   const fs::path& folder, int parallel) {
  ReferenceCrm crm(options.bin, options.crm_dir / folder.filename(), credentials);
  write_curl_config(backlog, credentials, crm.url(), folder);
  std::vector<std::string> argv = {"curl", "--silent", "--no-progress-meter", "--show-error", "--config",
                                   (folder / "curl.conf").string()};
  if (parallel > 0) argv.insert(argv.end(), {"--parallel", "--parallel-max", std::to_string(parallel)});
  const double crm_cpu_before = crm.cpu_s();
  const auto started = Clock::now();
  const auto cpu = run_timed(argv);
  ClientRun run{wall_since(started), cpu.value_or(0), crm.cpu_s() - crm_cpu_before,
                crm.put_span_s(parallel > 0 ? "curl --parallel" : "curl")};
  if (!cpu) fail(fmt::format("curl{} failed", parallel > 0 ? " --parallel" : ""));
  crm.verify(backlog, parallel > 0 ? "curl --parallel" : "curl");
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
  std::printf("reference CRM data in %s\n", options.crm_dir.c_str());
  const auto credentials = write_credentials(root);
  std::printf("load average at start: %s\n", load_average().c_str());

  const auto prepared = Clock::now();
  const auto backlog = prepare_backlog(options, root / "drain" / "data");
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

  DaemonRun idle, drained;
  {
    fs::create_directories(root / "idle");
    ReferenceCrm crm(options.bin, options.crm_dir / "idle", credentials);
    idle = run_daemon(options, root / "idle", crm, credentials, false);
  }
  std::printf("idle run done (%.0f s), load average %s\n", idle.wall_s, load_average().c_str());
  {
    ReferenceCrm crm(options.bin, options.crm_dir / "drain", credentials);
    drained = run_daemon(options, root / "drain", crm, credentials, true);
    crm.verify(backlog, "desklined");
    drained.crm_span_s = crm.put_span_s("desklined");
  }
  std::printf("drain done, load average %s\n", load_average().c_str());
  std::fflush(stdout);
  const auto sequential = run_curl(options, backlog, credentials, root / "curl-sequential", 0);
  const auto parallel = run_curl(options, backlog, credentials, root / "curl-parallel", options.max_in_flight);
  std::printf("curl done, load average %s\n\n", load_average().c_str());

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
  std::printf("pop latency   %7s %8s %8s %8s\n", "pops", "p50 ms", "p99 ms", "max ms");
  for (const auto& [name, pops] : {std::pair{"idle", idle.pops}, std::pair{"draining", drained.pops}})
    std::printf("  %-11s %7zu %8.3f %8.3f %8.3f\n", name, pops.samples, pops.p50_ms, pops.p99_ms, pops.max_ms);
  // No pops in either run (a drain shorter than the ring spacing): no verdict.
  const bool pops_measured = idle.pops.samples > 0 && drained.pops.samples > 0;
  const double ratio = pops_measured ? drained.pops.p99_ms / idle.pops.p99_ms : 0;
  if (pops_measured) std::printf("  p99 draining / idle = %.2f (target <= 1.5)\n\n", ratio);
  else std::printf("  p99 draining / idle: not measured (no pops in a run)\n\n");
  std::printf("targets: as fast as curl --parallel: %s; RSS < 64 MiB: %s; pop p99 within 1.5x idle: %s\n",
              drained.wall_s <= parallel.wall_s ? "met" : "MISSED", drained.hwm_kib < 64 * 1024 ? "met" : "MISSED",
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
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string option = argv[i];
    const std::string value = argv[i + 1];
    if (option == "--calls") options.calls = std::stoi(value);
    else if (option == "--seconds") options.seconds = std::stoi(value);
    else if (option == "--max-in-flight") options.max_in_flight = std::stoi(value);
    else if (option == "--idle-s") options.idle_s = std::stod(value);
    else if (option == "--ring-spacing") options.ring_spacing_s = std::stod(value);
    else if (option == "--crm-dir") options.crm_dir = value;
    else if (option == "--bin") options.bin = value;
    else {
      std::fprintf(stderr,
                   "usage: %s [--calls N] [--seconds S] [--max-in-flight M] [--idle-s T] [--ring-spacing S] "
                   "[--crm-dir DIR] [--bin DIR]\n",
                   argv[0]);
      return 2;
    }
  }
  if (argc % 2 == 0) {
    std::fprintf(stderr, "%s: option %s needs a value\n", argv[0], argv[argc - 1]);
    return 2;
  }
  try {
    return deskline::bench::run(options);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "crm drain bench failed: %s\n", error.what());
    return 1;
  }
}
