#include "daemon/line_machine.hpp"

#include <algorithm>

namespace deskline::daemon {

std::string_view to_string(LineState state) {
  switch (state) {
    case LineState::idle: return "idle";
    case LineState::ringing: return "ringing";
    case LineState::answered: return "answered";
    case LineState::dialing: return "dialing";
    case LineState::outbound: return "outbound";
  }
  return "unknown";
}

std::string_view to_string(Direction direction) {
  return direction == Direction::inbound ? "inbound" : "outbound";
}

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::none: return "";
    case Outcome::answered: return "answered";
    case Outcome::missed: return "missed";
    case Outcome::completed: return "completed";
    case Outcome::abandoned: return "abandoned";
    case Outcome::device_lost: return "device_lost";
    case Outcome::interrupted: return "interrupted";
    case Outcome::remote_hangup: return "remote_hangup";
  }
  return "unknown";
}

std::string_view to_string(CallChange change) {
  switch (change) {
    case CallChange::started: return "started";
    case CallChange::identified: return "identified";
    case CallChange::answered: return "answered";
    case CallChange::number_dialled: return "number_dialled";
    case CallChange::digit_in_call: return "digit_in_call";
    case CallChange::ended: return "ended";
  }
  return "unknown";
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
        else return {};  // line voltage does not change call state
      },
      signal);
  output.updates.insert(output.updates.end(), next.updates.begin(), next.updates.end());
  output.transitions.insert(output.transitions.end(), next.transitions.begin(), next.transitions.end());
  return output;
}

MachineOutput LineMachine::on_time(BoxTimeUs now) {
  MachineOutput output;
  if (early_caller_id_ && now >= early_caller_id_->second + timeouts_.early_caller_id_us)
    early_caller_id_.reset();
  if (!deadline_ || now < *deadline_) return output;
  deadline_.reset();
  if (state_ == LineState::ringing && !ringing_now_) {
    end_call(output, Outcome::missed, last_ring_stop_, "ring_timeout", now);
  } else if (state_ == LineState::dialing) {
    emit(output, CallChange::number_dialled, now);
    move_to(output, LineState::outbound, "dial_timeout", now);
  } else if ((state_ == LineState::answered || state_ == LineState::outbound) && hangup_tone_start_) {
    // The far end hung up when the tone began: that is the call's end time.
    end_call(output, Outcome::remote_hangup, *hangup_tone_start_, "hangup_tone", now);
  }
  return output;
}

MachineOutput LineMachine::on_hangup_tone(BoxTimeUs tone_start, BoxTimeUs at) {
  MachineOutput output = on_time(at);
  if ((state_ != LineState::answered && state_ != LineState::outbound) || hangup_tone_start_) return output;
  // A tone that began before the call was connected belongs to an earlier episode.
  const BoxTimeUs connected_at = call_->answered_at.value_or(call_->started_at);
  hangup_tone_start_ = std::max(tone_start, connected_at);
  deadline_ = *hangup_tone_start_ + timeouts_.remote_hangup_after_us;
  MachineOutput due = on_time(at);
  output.updates.insert(output.updates.end(), due.updates.begin(), due.updates.end());
  output.transitions.insert(output.transitions.end(), due.transitions.begin(), due.transitions.end());
  return output;
}

MachineOutput LineMachine::on_interrupted(BoxTimeUs at, Outcome outcome) {
  MachineOutput output;
  ringing_now_ = false;
  early_caller_id_.reset();
  if (state_ != LineState::idle)
    end_call(output, outcome, at, outcome == Outcome::device_lost ? "device_lost" : "shutdown", at);
  return output;
}

MachineOutput LineMachine::on_ring(bool ringing, BoxTimeUs at) {
  MachineOutput output;
  ringing_now_ = ringing;
  if (state_ == LineState::idle && ringing) {
    call_ = CallProgress{};
    call_->direction = Direction::inbound;
    call_->started_at = at;
    if (early_caller_id_) apply_caller_id(early_caller_id_->first);
    early_caller_id_.reset();
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
    if (state_ == LineState::idle) {
      call_ = CallProgress{};
      call_->direction = Direction::outbound;
      call_->started_at = at;
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
  switch (state_) {
    case LineState::answered:
      end_call(output, Outcome::answered, at, "on_hook", at);
      break;
    case LineState::dialing:
      end_call(output, call_->number.empty() ? Outcome::abandoned : Outcome::completed, at, "on_hook", at);
      break;
    case LineState::outbound:
      end_call(output, call_->answered_at ? Outcome::answered : Outcome::completed, at, "on_hook", at);
      break;
    default:
      break;  // already on hook
  }
  return output;
}

MachineOutput LineMachine::on_caller_id(const drivers::CallerIdInfo& caller_id, BoxTimeUs at) {
  MachineOutput output;
  if (state_ == LineState::idle) {
    early_caller_id_ = {caller_id, at};  // before the first ring: keep it for that ring
  } else if (state_ == LineState::ringing) {
    apply_caller_id(caller_id);
    emit(output, CallChange::identified, at);
  }
  return output;
}

MachineOutput LineMachine::on_digit(char digit, BoxTimeUs at) {
  MachineOutput output;
  if (state_ == LineState::dialing) {
    call_->number += digit;
    deadline_ = at + timeouts_.inter_digit_timeout_us;
  } else if (state_ == LineState::answered || state_ == LineState::outbound) {
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

void LineMachine::move_to(MachineOutput& output, LineState next, std::string_view reason, BoxTimeUs at) {
  output.transitions.push_back(Transition{state_, next, reason, at});
  state_ = next;
}

void LineMachine::emit(MachineOutput& output, CallChange change, BoxTimeUs at, char digit) {
  output.updates.push_back(CallUpdate{change, *call_, at, digit});
}

void LineMachine::end_call(MachineOutput& output, Outcome outcome, BoxTimeUs ended_at, std::string_view reason,
                           BoxTimeUs at) {
  deadline_.reset();
  hangup_tone_start_.reset();
  call_->outcome = outcome;
  call_->ended_at = ended_at;
  emit(output, CallChange::ended, at);
  move_to(output, LineState::idle, reason, at);
  call_.reset();
}

void LineMachine::apply_caller_id(const drivers::CallerIdInfo& caller_id) {
  if (caller_id.number) {
    call_->number = *caller_id.number;
    call_->number_absence.reset();
  } else if (caller_id.number_absence) {
    call_->number_absence = caller_id.number_absence;
  }
  if (caller_id.name) call_->name = *caller_id.name;
}

}  // namespace deskline::daemon
