// What GET /metrics says (proto/http.md, "Metrics"): a snapshot of the
// services' typed counters in the Prometheus text format. Pure: the daemon
// gathers the facts on its io thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "daemon/api/listener.hpp"
#include "daemon/api/pop_hub.hpp"
#include "daemon/calls/call_service.hpp"
#include "daemon/core/histogram.hpp"
#include "daemon/crm/crm_sync.hpp"
#include "daemon/media/media_worker.hpp"
#include "daemon/media/recording_service.hpp"

namespace deskline::daemon {

struct MetricsFacts {
  WallTimeUs now = 0;
  WallTimeUs started_at = 0;
  CallServiceStats calls;
  std::map<std::string, BoxAudioStats> audio;  // by box serial
  RecordingService::Counters recordings;
  std::size_t recordings_in_progress = 0;
  PopHub::Counters pops;
  std::size_t pop_clients = 0;
  std::optional<std::int64_t> directory_customers;  // none when the directory could not count them
  Histogram directory_lookup_s{latency_buckets_s()};
  std::optional<CrmSyncStatus> crm;                   // with [crm] url set
  std::map<std::string, ListenerCounters> listeners;  // by server: control, events, http
};

std::string metrics_text(const MetricsFacts& facts);

}  // namespace deskline::daemon
