// deskline sync ...: the CRM sync's queue (proto/crm.md), from the running daemon.
#include <iostream>

#include <fmt/format.h>

#include "tools/cli/command.hpp"
#include "tools/cli/control_client.hpp"

namespace deskline::tools {
namespace {

std::string text_or(const nlohmann::json& value, std::string_view otherwise) {
  return value.is_string() ? value.get<std::string>() : std::string(otherwise);
}

void print_sync_status(const nlohmann::json& sync) {
  if (!sync.value("enabled", false)) {
    std::cout << "CRM sync is off ([crm] url is empty)\n";
    return;
  }
  std::cout << fmt::format("CRM {}\n", text_or(sync["url"], "?"));
  std::cout << fmt::format("  backlog   {} item(s), {} in flight{}\n", sync.value("backlog", 0), sync.value("in_flight", 0),
                           sync["oldest_pending_s"].is_number()
                               ? fmt::format(", oldest queued {} s ago", sync["oldest_pending_s"].get<std::int64_t>())
                               : "");
  std::cout << fmt::format("  delivered {}\n", sync.value("delivered", 0));
  std::cout << fmt::format("  last success {}\n", text_or(sync["last_success_at"], "none since start"));
  if (sync["last_failure"].is_string())
    std::cout << fmt::format("  last failure {}: {}\n", text_or(sync["last_failure_at"], ""),
                             sync["last_failure"].get<std::string>());
  std::cout << fmt::format("  parked    {} item(s){}\n", sync.value("parked", 0),
                           sync.value("parked", 0) > 0 ? " (deskline sync retry --parked sends them again)" : "");
  for (const auto& item : sync["parked_items"])
    std::cout << fmt::format("    {} {} since {}: {}\n", item.value("call_id", ""), item.value("kind", ""),
                             text_or(item["since"], "?"), item.value("reason", ""));
  const auto& customers = sync["customers"];
  if (!customers.is_object()) return;
  const auto& last = customers["last_pull"];
  if (last.is_object())
    std::cout << fmt::format("  customers last pulled {}: {}{} new, {} updated, {} deleted, {} refused\n",
                             text_or(last["finished_at"], "?"), last.value("ok", false) ? "" : "failed, ",
                             last.value("new", 0), last.value("updated", 0), last.value("deleted", 0),
                             last.value("refused", 0));
  else
    std::cout << "  customers not pulled yet\n";
  std::cout << fmt::format("  customers cursor \"{}\"{}\n", customers.value("cursor", ""),
                           customers.value("cursor_refused", false) ? " (refused by the CRM: kept)" : "");
  if (customers["last_error"].is_string())
    std::cout << fmt::format("  customers last error {}: {}\n", text_or(customers["last_error_at"], ""),
                             customers["last_error"].get<std::string>());
}

}  // namespace

void add_sync_commands(CLI::App& app, CliContext& context) {
  struct Options {
    bool json = false;
    std::string call_id;
    bool parked = false;
  };
  auto options = std::make_shared<Options>();
  auto* sync = app.add_subcommand("sync", "the CRM sync: its queue, and sending parked items again");
  sync->require_subcommand(1);
  auto* status = sync->add_subcommand("status", "backlog, in flight, parked items and the last success and failure");
  status->add_flag("--json", options->json, "JSON instead of text");
  status->callback([&context, options] {
    context.run = [&context, options] {
      const auto config = context.load_config();
      if (!config) return 2;
      const auto answer = ask_daemon(config->control_socket_path(), {{"cmd", "sync_status"}});
      if (!answer) return answer.failure;
      if (options->json) std::cout << answer->dump(2) << "\n";
      else print_sync_status(*answer);
      return 0;
    };
  });
  auto* retry = sync->add_subcommand("retry", "send a call's items, or every parked item, again now");
  retry->add_option("call_id", options->call_id, "the call whose entry and recording go again");
  retry->add_flag("--parked", options->parked, "every parked item");
  retry->add_flag("--json", options->json, "the answer as JSON: how many items were queued again");
  retry->callback([&context, options] {
    context.run = [&context, options] {
      if (options->call_id.empty() == !options->parked) {
        std::cerr << "deskline sync retry: give a call id or --parked\n";
        return 2;
      }
      const auto config = context.load_config();
      if (!config) return 2;
      nlohmann::json request{{"cmd", "sync_retry"}};
      if (options->parked) request["parked"] = true;
      else request["call_id"] = options->call_id;
      const auto answer = ask_daemon(config->control_socket_path(), request);
      if (!answer) return answer.failure;
      if (options->json) std::cout << nlohmann::json{{"retried", answer->value("retried", 0)}}.dump() << "\n";
      else std::cout << fmt::format("{} item(s) queued again\n", answer->value("retried", 0));
      return 0;
    };
  });
}

}  // namespace deskline::tools
