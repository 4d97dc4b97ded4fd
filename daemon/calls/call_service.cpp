#include "daemon/calls/call_service.hpp"

#include <algorithm>
#include <chrono>
#include <deque>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "daemon/calls/uuid.hpp"

namespace deskline::daemon {
namespace {

using drivers::HostTimeUs;
using drivers::realtime_us;

BoxTimeUs seconds_to_us(double seconds) { return static_cast<BoxTimeUs>(seconds * 1e6); }

// Box report and audio decode of the same caller-ID message land within
// this of each other; further apart they are separate messages.
constexpr BoxTimeUs same_caller_id_window_us = 10'000'000;

BoxTimeUs distance(BoxTimeUs a, BoxTimeUs b) { return a > b ? a - b : b - a; }

drivers::CallerIdInfo caller_id_info(const proto::callerid::Message& message) {
  return {message.number, message.name, message.number_absence, message.name_absence, message.datetime};
}

std::string describe(const drivers::CallerIdInfo& caller_id) {
  if (caller_id.number) return *caller_id.number;
  if (caller_id.number_absence) return std::string("absent:") + *caller_id.number_absence;
  return "-";
}

}  // namespace

struct CallService::Line {
  Line(boost::asio::io_context& io, std::string box_serial, int port, std::string name, LineTimeouts timeouts)
      : box_serial(std::move(box_serial)), port(port), name(std::move(name)), machine(timeouts), timer(io) {}
  std::string box_serial;
  int port;
  std::string name;
  LineMachine machine;
  boost::asio::steady_timer timer;
  std::optional<CallRecord> record;  // the call in progress, as stored
  struct TakenCallerId {
    drivers::CallerIdInfo caller_id;
    bool from_audio = false;
    BoxTimeUs at = 0;
  };
  std::optional<TakenCallerId> caller_id;  // the last message passed to the machine
  std::string matched_number;  // whose match record holds
};

struct CallService::BoxState {
  drivers::BoxIdentity identity;
  drivers::ClockOffset clock;
  // The wall time each recent box instant was given: the offset estimate
  // moves as reports arrive, and one instant (two lines going off-hook
  // together, a call's start in its pop and in the store) must keep one time.
  std::deque<std::pair<BoxTimeUs, HostTimeUs>> mapped;
  bool attached = false;
  std::optional<WallTimeUs> since;  // of the last attach or detach, for `deskline status`
  std::vector<std::unique_ptr<Line>> lines;
  FaultCounters faults;
  DetectionCounters detections;
};

CallService::CallService(boost::asio::io_context& io, const config::Config& config, Store& store,
                         StoreWriter& writer, Logger& log)
    : io_(io), config_(config), store_(store), writer_(writer), log_(log),
      fault_log_(io, log, std::chrono::seconds(60), "; `deskline status` counts them all") {
  timeouts_.ring_timeout_us = seconds_to_us(config.ring_timeout_s);
  timeouts_.inter_digit_timeout_us = seconds_to_us(config.inter_digit_timeout_s);
  timeouts_.remote_hangup_after_us = seconds_to_us(config.remote_hangup_after_s);
  timeouts_.flash_max_us = static_cast<BoxTimeUs>(config.flash_max_ms) * 1000;
}

CallService::~CallService() = default;

namespace {
constexpr std::size_t remembered_instants = 64;

HostTimeUs wall_time(std::deque<std::pair<BoxTimeUs, HostTimeUs>>& mapped, const drivers::ClockOffset& clock,
                     BoxTimeUs at) {
  for (const auto& [box_time, host_time] : mapped)
    if (box_time == at) return host_time;
  if (mapped.size() == remembered_instants) mapped.pop_front();
  return mapped.emplace_back(at, clock.to_host(at)).second;
}

nlohmann::json joined_detail(const CallRecord& record, const std::optional<CallRecord>& predecessor) {
  nlohmann::json detail = {{"line_state", record.direction == Direction::unknown ? "off_hook" : "ringing"}};
  // The key predates device_lost links; kept so queries written for it still work.
  if (predecessor) detail["interrupted_call_id"] = predecessor->id;
  return detail;
}
}  // namespace

CallService::BoxState& CallService::box_state(const std::string& serial) {
  auto& slot = boxes_[serial];
  if (!slot) slot = std::make_unique<BoxState>();
  return *slot;
}

void CallService::box_attached(const drivers::BoxIdentity& identity, drivers::BoxTimeUs box_time_us,
                               drivers::HostTimeUs received_at_us) {
  auto& box = box_state(identity.serial);
  const bool replugged = !box.lines.empty();
  box.identity = identity;
  box.attached = true;
  box.since = realtime_us();
  box.clock.reset();  // a re-plugged box restarts its clock
  box.mapped.clear();
  box.clock.sample(box_time_us, received_at_us);
  if (static_cast<int>(box.lines.size()) != identity.line_count) {
    box.lines.clear();
    for (int port = 1; port <= identity.line_count; ++port)
      box.lines.push_back(
          std::make_unique<Line>(io_, identity.serial, port, config_.line_name(identity.serial, port), timeouts_));
  }
  log_.info("box {} {} ({} lines, {} Hz, caller ID {}, usb {})", identity.serial,
            replugged ? "back in service" : "in service", identity.line_count, identity.audio_rate_hz,
            identity.decodes_caller_id ? "decoded by box" : "from audio", identity.usb_path);
  tell_all([&](CallObserver& observer) { observer.box_changed(identity, true); });
}

void CallService::rename_lines() {
  for (auto& [serial, box] : boxes_)
    for (auto& line : box->lines) {
      auto name = config_.line_name(serial, line->port);
      if (name == line->name) continue;
      log_.info("line={} is now line={}", line->name, name);
      line->name = std::move(name);
    }
}

void CallService::line_event(const std::string& serial, const drivers::LineEvent& event) {
  auto found = boxes_.find(serial);
  if (found == boxes_.end() || event.port < 1 || event.port > static_cast<int>(found->second->lines.size()))
    return;
  auto& box = *found->second;
  box.clock.sample(event.box_time_us, event.received_at_us);
  auto& line = *box.lines[static_cast<std::size_t>(event.port - 1)];
  report_received_at_ = event.received_at_us;
  if (const auto* caller_id = std::get_if<drivers::CallerIdReceived>(&event.signal)) {
    ++box.detections.callerid_box;
    accept_caller_id(box, line, caller_id->caller_id, false, event.box_time_us);
  } else if (const auto* digit = std::get_if<drivers::DigitDetected>(&event.signal)) {
    accept_digit(box, line, *digit, false, event.box_time_us);
  } else {
    apply(box, line, line.machine.on_signal(event.signal, event.box_time_us));
  }
  report_received_at_ = 0;
}

void CallService::audio_detection(const AudioDetection& detection) {
  auto found = boxes_.find(detection.box_serial);
  if (found == boxes_.end() || detection.port < 1 || detection.port > static_cast<int>(found->second->lines.size()))
    return;
  auto& box = *found->second;
  if (!box.attached || !box.clock.synchronized()) return;
  auto& line = *box.lines[static_cast<std::size_t>(detection.port - 1)];
  const BoxTimeUs started_at = box.clock.to_device(detection.start_host_us);
  const BoxTimeUs ended_at = box.clock.to_device(detection.end_host_us);
  const auto call_id = [&line] { return line.record ? line.record->id : std::string("-"); };
  std::visit(
      [&](const auto& event) {
        using T = std::decay_t<decltype(event)>;
        if constexpr (std::is_same_v<T, codec::CallerIdEvent>) {
          if (!event.accepted()) {
            ++box.detections.callerid_rejected;
            log_.warning("line={} call={} caller ID from audio ({}) rejected: {}", line.name, call_id(),
                         codec::to_string(event.standard),
                         event.rejection ? codec::to_string(*event.rejection) : "unknown");
            return;
          }
          ++box.detections.callerid_audio;
          const auto caller_id = caller_id_info(*event.message);
          log_.info("line={} call={} caller ID from audio ({}): {}", line.name, call_id(),
                    codec::to_string(event.standard), describe(caller_id));
          accept_caller_id(box, line, caller_id, true, ended_at);
        } else if constexpr (std::is_same_v<T, codec::DtmfDigitEvent>) {
          log_.debug("line={} call={} digit {} from audio", line.name, call_id(), event.digit);
          const auto duration_ms = static_cast<std::uint16_t>(event.duration_samples * 1000 / codec::detector_rate_hz);
          accept_digit(box, line, drivers::DigitDetected{event.digit, duration_ms}, true, started_at);
        } else {
          log_.debug("line={} call={} {} tone from audio", line.name, call_id(), codec::to_string(event.tone));
          if (event.tone != codec::CallProgressTone::busy && event.tone != codec::CallProgressTone::congestion)
            return;
          const auto state = line.machine.state();
          if (state == LineState::answered || state == LineState::outbound)
            log_.info("line={} call={} {} tone: far end hung up; ending the call if it lasts {:.1f} s", line.name,
                      call_id(), codec::to_string(event.tone), config_.remote_hangup_after_s);
          apply(box, line, line.machine.on_hangup_tone(started_at, ended_at));
        }
      },
      detection.event);
}

void CallService::accept_caller_id(BoxState& box, Line& line, const drivers::CallerIdInfo& caller_id,
                                   bool from_audio, BoxTimeUs at) {
  const auto& taken = line.caller_id;
  if (taken && taken->from_audio != from_audio && distance(at, taken->at) < same_caller_id_window_us) {
    // The other decoder's opinion of the message already used: first valid wins.
    if (taken->caller_id.number != caller_id.number || taken->caller_id.number_absence != caller_id.number_absence) {
      ++box.detections.callerid_disagreements;
      const auto& box_opinion = from_audio ? taken->caller_id : caller_id;
      const auto& audio_opinion = from_audio ? caller_id : taken->caller_id;
      log_.warning("line={} call={} caller ID disagreement: box {} audio {}; kept {}", line.name,
                   line.record ? line.record->id : "-", describe(box_opinion), describe(audio_opinion),
                   describe(taken->caller_id));
    }
    return;
  }
  line.caller_id = Line::TakenCallerId{caller_id, from_audio, at};
  if (!line.record && caller_id.number && !caller_id.number->empty()) matcher_.prepare(*caller_id.number);
  apply(box, line, line.machine.on_signal(drivers::CallerIdReceived{caller_id}, at));
}

void CallService::accept_digit(BoxState& box, Line& line, const drivers::DigitDetected& digit, bool from_audio,
                               BoxTimeUs started_at) {
  // One source of digits per box, so none is counted twice: the box's
  // reports if it decodes caller ID itself, the line audio otherwise.
  const bool from_box_wanted = box.identity.decodes_caller_id;
  if (from_audio == from_box_wanted) {
    log_.debug("line={} call={} digit {} from {} not used: digits come from the {}", line.name,
               line.record ? line.record->id : "-", digit.digit, from_audio ? "audio" : "box report",
               from_audio ? "box" : "audio");
    return;
  }
  if (from_audio) ++box.detections.dtmf_audio;
  apply(box, line, line.machine.on_signal(digit, started_at));
}

void CallService::box_detached(const std::string& serial, const std::string& reason,
                               drivers::HostTimeUs detected_at_us) {
  auto found = boxes_.find(serial);
  if (found == boxes_.end()) return;
  auto& box = *found->second;
  box.attached = false;
  box.since = realtime_us();
  // Once the daemon stops, its boxes going out of service is the plan, not a fault.
  log_.write(stopping_ ? LogLevel::info : LogLevel::warning, fmt::format("box {} out of service: {}", serial, reason));
  const BoxTimeUs now = box.clock.to_device(detected_at_us);
  for (auto& line : box.lines) apply(box, *line, line->machine.on_interrupted(now, Outcome::device_lost));
  tell_all([&](CallObserver& observer) { observer.box_changed(box.identity, false); });
}

void CallService::box_clock_sample(const std::string& serial, drivers::BoxTimeUs box_time_us,
                                   drivers::HostTimeUs received_at_us) {
  if (auto found = boxes_.find(serial); found != boxes_.end())
    found->second->clock.sample(box_time_us, received_at_us);
}

void CallService::box_fault(const std::string& serial, const drivers::BoxFault& fault) {
  auto found = boxes_.find(serial);
  auto& counters = found != boxes_.end() ? found->second->faults : unattached_faults_;
  counters[fault.kind] += fault.count;
  // Counted always, logged rate-limited (x800.md 4.2): a flood of bad frames
  // must not bury the log.
  const auto key = fmt::format("box {}: {}", serial, drivers::to_string(fault.kind));
  fault_log_.warning(key, "{}: {}", key, fault.detail);
}

void CallService::audio_lost(const std::string& serial, drivers::BoxTimeUs box_time_us) {
  auto found = boxes_.find(serial);
  if (found == boxes_.end() || !found->second->clock.synchronized()) return;
  const auto at_us = found->second->clock.to_host(box_time_us);
  for (auto* observer : observers_) observer->box_audio_lost(serial, at_us);
}

void CallService::driver_message(drivers::Severity severity, const std::string& text) {
  static constexpr LogLevel levels[] = {LogLevel::debug, LogLevel::info, LogLevel::warning, LogLevel::error};
  log_.write(levels[static_cast<int>(severity)], text);
}

void CallService::interrupt_all(drivers::HostTimeUs now_us) {
  stopping_ = true;
  for (auto& [serial, box] : boxes_) {
    const BoxTimeUs now = box->clock.to_device(now_us);
    for (auto& line : box->lines) apply(*box, *line, line->machine.on_interrupted(now, Outcome::interrupted));
  }
  fault_log_.flush();  // after: its write may block, and the calls end at now_us
}

void CallService::recover_interrupted_calls() {
  writer_.flush();  // the recordings' repairs, whose ends count below
  auto calls = store_.active_calls();
  if (!calls) {
    log_.error("cannot read calls left active: {}", calls.error().message());
    return;
  }
  for (auto& call : *calls) {
    call.state = CallState::ended;
    call.outcome = Outcome::interrupted;
    call.end_reason = EndReason::restart;
    // The last moment we know the call existed: when it was answered or
    // started, or the end of its recording (repaired by now) if that is later.
    if (!call.ended_at) call.ended_at = call.answered_at.value_or(call.started_at);
    if (const auto recording = store_.find_recording(call.id); recording && *recording)
      call.ended_at = std::max(*call.ended_at, (*recording)->started_at +
                                                   static_cast<WallTimeUs>((*recording)->duration_s * 1e6));
    writer_.write(fmt::format("call={} cannot close interrupted call", call.id),
                  [call](Store& store) { return store.update_call(call); });
    log_.warning("line={} call={} closed as interrupted (daemon stopped during the call)", call.line, call.id);
    // Desks that saw it start (a killed daemon never said it ended) clear it.
    const CallChangeDetail detail{*call.ended_at, 0, 0, {}};
    count_ended(call);
    notify(CallChange::ended, call, detail, first_observers_);
    notify(CallChange::ended, call, detail, observers_);
  }
}

void CallService::apply(BoxState& box, Line& line, const MachineOutput& output) {
  if (output.unused_caller_id)
    log_.info("line={} caller ID {} dropped: no ring followed it within {:.0f} s", line.name,
              describe(*output.unused_caller_id), static_cast<double>(timeouts_.early_caller_id_us) / 1e6);
  // One output may end a call and start the next (a deadline that fell due
  // before the signal): a transition from idle is the new call's.
  const std::string earlier_call = line.record ? line.record->id : "-";
  for (const auto& update : output.updates) {
    persist(box, line, update);
    if (update.change == CallChange::ended) line.record.reset();
  }
  const std::string current_call = line.record ? line.record->id : "-";
  for (const auto& transition : output.transitions)
    log_.info("line={} call={} {} -> {} ({})", line.name,
              transition.from == LineState::idle || earlier_call == "-" ? current_call : earlier_call,
              to_string(transition.from), to_string(transition.to), transition.reason);
  arm_timer(box, line);
}

void CallService::persist(BoxState& box, Line& line, const CallUpdate& update) {
  const auto& call = update.call;
  if (update.change == CallChange::started) {
    line.record = CallRecord{};
    line.record->id = make_uuid();
    line.matched_number.clear();
  }
  if (!line.record) return;
  auto& record = *line.record;
  const auto host_time = [&box](BoxTimeUs at) { return wall_time(box.mapped, box.clock, at); };
  const CallChangeDetail detail{host_time(update.at), update.digit, static_cast<std::uint32_t>(update.flash_us / 1000),
                                update.change == CallChange::digit_dialled ? call.number : std::string()};
  if (update.change == CallChange::ended && call.ended_at) {
    const HostTimeUs audio_ends_at = host_time(*call.ended_at);
    tell_all([&](CallObserver& observer) { observer.call_audio_ends(record, audio_ends_at); });
  }
  // Nothing to store: an on-hook until the flash deadline decides; a digit
  // dialled is progress for the pops (the record takes the number, and the
  // database stores it, once it is complete: number_dialled).
  if (update.change == CallChange::on_hook || update.change == CallChange::digit_dialled) {
    notify(update.change, record, detail, first_observers_);
    notify(update.change, record, detail, observers_);
    return;
  }
  if (update.change == CallChange::digit_in_call || update.change == CallChange::flash) {
    const bool digit = update.change == CallChange::digit_in_call;
    if (digit) {
      add_event(line, record, detail.at, "dtmf", {{"digit", std::string(1, update.digit)}});
      log_.info("line={} call={} digit {} during call", line.name, record.id, update.digit);
    } else {
      add_event(line, record, detail.at, "flash", {{"duration_ms", detail.flash_ms}});
      log_.info("line={} call={} hook flash ({} ms on-hook); the call goes on", line.name, record.id,
                detail.flash_ms);
    }
    notify(update.change, record, detail, first_observers_);
    notify(update.change, record, detail, observers_);
    return;
  }
  record.box = line.box_serial;
  if (update.change == CallChange::started) {  // a call keeps the name and user it started with
    record.line = line.name;
    const auto* configured = config_.find_line(line.box_serial, line.port);
    record.user = configured ? configured->user : "";
  }
  record.port = line.port;
  record.direction = call.direction;
  record.number = call.number;
  record.number_absence = call.number_absence;
  record.name = call.name;
  // Each box instant is given its wall time once: later updates keep it.
  if (update.change == CallChange::started) record.started_at = host_time(call.started_at);
  if (call.answered_at && !record.answered_at) record.answered_at = host_time(*call.answered_at);
  if (call.ended_at) record.ended_at = host_time(*call.ended_at);
  record.state = call.ended_at ? CallState::ended : CallState::active;
  record.outcome = call.outcome;
  record.end_reason = call.end_reason;
  if (update.change == CallChange::ended) count_ended(record);

  const bool inserted = update.change == CallChange::started;
  const bool joined = inserted && call.joined_in_progress;
  // Looked up before the insert, which makes the new call the line's latest.
  const auto predecessor = joined ? cut_predecessor(line) : std::nullopt;
  if (joined) note_joined(line, record, predecessor);
  // Once per number, before the pop: what the desk user sees is what is kept.
  if (record.number != line.matched_number) {
    record.match = record.number.empty() ? CallerMatch{} : matcher_.match(record.number);
    line.matched_number = record.number;
  }
  notify(update.change, record, detail, first_observers_);
  writer_.write(fmt::format("line={} call={} cannot store call", line.name, record.id),
                [record, inserted](Store& store) {
                  return inserted ? store.insert_call(record) : store.update_call(record);
                });
  if (joined) add_event(line, record, record.started_at, "joined_in_progress", joined_detail(record, predecessor));
  log_.info("line={} call={} {} {} number={}{}", line.name, record.id, to_string(update.change),
            to_string(record.direction), record.number.empty() ? "-" : record.number,
            record.outcome ? fmt::format(" outcome={}", to_string(*record.outcome)) : std::string());
  notify(update.change, record, detail, observers_);
}

void CallService::count_ended(const CallRecord& call) {
  if (call.outcome)
    ++ended_[static_cast<std::size_t>(call.direction)][static_cast<std::size_t>(*call.outcome)];
}

void CallService::notify(CallChange change, const CallRecord& record, const CallChangeDetail& detail,
                         const std::vector<CallObserver*>& observers) {
  for (auto* observer : observers) observer->call_changed(change, record, detail);
  if (&observers == &first_observers_ && report_received_at_ != 0)
    report_to_pop_s_.observe(static_cast<double>(realtime_us() - report_received_at_) / 1e6);
}

void CallService::add_event(const Line& line, const CallRecord& record, HostTimeUs at, const char* type,
                            const nlohmann::json& detail) {
  writer_.write(fmt::format("line={} call={} cannot store its {} event", line.name, record.id, type),
                [event = CallEventRecord{record.id, at, type, detail.dump()}](Store& store) {
                  return store.add_event(event);
                });
}

// The line's previous call when the daemon stopped (interrupted) or the box
// dropped out (device_lost) during it: most likely the same conversation,
// seen again from the moment the box came back into service.
std::optional<CallRecord> CallService::cut_predecessor(const Line& line) const {
  writer_.flush();  // the cut call's end, told as the box went
  const auto latest = store_.latest_call_on(line.box_serial, line.port);
  if (!latest) {
    log_.error("line={} cannot look up its previous call: {}", line.name, latest.error().message());
    return std::nullopt;
  }
  if (!*latest || ((*latest)->outcome != Outcome::interrupted && (*latest)->outcome != Outcome::device_lost))
    return std::nullopt;
  return **latest;
}

// A call found in progress when the box came into service: it continues the
// call that was cut, if any, so it carries that call's caller ID (the
// exchange sends it once, before the first ring), and the log says so.
void CallService::note_joined(Line& line, CallRecord& record, const std::optional<CallRecord>& predecessor) {
  const bool off_hook = record.direction == Direction::unknown;
  if (predecessor && record.number.empty() && !record.number_absence) {
    record.number = predecessor->number;
    record.number_absence = predecessor->number_absence;
    record.name = predecessor->name;
    record.match = predecessor->match;  // the customer the desk user saw
    line.matched_number = record.number;
    line.machine.continue_caller_id({record.number.empty() ? std::nullopt : std::optional(record.number),
                                     record.name.empty() ? std::nullopt : std::optional(record.name),
                                     record.number_absence, std::nullopt, std::nullopt});
  }
  log_.warning("line={} call={} joined in progress: the line was {} when the box came into service; the call is "
               "followed from now on ({} unknown){}",
               line.name, record.id, off_hook ? "off-hook" : "ringing",
               off_hook ? "direction and answer" : "first ring",
               predecessor ? fmt::format("; continues {} call {}", to_string(*predecessor->outcome), predecessor->id)
                           : "");
}

std::vector<CallRecord> CallService::active_calls() const {
  std::vector<CallRecord> calls;
  for (const auto& [serial, box] : boxes_)
    for (const auto& line : box->lines)
      if (line->record) calls.push_back(*line->record);
  return calls;
}

void CallService::arm_timer(BoxState& box, Line& line) {
  line.timer.cancel();
  auto deadline = line.machine.deadline();
  if (!deadline || !box.attached) return;
  const auto delay_us = std::max<std::int64_t>(0, box.clock.to_host(*deadline) - realtime_us()) + 1000;
  line.timer.expires_after(std::chrono::microseconds(delay_us));
  line.timer.async_wait([this, &box, &line](boost::system::error_code error) {
    if (error) return;
    apply(box, line, line.machine.on_time(box.clock.to_device(realtime_us())));
  });
}

CallServiceStats CallService::stats() const {
  CallServiceStats stats;
  stats.unidentified_faults = unattached_faults_;
  stats.ended = ended_;
  stats.report_to_pop_s = report_to_pop_s_;
  for (const auto& [serial, box] : boxes_) {
    BoxStats& entry = stats.boxes.emplace_back();
    entry.identity = box->identity;
    entry.attached = box->attached;
    entry.since = box->since;
    entry.faults = box->faults;
    entry.detections = box->detections;
    for (const auto& line : box->lines)
      entry.lines.push_back({line->port, line->name, line->machine.state(),
                             line->record ? std::optional(line->record->id) : std::nullopt});
  }
  return stats;
}

}  // namespace deskline::daemon
