// Turns call and box changes into numbered pop events (proto/pop.md), keeps
// them in the store's pop event log for clients that resume by seq (also
// across daemon restarts: seq goes on from the log), keeps the latest event
// of every call in progress for clients that connect mid-call, and fans
// events out to subscribers. Each event is serialised once for all clients.
//
// An event is delivered first and stored after, on the store writer thread,
// so that a pop never waits for the disk. Two things keep resuming exact:
// seqs are reserved in the log ahead of use (a block at a time, extended
// while half of it is left), so a daemon started after a crash never hands
// out a seq a desk has seen; and the events not yet stored are kept here and
// merged into history_since.
// io_context thread only (the writer's jobs touch only what they own).
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "daemon/calls/call_service.hpp"
#include "daemon/core/log.hpp"
#include "daemon/store/pop_event_log.hpp"
#include "daemon/store/store_writer.hpp"
#include "proto/pop.hpp"

namespace deskline::daemon {

struct PopMessage {
  proto::pop::Event event;
  std::string text;  // to_json(event) + "\n"
};
using PopMessagePtr = std::shared_ptr<const PopMessage>;

class PopSubscriber {
 public:
  virtual ~PopSubscriber() = default;
  virtual void deliver(const PopMessagePtr& message) = 0;
};

class PopHub : public CallObserver {
 public:
  // Events kept for resuming; the log holds up to prune_batch more, since
  // the oldest are deleted in batches rather than one per event (a batch of
  // 100 takes ~0.2 ms, after delivery; 500 took ~0.85 ms, BENCHMARKS.md).
  static constexpr std::size_t history_limit = 10'000;
  static constexpr std::size_t prune_batch = 100;
  // Seqs reserved at a time: a crash skips at most this many.
  static constexpr std::uint64_t reservation_block = 1000;

  // Numbers on from the newest seq stored or reserved in appends, and
  // reserves the first block (on the calling thread). appends is written only
  // through writer's jobs from then on; history is read on this thread.
  PopHub(Logger& log, PopEventLog& history, PopEventLog& appends, StoreWriter& writer);
  // Gives back the seqs reserved and not used, and waits for every event to
  // be stored.
  ~PopHub() override;
  PopHub(const PopHub&) = delete;
  PopHub& operator=(const PopHub&) = delete;

  // CallObserver
  void call_changed(CallChange change, const CallRecord& call, const CallChangeDetail& detail) override;
  void box_changed(const drivers::BoxIdentity& box, bool attached) override;

  void recording_saved(const CallRecord& call, const std::string& path, double duration_s, std::uint64_t bytes);

  void subscribe(PopSubscriber& subscriber) { subscribers_.push_back(&subscriber); }
  void unsubscribe(PopSubscriber& subscriber);

  // The configuration whose lines and desks clients see and ask for: the
  // daemon's, which a reload changes in place (on this thread). Until then:
  // no line, no desk.
  void use_config(const config::Config& config) { config_ = &config; }
  const config::Config& config() const { return *config_; }

  // The first message to a client: the stream and the newest seq, as of
  // now, and the lines it sees (scope: a desk's page; nullptr: every line).
  std::string hello(const config::DeskConfig* scope = nullptr) const;
  const std::string& stream_id() const { return history_.stream_id(); }
  // Latest event of each call in progress, marked as replays.
  std::vector<PopMessagePtr> active_calls() const;
  // Events with seq > after, from the log and those not stored yet. gap is
  // set when some of them are no longer kept (or could not be stored or
  // read, or were lost with a crashed daemon).
  std::vector<PopMessagePtr> history_since(std::uint64_t after, bool& gap) const;
  std::uint64_t last_seq() const { return next_seq_ - 1; }

  // Since the start, for /metrics.
  struct Counters {
    std::uint64_t published = 0;         // events
    std::uint64_t queued = 0;            // events queued to clients (one per client it passed the filter of)
    std::uint64_t slow_clients_cut = 0;  // clients cut with a full queue
    std::uint64_t dropped = 0;           // messages left unsent in the queues of those clients
  };
  const Counters& counters() const { return counters_; }
  std::size_t clients() const { return subscribers_.size(); }
  // Told by the clients (PopClient).
  void count_queued() { ++counters_.queued; }
  void count_slow_client_cut(std::size_t unsent) {
    ++counters_.slow_clients_cut;
    counters_.dropped += unsent;
  }

 private:
  proto::pop::Event call_event(std::string name, const CallRecord& call);
  PopMessagePtr publish(proto::pop::Event event);
  void reserve_for(std::uint64_t seq);
  void reserve_through(std::uint64_t seq);
  void forget_stored();
  // On the writer thread.
  void store(const PopMessage& message, std::int64_t published_at);

  Logger& log_;
  static inline const config::Config no_config_{};
  const config::Config* config_ = &no_config_;
  PopEventLog& history_;
  PopEventLog& appends_;
  StoreWriter& writer_;
  std::uint64_t next_seq_;
  std::uint64_t reservation_asked_ = 0;       // the highest reservation submitted
  std::atomic<std::uint64_t> reserved_{0};    // the highest one stored
  std::atomic<std::uint64_t> handled_through_{0};  // the newest event the writer stored or failed to
  std::deque<PopMessagePtr> unstored_;        // published, not yet handled by the writer
  bool reservation_failing_ = false;          // said once per episode
  std::map<std::string, PopMessagePtr> active_;  // call id -> latest event, as a replay
  std::vector<PopSubscriber*> subscribers_;
  Counters counters_;
  // The writer's alone.
  std::size_t stored_since_prune_ = 0;
  bool store_failing_ = false;  // logged once per episode, not per event
};

}  // namespace deskline::daemon
