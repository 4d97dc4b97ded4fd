// Answers the control socket's requests (proto/control.md) from the running
// services. io_context thread only.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "daemon/app/health.hpp"
#include "daemon/app/recordings_check.hpp"
#include "daemon/calls/call_service.hpp"
#include "daemon/core/log.hpp"
#include "daemon/crm/crm_sync.hpp"
#include "daemon/crm/customer_pull.hpp"
#include "daemon/media/media_worker.hpp"
#include "daemon/media/recording_service.hpp"
#include "daemon/store/store.hpp"
#include "proto/control.hpp"

namespace deskline::daemon {

class ControlHandler {
 public:
  // The servers' connection counters, by server, for the status.
  using ConnectionStats = std::function<nlohmann::json()>;
  // Reads the configuration again; its answer (Daemon::reload).
  using Reload = std::function<nlohmann::json()>;

  // The daemon reads at most this much of a recording to re-attach it, on
  // the io_context thread: checking a file costs ~4.5 ms per MiB (read, Ogg
  // page walk with CRCs, sha256; measured on a 26 MiB file), so at most
  // ~75 ms. That is about 2 hours of a call at the default 16 kb/s; a larger
  // file is re-attached by the CLI itself while desklined is stopped.
  static constexpr std::uint64_t max_reattach_bytes = 16ULL << 20;

  // started_at: when the daemon started, for its uptime.
  ControlHandler(const config::Config& config, WallTimeUs started_at, const CallService& calls, Store& store,
                 const MediaWorker& media, const RecordingService& recordings, RecordingsCheck& recordings_check,
                 CrmSync& crm, CustomerPull& customer_pull, std::string web_page, ConnectionStats connections,
                 Reload reload, Logger& log)
      : config_(config), started_at_(started_at), calls_(calls), store_(store), media_(media),
        recordings_(recordings), recordings_check_(recordings_check), crm_(crm), customer_pull_(customer_pull),
        recordings_dir_(config.recordings_dir()), web_page_(std::move(web_page)), connections_(std::move(connections)),
        reload_(std::move(reload)), log_(log) {}

  nlohmann::json handle(const proto::control::Request& request);
  // The page's address with a new token (a reload).
  void set_web_page(std::string web_page) { web_page_ = std::move(web_page); }
  // The newest calls (older than the call before_id, when given) as
  // call_to_json objects, or the store's error.
  Result<nlohmann::json> calls_json(std::size_t limit, std::string_view before_id = {}) const;
  // The page's: of these lines (a desk's), or of every line when empty.
  Result<nlohmann::json> calls_json(std::size_t limit, std::span<const std::string> lines) const;
  // What needs an admin's attention now (health_alarms); none when all is well.
  std::vector<HealthAlarm> alarms() const;

 private:
  nlohmann::json status() const;
  HealthFacts health_facts() const;
  nlohmann::json reattach_recording(const std::string& path);

  const config::Config& config_;
  WallTimeUs started_at_;
  const CallService& calls_;
  Store& store_;
  const MediaWorker& media_;
  const RecordingService& recordings_;
  RecordingsCheck& recordings_check_;
  CrmSync& crm_;
  CustomerPull& customer_pull_;
  std::filesystem::path recordings_dir_;
  std::string web_page_;
  ConnectionStats connections_;
  Reload reload_;
  Logger& log_;
};

}  // namespace deskline::daemon
