#include "tools/cli/demo.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <span>
#include <thread>

#include <fmt/format.h>

#include "config/config.hpp"
#include "proto/bytes.hpp"
#include "daemon/domain/call_json.hpp"
#include "daemon/store/store.hpp"
#include "tools/cli/command.hpp"
#include "tools/cli/control_client.hpp"
#include "tools/cli/language.hpp"
#include "tools/cli/subprocess.hpp"
#include "tools/cli/tables.hpp"

namespace deskline::tools {
namespace {

namespace fs = std::filesystem;

constexpr const char* demo_scenario = R"(# A scripted morning at a four-desk sales office (deskline demo).
scenario version=1
box A serial=X800-DEMO-01 lines=4 rate=8000 decode=yes model="X800-4"

# Every answered call is recorded from answer (or off-hook) to on-hook; the
# "conversations" are cadenced two-tone chords, so the recordings hold sound.

# 09:00 A customer calls Sales 1; caller ID arrives between ring 1 and 2
# (China), the rep answers on the second ring and talks for ten seconds.
at 1.0   A:1 ring cadence=1.0/4.0 count=4
at 2.5   A:1 callerid number=13812345678 name="ZHANG WEI"
at 6.5   A:1 offhook
at 7.0   A:1 play tone=440+620 level=-15 duration=9 cadence=0.9/0.3    # the conversation
at 16.5  A:1 onhook

# 09:01 Sales 2 calls a prospect in Beijing.
at 3.0   A:2 offhook
at 4.0   A:2 dial digits=01062345678
at 7.0   A:2 play tone=523+659 level=-18 duration=11.5 cadence=1.2/0.4
at 19.0  A:2 onhook

# 09:02 Nobody picks up on Sales 3: a missed call.
at 8.0   A:3 ring cadence=1.0/4.0 count=2
at 9.5   A:3 callerid number=02161234567

# 09:04 Sales 3 calls Zhang Wei back about his quote (the task on his CRM timeline).
at 24.0  A:3 offhook
at 25.0  A:3 dial digits=13812345678
at 27.5  A:3 play tone=349+523 level=-16 duration=5 cadence=1.0/0.3
at 33.0  A:3 onhook

# 09:05 Two lines ring at once; Sales 4 answers, the other caller gives up.
at 22.0  A:1 ring cadence=1.0/4.0 count=2
at 23.5  A:1 callerid number=4008123123
at 22.0  A:4 ring cadence=1.0/4.0 count=3
at 23.5  A:4 callerid number=075523456789 name="SHENZHEN TRADE"
at 27.5  A:4 offhook
at 28.0  A:4 play tone=392+587 level=-15 duration=4.5 cadence=0.7/0.3
at 33.0  A:4 onhook

at 36.0  end
)";

// The demo's CRM credentials and address: [crm] of the config.
struct CrmSettings {
  std::string url;
  fs::path token_file;
  fs::path signing_secret_file;
};

std::string demo_config(const fs::path& dir, const CrmSettings& crm) {
  return fmt::format(R"(# Written by `deskline demo`: everything stays in this folder.
[daemon]
data_dir = "{0}/data"
run_dir = "{0}/run"
log_level = "info"

[http]
port = 0  # any free port: the demo prints the page's address

[directory]
region = "CN"
area_code = "10"

[calls]
ring_timeout_s = 5.0
inter_digit_timeout_s = 3.0

[[line]]
box = "X800-DEMO-01"
port = 1
name = "Sales 1"
user = "Li Na"

[[line]]
box = "X800-DEMO-01"
port = 2
name = "Sales 2"
user = "Wang Fang"

[[line]]
box = "X800-DEMO-01"
port = 3
name = "Sales 3"
user = "Chen Jie"

[[line]]
box = "X800-DEMO-01"
port = 4
name = "Sales 4"
user = "Zhao Lei"

[crm]  # the reference CRM the demo started: every call and recording goes there
url = "{1}"
token_file = "{2}"
signing_secret_file = "{3}"
)",
                     dir.string(), crm.url, crm.token_file.string(), crm.signing_secret_file.string());
}

fs::path find_binary(const std::string& name) {
  for (const auto& candidate : {executable_dir() / name, executable_dir().parent_path() / "sbin" / name})
    if (fs::exists(candidate)) return candidate;
  return name;  // fall back to PATH
}

// Hands each new complete line of a file that another process appends to.
class LineFollower {
 public:
  explicit LineFollower(fs::path path) : path_(std::move(path)) {}
  template <typename OnLine>
  void poll(OnLine&& on_line) {
    std::ifstream file(path_);
    file.seekg(offset_);
    std::string line;
    while (std::getline(file, line)) {
      if (file.eof()) break;  // partial line: read it next time
      offset_ = file.tellg();
      on_line(line);
    }
  }

 private:
  fs::path path_;
  std::streamoff offset_ = 0;
};

// ---- the reference CRM ---------------------------------------------------------------------

std::optional<std::string> random_bytes(std::size_t count) {
  std::ifstream source("/dev/urandom", std::ios::binary);
  std::string bytes(count, '\0');
  if (!source.read(bytes.data(), static_cast<std::streamsize>(count))) return std::nullopt;
  return bytes;
}

std::span<const std::uint8_t> as_bytes(const std::string& text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// Writes a secret readable by its owner only (mode 0600, even if the file was there).
bool write_private_file(const fs::path& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return false;
  bool written = ::fchmod(fd, 0600) == 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  return ::close(fd) == 0 && written;
}

// A fresh bearer token and Standard Webhooks secret for the demo's CRM, in the demo's folder.
std::optional<CrmSettings> write_crm_credentials(const fs::path& dir) {
  const auto token = random_bytes(24);
  const auto secret = random_bytes(32);
  if (!token || !secret) return std::nullopt;
  CrmSettings settings{.url = "", .token_file = dir / "crm-token", .signing_secret_file = dir / "crm-signing-secret"};
  if (!write_private_file(settings.token_file, proto::to_hex(as_bytes(*token)) + "\n") ||
      !write_private_file(settings.signing_secret_file, "whsec_" + proto::to_base64(as_bytes(*secret)) + "\n"))
    return std::nullopt;
  return settings;
}

// seed.json of the reference CRM: beside the program (the build's link resolves to
// tools/crm-ref/), or under share/deskline/crm-ref/ of an installed tree.
std::optional<fs::path> find_crm_seed(const fs::path& program) {
  std::error_code error;
  std::vector<fs::path> candidates;
  if (const auto real = fs::canonical(program, error); !error)
    candidates = {real.parent_path() / "seed.json", real.parent_path().parent_path() / "share/deskline/crm-ref/seed.json"};
  candidates.push_back(executable_dir().parent_path() / "share/deskline/crm-ref/seed.json");
  for (const auto& candidate : candidates)
    if (fs::is_regular_file(candidate, error)) return candidate;
  return std::nullopt;
}

std::string csv_field(std::string_view text) {
  std::string field = "\"";
  for (const char c : text) field += c == '"' ? std::string("\"\"") : std::string(1, c);
  return field + "\"";
}

// The CRM's seeded customers as the CSV `deskline customers import` reads: the
// same ids, names, companies and numbers, so a pop shows what the CRM shows,
// and each customer's link is its timeline on the CRM.
std::optional<std::string> customers_csv_from_seed(const fs::path& seed_path, const std::string& crm_url) {
  std::ifstream file(seed_path);
  const auto seed = nlohmann::json::parse(file, nullptr, false);
  if (!seed.is_object() || !seed["customers"].is_array()) return std::nullopt;
  std::size_t most_numbers = 1;
  for (const auto& customer : seed["customers"])
    most_numbers = std::max(most_numbers, customer.value("numbers", nlohmann::json::array()).size());
  std::string csv = "id,name,company,url";
  for (std::size_t n = 1; n <= most_numbers; ++n) csv += n == 1 ? ",phone" : fmt::format(",phone_{}", n);
  csv += "\n";
  for (const auto& customer : seed["customers"]) {
    const auto id = customer.value("id", "");
    csv += fmt::format("{},{},{},{}", csv_field(id), csv_field(customer.value("name", "")),
                       csv_field(customer.value("company", "")), csv_field(crm_url + "/customers/" + id));
    const auto numbers = customer.value("numbers", nlohmann::json::array());
    for (std::size_t n = 0; n < most_numbers; ++n)
      csv += "," + (n < numbers.size() && numbers[n].is_string() ? csv_field(numbers[n].get<std::string>()) : "");
    csv += "\n";
  }
  return csv;
}

// deskline-crm-ref on a free loopback port, seeded with the demo's customers; stopped
// (SIGTERM) when this goes away, whatever way the demo ends.
class ReferenceCrm {
 public:
  ReferenceCrm() = default;
  ReferenceCrm(const ReferenceCrm&) = delete;
  ReferenceCrm& operator=(const ReferenceCrm&) = delete;
  ~ReferenceCrm() { stop(); }

  // Starts it and waits (bounded) for its "listening on URL" line; the reason when it did not come up.
  std::optional<std::string> start(const fs::path& program, const fs::path& dir, const CrmSettings& settings,
                                   const fs::path& seed) {
    const auto out = dir / "crm-ref.out";
    std::error_code ignored;
    fs::remove(out, ignored);
    SpawnOptions options;
    options.stdout_path = out;
    options.stderr_path = dir / "crm-ref.log";
    pid_ = spawn({program.string(), "--data", (dir / "crm").string(), "--token-file", settings.token_file.string(),
                  "--signing-secret-file", settings.signing_secret_file.string(), "--port", "0", "--seed",
                  seed.string()},
                 options);
    if (pid_ < 0) return trf("cannot start {}: {}", program.string(), std::strerror(errno));
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    constexpr std::string_view prefix = "listening on ";
    while (std::chrono::steady_clock::now() < give_up) {
      std::ifstream file(out);
      if (std::string line; std::getline(file, line) && !file.eof() && line.starts_with(prefix)) {
        url_ = line.substr(prefix.size());
        return std::nullopt;
      }
      if (const auto status = wait_for(pid_, std::chrono::milliseconds(100))) {
        pid_ = -1;
        return trf("it exited with status {}; see {}", *status, (dir / "crm-ref.log").string());
      }
    }
    return trf("it did not listen within 30 s; see {}", (dir / "crm-ref.log").string());
  }

  const std::string& url() const { return url_; }

  void stop() {
    if (pid_ < 0) return;
    ::kill(pid_, SIGTERM);
    if (!wait_for(pid_, std::chrono::seconds(10))) {
      ::kill(pid_, SIGKILL);
      wait_for(pid_, std::chrono::seconds(5));
    }
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  std::string url_;
};

// ---- waiting for the morning to be on the CRM ------------------------------------------------

// Whether everything of the morning is on the CRM: every call ended, no
// recording still being written (each ends in the same transaction that
// queues it), and the daemon's outbox empty: nothing queued, in flight or
// parked.
struct SyncCheck {
  bool done = false;
  bool stuck = false;  // parked items: only `deskline sync retry` sends them again
  nlohmann::json status;
};

SyncCheck check_sync(const config::Config& config, std::unique_ptr<daemon::Store>& store) {
  SyncCheck check;
  const auto status = control_request(config.control_socket_path(), {{"cmd", "sync_status"}});
  if (!status || !status->value("ok", false)) return check;
  check.status = *status;
  check.stuck = status->value("parked", 0) > 0;
  if (status->value("backlog", 1) != 0 || status->value("in_flight", 1) != 0 || check.stuck) return check;
  if (!store) {
    auto opened = daemon::Store::open(config.database_path(), /*read_only=*/true);
    if (!opened) return check;
    store = std::move(*opened);
  }
  const auto calls = store->list_calls(0);
  const auto recordings = store->list_recordings(0);
  if (!calls || !recordings) return check;
  check.done = std::ranges::all_of(*calls, [](const auto& call) { return call.state == daemon::CallState::ended; }) &&
               std::ranges::none_of(*recordings, [](const auto& recording) {
                 return recording.state == daemon::RecordingState::recording;
               });
  return check;
}

// Stops the simulator (and so the daemon under it); its exit status.
std::optional<int> stop_simulator(pid_t simulator) {
  ::kill(simulator, SIGTERM);
  auto status = wait_for(simulator, std::chrono::seconds(20));
  if (!status) {
    ::kill(simulator, SIGKILL);
    status = wait_for(simulator, std::chrono::seconds(5));
  }
  return status;
}

// ---- stopping ----------------------------------------------------------------------------

volatile std::sig_atomic_t stop_requested = 0;
extern "C" void request_stop(int) { stop_requested = 1; }
extern "C" void ignore_signal(int) {}

// SIGINT, SIGTERM or SIGHUP end the demo through its cleanup (the simulator
// stopped, the CRM stopped) instead of leaving its children running; a closed
// stdout (SIGPIPE) only fails the writes. Handlers, not SIG_IGN: the children
// get the default dispositions back when they start.
void catch_stop_signals() {
  struct sigaction action {};
  action.sa_handler = request_stop;
  for (const int signal_number : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(signal_number, &action, nullptr);
  action.sa_handler = ignore_signal;
  ::sigaction(SIGPIPE, &action, nullptr);
}

// Until a line (Enter) or the end of stdin, or a stop signal.
void wait_for_enter() {
  if (::isatty(STDIN_FILENO)) ::tcflush(STDIN_FILENO, TCIFLUSH);  // not what was typed while the demo ran
  while (!stop_requested) {
    pollfd input{STDIN_FILENO, POLLIN, 0};
    const int ready = ::poll(&input, 1, 200);
    if (ready < 0 && errno != EINTR) return;
    if (ready <= 0) continue;
    char byte;
    const ssize_t count = ::read(STDIN_FILENO, &byte, 1);
    if (count == 0 || (count < 0 && errno != EINTR && errno != EAGAIN) || (count == 1 && byte == '\n')) return;
  }
}

}  // namespace

void add_demo_command(CLI::App& app, CliContext& context) {
  auto dir = std::make_shared<std::string>();
  auto* demo = app.add_subcommand("demo", tr("a virtual box plays a scripted morning of calls through the daemon "
                                             "and the reference CRM"));
  demo->add_option("--dir", *dir, tr("keep the demo's state here (default: a new temporary directory)"));
  demo->callback([&context, dir] { context.run = [dir] { return run_demo(*dir); }; });
}

int run_demo(const std::string& requested_dir) {
  catch_stop_signals();
  fs::path dir = requested_dir;
  if (dir.empty()) {
    std::string pattern = (fs::temp_directory_path() / "deskline-demo-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) {
      std::cerr << "deskline demo: " << tr("cannot create a temporary directory") << "\n";
      return 1;
    }
    dir = pattern;
  }
  std::error_code error;
  fs::create_directories(dir, error);
  dir = fs::absolute(dir);
  const auto config_path = dir / "deskline.toml";
  const auto scenario_path = dir / "morning.scenario";
  const auto log_path = dir / "desklined.log";
  const auto trace_path = dir / "trace.jsonl";

  // The reference CRM first: the config names its address, the customers link to it.
  auto crm_settings = write_crm_credentials(dir);
  if (!crm_settings) {
    std::cerr << "deskline demo: " << trf("cannot write the CRM's token and secret in {}", dir.string()) << "\n";
    return 1;
  }
  const auto crm_program = find_binary("deskline-crm-ref");
  const auto seed = find_crm_seed(crm_program);
  if (!seed) {
    std::cerr << "deskline demo: " << trf("cannot find the reference CRM's seed.json beside {}", crm_program.string())
              << "\n";
    return 1;
  }
  ReferenceCrm crm;
  if (const auto failure = crm.start(crm_program, dir, *crm_settings, *seed)) {
    // TRANSLATORS: {} is why, such as "it did not listen within 30 s; see FILE".
    std::cerr << "deskline demo: " << trf("the reference CRM did not start: {}", *failure) << "\n";
    return 1;
  }
  crm_settings->url = crm.url();
  const auto customers_csv = customers_csv_from_seed(*seed, crm.url());
  if (!customers_csv) {
    std::cerr << "deskline demo: " << trf("cannot read the customers of {}", seed->string()) << "\n";
    return 1;
  }

  std::ofstream(config_path) << demo_config(dir, *crm_settings);
  std::ofstream(scenario_path) << demo_scenario;
  fs::remove(log_path, error);
  fs::remove(trace_path, error);
  const auto customers_path = dir / "customers.csv";
  std::ofstream(customers_path) << *customers_csv;
  const auto self = executable_dir() / "deskline";
  std::string import_output;
  run_capture({self.string(), "--config", config_path.string(), "customers", "import", customers_path.string()},
              import_output);

  std::cout << trf("Deskline demo in {}", dir.string()) << "\n"
            << trf("A virtual X800 box with four lines plays a scripted morning (about 40 s);\n"
                   "every call and its recording goes to the reference CRM at {}",
                   crm.url())
            << "\n"
            // TRANSLATORS: {} is the summary line of `deskline customers import`.
            << trf("Customers (the CRM's): {}", import_output.substr(0, import_output.find('\n'))) << "\n\n"
            << std::flush;

  // --keep-running: the daemon stays up after the morning until its calls are on the CRM.
  SpawnOptions options;
  options.stderr_path = log_path;
  const pid_t simulator = spawn({find_binary("deskline-sim").string(), "--scenario", scenario_path.string(),
                                 "--trace", trace_path.string(), "--keep-running", "--",
                                 find_binary("desklined").string(), "--config", config_path.string()},
                                options);
  if (simulator < 0) {
    std::cerr << "deskline demo: " << trf("cannot start deskline-sim: {}", std::strerror(errno)) << "\n";
    return 1;
  }
  // The desk's view: every pop as it happens, through the real events socket.
  SpawnOptions pop_options;
  pop_options.stderr_path = dir / "pop.log";
  const pid_t pops = spawn({self.string(), "--config", config_path.string(), "pop"}, pop_options);
  LineFollower log(log_path);
  const auto show_log = [](const std::string& line) {
    // Calls show up as pops (printed by `deskline pop`); the log adds the box's own story.
    if (line.find("box ") != std::string::npos && line.find("service") != std::string::npos)
      std::cout << "  " << line.substr(line.find("box ")) << "\n" << std::flush;
  };
  LineFollower trace(trace_path);
  bool morning_over = false;
  const auto config = config::load_file(config_path);
  if (!config.config) {
    std::cerr << "deskline demo: " << trf("cannot read its own config {}", config_path.string()) << "\n";
    stop_simulator(simulator);
    return 1;
  }
  std::optional<int> status;
  bool page_shown = false;
  auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  while (!morning_over && !(status = wait_for(simulator, std::chrono::milliseconds(200)))) {
    log.poll(show_log);
    trace.poll([&](const std::string& line) { morning_over |= line.find("\"scenario_end\"") != std::string::npos; });
    if (!page_shown) {
      if (const auto response = control_request(config.config->control_socket_path(), {{"cmd", "status"}})) {
        std::cout << "  " << trf("Live pop page while the demo runs: {}", response->value("web_page", "")) << std::endl;
        page_shown = true;
      }
    }
    if (stop_requested) break;
    if (std::chrono::steady_clock::now() > give_up) {
      std::cerr << "deskline demo: " << tr("the simulator did not finish in 3 minutes") << "\n";
      break;
    }
  }

  // The morning is over: wait (bounded) until all of it is on the CRM, then stop the daemon.
  SyncCheck sync;
  if (morning_over) {
    std::unique_ptr<daemon::Store> live_store;
    give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!(sync = check_sync(*config.config, live_store)).done && !sync.stuck && !stop_requested &&
           std::chrono::steady_clock::now() < give_up && !(status = wait_for(simulator, std::chrono::milliseconds(200))))
      log.poll(show_log);
  }
  if (!status) status = stop_simulator(simulator);
  log.poll(show_log);
  if (pops > 0) {
    ::kill(pops, SIGTERM);
    wait_for(pops, std::chrono::seconds(5));
  }
  if (stop_requested) {
    std::cerr << "deskline demo: " << trf("stopped; its state is in {}", dir.string()) << "\n";
    return 130;
  }
  if (!morning_over || status.value_or(1) != 0) {
    std::cerr << "deskline demo: "
              << trf("the simulator or daemon failed (status {}); see {}", status.value_or(-1), log_path.string())
              << "\n";
    return 1;
  }

  std::unique_ptr<daemon::Store> store;
  if (auto opened = daemon::Store::open(config.config->database_path(), /*read_only=*/true)) store = std::move(*opened);
  if (!store) {
    std::cerr << "deskline demo: " << tr("cannot read the calls database") << "\n";
    return 1;
  }
  const auto call_records = store->list_calls(0).value_or(std::vector<daemon::CallRecord>{});
  nlohmann::json calls = nlohmann::json::array();
  for (const auto& record : call_records) calls.push_back(daemon::call_to_json(record));
  std::cout << "\n" << tr("Calls recorded this morning:") << "\n" << calls_table(calls) << "\n";

  nlohmann::json recordings = nlohmann::json::array();
  for (const auto& record : store->list_recordings(0).value_or(std::vector<daemon::RecordingRecord>{}))
    recordings.push_back(daemon::recording_to_json(record, store->find_call(record.call_id).value_or(std::nullopt)));
  std::cout << tr("Recordings (Ogg Opus, playable as they are):") << "\n" << recordings_table(recordings) << "\n";
  std::string example_id;
  for (const auto& recording : recordings)
    if (recording["path"].is_string()) example_id = recording["call_id"].get<std::string>().substr(0, 8);

  std::cout << trf("State, log and trace: {}", dir.string()) << "\n"
            << trf("Again with: deskline --config {} calls", config_path.string()) << "\n";
  if (!example_id.empty())
    std::cout << trf("As a WAV: deskline --config {} recordings export {} -o {}.wav", config_path.string(), example_id,
                     (dir / example_id).string())
              << "\n";

  // The CRM files a call under the first customer its pop showed; the one with the most calls leads.
  std::map<std::string, std::pair<int, std::string>> calls_by_customer;  // id -> (calls, name)
  for (const auto& record : call_records)
    if (!record.match.customers.empty()) {
      auto& [count, name] = calls_by_customer[record.match.customers.front().id];
      ++count;
      name = record.match.customers.front().name;
    }
  const auto busiest = std::ranges::max_element(
      calls_by_customer, [](const auto& a, const auto& b) { return a.second.first < b.second.first; });
  std::cout << "\n";
  const auto crm_log_path = (dir / "crm-ref.log").string();
  if (sync.done)
    std::cout << trf("Every call and recording of the morning is on the reference CRM ({} delivered):",
                     sync.status.value("delivered", 0))
              << "\n";
  else if (sync.stuck)
    std::cout << trf("Not everything reached the reference CRM in time (parked items): see {} and {}",
                     log_path.string(), crm_log_path)
              << "\n";
  else
    std::cout << trf("Not everything reached the reference CRM in time: see {} and {}", log_path.string(),
                     crm_log_path)
              << "\n";
  std::cout << "  " << trf("Customers and their calls: {}", crm.url() + "/") << "\n";
  if (busiest != calls_by_customer.end())
    std::cout << "  "
              // TRANSLATORS: the customer with the most calls: name, number of calls, then the address of the page.
              << trf("Timeline of {} ({} calls, with recordings to play): {}", busiest->second.second,
                     busiest->second.first, crm.url() + "/customers/" + busiest->first)
              << "\n";
  std::cout << tr("The reference CRM keeps serving these pages until you press Enter (or Ctrl-C).") << "\n"
            << std::flush;
  wait_for_enter();
  crm.stop();
  std::cout << tr("Reference CRM stopped.") << "\n";
  return sync.done ? 0 : 1;
}

}  // namespace deskline::tools
