#include "daemon/app/control_handler.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include "daemon/app/status_report.hpp"
#include "daemon/archive/recording_file.hpp"
#include "daemon/domain/call_json.hpp"

namespace deskline::daemon {

nlohmann::json ControlHandler::handle(const proto::control::Request& request) {
  switch (request.command) {
    case proto::control::Command::status: return status();
    case proto::control::Command::calls: {
      // One more than asked tells whether another page follows.
      auto list = calls_json(request.limit + 1, request.before);
      if (!list) return {{"ok", false}, {"error", list.error().message()}};
      const bool more = list->size() > request.limit;
      if (more) list->erase(list->size() - 1);
      return {{"ok", true}, {"calls", *list}, {"more", more}};
    }
    case proto::control::Command::sync_status: {
      auto answer = to_json(crm_.status(), drivers::realtime_us(), true);
      answer["customers"] = to_json(customer_pull_.status());
      answer["ok"] = true;
      return answer;
    }
    case proto::control::Command::sync_retry: {
      const auto retried = crm_.retry(request.call_id.empty() ? std::nullopt : std::optional(request.call_id));
      if (!retried) return {{"ok", false}, {"error", retried.error().message()}};
      return {{"ok", true}, {"retried", *retried}};
    }
    case proto::control::Command::customers_sync: {
      const auto pull = customer_pull_.pull_now();
      if (!pull) return {{"ok", false}, {"error", "the customer pull is off ([crm] url is empty)"}};
      return {{"ok", true}, {"pull", *pull}};
    }
    case proto::control::Command::reattach_recording: return reattach_recording(request.path);
  }
  return {{"ok", false}, {"error", "unhandled command"}};
}

Result<nlohmann::json> ControlHandler::calls_json(std::size_t limit, std::string_view before_id) const {
  const auto records = store_.list_calls(limit, before_id);
  if (!records) return records.error();
  nlohmann::json list = nlohmann::json::array();
  for (const auto& record : *records) list.push_back(call_to_json(record));
  return list;
}

nlohmann::json ControlHandler::status() const {
  auto status = to_json(calls_.stats());
  status["audio"] = to_json(media_.stats());
  status["recordings_refused"] = recordings_.refused_count();
  const auto& check = recordings_check_.summary();
  status["recordings_check"] = to_json(check);
  status["alarms"] = nlohmann::json::array();
  if (store_.file_moved())
    status["alarms"].push_back("the database file was deleted or replaced while desklined runs: calls are written to "
                               "a file no one will find; restart desklined");
  for (auto& alarm : recordings_alarms(check)) status["alarms"].push_back(std::move(alarm));
  status["connections"] = connections_();
  status["crm"] = to_json(crm_.status(), drivers::realtime_us(), false);
  status["crm"]["customers"] = to_json(customer_pull_.status());
  status["ok"] = true;
  status["web_page"] = web_page_;
  status["pid"] = ::getpid();
  status["version"] = DESKLINE_VERSION;
  return status;
}

nlohmann::json ControlHandler::reattach_recording(const std::string& path) {
  // Rows added to a file no one will find again would be lost a second time.
  if (store_.file_moved())
    return {{"ok", false},
            {"error", "the database file was deleted or replaced while desklined runs; restart desklined first"}};
  auto records = reattach_recording_file(store_, recordings_dir_, path, drivers::realtime_us(), max_reattach_bytes);
  if (!records) {
    std::string error = records.error().message();
    if (records.error().code == ArchiveError::too_large)
      error += "; stop desklined and run `deskline recordings check --reattach` again";
    return {{"ok", false}, {"error", error}};
  }
  log_.warning("line={} call={} recording {} re-attached from its tags ({}, {:.2f} s): its rows had been lost",
               records->call.line, records->call.id, records->recording.path, to_string(records->recording.state),
               records->recording.duration_s);
  recordings_check_.reattached();
  return {{"ok", true},
          {"call", call_to_json(records->call)},
          {"recording", recording_to_json(records->recording, records->call)}};
}

}  // namespace deskline::daemon
