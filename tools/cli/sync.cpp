// deskline sync ...: the CRM sync's queue (proto/crm.md), from the running daemon.
#include <iostream>

#include "tools/cli/command.hpp"
#include "tools/cli/control_client.hpp"
#include "tools/cli/language.hpp"

namespace deskline::tools {
namespace {

std::string text_or(const nlohmann::json& value, std::string_view otherwise) {
  return value.is_string() ? value.get<std::string>() : std::string(otherwise);
}

// A line of `deskline sync status`, indented under the CRM's URL (depth 1) or under such a line (depth 2).
void print_line(const std::string& text, int depth = 1) {
  std::cout << std::string(static_cast<std::size_t>(2 * depth), ' ') << text << "\n";
}

void print_sync_status(const nlohmann::json& sync) {
  if (!sync.value("enabled", false)) {
    std::cout << tr("CRM sync is off ([crm] url is empty)") << "\n";
    return;
  }
  // TRANSLATORS: the first line of `deskline sync status`: the CRM's URL.
  std::cout << trf("CRM {}", text_or(sync["url"], "?")) << "\n";
  const auto backlog = sync.value("backlog", 0), in_flight = sync.value("in_flight", 0);
  if (sync["oldest_pending_s"].is_number())
    // TRANSLATORS: an item is a call's entry or recording on its way to the CRM; the label is padded to line up.
    print_line(trn("backlog   {} item, {} in flight, oldest queued {} s ago",
                   "backlog   {} items, {} in flight, oldest queued {} s ago", backlog, backlog, in_flight,
                   sync["oldest_pending_s"].get<std::int64_t>()));
  else
    // TRANSLATORS: an item is a call's entry or recording on its way to the CRM; the label is padded to line up.
    print_line(trn("backlog   {} item, {} in flight", "backlog   {} items, {} in flight", backlog, backlog, in_flight));
  // TRANSLATORS: how many items reached the CRM; the label is padded to line up with "backlog   ".
  print_line(trf("delivered {}", sync.value("delivered", 0)));
  if (sync["last_success_at"].is_string())
    // TRANSLATORS: {} is when the CRM last took an item.
    print_line(trf("last success {}", sync["last_success_at"].get<std::string>()));
  else
    // TRANSLATORS: nothing has reached the CRM since desklined started.
    print_line(tr("last success none since start"));
  if (sync["last_failure"].is_string())
    // TRANSLATORS: when, then the reason (in English, from desklined).
    print_line(
        trf("last failure {}: {}", text_or(sync["last_failure_at"], ""), sync["last_failure"].get<std::string>()));
  const auto parked = sync.value("parked", 0);
  if (parked > 0)
    // TRANSLATORS: items the CRM refused, kept aside; the label is padded to line up with "backlog   ".
    print_line(trn("parked    {} item (deskline sync retry --parked sends it again)",
                   "parked    {} items (deskline sync retry --parked sends them again)", parked, parked));
  else
    // TRANSLATORS: items the CRM refused, kept aside; the label is padded to line up with "backlog   ".
    print_line(trn("parked    {} item", "parked    {} items", parked, parked));
  for (const auto& item : sync["parked_items"])
    // TRANSLATORS: a parked item: its call's id, its kind (call, recording), since when, and the reason (in English,
    // from desklined).
    print_line(trf("{} {} since {}: {}", item.value("call_id", ""), item.value("kind", ""), text_or(item["since"], "?"),
                   item.value("reason", "")),
               2);
  const auto& customers = sync["customers"];
  if (!customers.is_object()) return;
  const auto& last = customers["last_pull"];
  if (!last.is_object())
    print_line(tr("customers not pulled yet"));
  else if (last.value("ok", false))
    // TRANSLATORS: when the last pull of the customers from the CRM ended, then counts of customers.
    print_line(trf("customers last pulled {}: {} new, {} updated, {} deleted, {} refused",
                   text_or(last["finished_at"], "?"), last.value("new", 0), last.value("updated", 0),
                   last.value("deleted", 0), last.value("refused", 0)));
  else
    // TRANSLATORS: when the last pull of the customers from the CRM ended (it failed), then counts of customers.
    print_line(trf("customers last pulled {}: failed, {} new, {} updated, {} deleted, {} refused",
                   text_or(last["finished_at"], "?"), last.value("new", 0), last.value("updated", 0),
                   last.value("deleted", 0), last.value("refused", 0)));
  const auto cursor = customers.value("cursor", "");
  if (customers.value("cursor_refused", false))
    // TRANSLATORS: the cursor is the CRM's bookmark for the next pull of the customers (a code, shown as it is).
    print_line(trf("customers cursor \"{}\" (refused by the CRM: kept)", cursor));
  else
    // TRANSLATORS: the cursor is the CRM's bookmark for the next pull of the customers (a code, shown as it is).
    print_line(trf("customers cursor \"{}\"", cursor));
  if (customers["last_error"].is_string())
    // TRANSLATORS: when, then the error (in English, from desklined).
    print_line(trf("customers last error {}: {}", text_or(customers["last_error_at"], ""),
                   customers["last_error"].get<std::string>()));
}

}  // namespace

void add_sync_commands(CLI::App& app, CliContext& context) {
  struct Options {
    bool json = false;
    std::string call_id;
    bool parked = false;
  };
  auto options = std::make_shared<Options>();
  auto* sync = app.add_subcommand("sync", tr("the CRM sync: its queue, and sending parked items again"));
  sync->require_subcommand(1);
  auto* status =
      sync->add_subcommand("status", tr("backlog, in flight, parked items and the last success and failure"));
  status->add_flag("--json", options->json, tr("JSON instead of text"));
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
  auto* retry = sync->add_subcommand("retry", tr("send a call's items, or every parked item, again now"));
  retry->add_option("call_id", options->call_id, tr("the call whose entry and recording go again"));
  retry->add_flag("--parked", options->parked, tr("every parked item"));
  retry->add_flag("--json", options->json, tr("the answer as JSON: how many items were queued again"));
  retry->callback([&context, options] {
    context.run = [&context, options] {
      if (options->call_id.empty() == !options->parked) {
        std::cerr << "deskline sync retry: " << tr("give a call id or --parked") << "\n";
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
      else {
        const auto retried = answer->value("retried", 0);
        std::cout << trn("{} item queued again", "{} items queued again", retried, retried) << "\n";
      }
      return 0;
    };
  });
}

}  // namespace deskline::tools
