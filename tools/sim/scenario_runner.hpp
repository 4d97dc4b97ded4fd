// Runs a parsed scenario against the virtual boxes on its own thread.
//
// Timing: the scenario clock starts (T0) when every box plugged at start has
// received its first command from the host, or at once with
// wait_for_host=false. Each action then runs at T0 + its time, from a
// time-ordered event queue; the events an action causes later (ring burst
// ends, DTMF digits, the caller-ID report after its FSK) are queued with
// their own exact times. Every report is stamped with the box time of its
// scheduled instant, never with the moment the thread happened to wake, so
// durations read from box timestamps are exact.
//
// Audio is rendered ahead of time (audio_lead) and handed to the audio writer
// with the absolute instant of its first sample, so it lands on the right
// frame however late this thread runs.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include "codec/wav.hpp"
#include "proto/scenario.hpp"
#include "tools/sim/audio_writer.hpp"
#include "tools/sim/clock.hpp"
#include "tools/sim/trace.hpp"
#include "tools/sim/usb_box.hpp"

namespace deskline::sim {

enum class RunnerOutcome { finished, start_timeout, stopped };

struct RunnerOptions {
  double start_timeout_s = 15;
  bool wait_for_host = true;
  // The "restart" action: asks the owner of the program under test to stop
  // it with the signal and start it again. Called on the runner thread; must
  // not block (the scenario clock goes on while the program restarts).
  std::function<void(proto::scenario::StopSignal)> restart_program;
  // The "stall" action: asks to stop (true) or continue (false) the program
  // under test. Called on the runner thread; must not block.
  std::function<void(bool)> stall_program;
};

class ScenarioRunner {
 public:
  // wav_files: play file= paths as written in the scenario, already loaded.
  ScenarioRunner(const proto::scenario::Scenario& scenario, std::vector<std::unique_ptr<UsbBox>>& boxes,
                 AudioWriter& audio, Trace& trace, std::atomic<Nanoseconds>& scenario_start_ns,
                 std::map<std::string, codec::WavAudio> wav_files);
  ~ScenarioRunner();
  ScenarioRunner(const ScenarioRunner&) = delete;
  ScenarioRunner& operator=(const ScenarioRunner&) = delete;

  // Plugs every box declared plugged=yes (box time 0 now) and sends the
  // power-up reports. Call before the host starts.
  bool plug_initial_boxes();

  // done is called once, from the runner thread.
  void start(RunnerOptions options, std::function<void(RunnerOutcome)> done);
  void stop();

 private:
  struct LineState {
    bool off_hook = false;
    bool reversed = false;
    bool ringing = false;
    std::uint64_t ring_token = 0;  // the ring action that owns the bursts; 0 = none
    std::int16_t decivolts = 480;  // +48.0 V: idle line, normal polarity
  };
  struct Event {
    Nanoseconds due = 0;
    std::uint64_t order = 0;
    std::function<void()> run;
  };
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.due != b.due ? a.due > b.due : a.order > b.order;
    }
  };

  void run(RunnerOptions options);
  bool wait_for_host(double timeout_s);
  void schedule(Nanoseconds due, std::function<void()> run);
  Nanoseconds at(double scenario_s) const;
  bool sleep_until(Nanoseconds due);

  void execute(const proto::scenario::Action& action);
  void prepare_audio(const proto::scenario::Action& action);
  void power_up(std::size_t box_index, Nanoseconds epoch_ns);
  void start_ring(std::size_t box_index, std::uint8_t line_index, const proto::scenario::RingAction& ring,
                  Nanoseconds due);
  void ring_burst(std::size_t box_index, std::uint8_t line_index, std::uint64_t token, Nanoseconds start,
                  const proto::scenario::RingAction& ring, int burst);
  void set_hook(std::size_t box_index, std::uint8_t line_index, bool off_hook, Nanoseconds due, nlohmann::json& trace);
  void schedule_digits(std::size_t box_index, std::uint8_t line_index, const std::string& digits, double tone_ms,
                       double gap_ms, Nanoseconds first_start);
  void add_clip(std::size_t box_index, std::uint8_t line_index, Nanoseconds start, codec::Samples samples,
                nlohmann::json& trace);
  void report(std::size_t box_index, std::uint8_t line_index, proto::x800::ReportBody body, Nanoseconds stamp);
  nlohmann::json action_trace(const proto::scenario::Action& action, std::size_t box_index) const;

  const proto::scenario::Scenario& scenario_;
  std::vector<std::unique_ptr<UsbBox>>& boxes_;
  AudioWriter& audio_;
  Trace& trace_;
  std::atomic<Nanoseconds>& scenario_start_ns_;
  std::map<std::string, codec::WavAudio> wav_files_;
  std::map<std::string, std::size_t> box_index_;
  std::vector<std::vector<LineState>> lines_;

  Nanoseconds start_ns_ = 0;
  Nanoseconds audio_end_ns_ = 0;  // when the last clip stops sounding
  std::uint64_t next_order_ = 0;
  std::uint64_t next_ring_token_ = 1;
  bool ended_ = false;
  std::priority_queue<Event, std::vector<Event>, Later> events_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::function<void(RunnerOutcome)> done_;
  std::function<void(proto::scenario::StopSignal)> restart_program_;
  std::function<void(bool)> stall_program_;
  std::thread thread_;
};

}  // namespace deskline::sim
