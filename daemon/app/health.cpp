#include "daemon/app/health.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "daemon/domain/call_json.hpp"

namespace deskline::daemon {
namespace {

std::string minutes(WallTimeUs duration) {
  return fmt::format("{} min", std::max<WallTimeUs>(0, duration) / 60'000'000);
}

void box_alarms(const HealthFacts& facts, std::vector<HealthAlarm>& alarms) {
  for (const auto& serial : missing_boxes(facts))
    alarms.push_back(
        {"box_missing", fmt::format("box {} is not attached: not seen since the start at {}; check its USB cable "
                                    "and `journalctl -u desklined`",
                                    serial, format_iso8601(facts.started_at))});
  for (const auto& box : facts.boxes)
    if (!box.attached)
      alarms.push_back(
          {"box_detached", fmt::format("box {} is not attached: detached{}", box.serial,
                                       box.since ? fmt::format(" at {} ({} ago)", format_iso8601(*box.since),
                                                               minutes(facts.now - *box.since))
                                                 : "")});
}

void disk_alarms(const HealthFacts& facts, std::vector<HealthAlarm>& alarms) {
  if (!facts.recordings_disk) {
    alarms.push_back({"disk_unknown", "cannot tell the recordings disk's free space: " + facts.disk_error});
    return;
  }
  const auto& disk = *facts.recordings_disk;
  if (disk.free_bytes < disk.floor_bytes)
    alarms.push_back({"disk_low", fmt::format("recordings disk {}: {} MiB free, under the floor of {} MiB "
                                              "([recording] min_free_mb): new calls are not recorded",
                                              disk.path, disk.free_bytes >> 20, disk.floor_bytes >> 20)});
}

void crm_alarms(const HealthFacts& facts, std::vector<HealthAlarm>& alarms) {
  if (!facts.crm) return;
  const auto& crm = *facts.crm;
  if (crm.outbox.parked > 0)
    alarms.push_back({"crm_parked", fmt::format("CRM: {} item(s) parked after the CRM refused them: `deskline sync "
                                                "status` shows why, `deskline sync retry --parked` sends them again",
                                                crm.outbox.parked)});
  const auto oldest = crm.outbox.oldest_pending_queued_at;
  const bool failing = crm.last_failure_at && (!crm.last_success_at || *crm.last_failure_at > *crm.last_success_at);
  if (crm.outbox.pending > 0 && oldest && facts.now - *oldest >= crm_backlog_alarm_s * 1'000'000 && failing)
    alarms.push_back({"crm_failing", fmt::format("CRM: {} item(s) waiting, the oldest for {}; last failure: {}",
                                                 crm.outbox.pending, minutes(facts.now - *oldest), crm.last_failure)});
}

}  // namespace

std::vector<std::string> missing_boxes(const HealthFacts& facts) {
  std::vector<std::string> missing;
  for (const auto& serial : facts.configured_boxes)
    if (std::none_of(facts.boxes.begin(), facts.boxes.end(),
                     [&](const BoxPresence& box) { return box.serial == serial; }))
      missing.push_back(serial);
  return missing;
}

std::vector<HealthAlarm> health_alarms(const HealthFacts& facts) {
  std::vector<HealthAlarm> alarms;
  if (facts.database_moved)
    alarms.push_back({"database_replaced",
                      "the database file was deleted or replaced while desklined runs: calls are written to a file "
                      "no one will find; restart desklined"});
  box_alarms(facts, alarms);
  for (const auto& [serial, audio] : facts.audio)
    if (!audio.error.empty())
      alarms.push_back({"audio", fmt::format("box {}: no audio, so no recordings: {}", serial, audio.error)});
  disk_alarms(facts, alarms);
  for (const auto& alarm : facts.recordings_check_alarms) alarms.push_back({"recordings_check", alarm});
  crm_alarms(facts, alarms);
  return alarms;
}

}  // namespace deskline::daemon
