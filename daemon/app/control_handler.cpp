#include "daemon/app/control_handler.hpp"

#include <unistd.h>

#include "daemon/app/status_report.hpp"
#include "daemon/domain/call_json.hpp"

namespace deskline::daemon {

nlohmann::json ControlHandler::handle(const proto::control::Request& request) const {
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
      answer["ok"] = true;
      return answer;
    }
    case proto::control::Command::sync_retry: {
      const auto retried = crm_.retry(request.call_id.empty() ? std::nullopt : std::optional(request.call_id));
      if (!retried) return {{"ok", false}, {"error", retried.error().message()}};
      return {{"ok", true}, {"retried", *retried}};
    }
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
  status["alarms"] = nlohmann::json::array();
  if (store_.file_moved())
    status["alarms"].push_back("the database file was deleted or replaced while desklined runs: calls are written to "
                               "a file no one will find; restart desklined");
  status["connections"] = connections_();
  status["crm"] = to_json(crm_.status(), drivers::realtime_us(), false);
  status["ok"] = true;
  status["web_page"] = web_page_;
  status["pid"] = ::getpid();
  status["version"] = DESKLINE_VERSION;
  return status;
}

}  // namespace deskline::daemon
