// One phone line's call state machine. Pure: signals and box times in, call
// updates and the transition out. Timeouts are deadlines in box time that the
// caller turns into timers, so tests drive it without a clock.
//
//   idle --ring--> ringing --off_hook--> answered --on_hook--> idle (answered)
//                  ringing --ring_timeout--> idle (missed)
//   idle --off_hook--> dialing --dial_timeout / answer_supervision / hangup_tone--> outbound
//                      dialing --digit--> dialing (digit_dialled: the number so far)
//                      dialing|outbound --on_hook--> idle (completed, answered, abandoned)
//   answered|outbound|joined --hangup_tone (busy/congestion tone for remote_hangup_after)--> idle (remote_hangup)
//   any --device_lost / shutdown--> idle (device_lost / interrupted)
//
// Hook flash: an on-hook during a connected call (answered, outbound, joined)
// does not end it at once. Off-hook again within flash_max is a flash, an
// event of the call, which goes on; otherwise the call ended when the handset
// went down (the flash deadline decides it).
//
// A call already in progress when the box came into service is joined, from
// then on, whether the box's power-up reports tell it (an off-hook or ring
// report stamped within power_up_window_us of box time 0, x800.md 8.2: a
// re-plugged box) or a line state snapshot does (the box's answer at attach,
// when the daemon restarted while the box stayed powered):
//   idle --off-hook at power-up / snapshot off-hook--> joined --on_hook--> idle (completed)
//   idle --ring at power-up / snapshot ringing--> ringing (then as above)
// A later snapshot only catches up with a hook change the reports did not tell.
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

// identified: caller ID arrived or changed (also after the answer); an
// identical repeat of the message is no change. on_hook: the handset went
// down during a connected call, which ends then unless it comes back up
// within flash_max; flash: it did (at = when it came back up).
// digit_dialled: a digit while dialling out, the call's number being the
// digits so far (a progress update: number_dialled tells when it is complete);
// digit_in_call: a digit once connected, not part of the number.
enum class CallChange {
  started, identified, answered, digit_dialled, number_dialled, digit_in_call, on_hook, flash, ended
};
std::string_view to_string(CallChange change);

struct CallUpdate {
  CallChange change = CallChange::started;
  CallProgress call;  // snapshot after the change
  BoxTimeUs at = 0;
  char digit = 0;  // digit_dialled and digit_in_call only
  BoxTimeUs flash_us = 0;  // flash only: how long the line was on-hook
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
  // Caller ID heard on an idle line that no ring followed within
  // early_caller_id_us: dropped, for the log.
  std::optional<drivers::CallerIdInfo> unused_caller_id;

  void append(MachineOutput&& later);
};

struct LineTimeouts {
  BoxTimeUs ring_timeout_us = 6'000'000;
  BoxTimeUs inter_digit_timeout_us = 4'000'000;
  // Caller ID that arrives before the first ring (ETSI, DTMF CLIP) waits this long for it.
  BoxTimeUs early_caller_id_us = 15'000'000;
  // A connected call whose line carries busy/congestion tone this long after
  // the tone began: the far end hung up and the handset was left off-hook.
  BoxTimeUs remote_hangup_after_us = 2'000'000;
  // An on-hook at most this long during a connected call is a hook flash; 0: none is.
  BoxTimeUs flash_max_us = 800'000;
};

// Reports stamped this close to the box's power-up describe the line's state
// then (x800.md 8.2), not a change: a hook is debounced for 20 ms, so no lift
// after power-up can be reported this early.
inline constexpr BoxTimeUs power_up_window_us = 50'000;

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
  // Busy tone while dialling means the number is complete and was refused
  // or the far end is busy: the call becomes outbound and the same applies.
  MachineOutput on_hangup_tone(BoxTimeUs tone_start, BoxTimeUs at);

  // The caller ID of the call that a joined call continues (one cut by a
  // restart or a drop-out): taken without an update.
  void continue_caller_id(const drivers::CallerIdInfo& caller_id) {
    if (call_) apply_caller_id(caller_id);
  }

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
  MachineOutput on_connected_on_hook(BoxTimeUs at);

  void begin_call(Direction direction, BoxTimeUs at, bool joined = false);
  bool off_hook() const;
  bool connected() const;

  void move_to(MachineOutput& output, LineState next, std::string_view reason, BoxTimeUs at);
  void emit(MachineOutput& output, CallChange change, BoxTimeUs at, char digit = 0);
  void end_call(MachineOutput& output, Outcome outcome, BoxTimeUs ended_at, EndReason reason, BoxTimeUs at);
  // Whether the call's number, absence reason or name changed.
  bool apply_caller_id(const drivers::CallerIdInfo& caller_id);

  LineTimeouts timeouts_;
  LineState state_ = LineState::idle;
  std::optional<CallProgress> call_;
  std::optional<BoxTimeUs> deadline_;
  bool ringing_now_ = false;
  BoxTimeUs last_ring_stop_ = 0;
  std::optional<std::pair<drivers::CallerIdInfo, BoxTimeUs>> early_caller_id_;
  std::optional<BoxTimeUs> hangup_tone_start_;  // connected call only
  std::optional<BoxTimeUs> on_hook_since_;      // connected call, on-hook: a flash or the end
};

}  // namespace deskline::daemon
