#include "tools/sim/scenario_runner.hpp"

#include <chrono>
#include <cmath>
#include <random>

#include <fmt/format.h>

#include "tools/sim/audio_render.hpp"
#include "tools/sim/log.hpp"

namespace deskline::sim {
namespace scenario = proto::scenario;
namespace x800 = proto::x800;

namespace {

// Audio is rendered and queued this long before its first sample is due.
constexpr Nanoseconds audio_lead_ns = 500'000'000;
// DTMF caller ID (via=dtmf): digit and pause lengths of the exchange.
constexpr double caller_id_dtmf_tone_ms = 80;
constexpr double caller_id_dtmf_gap_ms = 80;

Nanoseconds seconds_to_ns(double seconds) { return static_cast<Nanoseconds>(std::llround(seconds * 1e9)); }
Nanoseconds milliseconds_to_ns(double milliseconds) {
  return static_cast<Nanoseconds>(std::llround(milliseconds * 1e6));
}

bool needs_audio(const scenario::Action& action) {
  if (const auto* cid = std::get_if<scenario::CallerIdAction>(&action.body)) return cid->via != scenario::CallerIdVia::report;
  if (const auto* dial = std::get_if<scenario::DialAction>(&action.body)) return dial->via == scenario::DialVia::dtmf;
  if (const auto* play = std::get_if<scenario::PlayAction>(&action.body))
    return play->kind != scenario::PlayAction::Kind::silence;
  return false;
}

std::string_view via_name(scenario::CallerIdVia via) {
  switch (via) {
    case scenario::CallerIdVia::report: return "report";
    case scenario::CallerIdVia::bell202: return "bell202";
    case scenario::CallerIdVia::v23: return "v23";
    case scenario::CallerIdVia::dtmf: return "dtmf";
  }
  return "?";
}

}  // namespace

ScenarioRunner::ScenarioRunner(const scenario::Scenario& scenario, std::vector<std::unique_ptr<UsbBox>>& boxes,
                               AudioWriter& audio, Trace& trace, std::atomic<Nanoseconds>& scenario_start_ns,
                               std::map<std::string, codec::WavAudio> wav_files)
    : scenario_(scenario),
      boxes_(boxes),
      audio_(audio),
      trace_(trace),
      scenario_start_ns_(scenario_start_ns),
      wav_files_(std::move(wav_files)) {
  for (std::size_t index = 0; index < boxes_.size(); ++index) {
    box_index_[boxes_[index]->declaration().id] = index;
    lines_.emplace_back(boxes_[index]->declaration().lines);
    boxes_[index]->set_first_command_callback([this] {
      std::lock_guard lock(mutex_);
      wake_.notify_all();
    });
  }
}

ScenarioRunner::~ScenarioRunner() {
  stop();
  for (auto& box : boxes_) box->set_first_command_callback({});
}

bool ScenarioRunner::plug_initial_boxes() {
  for (std::size_t index = 0; index < boxes_.size(); ++index) {
    if (!boxes_[index]->declaration().plugged_at_start) continue;
    const Nanoseconds now = monotonic_ns();
    if (!boxes_[index]->plug(now)) return false;
    audio_.power(index, true, now);
    power_up(index, now);
  }
  return true;
}

void ScenarioRunner::start(RunnerOptions options, std::function<void(RunnerOutcome)> done) {
  done_ = std::move(done);
  restart_program_ = options.restart_program;
  stall_program_ = options.stall_program;
  thread_ = std::thread([this, options] { run(options); });
}

void ScenarioRunner::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Nanoseconds ScenarioRunner::at(double scenario_s) const { return start_ns_ + seconds_to_ns(scenario_s); }

bool ScenarioRunner::sleep_until(Nanoseconds due) {
  std::unique_lock lock(mutex_);
  const auto deadline = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(due));
  wake_.wait_until(lock, deadline, [this] { return stopping_; });
  return !stopping_;
}

void ScenarioRunner::schedule(Nanoseconds due, std::function<void()> run) {
  events_.push(Event{due, next_order_++, std::move(run)});
}

bool ScenarioRunner::wait_for_host(double timeout_s) {
  auto all_opened = [this] {
    for (const auto& box : boxes_)
      if (box->declaration().plugged_at_start && !box->has_received_command()) return false;
    return true;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  std::unique_lock lock(mutex_);
  while (!stopping_ && !all_opened()) {
    if (wake_.wait_until(lock, deadline) == std::cv_status::timeout && !all_opened()) return false;
  }
  return !stopping_;
}

void ScenarioRunner::run(RunnerOptions options) {
  if (options.wait_for_host) {
    log("waiting for the host to open every plugged box (up to {} s)", options.start_timeout_s);
    if (!wait_for_host(options.start_timeout_s)) {
      bool stopped = false;
      {
        std::lock_guard lock(mutex_);
        stopped = stopping_;
      }
      if (!stopped) {
        for (const auto& box : boxes_)
          if (box->declaration().plugged_at_start && !box->has_received_command())
            log("box {} (serial {}) got no command from the host within {} s", box->declaration().id,
                box->declaration().serial, options.start_timeout_s);
      }
      done_(stopped ? RunnerOutcome::stopped : RunnerOutcome::start_timeout);
      return;
    }
  }

  start_ns_ = monotonic_ns();
  scenario_start_ns_.store(start_ns_);
  {
    nlohmann::json event{{"kind", "scenario_start"}, {"scenario_s", 0.0}};
    for (const auto& box : boxes_)
      if (box->plugged()) event["box_time_us"][box->declaration().id] = box->box_time_us(start_ns_);
    trace_.write(std::move(event));
  }
  log("scenario started ({} actions, end at {} s)", scenario_.actions.size(), scenario_.end_s);

  for (const auto& action : scenario_.actions) {
    const Nanoseconds due = at(action.at_s);
    if (needs_audio(action))
      schedule(std::max(start_ns_, due - audio_lead_ns), [this, &action] { prepare_audio(action); });
    schedule(due, [this, &action] { execute(action); });
  }

  Nanoseconds last_due = start_ns_;
  while (!events_.empty() && !ended_) {
    const Nanoseconds due = events_.top().due;
    if (!sleep_until(due)) {
      done_(RunnerOutcome::stopped);
      return;
    }
    auto run_event = std::move(const_cast<Event&>(events_.top()).run);
    events_.pop();
    last_due = due;
    try {
      run_event();
    } catch (const std::exception& error) {
      log("scenario event failed: {}", error.what());
    }
  }
  // Without an explicit end, the scenario lasts until its last sound ends.
  if (!ended_ && audio_end_ns_ > last_due && !sleep_until(audio_end_ns_)) {
    done_(RunnerOutcome::stopped);
    return;
  }
  const double end_s = static_cast<double>(monotonic_ns() - start_ns_) / 1e9;
  trace_.write({{"kind", "scenario_end"}, {"scenario_s", end_s}});
  log("scenario finished at {:.3f} s", end_s);
  done_(RunnerOutcome::finished);
}

nlohmann::json ScenarioRunner::action_trace(const scenario::Action& action, std::size_t box_index) const {
  nlohmann::json event{{"kind", "action"},
                       {"action", std::string(scenario::action_name(action.body))},
                       {"scenario_s", action.at_s},
                       {"source_line", action.source_line}};
  if (!action.box.empty()) {
    event["box"] = action.box;
    if (boxes_[box_index]->plugged()) event["box_time_us"] = boxes_[box_index]->box_time_us(at(action.at_s));
  }
  if (action.port) event["line"] = *action.port;
  return event;
}

void ScenarioRunner::report(std::size_t box_index, std::uint8_t line_index, x800::ReportBody body, Nanoseconds stamp) {
  UsbBox& box = *boxes_[box_index];
  if (!box.plugged()) return;  // nobody to tell: the box is unplugged
  nlohmann::json fields = nlohmann::json::object();
  if (start_ns_ != 0) fields["scenario_s"] = static_cast<double>(stamp - start_ns_) / 1e9;
  box.report(line_index, std::move(body), stamp, std::move(fields));
}

void ScenarioRunner::power_up(std::size_t box_index, Nanoseconds epoch_ns) {
  // x800.md 8.2: ports start on-hook, not ringing, normal polarity; anything
  // else is reported at once, and every port reports its line voltage.
  for (std::size_t line = 0; line < lines_[box_index].size(); ++line) {
    const auto& state = lines_[box_index][line];
    const auto index = static_cast<std::uint8_t>(line);
    report(box_index, index, x800::LineVoltage{state.decivolts}, epoch_ns);
    if (state.off_hook) report(box_index, index, x800::Hook{true}, epoch_ns);
    if (state.reversed) report(box_index, index, x800::Polarity{true}, epoch_ns);
    if (state.ringing) report(box_index, index, x800::Ring{true}, epoch_ns);
  }
}

void ScenarioRunner::execute(const scenario::Action& action) {
  const Nanoseconds due = at(action.at_s);
  const double late_ms = static_cast<double>(monotonic_ns() - due) / 1e6;
  const std::size_t box_index = action.box.empty() ? 0 : box_index_.at(action.box);
  const std::uint8_t line_index = action.port ? static_cast<std::uint8_t>(*action.port - 1) : x800::box_wide;
  nlohmann::json event = action_trace(action, box_index);
  event["late_ms"] = std::round(late_ms * 1000) / 1000;  // how late this thread woke for it
  std::string detail;

  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, scenario::RingAction>) {
          event["count"] = body.count;
          event["on_s"] = body.on_s;
          event["off_s"] = body.off_s;
          start_ring(box_index, line_index, body, due);
        } else if constexpr (std::is_same_v<T, scenario::CallerIdAction>) {
          event["via"] = std::string(via_name(body.via));
          if (body.number) event["number"] = *body.number;
          if (body.name) event["name"] = *body.name;
          if (body.via == scenario::CallerIdVia::report) {
            if (boxes_[box_index]->decodes_caller_id(line_index)) {
              report(box_index, line_index, caller_id_report(body), due);
            } else {
              event["skipped"] = "caller-ID decoding is off on this port";
              detail = " (not reported: decoding off)";
            }
          }
        } else if constexpr (std::is_same_v<T, scenario::OffHookAction>) {
          set_hook(box_index, line_index, true, due, event);
        } else if constexpr (std::is_same_v<T, scenario::OnHookAction>) {
          set_hook(box_index, line_index, false, due, event);
        } else if constexpr (std::is_same_v<T, scenario::DialAction>) {
          event["digits"] = body.digits;
          event["via"] = body.via == scenario::DialVia::dtmf ? "dtmf" : "report";
          if (body.via == scenario::DialVia::report)
            schedule_digits(box_index, line_index, body.digits, body.tone_ms, body.gap_ms, due);
        } else if constexpr (std::is_same_v<T, scenario::PolarityAction>) {
          auto& state = lines_[box_index][line_index];
          const bool reversed = body.reversed.value_or(!state.reversed);
          if (reversed == state.reversed) {
            event["skipped"] = "polarity unchanged";
            detail = " (unchanged: no report)";
          } else {
            state.reversed = reversed;
            // The voltage's sign follows the polarity (x800.md 6.7).
            state.decivolts = static_cast<std::int16_t>(-state.decivolts);
            report(box_index, line_index, x800::Polarity{reversed}, due);
            if (state.decivolts != 0) report(box_index, line_index, x800::LineVoltage{state.decivolts}, due);
          }
          event["reversed"] = reversed;
        } else if constexpr (std::is_same_v<T, scenario::PlayAction>) {
          // Rendered ahead of time by prepare_audio.
          if (body.kind == scenario::PlayAction::Kind::file) event["file"] = body.path;
          event["duration_s"] = body.duration_s;
        } else if constexpr (std::is_same_v<T, scenario::VoltageAction>) {
          auto& state = lines_[box_index][line_index];
          state.decivolts = static_cast<std::int16_t>(std::lround(body.volts * 10));
          event["decivolts"] = state.decivolts;
          report(box_index, line_index, x800::LineVoltage{state.decivolts}, due);
        } else if constexpr (std::is_same_v<T, scenario::UnplugAction>) {
          boxes_[box_index]->unplug();
          audio_.power(box_index, false, due);
        } else if constexpr (std::is_same_v<T, scenario::PlugAction>) {
          // The new power-up's box time 0 is the scheduled instant, not when
          // this thread got here.
          if (boxes_[box_index]->plug(due)) {
            audio_.power(box_index, true, due);
            power_up(box_index, due);
            event["box_time_us"] = 0;
          } else {
            event["skipped"] = "umockdev refused the device";
          }
        } else if constexpr (std::is_same_v<T, scenario::RawAction>) {
          nlohmann::json fields{{"scenario_s", action.at_s}};
          if (!boxes_[box_index]->raw_transfer(body.bytes, fields)) event["skipped"] = "box unplugged";
        } else if constexpr (std::is_same_v<T, scenario::GarbageAction>) {
          std::mt19937 random(body.seed);
          std::uniform_int_distribution<int> byte(0, 255);
          for (int transfer = 0; transfer < body.count; ++transfer) {
            std::vector<std::uint8_t> bytes(static_cast<std::size_t>(body.size));
            for (auto& value : bytes) value = static_cast<std::uint8_t>(byte(random));
            nlohmann::json fields{{"scenario_s", action.at_s}, {"garbage_index", transfer}};
            if (!boxes_[box_index]->raw_transfer(std::move(bytes), fields)) {
              event["skipped"] = "box unplugged";
              break;
            }
          }
        } else if constexpr (std::is_same_v<T, scenario::EndAction>) {
          ended_ = true;
        } else if constexpr (std::is_same_v<T, scenario::RestartAction>) {
          const bool kill = body.signal == scenario::StopSignal::kill;
          event["signal"] = kill ? "kill" : "term";
          detail = kill ? " (SIGKILL)" : " (SIGTERM)";
          if (restart_program_) restart_program_(body.signal);
          else event["skipped"] = "no program to restart";
        } else if constexpr (std::is_same_v<T, scenario::StallAction>) {
          event["duration_s"] = body.duration_s;
          detail = fmt::format(" for {} s (SIGSTOP, then SIGCONT)", body.duration_s);
          if (stall_program_) {
            stall_program_(true);
            // Like a ring burst's end: dropped by an earlier "end", whose stop continues the program anyway.
            schedule(due + seconds_to_ns(body.duration_s), [this] { stall_program_(false); });
          } else {
            event["skipped"] = "no program to stall";
          }
        }
      },
      action.body);

  trace_.write(std::move(event));
  const std::string target =
      action.box.empty() ? std::string() : action.box + (action.port ? fmt::format(":{}", *action.port) : "") + " ";
  log("{:8.3f} s  {}{}{}", action.at_s, target, scenario::action_name(action.body), detail);
}

void ScenarioRunner::prepare_audio(const scenario::Action& action) {
  const Nanoseconds due = at(action.at_s);
  const std::size_t box_index = box_index_.at(action.box);
  const std::uint8_t line_index = static_cast<std::uint8_t>(*action.port - 1);
  const std::uint32_t rate = boxes_[box_index]->declaration().audio_rate_hz;
  nlohmann::json event{{"kind", "audio"},
                       {"action", std::string(scenario::action_name(action.body))},
                       {"box", action.box},
                       {"line", *action.port},
                       {"scenario_s", action.at_s},
                       {"source_line", action.source_line}};

  if (const auto* cid = std::get_if<scenario::CallerIdAction>(&action.body)) {
    event["via"] = std::string(via_name(cid->via));
    Nanoseconds message_end = due;
    if (cid->via == scenario::CallerIdVia::dtmf) {
      const std::string digits = caller_id_dtmf_digits(*cid);
      codec::DtmfOptions options;
      options.tone_ms = caller_id_dtmf_tone_ms;
      options.gap_ms = caller_id_dtmf_gap_ms;
      options.level_dbm0 = cid->level_dbm0;
      event["digits"] = digits;
      add_clip(box_index, line_index, due, codec::dtmf(rate, digits, options), event);
      // The box hears the digits like any others (x800.md 6.6).
      schedule_digits(box_index, line_index, digits, caller_id_dtmf_tone_ms, caller_id_dtmf_gap_ms, due);
      message_end = due + milliseconds_to_ns(static_cast<double>(digits.size() - 1) *
                                                 (caller_id_dtmf_tone_ms + caller_id_dtmf_gap_ms) +
                                             caller_id_dtmf_tone_ms);
    } else {
      auto samples = caller_id_fsk(*cid, rate);
      message_end = due + static_cast<Nanoseconds>(samples.size()) * nanoseconds_per_second / rate;
      add_clip(box_index, line_index, due, std::move(samples), event);
    }
    // A decoding box reports the message when its last byte has arrived.
    const auto report_body = caller_id_report(*cid);
    schedule(message_end, [this, box_index, line_index, report_body, message_end] {
      if (boxes_[box_index]->decodes_caller_id(line_index))
        report(box_index, line_index, report_body, message_end);
    });
  } else if (const auto* dial = std::get_if<scenario::DialAction>(&action.body)) {
    codec::DtmfOptions options;
    options.tone_ms = dial->tone_ms;
    options.gap_ms = dial->gap_ms;
    options.level_dbm0 = dial->level_dbm0;
    event["digits"] = dial->digits;
    add_clip(box_index, line_index, due, codec::dtmf(rate, dial->digits, options), event);
    schedule_digits(box_index, line_index, dial->digits, dial->tone_ms, dial->gap_ms, due);
  } else if (const auto* play = std::get_if<scenario::PlayAction>(&action.body)) {
    const codec::WavAudio* file = nullptr;
    if (play->kind == scenario::PlayAction::Kind::file) {
      auto it = wav_files_.find(play->path);
      if (it != wav_files_.end()) file = &it->second;
      event["file"] = play->path;
    }
    add_clip(box_index, line_index, due, play_samples(*play, rate, file), event);
  }
}

void ScenarioRunner::add_clip(std::size_t box_index, std::uint8_t line_index, Nanoseconds start,
                              codec::Samples samples, nlohmann::json& event) {
  const std::uint32_t rate = boxes_[box_index]->declaration().audio_rate_hz;
  const Nanoseconds length_ns = static_cast<Nanoseconds>(samples.size()) * nanoseconds_per_second / rate;
  audio_end_ns_ = std::max(audio_end_ns_, start + length_ns);
  event["channel"] = line_index;
  event["frames"] = samples.size();
  event["duration_s"] = static_cast<double>(length_ns) / 1e9;
  if (boxes_[box_index]->plugged()) {
    // Frame of the power-up's audio stream where the clip begins.
    const Nanoseconds since_epoch = start - boxes_[box_index]->epoch_ns();
    event["start_frame"] = std::llround(static_cast<double>(since_epoch) * rate / 1e9);
    event["box_time_us"] = boxes_[box_index]->box_time_us(start);
  }
  trace_.write(event);
  if (samples.empty()) return;
  audio_.add_clip(box_index, AudioClip{line_index, start, std::make_shared<const codec::Samples>(std::move(samples))});
}

void ScenarioRunner::schedule_digits(std::size_t box_index, std::uint8_t line_index, const std::string& digits,
                                     double tone_ms, double gap_ms, Nanoseconds first_start) {
  const auto duration_ms = static_cast<std::uint16_t>(std::lround(std::min(tone_ms, 65535.0)));
  for (std::size_t index = 0; index < digits.size(); ++index) {
    const Nanoseconds start = first_start + milliseconds_to_ns(static_cast<double>(index) * (tone_ms + gap_ms));
    const Nanoseconds end = start + milliseconds_to_ns(tone_ms);
    const char digit = digits[index];
    // Generated when the tone ends, stamped with its start (x800.md 6.6).
    schedule(end, [this, box_index, line_index, digit, duration_ms, start] {
      report(box_index, line_index, x800::Dtmf{digit, duration_ms}, start);
    });
  }
}

void ScenarioRunner::set_hook(std::size_t box_index, std::uint8_t line_index, bool off_hook, Nanoseconds due,
                              nlohmann::json& event) {
  auto& state = lines_[box_index][line_index];
  if (state.off_hook == off_hook) {
    // The box never repeats a hook state (x800.md 6.2).
    event["skipped"] = off_hook ? "already off-hook" : "already on-hook";
    return;
  }
  state.off_hook = off_hook;
  report(box_index, line_index, x800::Hook{off_hook}, due);
  if (off_hook) {
    // Answering trips the ringing: the burst ends now and no more follow.
    if (state.ringing) {
      state.ringing = false;
      report(box_index, line_index, x800::Ring{false}, due);
    }
    state.ring_token = 0;
  }
}

void ScenarioRunner::start_ring(std::size_t box_index, std::uint8_t line_index, const scenario::RingAction& ring,
                                Nanoseconds due) {
  auto& state = lines_[box_index][line_index];
  if (state.off_hook) {
    log("box {} port {}: not ringing an off-hook line", boxes_[box_index]->declaration().id, line_index + 1);
    return;
  }
  if (state.ringing) {  // a new cadence replaces the current one
    state.ringing = false;
    report(box_index, line_index, x800::Ring{false}, due);
  }
  const std::uint64_t token = next_ring_token_++;
  state.ring_token = token;
  ring_burst(box_index, line_index, token, due, ring, 0);
}

void ScenarioRunner::ring_burst(std::size_t box_index, std::uint8_t line_index, std::uint64_t token, Nanoseconds start,
                                const scenario::RingAction& ring, int burst) {
  auto& state = lines_[box_index][line_index];
  if (state.ring_token != token) return;  // answered, or replaced by a newer ring
  state.ringing = true;
  report(box_index, line_index, x800::Ring{true}, start);
  const Nanoseconds end = start + seconds_to_ns(ring.on_s);
  const Nanoseconds next_start = start + seconds_to_ns(ring.on_s + ring.off_s);
  schedule(end, [this, box_index, line_index, token, end, next_start, ring, burst] {
    auto& line = lines_[box_index][line_index];
    if (line.ring_token != token || !line.ringing) return;
    line.ringing = false;
    report(box_index, line_index, x800::Ring{false}, end);
    if (burst + 1 < ring.count) {
      schedule(next_start, [this, box_index, line_index, token, next_start, ring, burst] {
        ring_burst(box_index, line_index, token, next_start, ring, burst + 1);
      });
    } else {
      line.ring_token = 0;
    }
  });
}

}  // namespace deskline::sim
