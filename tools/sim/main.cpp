// deskline-sim: virtual X800-style line boxes for testing, driven by a
// scenario file (proto/scenario.md).
//
//   deskline-sim --scenario FILE [--trace FILE] [--keep-running]
//                [--start-timeout S] [--start-immediately] -- COMMAND [ARGS...]
//
// Threads, and who owns what:
// - main thread: command line, setup, the child process (and its restarts,
//   the scenario's "restart" action) and all signals (signalfd), shutdown.
//   It waits in poll() for signals, for the runner and for restart requests
//   (tools/sim/child_supervisor.*).
// - umockdev's testbed worker thread (a GLib main context inside libumockdev):
//   runs every usbfs ioctl handler of every box (tools/sim/usb_box.*).
// - scenario runner thread: the scenario clock and its events
//   (tools/sim/scenario_runner.*).
// - audio writer thread: 20 ms chunks of every box into its FIFO
//   (tools/sim/audio_writer.*).
// The scenario clock never waits on audio or USB: reports are stamped with
// their scheduled box time and queued; audio is rendered ahead of time.

#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <umockdev.h>

#include <CLI/CLI.hpp>

#include "codec/wav.hpp"
#include "proto/scenario.hpp"
#include "tools/sim/audio_writer.hpp"
#include "tools/sim/child_process.hpp"
#include "tools/sim/child_supervisor.hpp"
#include "tools/sim/clock.hpp"
#include "tools/sim/log.hpp"
#include "tools/sim/scenario_runner.hpp"
#include "tools/sim/trace.hpp"
#include "tools/sim/usb_box.hpp"

namespace {

using namespace deskline;
using namespace deskline::sim;
namespace fs = std::filesystem;

constexpr int exit_usage = 2;        // bad command line, scenario or audio file
constexpr int exit_start_timeout = 3;  // the host never opened a box
constexpr int exit_setup_failed = 4;   // umockdev, FIFOs, temp dir

struct Options {
  std::string scenario_path;
  std::string trace_path;
  bool keep_running = false;
  double start_timeout_s = 15;
  bool start_immediately = false;
  std::vector<std::string> command;
};

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(file), {});
}

// Loads every play file= WAV, relative to the scenario's folder, and checks
// it fits the box that plays it (mono 16-bit at the box's rate).
bool load_wav_files(const proto::scenario::Scenario& scenario, const std::string& scenario_path,
                    std::map<std::string, codec::WavAudio>& files) {
  const fs::path folder = fs::path(scenario_path).parent_path();
  std::map<std::string, std::uint32_t> box_rates;
  for (const auto& box : scenario.boxes) box_rates[box.id] = box.audio_rate_hz;
  for (const auto& action : scenario.actions) {
    const auto* play = std::get_if<proto::scenario::PlayAction>(&action.body);
    if (!play || play->kind != proto::scenario::PlayAction::Kind::file) continue;
    const std::string where = fmt::format("{}:{}", scenario_path, action.source_line);
    const std::uint32_t rate = box_rates.at(action.box);
    if (auto it = files.find(play->path); it != files.end()) {
      if (it->second.rate_hz != rate) {
        log("{}: {} is {} Hz but box {} runs at {} Hz", where, play->path, it->second.rate_hz, action.box, rate);
        return false;
      }
      continue;
    }
    const fs::path path = fs::path(play->path).is_absolute() ? fs::path(play->path) : folder / play->path;
    const auto bytes = read_file(path.string());
    if (!bytes) {
      log("{}: cannot read {}: {}", where, path.string(), std::strerror(errno));
      return false;
    }
    auto parsed = codec::parse_wav(std::span(reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size()));
    if (!parsed) {
      log("{}: {} is not a usable WAV file: {}", where, path.string(), parsed.error);
      return false;
    }
    if (parsed.audio->channels != 1) {
      log("{}: {} has {} channels; play needs mono", where, path.string(), parsed.audio->channels);
      return false;
    }
    if (parsed.audio->rate_hz != rate) {
      log("{}: {} is {} Hz but box {} runs at {} Hz", where, path.string(), parsed.audio->rate_hz, action.box, rate);
      return false;
    }
    files.emplace(play->path, std::move(*parsed.audio));
  }
  return true;
}

// The preload shim built next to this program (docs/architecture.md §7); an
// installed copy sits in ../lib.
std::string find_preload() {
  if (fs::exists(DESKLINE_SIM_PRELOAD)) return DESKLINE_SIM_PRELOAD;
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  const std::string name = fs::path(DESKLINE_SIM_PRELOAD).filename().string();
  for (const fs::path& candidate : {self.parent_path() / name, self.parent_path() / ".." / "lib" / name,
                                    self.parent_path() / ".." / "lib" / "deskline" / name})
    if (fs::exists(candidate)) return fs::canonical(candidate).string();
  return {};
}

std::string getenv_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// Self-cleaning temporary folder for the FIFOs and the ALSA configuration.
class TempFolder {
 public:
  bool create() {
    const std::string base = getenv_or_empty("TMPDIR").empty() ? "/tmp" : getenv_or_empty("TMPDIR");
    std::string pattern = base + "/deskline-sim.XXXXXX";
    if (!mkdtemp(pattern.data())) return false;
    path_ = pattern;
    return true;
  }
  ~TempFolder() {
    if (path_.empty()) return;
    std::error_code error;
    fs::remove_all(path_, error);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

int run(const Options& options) {
  // ---- scenario and its files, before anything is started ----
  const auto text = read_file(options.scenario_path);
  if (!text) {
    log("cannot read {}: {}", options.scenario_path, std::strerror(errno));
    return exit_usage;
  }
  auto parsed = proto::scenario::parse(*text);
  if (!parsed) {
    log("{}", proto::scenario::format_error(parsed.error, options.scenario_path));
    return exit_usage;
  }
  const proto::scenario::Scenario scenario = std::move(*parsed.scenario);
  std::map<std::string, codec::WavAudio> wav_files;
  if (!load_wav_files(scenario, options.scenario_path, wav_files)) return exit_usage;
  const std::string preload = find_preload();
  if (preload.empty()) {
    log("cannot find the preload shim {}", DESKLINE_SIM_PRELOAD);
    return exit_setup_failed;
  }

  // ---- signals: blocked in every thread, read by this one ----
  sigset_t handled;
  sigemptyset(&handled);
  for (int signal_number : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&handled, signal_number);
  pthread_sigmask(SIG_BLOCK, &handled, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a FIFO reader going away is an EPIPE, not a death
  const int signal_fd = signalfd(-1, &handled, SFD_CLOEXEC);
  if (signal_fd < 0) {
    log("cannot create a signalfd: {}", std::strerror(errno));
    return exit_setup_failed;
  }

  Trace trace;
  if (!options.trace_path.empty() && !trace.open(options.trace_path)) {
    log("cannot create trace {}: {}", options.trace_path, std::strerror(errno));
    return exit_usage;
  }
  TempFolder folder;
  if (!folder.create()) {
    log("cannot create a temporary folder: {}", std::strerror(errno));
    return exit_setup_failed;
  }
  AudioWriter audio;
  if (!audio.prepare(folder.path(), scenario.boxes)) return exit_setup_failed;

  // umockdev_testbed_new() sets UMOCKDEV_DIR in our environment and starts
  // the worker thread that will run the ioctl handlers.
  UMockdevTestbed* testbed = umockdev_testbed_new();
  gchar* testbed_root = umockdev_testbed_get_root_dir(testbed);
  const std::string root = testbed_root;
  g_free(testbed_root);

  std::atomic<Nanoseconds> scenario_start_ns{0};
  std::vector<std::unique_ptr<UsbBox>> boxes;
  for (std::size_t index = 0; index < scenario.boxes.size(); ++index)
    boxes.push_back(std::make_unique<UsbBox>(scenario.boxes[index], static_cast<int>(index) + 1, testbed, trace,
                                             scenario_start_ns));
  audio.set_overrun_callback([&boxes](std::size_t box_index, Nanoseconds at) {
    boxes[box_index]->report(proto::x800::box_wide,
                             proto::x800::BoxError{proto::x800::BoxErrorCode::audio_overrun,
                                                   "capture not read in time: audio dropped"},
                             at);
  });

  int exit_code = 0;
  {
    auto runner = std::make_unique<ScenarioRunner>(scenario, boxes, audio, trace, scenario_start_ns,
                                                   std::move(wav_files));
    if (!runner->plug_initial_boxes()) {
      exit_code = exit_setup_failed;
      runner->stop();
    } else {
      audio.start();
      for (const auto& box : scenario.boxes)
        log("box {}: ALSA capture PCM {} ({} channels, S16_LE, {} Hz)", box.id, AudioWriter::pcm_name(box.serial),
            box.lines, box.audio_rate_hz);

      std::string ld_preload = preload + ":libumockdev-preload.so.0";
      if (const auto existing = getenv_or_empty("LD_PRELOAD"); !existing.empty()) ld_preload += ":" + existing;
      std::string asan_options = getenv_or_empty("ASAN_OPTIONS");
      asan_options += (asan_options.empty() ? "" : ":") + std::string("verify_asan_link_order=0");
      ChildSupervisor::Settings settings;
      settings.command = options.command;
      settings.environment = environment_with({{"UMOCKDEV_DIR", root},
                                               {"LD_PRELOAD", ld_preload},
                                               {"ALSA_CONFIG_PATH", "/usr/share/alsa/alsa.conf:" + audio.config_path()},
                                               {"ASAN_OPTIONS", asan_options}});
      settings.start_timeout_s = options.start_timeout_s;
      settings.keep_running = options.keep_running;
      log("testbed {}; child gets UMOCKDEV_DIR, LD_PRELOAD={}, ALSA_CONFIG_PATH", root, ld_preload);

      ChildSupervisor supervisor(std::move(settings), signal_fd, boxes, trace);
      if (!supervisor.ready() || !supervisor.spawn()) {
        exit_code = exit_setup_failed;
      } else {
        RunnerOptions runner_options{options.start_timeout_s, !options.start_immediately, {}, {}};
        runner_options.restart_program = [&supervisor](proto::scenario::StopSignal signal) {
          supervisor.request_restart(signal);
        };
        runner_options.stall_program = [&supervisor](bool stalled) { supervisor.request_stall(stalled); };
        runner->start(std::move(runner_options), [&supervisor](RunnerOutcome result) { supervisor.runner_done(result); });
        const auto end = supervisor.run();
        const int status = supervisor.child_status();
        exit_code = end == SupervisionEnd::start_timeout    ? exit_start_timeout
                    : end == SupervisionEnd::restart_failed ? exit_setup_failed
                                                            : exit_code_of(status);
        log("child exited with status {}", exit_code_of(status));
      }
      // Joined while the supervisor that its callbacks point to still lives.
      runner->stop();
    }
    audio.stop();
    for (std::size_t index = 0; index < boxes.size(); ++index) {
      const auto stats = audio.stats(index);
      log("box {}: audio chunks written {}, dropped {} (reader too slow), unread {} (no reader); reports dropped {}",
          boxes[index]->declaration().id, stats.chunks_written, stats.chunks_dropped, stats.chunks_unread,
          boxes[index]->dropped_reports());
    }
  }
  // The child is gone; give umockdev's worker a moment to see its sockets
  // close before the testbed goes away.
  const Nanoseconds settle_deadline = monotonic_ns() + 2 * nanoseconds_per_second;
  auto clients_open = [&boxes] {
    return std::any_of(boxes.begin(), boxes.end(), [](const auto& box) { return box->open_clients() > 0; });
  };
  while (clients_open() && monotonic_ns() < settle_deadline) usleep(10'000);
  // The testbed stops its worker thread and removes its folder; only then
  // may the handlers it called go away.
  g_object_unref(testbed);
  boxes.clear();
  close(signal_fd);
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"deskline-sim: virtual X800 line boxes driven by a scenario file (proto/scenario.md)"};
  app.add_option("--scenario", options.scenario_path, "scenario file")->required();
  app.add_option("--trace", options.trace_path, "write JSON lines of actions, reports and commands to FILE");
  app.add_flag("--keep-running", options.keep_running, "after the scenario ends, keep the boxes until the child exits");
  app.add_option("--start-timeout", options.start_timeout_s,
                 "seconds to wait for the host to open every plugged box (default 15)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--start-immediately", options.start_immediately,
               "start the scenario clock at once, without waiting for the host (audio-only children)");
  app.add_option("command", options.command, "program to run under the simulator, after --")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? 0 : exit_usage;
  }
  return run(options);
}
