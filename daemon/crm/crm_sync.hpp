// The CRM sync (proto/crm.md): drains the outbox (daemon/store/crm_outbox)
// to the CRM, a call's entry before its recording, at most [crm]
// max_in_flight requests at once, each on its own keep-alive connection, and
// the next item of each connection prepared while its request is out.
// Failures back off (RetryPolicy) or park the item; nothing leaves the
// outbox until the CRM has acknowledged it (a recording: with the digest of
// the very bytes sent). On the io_context thread, after the store write of
// a call and never on the pop's path: a recording's digest and signature
// are computed in 64 KiB slices, one per turn of the loop, and the outbox's
// writes run on the store writer thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

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
};

class CrmSync : public CallObserver {
 public:
  static constexpr std::size_t parked_shown = 20;

  // Reads calls through store; writer orders its pumps after the writes
  // that queue items.
  CrmSync(boost::asio::io_context& io, const config::CrmConfig& config, Store& store, StoreWriter& writer,
          Logger& log);
  ~CrmSync() override;

  // Opens the outbox and sets queueing from [crm] url; with a url, reads the
  // token and the signing secret and starts draining. An unreadable or bad
  // file is an error naming it (the daemon refuses to start).
  Result<void> start();
  // Abandons the requests in flight (they stay queued) and stops.
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

  void pump();
  // An outbox write for the store writer thread; then (if any) runs on the
  // io thread once it is stored; failure is what the log says if it fails.
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

  boost::asio::io_context& io_;
  const config::CrmConfig& config_;
  Store& store_;
  StoreWriter& writer_;
  Logger& log_;
  std::unique_ptr<CrmOutbox> outbox_;         // reads (and the CLI's retry), on this thread
  std::unique_ptr<CrmOutbox> outbox_writes_;  // the writer thread's
  std::optional<CrmCredentials> credentials_;
  RetryPolicy policy_;
  std::vector<std::unique_ptr<Slot>> slots_;
  // Given to a slot, or settled and not yet written so.
  std::set<std::pair<std::string, OutboxKind>> claimed_;
  std::mutex batch_mutex_;           // shared with the writer thread:
  std::vector<OutboxWrite> batch_;   // the outbox writes not yet taken by a batch
  bool batch_queued_ = false;        // a write_batch job is on the writer's queue
  boost::asio::steady_timer timer_;
  bool running_ = false;
  bool pumping_ = false;
  std::optional<WallTimeUs> last_success_at_;
  std::optional<WallTimeUs> last_failure_at_;
  std::string last_failure_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace deskline::daemon
