// Decides which calls are recorded and keeps the recordings table: starts a
// recording at the answer (inbound) or off-hook (outbound), stops it at
// on-hook, stores what the media worker reports, repairs what a killed daemon
// left open, and reports what retention would delete. io_context thread only.
#pragma once

#include <functional>
#include <map>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/config.hpp"
#include "daemon/calls/call_service.hpp"
#include "daemon/core/log.hpp"
#include "daemon/media/media_worker.hpp"
#include "daemon/store/store.hpp"
#include "daemon/store/store_writer.hpp"

namespace deskline::daemon {

class RecordingService : public CallObserver {
 public:
  // Told on the io_context thread when a call's recording file is closed
  // (complete, truncated or failed with a partial file), once its row's
  // update is queued on the writer.
  using SavedHandler = std::function<void(const CallRecord& call, const RecordingResult& recording)>;

  // Reads through store; writes through writer.
  RecordingService(boost::asio::io_context& io, const config::Config& config, Store& store, StoreWriter& writer,
                   MediaWorker& media, SavedHandler on_saved, Logger& log);

  void call_changed(CallChange change, const CallRecord& call, const CallChangeDetail& detail) override;
  void call_audio_ends(const CallRecord& call, drivers::HostTimeUs at_us) override;
  void box_changed(const drivers::BoxIdentity& box, bool attached) override;
  void box_audio_lost(const std::string& serial, drivers::HostTimeUs at_us) override {
    media_.audio_lost(serial, at_us);
  }
  void on_result(const RecordingResult& result);

  // Recordings left "recording" by a daemon that died: repaired, never deleted.
  void recover();
  // Whether the CRM has confirmed it has this recording's very bytes.
  using SyncedCheck = std::function<bool(const RecordingRecord& recording)>;
  // Retention ([recording] retention_days): a file older than that is
  // deleted only once synced says the CRM has it (its row becomes
  // `deleted`); an unsynced one is kept whatever the disk says. Without
  // synced (no CRM configured) nothing is deleted. Runs now and daily.
  void check_retention(SyncedCheck synced);
  // Cancels the retention timer (the recordings in progress are finished by
  // MediaWorker::stop and reported through on_result).
  void stop() { retention_timer_.cancel(); }

  // Recordings that ended since the start, and the bytes they wrote.
  struct Counters {
    std::uint64_t complete = 0;
    std::uint64_t truncated = 0;  // a write failed (a full disk): valid up to there
    std::uint64_t refused = 0;    // never started: disk under the floor, no audio
    std::uint64_t bytes = 0;
  };
  const Counters& counters() const { return counters_; }
  std::size_t in_progress() const { return recording_.size(); }

 private:
  bool wanted(const CallRecord& call) const;
  void start(const CallRecord& call, WallTimeUs from);

  const config::Config& config_;
  Store& store_;
  StoreWriter& writer_;
  MediaWorker& media_;
  SavedHandler on_saved_;
  Logger& log_;
  std::map<std::string, CallRecord> recording_;  // call id -> call, while its recording runs
  Counters counters_;
  boost::asio::steady_timer retention_timer_;
};

}  // namespace deskline::daemon
