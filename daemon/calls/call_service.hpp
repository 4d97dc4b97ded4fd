// Turns box events into calls: one LineMachine per line, box clocks mapped
// to wall time, every change persisted to the store and logged with line and
// call id. Runs on the io_context thread only.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json_fwd.hpp>

#include "config/config.hpp"
#include "daemon/calls/audio_detection.hpp"
#include "daemon/calls/caller_matcher.hpp"
#include "daemon/calls/line_machine.hpp"
#include "daemon/core/histogram.hpp"
#include "daemon/core/log.hpp"
#include "daemon/core/rate_limited_log.hpp"
#include "daemon/store/store.hpp"
#include "daemon/store/store_writer.hpp"
#include "drivers/clock_offset.hpp"
#include "drivers/line_box.hpp"

namespace deskline::daemon {

// What a change carries besides the call record.
struct CallChangeDetail {
  drivers::HostTimeUs at = 0;  // when it happened on the line
  char digit = 0;              // CallChange::digit_dialled and digit_in_call
  std::uint32_t flash_ms = 0;  // CallChange::flash: how long the line was on-hook
  // CallChange::digit_dialled: the digits dialled so far, as dialled. The
  // call record's number stays as it was until the number is complete
  // (number_dialled): nothing is stored per digit.
  std::string digits;
};

// What the rest of the daemon (recorder, pop server) hears about calls and
// boxes: first observers before the store has the change, the others after.
// Called on the io_context thread.
class CallObserver {
 public:
  virtual ~CallObserver() = default;
  virtual void call_changed(CallChange change, const CallRecord& call, const CallChangeDetail& detail) = 0;
  virtual void box_changed(const drivers::BoxIdentity& box, bool attached) = 0;
  // The box lost line audio near this host time before the host could read it.
  virtual void box_audio_lost(const std::string& serial, drivers::HostTimeUs at_us) {
    (void)serial;
    (void)at_us;
  }
  // The call's line audio ends at this host time. Told before the change that
  // ends the call is stored or published, which may wait on a busy disk while
  // audio keeps coming: an observer must not block here.
  virtual void call_audio_ends(const CallRecord& call, drivers::HostTimeUs at_us) {
    (void)call;
    (void)at_us;
  }
};

// Counters since the daemon started, for `deskline status` (and metrics).
struct FaultCounters {
  // By drivers::BoxFaultKind.
  std::array<std::uint64_t, drivers::box_fault_kind_count> by_kind{};
  std::uint64_t& operator[](drivers::BoxFaultKind kind) { return by_kind[static_cast<std::size_t>(kind)]; }
  std::uint64_t operator[](drivers::BoxFaultKind kind) const { return by_kind[static_cast<std::size_t>(kind)]; }
};
// What the daemon's own line-audio detectors did for a box.
struct DetectionCounters {
  std::uint64_t callerid_box = 0;            // caller-ID messages the box decoded and reported
  std::uint64_t callerid_audio = 0;          // valid caller-ID messages decoded from audio
  std::uint64_t callerid_rejected = 0;       // bad checksum, truncated, bad content
  std::uint64_t callerid_disagreements = 0;  // box and audio decoded the same message differently
  std::uint64_t dtmf_audio = 0;              // digits taken from audio
};
struct LineStats {
  int port = 0;
  std::string name;
  LineState state = LineState::idle;
  std::optional<std::string> call_id;
};
struct BoxStats {
  drivers::BoxIdentity identity;
  bool attached = false;
  std::optional<WallTimeUs> since;  // of the last attach or detach
  FaultCounters faults;
  DetectionCounters detections;
  std::vector<LineStats> lines;
};
inline constexpr std::size_t direction_count = 3;
inline constexpr std::size_t outcome_count = 7;
struct CallServiceStats {
  std::vector<BoxStats> boxes;
  FaultCounters unidentified_faults;  // of boxes before they identified themselves
  // Calls that ended since the start, by Direction and Outcome.
  std::array<std::array<std::uint64_t, outcome_count>, direction_count> ended{};
  // From a box's report reaching the host to the pop observers (the pop
  // hub: the event in every client's queue) having been told of the change.
  Histogram report_to_pop_s{latency_buckets_s()};
};

class CallService : public drivers::BoxListener {
 public:
  // Reads through store; writes through writer, whose queue orders them.
  CallService(boost::asio::io_context& io, const config::Config& config, Store& store, StoreWriter& writer,
              Logger& log);
  ~CallService() override;

  void add_observer(CallObserver& observer) { observers_.push_back(&observer); }
  // Told before the store write is queued: the pop path, whose latency is
  // what desk users feel (a pop needs nothing from the database row). The
  // others are told after it is queued, not stored: a reader that depends on
  // the row waits for the writer (StoreWriter).
  void add_first_observer(CallObserver& observer) { first_observers_.push_back(&observer); }
  // Calls in progress, for clients that connect mid-call.
  std::vector<CallRecord> active_calls() const;
  // How calls' numbers are matched to customers (CallRecord::match); without
  // one, a match holds just the number as received.
  void set_number_lookup(NumberLookup lookup) { matcher_ = CallerMatcher(std::move(lookup)); }

  // BoxListener
  void box_attached(const drivers::BoxIdentity& box, drivers::BoxTimeUs box_time_us,
                    drivers::HostTimeUs received_at_us) override;
  void line_event(const std::string& serial, const drivers::LineEvent& event) override;
  void box_detached(const std::string& serial, const std::string& reason,
                    drivers::HostTimeUs detected_at_us) override;
  void box_clock_sample(const std::string& serial, drivers::BoxTimeUs box_time_us,
                        drivers::HostTimeUs received_at_us) override;
  void box_fault(const std::string& serial, const drivers::BoxFault& fault) override;
  void audio_lost(const std::string& serial, drivers::BoxTimeUs box_time_us) override;
  void driver_message(drivers::Severity severity, const std::string& text) override;

  // What the line detectors heard in a line's audio (MediaWorker). Caller ID
  // from audio and from the box: the first valid message wins, a differing
  // second opinion is logged and counted. Digits come from one source per
  // box so none is doubled: the box's reports if it decodes caller ID
  // (BoxIdentity::decodes_caller_id), the line audio otherwise (that box's
  // own DTMF reports are then ignored). Busy or congestion tone on a
  // connected call ends it as remote_hangup.
  void audio_detection(const AudioDetection& detection);

  // Ends calls in progress with outcome "interrupted" (daemon stopping).
  void interrupt_all(drivers::HostTimeUs now_us);
  // Calls a previous daemon left active are closed as "interrupted", and
  // the observers registered by then hear that they ended. Run it after
  // their recordings were repaired: a call ends no earlier than its recording.
  void recover_interrupted_calls();

  // Lines take their names from the configuration again (after a reload).
  // A call in progress keeps the name it started with.
  void rename_lines();

  // Boxes, lines and fault counters, for `deskline status`.
  CallServiceStats stats() const;

 private:
  struct Line;
  struct BoxState;

  BoxState& box_state(const std::string& serial);
  void apply(BoxState& box, Line& line, const MachineOutput& output);
  void persist(BoxState& box, Line& line, const CallUpdate& update);
  void count_ended(const CallRecord& call);
  void notify(CallChange change, const CallRecord& record, const CallChangeDetail& detail,
              const std::vector<CallObserver*>& observers);
  // Every observer, the first observers first.
  template <typename Tell>
  void tell_all(const Tell& tell) {
    for (auto* observer : first_observers_) tell(*observer);
    for (auto* observer : observers_) tell(*observer);
  }
  void add_event(const Line& line, const CallRecord& record, drivers::HostTimeUs at, const char* type,
                 const nlohmann::json& detail);
  std::optional<CallRecord> cut_predecessor(const Line& line) const;
  void note_joined(Line& line, CallRecord& record, const std::optional<CallRecord>& predecessor);
  void arm_timer(BoxState& box, Line& line);
  void accept_caller_id(BoxState& box, Line& line, const drivers::CallerIdInfo& caller_id, bool from_audio,
                        BoxTimeUs at);
  void accept_digit(BoxState& box, Line& line, const drivers::DigitDetected& digit, bool from_audio,
                    BoxTimeUs started_at);

  boost::asio::io_context& io_;
  const config::Config& config_;
  Store& store_;
  StoreWriter& writer_;
  CallerMatcher matcher_;
  Logger& log_;
  LineTimeouts timeouts_;
  std::array<std::array<std::uint64_t, outcome_count>, direction_count> ended_{};
  Histogram report_to_pop_s_{latency_buckets_s()};
  drivers::HostTimeUs report_received_at_ = 0;  // of the report being handled, 0 between reports
  std::map<std::string, std::unique_ptr<BoxState>> boxes_;
  FaultCounters unattached_faults_;
  // Box faults in the log: per box and kind, at most 5 lines a minute, then
  // one summary (x800.md 4.2).
  RateLimitedLog fault_log_;
  bool stopping_ = false;  // interrupt_all ran: the daemon is stopping
  std::vector<CallObserver*> first_observers_;
  std::vector<CallObserver*> observers_;
};

}  // namespace deskline::daemon
