#include "tools/cli/demo.hpp"

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "config/config.hpp"
#include "daemon/domain/call_json.hpp"
#include "daemon/store/store.hpp"
#include "tools/cli/command.hpp"
#include "tools/cli/control_client.hpp"
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

// A few customers of the sales team, in the CSV `deskline customers import` reads.
constexpr const char* demo_customers = R"(id,name,company,url,phone,phone_office
c-101,Zhang Wei,Acme Trading,https://crm.example/customers/101,+86 138 1234 5678,
c-102,Wang Fang,Shanghai Steel,https://crm.example/customers/102,,021-6123 4567
c-103,Chen Jing,Sunrise Logistics,https://crm.example/customers/103,,400-812-3123
c-104,Li Qiang,Shenzhen Trade,https://crm.example/customers/104,,0755-2345 6789
c-105,Zhou Min,Shenzhen Trade,https://crm.example/customers/105,,(0755) 23456789
c-106,Sun Hao,Beijing Prospect Ltd,https://crm.example/customers/106,,010-6234 5678
)";

std::string demo_config(const fs::path& dir) {
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
)",
                     dir.string());
}

fs::path find_binary(const std::string& name) {
  for (const auto& candidate : {executable_dir() / name, executable_dir().parent_path() / "sbin" / name})
    if (fs::exists(candidate)) return candidate;
  return name;  // fall back to PATH
}

// Prints the daemon's call log lines as they appear, so the user watches the morning happen.
class LogFollower {
 public:
  explicit LogFollower(fs::path path) : path_(std::move(path)) {}
  void poll() {
    std::ifstream file(path_);
    file.seekg(offset_);
    std::string line;
    while (std::getline(file, line)) {
      if (file.eof()) break;  // partial line: read it next time
      offset_ = file.tellg();
      // Calls show up as pops (printed by `deskline pop`); the log adds the box's own story.
      if (line.find("box ") != std::string::npos && line.find("service") != std::string::npos)
        std::cout << "  " << line.substr(line.find("box ")) << "\n" << std::flush;
    }
  }

 private:
  fs::path path_;
  std::streamoff offset_ = 0;
};

}  // namespace

void add_demo_command(CLI::App& app, CliContext& context) {
  auto dir = std::make_shared<std::string>();
  auto* demo = app.add_subcommand("demo", "a virtual box plays a scripted morning of calls through the daemon");
  demo->add_option("--dir", *dir, "keep the demo's state here (default: a new temporary directory)");
  demo->callback([&context, dir] { context.run = [dir] { return run_demo(*dir); }; });
}

int run_demo(const std::string& requested_dir) {
  fs::path dir = requested_dir;
  if (dir.empty()) {
    std::string pattern = (fs::temp_directory_path() / "deskline-demo-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) {
      std::cerr << "deskline demo: cannot create a temporary directory\n";
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
  std::ofstream(config_path) << demo_config(dir);
  std::ofstream(scenario_path) << demo_scenario;
  fs::remove(log_path, error);
  const auto customers_path = dir / "customers.csv";
  std::ofstream(customers_path) << demo_customers;
  const auto self = executable_dir() / "deskline";
  std::string import_output;
  run_capture({self.string(), "--config", config_path.string(), "customers", "import", customers_path.string()},
              import_output);

  std::cout << fmt::format("Deskline demo in {}\n", dir.string())
            << "A virtual X800 box with four lines plays a scripted morning (about 40 s).\n"
            << "Customers: " << import_output.substr(0, import_output.find('\n')) << "\n\n" << std::flush;

  SpawnOptions options;
  options.stderr_path = log_path;
  const pid_t simulator = spawn({find_binary("deskline-sim").string(), "--scenario", scenario_path.string(),
                                 "--trace", (dir / "trace.jsonl").string(), "--", find_binary("desklined").string(),
                                 "--config", config_path.string()},
                                options);
  if (simulator < 0) {
    std::cerr << "deskline demo: cannot start deskline-sim: " << std::strerror(errno) << "\n";
    return 1;
  }
  // The desk's view: every pop as it happens, through the real events socket.
  SpawnOptions pop_options;
  pop_options.stderr_path = dir / "pop.log";
  const pid_t pops = spawn({self.string(), "--config", config_path.string(), "pop"}, pop_options);
  LogFollower follower(log_path);
  std::optional<int> status;
  bool page_shown = false;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  while (!(status = wait_for(simulator, std::chrono::milliseconds(200)))) {
    follower.poll();
    if (!page_shown) {
      if (auto loaded = config::load_file(config_path)) {
        if (const auto response = control_request(loaded.config->control_socket_path(), {{"cmd", "status"}})) {
          std::cout << "  Live pop page while the demo runs: " << response->value("web_page", "") << std::endl;
          page_shown = true;
        }
      }
    }
    if (std::chrono::steady_clock::now() > give_up) {
      ::kill(simulator, SIGTERM);
      status = wait_for(simulator, std::chrono::seconds(15));
      if (!status) ::kill(simulator, SIGKILL), status = wait_for(simulator, std::chrono::seconds(5));
      std::cerr << "deskline demo: the simulator did not finish in 3 minutes\n";
      break;
    }
  }
  follower.poll();
  if (pops > 0) {
    ::kill(pops, SIGTERM);
    wait_for(pops, std::chrono::seconds(5));
  }
  if (status.value_or(1) != 0) {
    std::cerr << fmt::format("deskline demo: the simulator or daemon failed (status {}); see {}\n",
                             status.value_or(-1), log_path.string());
    return 1;
  }

  std::unique_ptr<daemon::Store> store;
  if (auto loaded = config::load_file(config_path)) {
    if (auto opened = daemon::Store::open(loaded.config->database_path(), /*read_only=*/true))
      store = std::move(*opened);
  }
  if (!store) {
    std::cerr << "deskline demo: cannot read the calls database\n";
    return 1;
  }
  nlohmann::json calls = nlohmann::json::array();
  for (const auto& record : store->list_calls(0).value_or(std::vector<daemon::CallRecord>{}))
    calls.push_back(daemon::call_to_json(record));
  std::cout << "\nCalls recorded this morning:\n" << calls_table(calls) << "\n";

  nlohmann::json recordings = nlohmann::json::array();
  for (const auto& record : store->list_recordings(0).value_or(std::vector<daemon::RecordingRecord>{}))
    recordings.push_back(daemon::recording_to_json(record, store->find_call(record.call_id).value_or(std::nullopt)));
  std::cout << "Recordings (Ogg Opus, playable as they are):\n" << recordings_table(recordings) << "\n";
  std::string example_id;
  for (const auto& recording : recordings)
    if (recording["path"].is_string()) example_id = recording["call_id"].get<std::string>().substr(0, 8);

  std::cout << fmt::format("State, log and trace: {}\nAgain with: deskline --config {} calls\n", dir.string(),
                           config_path.string());
  if (!example_id.empty())
    std::cout << fmt::format("As a WAV: deskline --config {} recordings export {} -o {}.wav\n", config_path.string(),
                             example_id, (dir / example_id).string());
  return 0;
}

}  // namespace deskline::tools
