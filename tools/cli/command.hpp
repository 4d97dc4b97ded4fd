// How CLI modules plug into `deskline`: each adds its subcommands to the app
// and, when one is chosen, stores what to run in the context.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "config/config.hpp"

namespace deskline::tools {

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
