// Turns call and box changes into numbered pop events (proto/pop.md), keeps
// a bounded history for clients that resume by seq and the latest event of
// every call in progress for clients that connect mid-call, and fans events
// out to subscribers. Each event is serialised once for all clients.
// io_context thread only.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "daemon/calls/call_service.hpp"
#include "daemon/core/log.hpp"
#include "proto/pop.hpp"

namespace deskline::daemon {

// What the directory says about a number as received.
struct NumberMatch {
  std::string e164;     // "" when the number cannot be normalised
  std::string display;  // for people
  std::vector<proto::pop::Customer> customers;
};
using CustomerLookup = std::function<NumberMatch(const std::string& raw_number)>;

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
  static constexpr std::size_t history_limit = 10'000;

  PopHub(Logger& log, CustomerLookup lookup);

  // CallObserver
  void call_changed(CallChange change, const CallRecord& call, const CallChangeDetail& detail) override;
  void box_changed(const drivers::BoxIdentity& box, bool attached) override;
  void caller_id_before_call(const std::string& number) override;

  void recording_saved(const CallRecord& call, const std::string& path, double duration_s, std::uint64_t bytes);

  void subscribe(PopSubscriber& subscriber) { subscribers_.push_back(&subscriber); }
  void unsubscribe(PopSubscriber& subscriber);

  // Latest event of each call in progress, marked as replays.
  std::vector<PopMessagePtr> active_calls() const;
  // Events with seq > after. gap is set when some of them are no longer kept.
  std::vector<PopMessagePtr> history_since(std::uint64_t after, bool& gap) const;
  std::uint64_t last_seq() const { return next_seq_ - 1; }

 private:
  proto::pop::Event call_event(std::string name, const CallRecord& call);
  NumberMatch look_up(const std::string& number);
  void publish(proto::pop::Event event);

  Logger& log_;
  CustomerLookup lookup_;
  std::uint64_t next_seq_ = 1;
  std::deque<PopMessagePtr> history_;
  std::map<std::string, PopMessagePtr> active_;  // call id -> latest event, as a replay
  std::map<std::string, NumberMatch> matches_;   // call id -> lookup of its current number
  // Numbers heard before their call started, looked up already; an entry is
  // used by the call's first event or dropped when stale.
  struct EarlyMatch {
    NumberMatch match;
    std::chrono::steady_clock::time_point heard;
  };
  std::map<std::string, EarlyMatch> early_matches_;
  std::vector<PopSubscriber*> subscribers_;
};

}  // namespace deskline::daemon
