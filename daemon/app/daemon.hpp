// The composition root: one Daemon owns the io_context and every service,
// starts them in dependency order and stops them in reverse, then drains the
// io_context so that no handler outlives what it references
// (docs/architecture.md, "Startup and shutdown").
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/config.hpp"
#include "daemon/api/control_server.hpp"
#include "daemon/api/http_server.hpp"
#include "daemon/api/pop_hub.hpp"
#include "daemon/api/pop_server.hpp"
#include "daemon/app/control_handler.hpp"
#include "daemon/app/instance_lock.hpp"
#include "daemon/app/recordings_check.hpp"
#include "daemon/app/service_watchdog.hpp"
#include "daemon/calls/call_service.hpp"
#include "daemon/core/log.hpp"
#include "daemon/crm/crm_sync.hpp"
#include "daemon/crm/customer_pull.hpp"
#include "daemon/directory/directory.hpp"
#include "daemon/media/media_worker.hpp"
#include "daemon/media/recording_service.hpp"
#include "daemon/store/store.hpp"
#include "daemon/store/store_writer.hpp"
#include "daemon/store/wal_checkpointer.hpp"
#include "drivers/x800/driver.hpp"

namespace deskline::daemon {

class Daemon {
 public:
  explicit Daemon(config::Config config);
  // Stops whatever runs and drains the io_context before any service goes.
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Opens the store and directory and starts every service; false (the reason
  // logged) when one cannot start.
  bool start();
  // Serves until SIGTERM or SIGINT, then stops every service. The exit status.
  int run();
  // Reads the configuration file again (SIGHUP, `deskline reload`) and
  // applies what can change while calls go on (config/reload.hpp); a file
  // with errors is refused whole. The control answer (proto/control.md).
  nlohmann::json reload();

 private:
  void stop();
  void drain();
  void warn_if_data_readable_by_others(std::optional<gid_t> desk_group);
  bool start_servers(std::optional<gid_t> desk_group);
  void watch_database();
  void wait_for_reload_signal();
  // The CRM sync and the customer pull, again with the reloaded [crm].
  Result<void> restart_crm();
  // The lines in a call now, as (box serial, port).
  std::vector<std::pair<std::string, int>> lines_in_call() const;
  std::string web_page_address(const std::string& token) const;
  // GET /metrics.
  std::string metrics();

  // Changed by reload() only, on the io thread; the other threads read none
  // of the keys it changes (the CRM sync is stopped while [crm] changes).
  config::Config config_;
  Logger log_;
  // Declared first, destroyed last: every I/O object below belongs to it.
  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  boost::asio::signal_set reload_signal_;
  std::optional<InstanceLock> instance_lock_;  // held for the daemon's life
  std::unique_ptr<Store> store_;
  std::unique_ptr<WalCheckpointer> checkpointer_;  // the store's checkpoints, off the io thread
  std::unique_ptr<Store> writer_store_;  // the writer's own connection
  std::unique_ptr<StoreWriter> writer_;  // the database's writes, off the io thread; outlives their writers
  std::unique_ptr<Directory> directory_;
  std::unique_ptr<PopEventLog> pop_events_;   // appends, on the writer; outlives pops_
  std::unique_ptr<PopEventLog> pop_history_;  // reads, on the io thread; outlives pops_
  std::optional<CallService> calls_;
  std::optional<PopHub> pops_;
  std::optional<MediaWorker> media_;
  std::optional<RecordingService> recordings_;
  std::optional<CrmSync> crm_;
  std::optional<CustomerPull> customer_pull_;  // writes directory_
  std::optional<RecordingsCheck> recordings_check_;
  std::optional<PopSocketServer> pop_socket_;
  std::optional<HttpServer> http_;
  std::optional<ControlHandler> control_handler_;
  std::optional<ControlServer> control_;
  std::optional<drivers::x800::Driver> driver_;
  boost::asio::steady_timer database_watch_{io_};
  ServiceWatchdog watchdog_{io_, log_};
  bool database_moved_reported_ = false;
  bool stopped_ = false;
  WallTimeUs started_at_ = 0;  // for the uptime in `deskline status`
  Histogram directory_lookup_s_{latency_buckets_s()};
  std::optional<std::int64_t> directory_customers_;
  std::optional<WallTimeUs> directory_counted_at_;
};

}  // namespace deskline::daemon
