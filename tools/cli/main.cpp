// deskline: command-line client of desklined. Reads from the running daemon
// over its control socket, or from the database when the daemon is not running.
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "config/config.hpp"
#include "daemon/call_json.hpp"
#include "daemon/store.hpp"
#include "tools/cli/control_client.hpp"
#include "tools/cli/demo.hpp"

namespace {

using namespace deskline;

std::optional<config::Config> load_config(const std::string& path) {
  auto loaded = config::load_file(path);
  if (!loaded) {
    std::cerr << "deskline: " << loaded.error.to_string() << "\n";
    return std::nullopt;
  }
  return std::move(loaded.config);
}

int print_calls(const config::Config& config, bool as_json, int limit) {
  nlohmann::json calls;
  std::string error;
  if (auto response = tools::control_request(config.control_socket_path(), {{"cmd", "calls"}, {"limit", limit}},
                                             error);
      response && response->value("ok", false)) {
    calls = (*response)["calls"];
  } else {
    // The daemon is not running: the database has every call it recorded.
    std::error_code store_error;
    auto store = daemon::Store::open(config.database_path(), store_error, /*read_only=*/true);
    if (!store) {
      std::cerr << fmt::format("deskline: no daemon on {} ({}) and cannot read {}: {}\n",
                               config.control_socket_path().string(), error, config.database_path().string(),
                               store_error.message());
      return 1;
    }
    auto records = store->list_calls(static_cast<std::size_t>(limit), store_error);
    if (store_error) {
      std::cerr << "deskline: " << store->last_error_message() << "\n";
      return 1;
    }
    calls = nlohmann::json::array();
    for (const auto& record : records) calls.push_back(daemon::call_to_json(record));
  }
  if (as_json)
    std::cout << calls.dump(2) << "\n";
  else
    std::cout << daemon::calls_table(calls);
  return 0;
}

int print_status(const config::Config& config, bool as_json) {
  std::string error;
  auto response = tools::control_request(config.control_socket_path(), {{"cmd", "status"}}, error);
  if (!response) {
    std::cerr << fmt::format("deskline: desklined is not running (no answer on {}: {})\n",
                             config.control_socket_path().string(), error);
    return 3;
  }
  if (as_json) {
    std::cout << response->dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("desklined {} (pid {})\n", response->value("version", "?"), response->value("pid", 0));
  for (const auto& box : (*response)["boxes"]) {
    std::cout << fmt::format("box {} {} firmware {} {} usb {}\n", box.value("serial", ""), box.value("model", ""),
                             box.value("firmware", ""), box.value("attached", false) ? "attached" : "DETACHED",
                             box.value("usb_path", ""));
    for (const auto& [kind, count] : box["faults"].items())
      std::cout << fmt::format("  fault {}: {}\n", kind, count.get<std::uint64_t>());
    for (const auto& line : box["lines"])
      std::cout << fmt::format("  port {:>2} {:<16} {}\n", line.value("port", 0), line.value("name", ""),
                               line.value("state", ""));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"deskline: desk-phone line gateway client"};
  app.require_subcommand(1);
  std::string config_path(config::default_path);
  app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  app.set_version_flag("--version", DESKLINE_VERSION);

  bool as_json = false;
  int limit = 0;
  auto* calls = app.add_subcommand("calls", "list calls, newest first");
  calls->add_flag("--json", as_json, "JSON array instead of a table");
  calls->add_option("--limit", limit, "at most this many calls (0: all)")->check(CLI::NonNegativeNumber);

  auto* status = app.add_subcommand("status", "boxes, lines and fault counters of the running daemon");
  status->add_flag("--json", as_json, "JSON instead of text");

  std::string demo_dir;
  auto* demo = app.add_subcommand("demo", "a virtual box plays a scripted morning of calls");
  demo->add_option("--dir", demo_dir, "keep the demo's state here (default: a new temporary directory)");

  CLI11_PARSE(app, argc, argv);

  if (*demo) return tools::run_demo(demo_dir);
  auto config = load_config(config_path);
  if (!config) return 2;
  if (*calls) return print_calls(*config, as_json, limit);
  if (*status) return print_status(*config, as_json);
  return 0;
}
