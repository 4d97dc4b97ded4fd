#include "daemon/app/status_report.hpp"

#include <fmt/format.h>

#include "daemon/domain/call_json.hpp"

namespace deskline::daemon {

nlohmann::json to_json(const FaultCounters& faults) {
  // Only the kinds that happened, as before counters were typed.
  nlohmann::json json = nlohmann::json::object();
  for (std::size_t kind = 0; kind < faults.by_kind.size(); ++kind)
    if (faults.by_kind[kind] > 0) json[drivers::to_string(static_cast<drivers::BoxFaultKind>(kind))] = faults.by_kind[kind];
  return json;
}

nlohmann::json to_json(const DetectionCounters& detections) {
  return {{"callerid_box", detections.callerid_box},
          {"callerid_audio", detections.callerid_audio},
          {"callerid_rejected", detections.callerid_rejected},
          {"callerid_disagreements", detections.callerid_disagreements},
          {"dtmf_audio", detections.dtmf_audio}};
}

nlohmann::json to_json(const CallServiceStats& stats) {
  nlohmann::json boxes = nlohmann::json::array();
  for (const auto& box : stats.boxes) {
    nlohmann::json lines = nlohmann::json::array();
    for (const auto& line : box.lines)
      lines.push_back({{"port", line.port},
                       {"name", line.name},
                       {"state", to_string(line.state)},
                       {"call_id", line.call_id ? nlohmann::json(*line.call_id) : nlohmann::json()}});
    const auto& identity = box.identity;
    boxes.push_back({{"serial", identity.serial},
                     {"model", identity.model},
                     {"firmware", identity.firmware},
                     {"attached", box.attached},
                     {"since", box.since ? nlohmann::json(format_iso8601(*box.since)) : nlohmann::json(nullptr)},
                     {"usb_path", identity.usb_path},
                     {"audio_rate_hz", identity.audio_rate_hz},
                     {"decodes_caller_id", identity.decodes_caller_id},
                     {"faults", to_json(box.faults)},
                     {"detections", to_json(box.detections)},
                     {"lines", lines}});
  }
  return {{"boxes", boxes}, {"unidentified_faults", to_json(stats.unidentified_faults)}};
}

nlohmann::json to_json(const std::map<std::string, BoxAudioStats>& audio) {
  nlohmann::json json = nlohmann::json::object();
  for (const auto& [serial, box] : audio) {
    nlohmann::json entry = {{"device", box.device}, {"capturing", box.capturing}};
    if (!box.error.empty()) entry["error"] = box.error;
    if (box.capture) {
      entry["frames"] = box.capture->frames;
      entry["ring_overflow_frames"] = box.capture->ring_overflow_frames;
      entry["input_overflows"] = box.capture->input_overflows;
      entry["gaps"] = box.capture->gaps;
      entry["gap_frames"] = box.capture->gap_frames;
    }
    json[serial] = entry;
  }
  return json;
}

nlohmann::json to_json(const ListenerCounters& connections) {
  return {{"refused", connections.refused},
          {"closed_idle", connections.closed_idle},
          {"failed_accepts", connections.failed_accepts}};
}

nlohmann::json to_json(const CrmSyncStatus& sync, WallTimeUs now, bool with_parked) {
  auto time = [](const std::optional<WallTimeUs>& at) {
    return at ? nlohmann::json(format_iso8601(*at)) : nlohmann::json(nullptr);
  };
  nlohmann::json json = {
      {"enabled", sync.enabled},
      {"url", sync.url.empty() ? nlohmann::json(nullptr) : nlohmann::json(sync.url)},
      {"backlog", sync.outbox.pending},
      {"parked", sync.outbox.parked},
      {"delivered", sync.outbox.done},
      {"in_flight", sync.in_flight},
      {"oldest_pending_s", sync.outbox.oldest_pending_queued_at
                               ? nlohmann::json(std::max<WallTimeUs>(0, now - *sync.outbox.oldest_pending_queued_at) / 1'000'000)
                               : nlohmann::json(nullptr)},
      {"last_success_at", time(sync.last_success_at)},
      {"last_failure_at", time(sync.last_failure_at)},
      {"last_failure", sync.last_failure.empty() ? nlohmann::json(nullptr) : nlohmann::json(sync.last_failure)},
  };
  if (with_parked) {
    json["parked_items"] = nlohmann::json::array();
    for (const auto& item : sync.parked)
      json["parked_items"].push_back({{"call_id", item.call_id},
                                      {"kind", to_string(item.kind)},
                                      {"revision", item.revision},
                                      {"status", item.last_status ? nlohmann::json(*item.last_status) : nlohmann::json(nullptr)},
                                      {"reason", item.last_error},
                                      {"attempts", item.attempts},
                                      {"since", time(item.last_attempt_at)}});
  }
  return json;
}

nlohmann::json to_json(const CustomerPullStatus& pull) {
  auto time = [](const std::optional<WallTimeUs>& at) {
    return at ? nlohmann::json(format_iso8601(*at)) : nlohmann::json(nullptr);
  };
  auto text = [](const std::string& value) { return value.empty() ? nlohmann::json(nullptr) : nlohmann::json(value); };
  nlohmann::json last = nullptr;
  if (pull.last) {
    const auto& run = *pull.last;
    last = {{"number", run.number},
            {"started_at", format_iso8601(run.started_at)},
            {"finished_at", format_iso8601(run.finished_at)},
            {"ok", run.ok},
            {"pages", run.pages},
            {"applied", run.inserted + run.updated},
            {"new", run.inserted},
            {"updated", run.updated},
            {"unchanged", run.unchanged},
            {"deleted", run.deleted},
            {"refused", run.refused},
            {"numbers_left_out", run.numbers_left_out},
            {"problems", run.problems},
            {"error", text(run.error)}};
  }
  return {{"enabled", pull.enabled},
          {"poll_s", pull.poll_s},
          {"pulling", pull.pulling},
          {"pulls_started", pull.started},
          {"cursor", pull.cursor},
          {"cursor_refused", pull.cursor_refused},
          {"next_pull_at", time(pull.next_pull_at)},
          {"last_success_at", time(pull.last_success_at)},
          {"last_error_at", time(pull.last_error_at)},
          {"last_error", text(pull.last_error)},
          {"last_pull", last}};
}

nlohmann::json to_json(const RecordingsCheck::Summary& check) {
  return {{"checked", check.checked},
          {"checking", check.checking},
          {"files", check.counts.files},
          {"rows", check.counts.rows},
          {"orphans", check.counts.orphans},
          {"missing_files", check.counts.missing_files},
          {"problem", check.problem.empty() ? nlohmann::json() : nlohmann::json(check.problem)}};
}

std::vector<std::string> recordings_alarms(const RecordingsCheck::Summary& check) {
  std::vector<std::string> alarms;
  if (!check.checked) return alarms;
  const auto orphans = check.counts.orphans;
  const auto missing = check.counts.missing_files;
  if (orphans > 0 || missing > 0) {
    std::string what;
    if (orphans > 0)
      what = fmt::format("{} recording file{} no row in the database (orphan{})", orphans,
                         orphans == 1 ? " has" : "s have", orphans == 1 ? "" : "s");
    if (missing > 0)
      what += fmt::format("{}{} recording row{} a file that is missing", what.empty() ? "" : " and ", missing,
                          missing == 1 ? " names" : "s name");
    alarms.push_back(what + ": `deskline recordings check` lists them" +
                     (orphans > 0 ? ", `deskline recordings check --reattach` gives the orphans their rows back" : ""));
  }
  if (!check.problem.empty()) alarms.push_back("the recordings check could not look at everything: " + check.problem);
  return alarms;
}

}  // namespace deskline::daemon
