// How CLI modules plug into `deskline`: each adds its subcommands to the app
// and, when one is chosen, stores what to run in the context.
#pragma once

#include <charconv>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "config/config.hpp"
#include "tools/cli/language.hpp"

namespace deskline::tools {

// Exit statuses of every deskline command (deskline --help, deskline(1)).
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;      // it failed, or found what needs attention
inline constexpr int exit_usage = 2;        // a mistake in the command line, or a configuration it cannot use
inline constexpr int exit_no_daemon = 3;    // desklined not reachable: not running, or not for this user
inline constexpr int exit_partial = 4;      // done in part: rejected import rows, ...
inline std::string exit_status_help() {
  return tr("Exit status: 0 ok, 1 failure, 2 usage error (or a configuration that cannot be used), 3 desklined "
            "not reachable, 4 done in part (such as rejected import rows).");
}

// A whole number from low to high, refused in those words (CLI11's own
// checks name the type's whole range: 309 digits for a double).
inline CLI::Validator whole_number(long long low, long long high) {
  return CLI::Validator(
      [low, high](std::string& text) -> std::string {
        long long value = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < low || value > high)
          return trf("must be a whole number from {} to {}, not {}", low, high, text);
        return "";
      },
      "INT " + std::to_string(low) + ".." + std::to_string(high));
}

struct CliContext {
  std::string config_path{config::default_path};
  std::function<int()> run;  // set by the chosen subcommand's callback

  // Loads --config, printing the error; nullopt when it cannot be used.
  std::optional<config::Config> load_config() const;
};

void add_call_commands(CLI::App& app, CliContext& context);   // calls, status
void add_demo_command(CLI::App& app, CliContext& context);    // demo
void add_recording_commands(CLI::App& app, CliContext& context);  // recordings ...
void add_check_command(CLI::App& recordings, CliContext& context);  // recordings check
void add_customer_commands(CLI::App& app, CliContext& context);   // customers ...
void add_analyze_command(CLI::App& app, CliContext& context);     // analyze
void add_pop_command(CLI::App& app, CliContext& context);         // pop
void add_sync_commands(CLI::App& app, CliContext& context);       // sync status, sync retry
void add_token_commands(CLI::App& app, CliContext& context);      // tokens add, list, revoke
}  // namespace deskline::tools
