// The media worker: one thread that owns every PortAudio stream, pulls line
// audio out of the capture rings and feeds the per-line consumers (the
// recorder's Ogg Opus writers). Encoding and file writes never run on the
// audio callback thread nor on the io_context thread, so a burst of encoding
// cannot delay a pop event. Requests come in through a locked queue; results
// are posted back to the io_context.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "codec/line_detectors.hpp"
#include "config/config.hpp"
#include "daemon/calls/audio_detection.hpp"
#include "daemon/core/log.hpp"
#include "daemon/domain/call.hpp"
#include "drivers/audio/capture.hpp"

namespace deskline::daemon {

struct RecordingRequest {
  std::string call_id;
  std::string box_serial;
  int port = 1;
  std::int64_t start_host_us = 0;  // wall time of the first sample to keep
  std::filesystem::path path;
  std::vector<std::string> comments;  // OpusTags KEY=value
  int bitrate_bps = 16000;
  int complexity = 5;
  std::uint64_t min_free_bytes = 0;  // refuse to start below this free space
};

struct RecordingResult {
  std::string call_id;
  std::filesystem::path path;
  // complete; truncated (a write failed, e.g. the disk filled up: the file
  // is valid up to there); refused (not started: disk guard, no audio device).
  RecordingState state = RecordingState::complete;
  double duration_s = 0;
  std::uint64_t bytes = 0;
  std::string sha256;  // of the file as closed, hex
  std::string error;
};

// Detectors for a line in a caller-ID mode: `box` runs no caller-ID decoder
// (DTMF and call progress still run), the others pick the decoders.
codec::LineDetectorOptions line_detector_options(config::CallerIdMode mode);

// A box's audio capture as the worker last saw it.
struct BoxAudioStats {
  std::string device;  // "" until one matched
  bool capturing = false;
  std::string error;   // why it is not capturing, "" when it is
  std::optional<drivers::audio::CaptureStats> capture;  // while capturing
};

class MediaWorker {
 public:
  using ResultHandler = std::function<void(const RecordingResult&)>;
  using DetectionHandler = std::function<void(const AudioDetection&)>;

  // The handler runs on the io_context thread.
  MediaWorker(boost::asio::io_context& io, std::vector<std::string> device_patterns, Logger& log,
              ResultHandler on_result);
  ~MediaWorker();
  MediaWorker(const MediaWorker&) = delete;
  MediaWorker& operator=(const MediaWorker&) = delete;

  // Runs detectors on every line of every capturing box, fed continuously,
  // and hands what they hear to on_detection on the io_context thread. Each
  // line decodes caller ID as config says ([callerid] mode, a [[line]]'s
  // caller_id): the worker keeps its own copy. Call before start().
  void enable_line_detectors(const config::Config& config, DetectionHandler on_detection);
  // A reloaded configuration's caller-ID modes. A line whose mode changed
  // gets new decoders at once if it is not in lines_in_call (box serial,
  // port), else when its call ends: a call keeps the decoders it rang with.
  void set_caller_id_modes(const config::Config& config, std::vector<std::pair<std::string, int>> lines_in_call);

  void start();
  // Finishes every recording in progress with the audio it has, then stops.
  void stop();

  // Thread-safe requests, handled in order on the worker thread.
  void box_attached(const std::string& serial, int lines, std::uint32_t rate_hz);
  void box_detached(const std::string& serial);
  // The box reported line audio lost near this host time (x800.md 6.8
  // audio_overrun): the gap the capture finds there goes at that time.
  void audio_lost(const std::string& serial, std::int64_t at_host_us);
  // The line's call ended: its call-progress detector starts the next call
  // clean (nothing heard on this call is reported on the next).
  void call_ended_on(const std::string& serial, int port);
  void start_recording(RecordingRequest request);
  void stop_recording(const std::string& call_id, std::int64_t end_host_us);
  // Writes a recording only up to host time until_host_us for now (nullopt:
  // on again), while it is not known whether its call ends there.
  void hold_recording(const std::string& call_id, std::optional<std::int64_t> until_host_us);

  // Capture state and counters per box (by serial), for `deskline status`.
  std::map<std::string, BoxAudioStats> stats() const;

 private:
  struct Attach {
    std::string serial;
    int lines;
    std::uint32_t rate_hz;
  };
  struct Detach {
    std::string serial;
  };
  struct AudioLost {
    std::string serial;
    std::int64_t at_host_us;
  };
  struct Stop {
    std::string call_id;
    std::int64_t end_host_us;
  };
  struct CallEnded {
    std::string serial;
    int port;
  };
  struct Hold {
    std::string call_id;
    std::optional<std::int64_t> until_host_us;
  };
  struct CallerIdModes {
    config::Config config;  // its [callerid] mode and [[line]] caller_id
    std::vector<std::pair<std::string, int>> lines_in_call;
  };
  using Request = std::variant<Attach, Detach, AudioLost, RecordingRequest, Stop, Hold, CallEnded, CallerIdModes>;
  struct LineDetection;
  struct Box;
  struct Recording;

  void push(Request request);
  void run();
  void handle(Attach& request);
  void handle(Detach& request);
  void handle(AudioLost& request);
  void handle(RecordingRequest& request);
  void handle(Stop& request);
  void handle(Hold& request);
  void handle(CallEnded& request);
  void handle(CallerIdModes& request);
  // New detectors for the line if its caller-ID mode changed.
  void follow_caller_id_mode(Box& box, int port);
  void open_capture(Box& box);
  void pump(Box& box);
  void append_silence_until(Box& box, std::uint64_t frame);
  void log_gap(const Box& box, const drivers::audio::Gap& gap);
  void consume(Box& box);
  void feed(Box& box, Recording& recording);
  void detect(Box& box);
  void finish(Recording& recording, RecordingState state, std::string error = {});
  void report(const RecordingResult& result);
  void sync_and_report_unsynced();

  boost::asio::io_context& io_;
  std::vector<std::string> device_patterns_;
  Logger& log_;
  ResultHandler on_result_;
  // Its caller-ID modes (worker thread only once started).
  config::Config caller_id_config_;
  DetectionHandler on_detection_;  // empty: no line detectors

  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Request> requests_;
  bool stopping_ = false;
  // Read by the worker: once the daemon stops, nobody acts on what the
  // detectors hear, and a worker that fell behind must not make the stop wait
  // for it to catch up (the recordings still get every sample they are owed).
  // Files finished from then on are synced together with one syncfs(2) and
  // reported after it, instead of one fsync(2) each: measured under ASan on a
  // loaded machine with ~100 recordings to close, 10 s against 1 s.
  std::atomic<bool> stop_requested_{false};
  std::vector<RecordingResult> unsynced_;  // worker thread only
  std::map<std::string, BoxAudioStats> stats_;  // guarded by mutex_

  // Worker thread only.
  struct PortAudio;
  std::unique_ptr<PortAudio> portaudio_;
  std::map<std::string, std::unique_ptr<Box>> boxes_;
  std::map<std::string, std::unique_ptr<Recording>> recordings_;
};

}  // namespace deskline::daemon
