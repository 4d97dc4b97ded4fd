#include "daemon/app/control_handler.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

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
    case proto::control::Command::reload: return reload_();
  }
  return {{"ok", false}, {"error", "unhandled command"}};
}

namespace {

Result<nlohmann::json> to_json(const Result<std::vector<CallRecord>>& records) {
  if (!records) return records.error();
  nlohmann::json list = nlohmann::json::array();
  for (const auto& record : *records) list.push_back(call_to_json(record));
  return list;
}

}  // namespace

Result<nlohmann::json> ControlHandler::calls_json(std::size_t limit, std::string_view before_id) const {
  return to_json(store_.list_calls(limit, before_id));
}

Result<nlohmann::json> ControlHandler::calls_json(std::size_t limit, std::span<const std::string> lines) const {
  return to_json(lines.empty() ? store_.list_calls(limit) : store_.list_calls_on_lines(limit, lines));
}

HealthFacts ControlHandler::health_facts() const {
  HealthFacts facts;
  facts.now = drivers::realtime_us();
  facts.started_at = started_at_;
  for (const auto& line : config_.lines)
    if (std::find(facts.configured_boxes.begin(), facts.configured_boxes.end(), line.box) ==
        facts.configured_boxes.end())
      facts.configured_boxes.push_back(line.box);
  for (const auto& box : calls_.stats().boxes) facts.boxes.push_back({box.identity.serial, box.attached, box.since});
  // The folder is made with the first recording: until then its disk is its parent's.
  auto folder = recordings_dir_;
  std::error_code ignored;
  while (!std::filesystem::exists(folder, ignored) && folder.has_parent_path() && folder != folder.parent_path())
    folder = folder.parent_path();
  struct statvfs space {};
  if (::statvfs(folder.c_str(), &space) == 0)
    facts.recordings_disk = DiskSpace{recordings_dir_.string(), std::uint64_t{space.f_bavail} * space.f_frsize,
                                      config_.recording.min_free_mb << 20};
  else
    facts.disk_error = fmt::format("{}: {}", folder.string(), std::strerror(errno));
  facts.database_moved = store_.file_moved();
  facts.recordings_check_alarms = recordings_alarms(recordings_check_.summary());
  if (!config_.crm.url.empty()) facts.crm = crm_.status();
  facts.audio = media_.stats();
  return facts;
}

std::vector<HealthAlarm> ControlHandler::alarms() const { return health_alarms(health_facts()); }

nlohmann::json ControlHandler::status() const {
  const auto facts = health_facts();
  auto status = to_json(calls_.stats());
  status["missing_boxes"] = missing_boxes(facts);
  status["started_at"] = format_iso8601(facts.started_at);
  status["uptime_s"] = std::max<WallTimeUs>(0, facts.now - facts.started_at) / 1'000'000;
  status["audio"] = to_json(facts.audio);
  status["recordings_in_progress"] = recordings_.in_progress();
  status["recordings_refused"] = recordings_.counters().refused;
  if (facts.recordings_disk)
    status["disk"] = {{"path", facts.recordings_disk->path},
                      {"free_mb", facts.recordings_disk->free_bytes >> 20},
                      {"floor_mb", facts.recordings_disk->floor_bytes >> 20}};
  else
    status["disk"] = {{"path", recordings_dir_.string()}, {"error", facts.disk_error}};
  status["recordings_check"] = to_json(recordings_check_.summary());
  status["alarms"] = nlohmann::json::array();
  for (auto& alarm : health_alarms(facts)) status["alarms"].push_back(std::move(alarm.message));
  status["healthy"] = status["alarms"].empty();
  status["connections"] = connections_();
  status["crm"] = to_json(facts.crm ? *facts.crm : crm_.status(), facts.now, false);
  status["crm"]["customers"] = to_json(customer_pull_.status());
  status["ok"] = true;
  status["web_page"] = web_page_;
  // The same page with each desk's token: the admin hands them out.
  const auto address = web_page_.substr(0, web_page_.find("?token=")) + "?token=";
  status["desk_pages"] = nlohmann::json::array();
  for (const auto& desk : config_.desks)
    status["desk_pages"].push_back({{"desk", desk.name}, {"lines", desk.lines}, {"page", address + desk.token}});
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
