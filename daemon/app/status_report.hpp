// The daemon's typed stats rendered for people and programs: the `status`
// answer of the control socket (proto/control.md). The one place where the
// services' counters become JSON (and, later, metrics).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/api/listener.hpp"
#include "daemon/app/recordings_check.hpp"
#include "daemon/calls/call_service.hpp"
#include "daemon/crm/crm_sync.hpp"
#include "daemon/crm/customer_pull.hpp"
#include "daemon/media/media_worker.hpp"

namespace deskline::daemon {

nlohmann::json to_json(const FaultCounters& faults);
nlohmann::json to_json(const DetectionCounters& detections);
nlohmann::json to_json(const CallServiceStats& stats);
nlohmann::json to_json(const std::map<std::string, BoxAudioStats>& audio);
nlohmann::json to_json(const ListenerCounters& connections);
// The CRM sync for `deskline sync status` (with_parked: the parked items)
// and `deskline status`; ages as seen at now.
nlohmann::json to_json(const CrmSyncStatus& sync, WallTimeUs now, bool with_parked);
// The directory pull: the "customers" object of the CRM sync's status.
nlohmann::json to_json(const CustomerPullStatus& pull);
nlohmann::json to_json(const RecordingsCheck::Summary& check);
// The alarm sentences of a recordings check: orphan recordings and missing
// files, and what it could not check; none when all is well.
std::vector<std::string> recordings_alarms(const RecordingsCheck::Summary& check);

}  // namespace deskline::daemon
