// The CRM sync (proto/crm.md): drains the outbox (daemon/store/crm_outbox)
// to the CRM, a call's entry before its recording, at most [crm]
// max_in_flight requests at once, each on its own keep-alive connection, and
// the next item of each connection prepared while its request is out.
// Failures back off (RetryPolicy) or park the item; nothing leaves the
// outbox until the CRM has acknowledged it (a recording: with the digest of
// the very bytes sent).
//
// Threads: the sync runs on a thread of its own ("desklined-crm", a bulk
// thread) with its own io_context and database connections, so a drain's
// hashing, signing, HTTP and TLS never wait in the daemon's io_context queue
// in front of a pop. The outbox's writes run on the store writer thread.
// The public functions are for the daemon's io thread; the status they
// read is shared under a mutex or read through that thread's own connection.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <atomic>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/config.hpp"
#include "daemon/calls/call_service.hpp"
#include "daemon/core/log.hpp"
#include "daemon/core/result.hpp"
#include "daemon/crm/crm_client.hpp"
#include "daemon/crm/crm_credentials.hpp"
#include "daemon/crm/retry_policy.hpp"
#include "daemon/store/crm_outbox.hpp"
#include "daemon/store/store.hpp"
#include "daemon/store/store_writer.hpp"
#include "proto/webhook_signature.hpp"

namespace deskline::daemon {

struct CrmSyncStatus {
  bool enabled = false;
  std::string url;
  OutboxSummary outbox;
  std::size_t in_flight = 0;
  std::vector<OutboxItem> parked;  // the oldest few
  std::optional<WallTimeUs> last_success_at;
  std::optional<WallTimeUs> last_failure_at;
  std::string last_failure;  // what went wrong last, for people
  std::uint64_t failed_attempts = 0;  // since the sync started: each is retried later or parked
};

class CrmSync : public CallObserver {
 public:
  static constexpr std::size_t parked_shown = 20;

  // Opens its connections to store's database; writer orders its pumps
  // after the writes that queue items.
  CrmSync(const config::CrmConfig& config, Store& store, StoreWriter& writer, Logger& log);
  ~CrmSync() override;

  // Opens the outbox and sets queueing from [crm] url; with a url, reads the
  // token and the signing secret and starts the sync thread. An unreadable
  // or bad file is an error naming it (the daemon refuses to start).
  Result<void> start();
  // Abandons the requests in flight (they stay queued) and joins the sync
  // thread.
  void stop();
  // Items may have been queued (a call ended, a recording completed).
  void kick();
  // Kicks once the writes queued on the writer so far are stored, and with
  // them the outbox items their triggers make.
  void kick_after_writes();

  // CallObserver: an ended call's row was queued for the writer; the outbox
  // item goes in with it.
  void call_changed(CallChange change, const CallRecord& call, const CallChangeDetail& detail) override;
  void box_changed(const drivers::BoxIdentity&, bool) override {}

  CrmSyncStatus status() const;
  // Whether the CRM confirmed it stored recording's very bytes (retention).
  bool recording_confirmed(const RecordingRecord& recording) const;
  // `deskline sync retry`: the items of call_id, or every parked item, now.
  Result<std::size_t> retry(const std::optional<std::string>& call_id);

 private:
  struct Slot;
  class Upload;

  // On the sync thread from here on.
  void run();
  void halt();
  // Pumps soon, once however often it is asked before that.
  void pump_soon();
  void pump();
  // An outbox write for the store writer thread; then (if any) runs on the
  // sync thread once it is stored; failure is what the log says if it fails.
  struct OutboxWrite {
    std::string failure;
    std::function<Result<void>(CrmOutbox&)> write;
    std::function<void()> then;
  };
  void write_then(std::string failure, std::function<Result<void>(CrmOutbox&)> write,
                  std::function<void()> then = {});
  void write_batch();
  // Sends the call entry, signed, once its body is kept; or settles the
  // attempt at once (failed: the call is not there, or not ended).
  void send_entry(Slot& slot, const OutboxItem& item);
  void send_recording(Slot& slot, const OutboxItem& item);
  void send_prepared(Slot& slot, const OutboxItem& item, CrmRequest request, std::string expected_sha256);
  // Settles an attempt: delivered, retried later or parked; frees the slot.
  void settle(Slot& slot, const OutboxItem& item, const Result<CrmAnswer>& answer, std::string_view expected_sha256);
  void fail(Slot& slot, const OutboxItem& item, std::optional<int> status, const std::string& reason,
            std::optional<WallTimeUs> retry_at);
  void settle_in_outbox(Slot& slot, const OutboxItem& item, std::string failure,
                        std::function<Result<void>(CrmOutbox&)> write);
  // The next pump at `at` (none: only when something settles or is queued).
  void arm_timer(std::optional<WallTimeUs> at);
  // Logs why and pumps again after a while.
  void outbox_unreadable(const Error& error);

  // First: its handlers and sockets go last.
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> keep_running_;
  const config::CrmConfig& config_;
  Store& store_;
  StoreWriter& writer_;
  Logger& log_;
  std::unique_ptr<Store> calls_;              // the sync thread's reads of calls and recordings
  std::unique_ptr<CrmOutbox> outbox_;         // the sync thread's reads
  std::unique_ptr<CrmOutbox> outbox_writes_;  // the writer thread's
  std::unique_ptr<CrmOutbox> outbox_admin_;   // the daemon's io thread's: status, retention, the CLI's retry
  std::optional<CrmCredentials> credentials_;
  RetryPolicy policy_;
  std::vector<std::unique_ptr<Slot>> slots_;
  // Given to a slot, or settled and not yet written so.
  std::set<std::pair<std::string, OutboxKind>> claimed_;
  std::mutex batch_mutex_;           // shared with the writer thread:
  std::vector<OutboxWrite> batch_;   // the outbox writes not yet taken by a batch
  bool batch_queued_ = false;        // a write_batch job is on the writer's queue
  boost::asio::steady_timer timer_;
  bool running_ = false;  // the sync thread's
  bool pumping_ = false;
  std::atomic<bool> started_ = false;  // the sync thread runs
  std::atomic<std::size_t> in_flight_ = 0;
  mutable std::mutex progress_mutex_;  // shared with the io thread's status():
  std::optional<WallTimeUs> last_success_at_;
  std::uint64_t failed_attempts_ = 0;
  std::optional<WallTimeUs> last_failure_at_;
  std::string last_failure_;
  std::thread thread_;
};

}  // namespace deskline::daemon
