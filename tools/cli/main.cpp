// deskline: command-line client of desklined. Reads from the running daemon
// over its control socket, or from the database when the daemon is not running.
#include <algorithm>
#include <cstdint>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "config/config.hpp"
#include "daemon/domain/call_json.hpp"
#include "daemon/store/store.hpp"
#include "proto/control.hpp"
#include "tools/cli/command.hpp"
#include "tools/cli/control_client.hpp"
#include "tools/cli/language.hpp"
#include "tools/cli/tables.hpp"

namespace deskline::tools {

std::optional<config::Config> CliContext::load_config() const {
  auto loaded = config::load_file(config_path);
  if (!loaded) {
    for (const auto& error : loaded.errors) std::cerr << "deskline: " << error.to_string() << "\n";
    return std::nullopt;
  }
  return std::move(loaded.config);
}

namespace {

// The newest `limit` calls (0: all) from the daemon, a page at a time; the
// failed response when it does not answer.
daemon::Result<nlohmann::json> daemon_calls(const config::Config& config, std::size_t limit) {
  auto calls = nlohmann::json::array();
  while (true) {
    const std::size_t wanted = limit == 0 ? proto::control::max_calls_per_page
                                          : std::min(limit - calls.size(), proto::control::max_calls_per_page);
    nlohmann::json request{{"cmd", "calls"}, {"limit", wanted}};
    if (!calls.empty()) request["before"] = calls.back()["id"];
    auto response = control_request(config.control_socket_path(), request);
    if (!response) return response;
    if (!response->value("ok", false))
      return daemon::Error{std::make_error_code(std::errc::protocol_error), response->value("error", "")};
    for (auto& call : (*response)["calls"]) calls.push_back(std::move(call));
    if (!response->value("more", false) || (limit != 0 && calls.size() >= limit)) return calls;
  }
}

int print_calls(const config::Config& config, bool as_json, int limit) {
  nlohmann::json calls;
  const auto response = daemon_calls(config, static_cast<std::size_t>(limit));
  if (response) {
    calls = *response;
  } else {
    // The daemon is not running: the database has every call it recorded.
    const auto store = daemon::Store::open(config.database_path(), /*read_only=*/true);
    if (!store) {
      std::cerr << "deskline: "
                << trf("no daemon on {} ({}) and cannot read {}: {}", config.control_socket_path().string(),
                               response ? std::string() : response.error().message(),
                       config.database_path().string(), store.error().code.message())
                << "\n";
      return 1;
    }
    const auto records = (*store)->list_calls(static_cast<std::size_t>(limit));
    if (!records) {
      std::cerr << "deskline: " << records.error().message() << "\n";
      return 1;
    }
    calls = nlohmann::json::array();
    for (const auto& record : *records) calls.push_back(daemon::call_to_json(record));
  }
  if (as_json)
    std::cout << calls.dump(2) << "\n";
  else
    std::cout << calls_table(calls, terminal_columns(), colour_on_stdout());
  return 0;
}

// Exit status: 0 all is well, 1 something needs attention (an alarm), 3 the
// daemon did not answer.
int print_status(const config::Config& config, bool as_json) {
  const auto response = ask_daemon(config.control_socket_path(), {{"cmd", "status"}});
  if (!response) return response.failure;
  const auto alarms = response->value("alarms", nlohmann::json::array());
  const int exit_status = alarms.empty() ? 0 : 1;
  if (as_json) {
    std::cout << response->dump(2) << "\n";
    return exit_status;
  }
  const bool colour = colour_on_stdout();
  auto alarming = [colour](const std::string& text) { return colour ? in_red(text) : text; };
  std::cout << trf("desklined {} (pid {}), up {}", response->value("version", "?"), response->value("pid", 0),
                   duration_text(response->value("uptime_s", 0.0)))
            << "\n";
  std::cout << trf("page: {}", response->value("web_page", "?")) << "\n";
  for (const auto& desk : response->value("desk_pages", nlohmann::json::array()))
    std::cout << trf("desk {}: {}", desk.value("desk", "?"), desk.value("page", "?")) << "\n";
  for (const auto& serial : response->value("missing_boxes", nlohmann::json::array()))
    std::cout << alarming(trf("box {} MISSING: configured, not seen since the start", serial.get<std::string>())) << "\n";
  for (const auto& box : (*response)["boxes"]) {
    const auto since = box.value("since", nlohmann::json());
    const auto serial = box.value("serial", ""), model = box.value("model", ""), firmware = box.value("firmware", "");
    const auto usb = box.value("usb_path", "");
    if (!box.value("attached", false))
      std::cout << alarming(trf("box {} {} firmware {} DETACHED usb {}", serial, model, firmware, usb)) << "\n";
    else if (since.is_string())
      std::cout << trf("box {} {} firmware {} attached since {} usb {}", serial, model, firmware,
                       since.get<std::string>(), usb)
                << "\n";
    else
      std::cout << trf("box {} {} firmware {} attached usb {}", serial, model, firmware, usb) << "\n";
    for (const auto& [kind, count] : box["faults"].items())
      std::cout << "  " << trf("fault {}: {}", kind, count.get<std::uint64_t>()) << "\n";
    for (const auto& line : box["lines"])
      std::cout << "  "
                << trf("port {:>2} {:<16} {}", line.value("port", 0), line.value("name", ""),
                       word_text(line.value("state", "")))
                << "\n";
  }
  if (const auto disk = response->value("disk", nlohmann::json()); disk.is_object()) {
    if (disk.contains("error"))
      std::cout << trf("disk: {}: {}", disk.value("path", ""), disk.value("error", "")) << "\n";
    else
      std::cout << trf("disk: {} MiB free in {} (recordings stop under {} MiB)", disk.value("free_mb", 0),
                       disk.value("path", ""), disk.value("floor_mb", 0))
                << "\n";
  }
  std::cout << trf("recordings in progress: {}", response->value("recordings_in_progress", 0)) << "\n";
  if (const auto crm = response->value("crm", nlohmann::json()); crm.is_object() && crm.value("enabled", false)) {
    const auto oldest = crm.value("oldest_pending_s", nlohmann::json());
    if (oldest.is_number())
      std::cout << trf("crm: {} waiting (oldest {}), {} parked, {} delivered", crm.value("backlog", 0),
                       duration_text(oldest.get<double>()), crm.value("parked", 0), crm.value("delivered", 0))
                << "\n";
    else
      std::cout << trf("crm: {} waiting, {} parked, {} delivered", crm.value("backlog", 0), crm.value("parked", 0),
                       crm.value("delivered", 0))
                << "\n";
  }
  if (const auto check = response->value("recordings_check", nlohmann::json()); check.is_object()) {
    if (!check.value("checked", false))
      std::cout << tr("recordings: being checked against the database") << "\n";
    else if (check.value("checking", false))
      std::cout << trf("recordings: {} files, {} orphans, {} rows with a missing file (checking again)",
                       check.value("files", 0), check.value("orphans", 0), check.value("missing_files", 0))
                << "\n";
    else
      std::cout << trf("recordings: {} files, {} orphans, {} rows with a missing file", check.value("files", 0),
                       check.value("orphans", 0), check.value("missing_files", 0))
                << "\n";
  }
  for (const auto& alarm : alarms)
    if (alarm.is_string()) std::cout << alarming(trf("ALARM: {}", alarm.get<std::string>())) << "\n";
  return exit_status;
}

// Exit status: 0 the daemon took the file (keys that need a restart are
// named), 1 the file was refused (the running configuration stays), 3 the
// daemon did not answer.
int reload_daemon(const config::Config& config, bool as_json) {
  const auto response = control_request(config.control_socket_path(), {{"cmd", "reload"}});
  if (!response) {
    std::cerr << unreachable_message(config.control_socket_path(), response.error()) << "\n";
    return 3;
  }
  const bool ok = response->value("ok", false);
  if (as_json) {
    std::cout << response->dump(2) << "\n";
    return ok ? 0 : 1;
  }
  if (!ok) {
    std::cerr << "deskline: " << trf("desklined refused the file: {}", response->value("error", "")) << "\n";
    for (const auto& error : response->value("errors", nlohmann::json::array()))
      if (error.is_string()) std::cerr << "  " << error.get<std::string>() << "\n";
    std::cerr << tr("the running configuration stays") << "\n";
    return 1;
  }
  auto list = [](const nlohmann::json& keys) {
    std::string text;
    for (const auto& key : keys)
      if (key.is_string()) text += (text.empty() ? "" : ", ") + key.get<std::string>();
    return text;
  };
  const auto applied = list(response->value("applied", nlohmann::json::array()));
  const auto need_restart = list(response->value("need_restart", nlohmann::json::array()));
  std::cout << (applied.empty() ? std::string(tr("nothing to apply")) : trf("applied: {}", applied)) << "\n";
  if (!need_restart.empty())
    std::cout << trf("needs a restart (running with the old values until then): {}", need_restart) << "\n";
  return 0;
}

}  // namespace

void add_call_commands(CLI::App& app, CliContext& context) {
  struct Options {
    bool json = false;
    int limit = 0;
  };
  auto options = std::make_shared<Options>();
  auto* calls = app.add_subcommand("calls", tr("list calls, newest first"));
  calls->add_flag("--json", options->json, tr("JSON array instead of a table"));
  calls->add_option("--limit", options->limit, tr("at most this many calls (0: all)"))->check(whole_number(0, 1'000'000));
  calls->callback([&context, options] {
    context.run = [&context, options] {
      auto config = context.load_config();
      return config ? print_calls(*config, options->json, options->limit) : 2;
    };
  });
  auto* status = app.add_subcommand("status", tr("boxes, lines and fault counters of the running daemon"));
  status->add_flag("--json", options->json, tr("JSON instead of text"));
  status->callback([&context, options] {
    context.run = [&context, options] {
      auto config = context.load_config();
      return config ? print_status(*config, options->json) : 2;
    };
  });
  auto* reload = app.add_subcommand("reload", tr("have the running daemon read its configuration file again"));
  reload->add_flag("--json", options->json, tr("JSON instead of text"));
  reload->callback([&context, options] {
    context.run = [&context, options] {
      // A file that does not load is not sent: its errors are the answer.
      auto config = context.load_config();
      if (!config) std::cerr << "deskline: " << tr("not reloaded: the running configuration stays") << "\n";
      return config ? reload_daemon(*config, options->json) : 1;
    };
  });
}

namespace {

// CLI11's own words in the help, in the user's language: its labels, and the
// group names each option and subcommand carries.
void translate_help(CLI::App& app) {
  auto formatter = app.get_formatter();
  // TRANSLATORS: the words of `deskline --help` around the commands' own texts.
  for (const char* label : {translatable("Usage"), translatable("OPTIONS"), translatable("SUBCOMMAND"),
                            translatable("SUBCOMMANDS"), translatable("REQUIRED"), translatable("Positionals")})
    formatter->label(label, tr(label));
  for (auto* option : app.get_options())
    if (option->get_group() == "Options") option->group(tr("Options"));
  for (auto* command : app.get_subcommands([](CLI::App*) { return true; })) {
    if (command->get_group() == "Subcommands") command->group(tr("Subcommands"));
    translate_help(*command);
  }
}

}  // namespace
}  // namespace deskline::tools

int main(int argc, char** argv) {
  using namespace deskline::tools;
  use_language_of_environment();
  CLI::App app{tr("deskline: desk-phone line gateway client")};
  app.require_subcommand(0, 1);
  app.footer(exit_status_help());
  app.set_help_flag("-h,--help", tr("Print this help message and exit"));
  CliContext context;
  app.add_option("-c,--config", context.config_path, tr("configuration file"))->capture_default_str();
  app.set_version_flag("--version", DESKLINE_VERSION, tr("Display program version information and exit"));
  add_call_commands(app, context);
  add_demo_command(app, context);
  add_recording_commands(app, context);
  add_customer_commands(app, context);
  add_analyze_command(app, context);
  add_pop_command(app, context);
  add_sync_commands(app, context);
  add_token_commands(app, context);
  translate_help(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForVersion& version) {
    return app.exit(version);
  } catch (const CLI::ParseError& error) {
    std::cerr << "deskline: " << error.what() << "\n"
              << tr("Run `deskline --help` for the commands and their options.") << "\n";
    return exit_usage;
  }
  if (app.get_subcommands().empty()) {  // no command: what there is to do
    std::cout << app.help();
    return exit_ok;
  }
  return context.run ? context.run() : exit_ok;
}
