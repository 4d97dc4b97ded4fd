#include "daemon/calls/line_machine.hpp"

#include <algorithm>
#include <tuple>

namespace deskline::daemon {

std::string_view to_string(LineState state) {
  switch (state) {
    case LineState::idle: return "idle";
    case LineState::ringing: return "ringing";
    case LineState::answered: return "answered";
    case LineState::dialing: return "dialing";
    case LineState::outbound: return "outbound";
    case LineState::joined: return "joined";
  }
  return "unknown";
}

std::string_view to_string(CallChange change) {
  switch (change) {
    case CallChange::started: return "started";
    case CallChange::identified: return "identified";
    case CallChange::answered: return "answered";
    case CallChange::digit_dialled: return "digit_dialled";
    case CallChange::number_dialled: return "number_dialled";
    case CallChange::digit_in_call: return "digit_in_call";
    case CallChange::on_hook: return "on_hook";
    case CallChange::flash: return "flash";
    case CallChange::ended: return "ended";
  }
  return "unknown";
}

void MachineOutput::append(MachineOutput&& later) {
  updates.insert(updates.end(), later.updates.begin(), later.updates.end());
  transitions.insert(transitions.end(), later.transitions.begin(), later.transitions.end());
  if (later.unused_caller_id) unused_caller_id = std::move(later.unused_caller_id);
}

MachineOutput LineMachine::on_signal(const drivers::LineSignal& signal, BoxTimeUs at) {
  // Deadlines that fell due before this signal happened first.
  MachineOutput output = on_time(at);
  MachineOutput next = std::visit(
      [&](const auto& value) -> MachineOutput {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, drivers::RingChanged>) return on_ring(value.ringing, at);
        else if constexpr (std::is_same_v<T, drivers::HookChanged>) return on_hook(value.off_hook, at);
        else if constexpr (std::is_same_v<T, drivers::CallerIdReceived>) return on_caller_id(value.caller_id, at);
        else if constexpr (std::is_same_v<T, drivers::DigitDetected>) return on_digit(value.digit, at);
        else if constexpr (std::is_same_v<T, drivers::PolarityChanged>) return on_polarity(at);
        else if constexpr (std::is_same_v<T, drivers::LineStateSnapshot>) return on_snapshot(value, at);
        else return {};  // line voltage does not change call state
      },
      signal);
  output.append(std::move(next));
  return output;
}

MachineOutput LineMachine::on_time(BoxTimeUs now) {
  MachineOutput output;
  if (early_caller_id_ && now >= early_caller_id_->second + timeouts_.early_caller_id_us) {
    output.unused_caller_id = std::move(early_caller_id_->first);
    early_caller_id_.reset();
  }
  if (!deadline_ || now < *deadline_) return output;
  deadline_.reset();
  if (on_hook_since_) {
    // Down for longer than a flash: the call ended when the handset went down.
    end_call(output, call_->answered_at ? Outcome::answered : Outcome::completed, *on_hook_since_, EndReason::on_hook, now);
  } else if (state_ == LineState::ringing && !ringing_now_) {
    end_call(output, Outcome::missed, last_ring_stop_, EndReason::ring_timeout, now);
  } else if (state_ == LineState::dialing) {
    emit(output, CallChange::number_dialled, now);
    move_to(output, LineState::outbound, "dial_timeout", now);
  } else if (connected() && hangup_tone_start_) {
    // The far end hung up when the tone began: that is the call's end time.
    end_call(output, Outcome::remote_hangup, *hangup_tone_start_, EndReason::hangup_tone, now);
  }
  return output;
}

MachineOutput LineMachine::on_hangup_tone(BoxTimeUs tone_start, BoxTimeUs at) {
  MachineOutput output = on_time(at);
  if (state_ == LineState::dialing && !call_->number.empty()) {
    emit(output, CallChange::number_dialled, at);
    move_to(output, LineState::outbound, "hangup_tone", at);
  }
  if (!connected() || hangup_tone_start_ || on_hook_since_) return output;
  // A tone that began before the call was connected belongs to an earlier episode.
  const BoxTimeUs connected_at = call_->answered_at.value_or(call_->started_at);
  hangup_tone_start_ = std::max(tone_start, connected_at);
  deadline_ = *hangup_tone_start_ + timeouts_.remote_hangup_after_us;
  output.append(on_time(at));
  return output;
}

MachineOutput LineMachine::on_interrupted(BoxTimeUs at, Outcome outcome) {
  MachineOutput output;
  ringing_now_ = false;
  early_caller_id_.reset();
  if (state_ != LineState::idle)
    end_call(output, outcome, on_hook_since_.value_or(at),
             outcome == Outcome::device_lost ? EndReason::device_lost : EndReason::shutdown, at);
  return output;
}

MachineOutput LineMachine::on_ring(bool ringing, BoxTimeUs at) {
  MachineOutput output;
  if (on_hook_since_ && ringing) {
    // A new call rings in: the on-hook was the end of the last one.
    output = on_time(*on_hook_since_ + timeouts_.flash_max_us);
  }
  ringing_now_ = ringing;
  if (state_ == LineState::idle && ringing && at <= power_up_window_us) {
    output.append(join(drivers::LineStateSnapshot{false, true, false}, at));
  } else if (state_ == LineState::idle && ringing) {
    begin_call(Direction::inbound, at);
    emit(output, CallChange::started, at);
    move_to(output, LineState::ringing, "ring", at);
  } else if (state_ == LineState::ringing) {
    if (ringing) {
      deadline_.reset();
    } else {
      last_ring_stop_ = at;
      deadline_ = at + timeouts_.ring_timeout_us;
    }
  }
  return output;
}

MachineOutput LineMachine::on_hook(bool off_hook, BoxTimeUs at) {
  MachineOutput output;
  if (off_hook) {
    if (on_hook_since_) {
      emit(output, CallChange::flash, at);
      output.updates.back().flash_us = at - *on_hook_since_;
      on_hook_since_.reset();
      deadline_.reset();
    } else if (state_ == LineState::idle && at <= power_up_window_us) {
      return join(drivers::LineStateSnapshot{true, false, false}, at);
    } else if (state_ == LineState::idle) {
      begin_call(Direction::outbound, at);
      emit(output, CallChange::started, at);
      move_to(output, LineState::dialing, "off_hook", at);
    } else if (state_ == LineState::ringing) {
      deadline_.reset();
      ringing_now_ = false;
      call_->answered_at = at;
      emit(output, CallChange::answered, at);
      move_to(output, LineState::answered, "off_hook", at);
    }
    return output;
  }
  if (state_ == LineState::dialing) {
    end_call(output, call_->number.empty() ? Outcome::abandoned : Outcome::completed, at, EndReason::on_hook, at);
  } else if (connected() && !on_hook_since_) {
    if (timeouts_.flash_max_us == 0) return on_connected_on_hook(at);
    // A flash or the end of the call: the flash deadline tells.
    on_hook_since_ = at;
    hangup_tone_start_.reset();
    deadline_ = at + timeouts_.flash_max_us;
    emit(output, CallChange::on_hook, at);
  }
  return output;
}

MachineOutput LineMachine::on_connected_on_hook(BoxTimeUs at) {
  on_hook_since_ = at;
  deadline_ = at;
  return on_time(at);
}

MachineOutput LineMachine::on_caller_id(const drivers::CallerIdInfo& caller_id, BoxTimeUs at) {
  MachineOutput output;
  if (state_ == LineState::idle) {
    early_caller_id_ = {caller_id, at};  // before the first ring: keep it for that ring
  } else if (state_ != LineState::dialing && apply_caller_id(caller_id)) {
    // Ringing, or late: some exchanges send it after the answer, and a
    // number decoded from the audio may complete after it.
    emit(output, CallChange::identified, at);
  }
  return output;
}

MachineOutput LineMachine::on_digit(char digit, BoxTimeUs at) {
  MachineOutput output;
  if (state_ == LineState::dialing) {
    call_->number += digit;
    deadline_ = at + timeouts_.inter_digit_timeout_us;
    emit(output, CallChange::digit_dialled, at, digit);  // the number so far: progress, not yet the number
  } else if (connected() && !on_hook_since_) {
    emit(output, CallChange::digit_in_call, at, digit);
  }
  return output;
}

MachineOutput LineMachine::on_polarity(BoxTimeUs at) {
  MachineOutput output;
  // Polarity reversal while dialling or connected is the exchange's answer supervision.
  if (state_ == LineState::dialing && !call_->number.empty()) {
    deadline_.reset();
    emit(output, CallChange::number_dialled, at);
    call_->answered_at = at;
    emit(output, CallChange::answered, at);
    move_to(output, LineState::outbound, "answer_supervision", at);
  } else if (state_ == LineState::outbound && !call_->answered_at) {
    call_->answered_at = at;
    emit(output, CallChange::answered, at);
  }
  return output;
}

MachineOutput LineMachine::on_snapshot(const drivers::LineStateSnapshot& snapshot, BoxTimeUs at) {
  if (state_ == LineState::idle) return join(snapshot, at);
  // Reports the box dropped from a full queue (x800.md 8.6): the snapshot is newer.
  if (snapshot.off_hook != off_hook()) return on_hook(snapshot.off_hook, at);
  if (state_ == LineState::ringing && snapshot.ringing != ringing_now_) return on_ring(snapshot.ringing, at);
  return {};
}

MachineOutput LineMachine::join(const drivers::LineStateSnapshot& snapshot, BoxTimeUs at) {
  MachineOutput output;
  if (snapshot.off_hook) {
    begin_call(Direction::unknown, at, true);
    emit(output, CallChange::started, at);
    move_to(output, LineState::joined, "joined_off_hook", at);
  } else if (snapshot.ringing) {
    // Mid-burst: the stop report that ends this burst arms the ring timeout.
    ringing_now_ = true;
    begin_call(Direction::inbound, at, true);
    emit(output, CallChange::started, at);
    move_to(output, LineState::ringing, "joined_ringing", at);
  }
  return output;
}

void LineMachine::begin_call(Direction direction, BoxTimeUs at, bool joined) {
  call_ = CallProgress{};
  call_->direction = direction;
  call_->started_at = at;
  call_->joined_in_progress = joined;
  if (direction != Direction::inbound) return;
  // Caller ID that came before the first ring belongs to this call.
  if (early_caller_id_) apply_caller_id(early_caller_id_->first);
  early_caller_id_.reset();
}

bool LineMachine::off_hook() const { return state_ == LineState::dialing || (connected() && !on_hook_since_); }

bool LineMachine::connected() const {
  return state_ == LineState::answered || state_ == LineState::outbound || state_ == LineState::joined;
}

void LineMachine::move_to(MachineOutput& output, LineState next, std::string_view reason, BoxTimeUs at) {
  output.transitions.push_back(Transition{state_, next, reason, at});
  state_ = next;
}

void LineMachine::emit(MachineOutput& output, CallChange change, BoxTimeUs at, char digit) {
  output.updates.push_back(CallUpdate{change, *call_, at, digit});
}

void LineMachine::end_call(MachineOutput& output, Outcome outcome, BoxTimeUs ended_at, EndReason reason,
                           BoxTimeUs at) {
  deadline_.reset();
  hangup_tone_start_.reset();
  on_hook_since_.reset();
  call_->outcome = outcome;
  call_->end_reason = reason;
  call_->ended_at = ended_at;
  emit(output, CallChange::ended, at);
  move_to(output, LineState::idle, to_string(reason), at);
  call_.reset();
}

bool LineMachine::apply_caller_id(const drivers::CallerIdInfo& caller_id) {
  const auto before = std::make_tuple(call_->number, call_->number_absence, call_->name);
  if (caller_id.number) {
    call_->number = *caller_id.number;
    call_->number_absence.reset();
  } else if (caller_id.number_absence) {
    call_->number_absence = caller_id.number_absence;
  }
  if (caller_id.name) call_->name = *caller_id.name;
  return std::tie(call_->number, call_->number_absence, call_->name) != before;
}

}  // namespace deskline::daemon
