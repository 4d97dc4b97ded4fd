// What needs an admin's attention, from facts the control handler gathers
// from the running services: the alarms of `deskline status` (whose exit
// status says whether there are any) and the reasons of GET /healthz
// (proto/http.md). Pure: no service, file or clock is read here, so every
// rule has a table test.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "daemon/crm/crm_sync.hpp"
#include "daemon/domain/call.hpp"
#include "daemon/media/media_worker.hpp"

namespace deskline::daemon {

struct BoxPresence {
  std::string serial;
  bool attached = false;
  std::optional<WallTimeUs> since;  // of the last attach or detach
};

struct DiskSpace {
  std::string path;
  std::uint64_t free_bytes = 0;
  std::uint64_t floor_bytes = 0;  // [recording] min_free_mb: below it new recordings are refused
};

struct HealthFacts {
  WallTimeUs now = 0;
  WallTimeUs started_at = 0;
  std::vector<std::string> configured_boxes;  // the serials [[line]] tables name
  std::vector<BoxPresence> boxes;             // every box seen since the start
  std::optional<DiskSpace> recordings_disk;   // nullopt: disk_error says why
  std::string disk_error;
  bool database_moved = false;
  std::vector<std::string> recordings_check_alarms;
  std::optional<CrmSyncStatus> crm;  // with [crm] url only
  std::map<std::string, BoxAudioStats> audio;
};

// One problem: reason is a short code that names no box, path, call or
// customer (GET /healthz answers anyone who can connect); message is the
// sentence for admins (`deskline status`), with what to do where there is
// something to do.
struct HealthAlarm {
  std::string reason;  // box_missing, box_detached, audio, disk_low, disk_unknown, database_replaced,
                       // recordings_check, crm_parked, crm_failing
  std::string message;
};

// A CRM backlog is worth an alarm once its oldest item has waited this long
// while the last attempt failed: a CRM restart or a short outage is not.
constexpr std::int64_t crm_backlog_alarm_s = 15 * 60;

// The configured boxes no box has been since the start.
std::vector<std::string> missing_boxes(const HealthFacts& facts);

// Every problem, none when all is well.
std::vector<HealthAlarm> health_alarms(const HealthFacts& facts);

}  // namespace deskline::daemon
