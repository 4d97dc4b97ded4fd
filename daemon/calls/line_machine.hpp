// One phone line's call state machine. Pure: signals and box times in, call
// updates and the transition out. Timeouts are deadlines in box time that the
// caller turns into timers, so tests drive it without a clock.
//
//   idle --ring--> ringing --off_hook--> answered --on_hook--> idle (answered)
//                  ringing --ring_timeout--> idle (missed)
//   idle --off_hook--> dialing --dial_timeout / answer_supervision--> outbound
//                      dialing|outbound --on_hook--> idle (completed, answered, abandoned)
//   answered|outbound|joined --hangup_tone (busy/congestion tone for remote_hangup_after)--> idle (remote_hangup)
//   any --device_lost / shutdown--> idle (device_lost / interrupted)
//
// A line state snapshot (the box's answer at attach) joins a call that began
// before the daemon could see it, from the snapshot's time on:
//   idle --snapshot off-hook--> joined --on_hook--> idle (completed)
//   idle --snapshot ringing--> ringing (then as above)
// and otherwise catches up with a hook change the reports did not tell.
// The reason of a transition to idle is the call's EndReason (domain/call.hpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/domain/call.hpp"
#include "drivers/line_box.hpp"

namespace deskline::daemon {

using drivers::BoxTimeUs;

// joined: off-hook in a call found in progress; whether it was inbound or
// outbound, and whether it was answered, is not known.
enum class LineState { idle, ringing, answered, dialing, outbound, joined };

std::string_view to_string(LineState state);

struct CallProgress {
  Direction direction = Direction::inbound;
  std::string number;  // as received or dialled
  std::optional<char> number_absence;
  std::string name;
  BoxTimeUs started_at = 0;
  std::optional<BoxTimeUs> answered_at;
  std::optional<BoxTimeUs> ended_at;
  std::optional<Outcome> outcome;       // set when the call ends
  std::optional<EndReason> end_reason;  // likewise
  // Found in progress by a line state snapshot: started_at is when the daemon
  // learned of it, not when it began.
  bool joined_in_progress = false;
};

enum class CallChange { started, identified, answered, number_dialled, digit_in_call, ended };
std::string_view to_string(CallChange change);

struct CallUpdate {
  CallChange change = CallChange::started;
  CallProgress call;  // snapshot after the change
  BoxTimeUs at = 0;
  char digit = 0;  // digit_in_call only
};

struct Transition {
  LineState from = LineState::idle;
  LineState to = LineState::idle;
  std::string_view reason;  // "ring", "off_hook", "dial_timeout", ... or to_string(EndReason) at the end
  BoxTimeUs at = 0;
};

struct MachineOutput {
  std::vector<CallUpdate> updates;
  std::vector<Transition> transitions;
};

struct LineTimeouts {
  BoxTimeUs ring_timeout_us = 6'000'000;
  BoxTimeUs inter_digit_timeout_us = 4'000'000;
  // Caller ID that arrives before the first ring (ETSI, DTMF CLIP) waits this long for it.
  BoxTimeUs early_caller_id_us = 15'000'000;
  // A connected call whose line carries busy/congestion tone this long after
  // the tone began: the far end hung up and the handset was left off-hook.
  BoxTimeUs remote_hangup_after_us = 2'000'000;
};

class LineMachine {
 public:
  explicit LineMachine(LineTimeouts timeouts = {}) : timeouts_(timeouts) {}

  MachineOutput on_signal(const drivers::LineSignal& signal, BoxTimeUs at);
  // Fires deadlines that are due at box time now.
  MachineOutput on_time(BoxTimeUs now);
  // The box is gone (device_lost), or the daemon stops (interrupted): the
  // call in progress ends now with this outcome.
  MachineOutput on_interrupted(BoxTimeUs at, Outcome outcome);
  // The line's audio carries busy or congestion tone that began at
  // tone_start (heard from the audio, confirmed at `at`). On a connected
  // call this arms the remote-hangup deadline; otherwise it is ignored.
  MachineOutput on_hangup_tone(BoxTimeUs tone_start, BoxTimeUs at);

  std::optional<BoxTimeUs> deadline() const { return deadline_; }
  LineState state() const { return state_; }
  const std::optional<CallProgress>& call() const { return call_; }

 private:
  MachineOutput on_ring(bool ringing, BoxTimeUs at);
  MachineOutput on_hook(bool off_hook, BoxTimeUs at);
  MachineOutput on_caller_id(const drivers::CallerIdInfo& caller_id, BoxTimeUs at);
  MachineOutput on_digit(char digit, BoxTimeUs at);
  MachineOutput on_polarity(BoxTimeUs at);
  MachineOutput on_snapshot(const drivers::LineStateSnapshot& snapshot, BoxTimeUs at);
  MachineOutput join(const drivers::LineStateSnapshot& snapshot, BoxTimeUs at);

  void begin_call(Direction direction, BoxTimeUs at, bool joined = false);
  bool off_hook() const;
  bool connected() const;

  void move_to(MachineOutput& output, LineState next, std::string_view reason, BoxTimeUs at);
  void emit(MachineOutput& output, CallChange change, BoxTimeUs at, char digit = 0);
  void end_call(MachineOutput& output, Outcome outcome, BoxTimeUs ended_at, EndReason reason, BoxTimeUs at);
  void apply_caller_id(const drivers::CallerIdInfo& caller_id);

  LineTimeouts timeouts_;
  LineState state_ = LineState::idle;
  std::optional<CallProgress> call_;
  std::optional<BoxTimeUs> deadline_;
  bool ringing_now_ = false;
  BoxTimeUs last_ring_stop_ = 0;
  std::optional<std::pair<drivers::CallerIdInfo, BoxTimeUs>> early_caller_id_;
  std::optional<BoxTimeUs> hangup_tone_start_;  // connected call only
};

}  // namespace deskline::daemon
