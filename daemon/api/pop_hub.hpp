// Turns call and box changes into numbered pop events (proto/pop.md), keeps
// them in the store's pop event log for clients that resume by seq (also
// across daemon restarts: seq goes on from the log), keeps the latest event
// of every call in progress for clients that connect mid-call, and fans
// events out to subscribers. Each event is serialised once for all clients.
// io_context thread only.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "daemon/calls/call_service.hpp"
#include "daemon/core/log.hpp"
#include "daemon/store/pop_event_log.hpp"
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

  // Numbers on from the newest seq in events.
  PopHub(Logger& log, PopEventLog& events);

  // CallObserver
  void call_changed(CallChange change, const CallRecord& call, const CallChangeDetail& detail) override;
  void box_changed(const drivers::BoxIdentity& box, bool attached) override;

  void recording_saved(const CallRecord& call, const std::string& path, double duration_s, std::uint64_t bytes);

  void subscribe(PopSubscriber& subscriber) { subscribers_.push_back(&subscriber); }
  void unsubscribe(PopSubscriber& subscriber);

  // The first message to a client: the stream and the newest seq, as of now.
  std::string hello() const;
  const std::string& stream_id() const { return events_.stream_id(); }
  // Latest event of each call in progress, marked as replays.
  std::vector<PopMessagePtr> active_calls() const;
  // Events with seq > after, from the log. gap is set when some of them are
  // no longer kept (or could not be stored or read).
  std::vector<PopMessagePtr> history_since(std::uint64_t after, bool& gap) const;
  std::uint64_t last_seq() const { return next_seq_ - 1; }

 private:
  proto::pop::Event call_event(std::string name, const CallRecord& call);
  PopMessagePtr publish(proto::pop::Event event);
  void store(const PopMessage& message);
  void prune();

  Logger& log_;
  PopEventLog& events_;
  std::uint64_t next_seq_;
  std::size_t stored_since_prune_ = 0;
  bool store_failing_ = false;  // logged once per episode, not per event
  std::map<std::string, PopMessagePtr> active_;  // call id -> latest event, as a replay
  std::vector<PopSubscriber*> subscribers_;
};

}  // namespace deskline::daemon
