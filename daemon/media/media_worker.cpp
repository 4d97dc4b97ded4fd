#include "daemon/media/media_worker.hpp"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include "codec/ogg_opus.hpp"
#include "daemon/archive/recording_file.hpp"
#include "daemon/domain/call_json.hpp"
#include "daemon/media/recording_repair.hpp"
#include "drivers/audio/backend_messages.hpp"
#include "drivers/audio/capture.hpp"

namespace deskline::daemon {
namespace {

namespace fs = std::filesystem;
using drivers::audio::BoxCapture;
using drivers::audio::PortAudioSystem;

constexpr auto tick = std::chrono::milliseconds(20);
constexpr double ring_seconds = 4.0;
// Audio kept after capture so a recording can start at a boundary that lies
// in the past (the hook report reaches the io thread after the audio did),
// and a recording held during a flash window ([calls] flash_max_ms, at most
// 2 s) goes on from where it was held.
constexpr double history_seconds = 3.0;
constexpr auto device_retry = std::chrono::seconds(2);

std::string replace_all(std::string text, std::string_view from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

std::string alnum_only(const std::string& serial) {
  std::string out = serial;
  for (auto& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return out;
}

// 16 kHz to 8 kHz for the detectors: a [1 2 1]/4 low-pass on every other
// sample. Gentle (-1.6 dB at 2200 Hz, -4 dB at 3400 Hz), which the detectors
// tolerate; it keeps no more state than one sample.
class HalfRateDecimator {
 public:
  void push(std::span<const std::int16_t> samples, std::vector<std::int16_t>& out) {
    for (const auto sample : samples) {
      if (have_even_) {
        out.push_back(static_cast<std::int16_t>((previous_odd_ + 2 * even_ + sample) / 4));
        previous_odd_ = sample;
      } else {
        even_ = sample;
      }
      have_even_ = !have_even_;
    }
  }

 private:
  std::int32_t previous_odd_ = 0;
  std::int32_t even_ = 0;
  bool have_even_ = false;
};

std::uint64_t event_end_sample(const codec::LineEvent& event) {
  return std::visit(
      [](const auto& value) -> std::uint64_t {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, codec::CallerIdEvent>) return value.end_sample;
        else if constexpr (std::is_same_v<T, codec::DtmfDigitEvent>) return value.end_sample();
        else return value.sample;
      },
      event);
}

}  // namespace

codec::LineDetectorOptions line_detector_options(config::CallerIdMode mode) {
  codec::LineDetectorOptions options;  // DTMF and China call progress on
  switch (mode) {
    case config::CallerIdMode::auto_detect: options.caller_id = codec::CallerIdDecoders::auto_detect; break;
    case config::CallerIdMode::bell202: options.caller_id = codec::CallerIdDecoders::bell202; break;
    case config::CallerIdMode::v23: options.caller_id = codec::CallerIdDecoders::v23; break;
    case config::CallerIdMode::dtmf: options.caller_id = codec::CallerIdDecoders::dtmf; break;
    case config::CallerIdMode::box: options.caller_id = std::nullopt; break;
  }
  return options;
}

struct MediaWorker::PortAudio {
  PortAudioSystem system;
};

struct MediaWorker::LineDetection {
  LineDetection(config::CallerIdMode mode, std::uint64_t origin)
      : mode(mode), detectors(line_detector_options(mode)), origin(origin) {}
  config::CallerIdMode mode;
  codec::LineDetectors detectors;
  HalfRateDecimator decimator;  // 16 kHz boxes only
  std::uint64_t origin;         // the capture frame of the detectors' sample 0
};

struct MediaWorker::Box {
  std::string serial;
  int lines = 0;
  std::uint32_t rate_hz = 8000;
  bool attached = true;
  std::unique_ptr<BoxCapture> capture;
  std::string device_name;
  std::string capture_error;
  std::chrono::steady_clock::time_point next_attempt{};
  // Interleaved history of the last frames, ending at history_end_frame.
  std::vector<std::int16_t> history;
  std::uint64_t history_first_frame = 0;
  std::vector<std::int16_t> chunk;
  // One set of detectors per line, all fed up to detected_end_frame.
  std::vector<LineDetection> detectors;
  std::uint64_t detected_end_frame = 0;
  bool detectors_refused = false;  // a rate the detectors cannot take

  std::uint64_t history_end_frame() const {
    return history_first_frame + history.size() / static_cast<std::size_t>(lines);
  }
};

struct MediaWorker::Recording {
  RecordingRequest request;
  // Whole Ogg pages written with write(2), so a killed daemon leaves every
  // page written so far on disk.
  std::unique_ptr<codec::FdSink> file;
  std::unique_ptr<codec::OggOpusWriter> writer;
  std::uint64_t next_frame = 0;
  std::optional<std::uint64_t> end_frame;
  std::optional<std::int64_t> hold_host_us;  // write nothing sampled at or after this for now
  bool started = false;  // next_frame is known (the capture timeline was known)
};

MediaWorker::MediaWorker(boost::asio::io_context& io, std::vector<std::string> device_patterns, Logger& log,
                         ResultHandler on_result)
    : io_(io), device_patterns_(std::move(device_patterns)), log_(log), on_result_(std::move(on_result)) {}

MediaWorker::~MediaWorker() { stop(); }

void MediaWorker::enable_line_detectors(const config::Config& config, DetectionHandler on_detection) {
  caller_id_config_.caller_id_mode = config.caller_id_mode;
  caller_id_config_.lines = config.lines;
  on_detection_ = std::move(on_detection);
}

void MediaWorker::set_caller_id_modes(const config::Config& config,
                                      std::vector<std::pair<std::string, int>> lines_in_call) {
  CallerIdModes modes{{}, std::move(lines_in_call)};
  modes.config.caller_id_mode = config.caller_id_mode;
  modes.config.lines = config.lines;
  push(std::move(modes));
}

void MediaWorker::start() {
  thread_ = std::thread([this] { run(); });
}

void MediaWorker::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || !thread_.joinable()) return;
    stopping_ = true;
    stop_requested_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void MediaWorker::push(Request request) {
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(std::move(request));
  }
  wake_.notify_all();
}

void MediaWorker::box_attached(const std::string& serial, int lines, std::uint32_t rate_hz) {
  push(Attach{serial, lines, rate_hz});
}
void MediaWorker::box_detached(const std::string& serial) { push(Detach{serial}); }
void MediaWorker::audio_lost(const std::string& serial, std::int64_t at_host_us) {
  push(AudioLost{serial, at_host_us});
}
void MediaWorker::start_recording(RecordingRequest request) { push(std::move(request)); }
void MediaWorker::stop_recording(const std::string& call_id, std::int64_t end_host_us) {
  push(Stop{call_id, end_host_us});
}
void MediaWorker::hold_recording(const std::string& call_id, std::optional<std::int64_t> until_host_us) {
  push(Hold{call_id, until_host_us});
}
void MediaWorker::call_ended_on(const std::string& serial, int port) { push(CallEnded{serial, port}); }

std::map<std::string, BoxAudioStats> MediaWorker::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void MediaWorker::run() {
  drivers::audio::route_backend_messages([this](std::string_view message) { log_.debug("audio: {}", message); });
  portaudio_ = std::make_unique<PortAudio>();
  if (!portaudio_->system.ok())
    log_.error("audio: PortAudio failed to start ({}): calls are logged but not recorded",
               portaudio_->system.error());
  while (true) {
    std::deque<Request> requests;
    bool stopping = false;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, tick, [&] { return stopping_ || !requests_.empty(); });
      requests.swap(requests_);
      stopping = stopping_;
    }
    for (auto& request : requests) std::visit([&](auto& value) { handle(value); }, request);
    std::map<std::string, BoxAudioStats> stats;
    for (auto& [serial, box] : boxes_) {
      if (box->attached && !box->capture && std::chrono::steady_clock::now() >= box->next_attempt) open_capture(*box);
      pump(*box);
      stats[serial] = {box->device_name, box->capture != nullptr, box->capture_error,
                       box->capture ? std::optional(box->capture->stats()) : std::nullopt};
    }
    {
      std::lock_guard lock(mutex_);
      stats_ = std::move(stats);
    }
    if (stopping) break;
  }
  for (auto& [call_id, recording] : recordings_) finish(*recording, RecordingState::complete);
  recordings_.clear();
  sync_and_report_unsynced();
  boxes_.clear();
  portaudio_.reset();
  drivers::audio::route_backend_messages({});
}

void MediaWorker::handle(Attach& request) {
  auto& box = boxes_[request.serial];
  if (!box || box->lines != request.lines || box->rate_hz != request.rate_hz) {
    box = std::make_unique<Box>();
    box->serial = request.serial;
    box->lines = request.lines;
    box->rate_hz = request.rate_hz;
  }
  box->attached = true;
  box->capture.reset();
  box->history.clear();
  box->next_attempt = {};
  open_capture(*box);
}

void MediaWorker::handle(Detach& request) {
  auto found = boxes_.find(request.serial);
  if (found == boxes_.end()) return;
  auto& box = *found->second;
  pump(box);  // keep what was captured before the box went away
  box.attached = false;
  box.capture.reset();
  // Its recordings end with that: a re-plugged box's stream restarts at frame
  // 0, and must not be taken for the rest of theirs.
  for (auto recording = recordings_.begin(); recording != recordings_.end();) {
    if (recording->second->request.box_serial != request.serial) {
      ++recording;
      continue;
    }
    finish(*recording->second, RecordingState::complete);
    recording = recordings_.erase(recording);
  }
}

void MediaWorker::handle(CallEnded& request) {
  auto box = boxes_.find(request.serial);
  if (box == boxes_.end()) return;
  auto& detectors = box->second->detectors;
  if (request.port < 1 || request.port > static_cast<int>(detectors.size())) return;
  detectors[static_cast<std::size_t>(request.port - 1)].detectors.reset_call_progress();
  follow_caller_id_mode(*box->second, request.port);
}

void MediaWorker::handle(CallerIdModes& request) {
  caller_id_config_ = std::move(request.config);
  for (auto& [serial, box] : boxes_)
    for (int port = 1; port <= static_cast<int>(box->detectors.size()); ++port)
      if (std::find(request.lines_in_call.begin(), request.lines_in_call.end(), std::pair(serial, port)) ==
          request.lines_in_call.end())
        follow_caller_id_mode(*box, port);
}

void MediaWorker::follow_caller_id_mode(Box& box, int port) {
  auto& line = box.detectors[static_cast<std::size_t>(port - 1)];
  const auto mode = caller_id_config_.caller_id_mode_for(box.serial, port);
  if (line.mode == mode) return;
  log_.info("box {} port {}: caller ID from audio now {}", box.serial, port, config::to_string(mode));
  // Fed from where the others are: their next samples are its first.
  line = LineDetection(mode, box.detected_end_frame);
}

void MediaWorker::open_capture(Box& box) {
  box.next_attempt = std::chrono::steady_clock::now() + device_retry;
  if (!portaudio_->system.ok()) return;
  std::vector<std::string> patterns;
  for (const auto& pattern : device_patterns_)
    patterns.push_back(replace_all(replace_all(pattern, "{serial_alnum}", alnum_only(box.serial)), "{serial}", box.serial));
  auto device = portaudio_->system.find_input(patterns, box.lines);
  if (!device) {
    // A sound card that appeared after start-up needs a rescan, which
    // PortAudio only allows with no stream open.
    const bool any_open = std::any_of(boxes_.begin(), boxes_.end(), [](const auto& entry) {
      return entry.second->capture != nullptr;
    });
    if (!any_open && portaudio_->system.rescan()) device = portaudio_->system.find_input(patterns, box.lines);
  }
  if (!device) {
    const auto error = fmt::format("no audio input device matches {} with {} channels", fmt::join(patterns, " or "),
                                   box.lines);
    if (error != box.capture_error) log_.error("box {}: audio: {}; retrying", box.serial, error);
    box.capture_error = error;
    return;
  }
  std::string error;
  box.capture = BoxCapture::open(*device, box.lines, box.rate_hz, ring_seconds, error);
  box.device_name = portaudio_->system.device_name(*device);
  if (!box.capture) {
    const auto message = fmt::format("cannot capture from {}: {}", box.device_name, error);
    if (message != box.capture_error) log_.error("box {}: audio: {}; retrying", box.serial, message);
    box.capture_error = message;
    return;
  }
  box.capture_error.clear();
  box.history.clear();
  box.history_first_frame = 0;
  box.detectors.clear();  // a new stream restarts frame numbers
  log_.info("box {}: capturing {} lines at {} Hz from {}", box.serial, box.lines, box.rate_hz, box.device_name);
}

void MediaWorker::pump(Box& box) {
  if (!box.capture) return;
  const auto channels = static_cast<std::size_t>(box.lines);
  box.chunk.resize(static_cast<std::size_t>(box.rate_hz / 10) * channels);  // 100 ms per read
  while (true) {
    const auto block = box.capture->read(box.chunk);
    if (block.frames == 0) break;
    append_silence_until(box, block.first_frame);
    box.history.insert(box.history.end(), box.chunk.begin(),
                       box.chunk.begin() + static_cast<std::ptrdiff_t>(block.frames * channels));
  }
  for (const auto& gap : box.capture->take_gaps()) log_gap(box, gap);
  consume(box);
}

// Audio lost before it reached us (a gap on the box's time line, or the ring
// overflowed) becomes silence, so every later frame keeps its box time.
void MediaWorker::append_silence_until(Box& box, std::uint64_t frame) {
  if (box.history.empty()) {
    box.history_first_frame = frame;
    return;
  }
  const auto channels = static_cast<std::size_t>(box.lines);
  while (box.history_end_frame() < frame) {
    // In pieces, consumed as they come: a long gap must not grow the history without bound.
    const auto frames = std::min<std::uint64_t>(frame - box.history_end_frame(), box.rate_hz);
    box.history.insert(box.history.end(), frames * channels, 0);
    if (box.history_end_frame() < frame) consume(box);
  }
}

void MediaWorker::log_gap(const Box& box, const drivers::audio::Gap& gap) {
  static constexpr auto how = [](drivers::audio::GapSource source) {
    switch (source) {
      case drivers::audio::GapSource::box_report: return "placed at the box's audio_overrun report";
      case drivers::audio::GapSource::input_overflow: return "placed at PortAudio's input overflow";
      case drivers::audio::GapSource::estimated: return "no report: placed where the late backlog ended (estimated)";
    }
    return "";
  };
  const auto& timeline = box.capture->timeline();
  log_.warning("box {}: audio gap of {} ms ({} frames) lost before the host at {} (box frame {}), {}", box.serial,
               gap.frames * 1000 / box.rate_hz, gap.frames, format_iso8601(timeline.host_time_us(gap.box_frame)),
               gap.box_frame, how(gap.source));
}

// Feeds recordings and detectors what the history holds, keeps only what
// may still be needed, and finishes recordings that reached their end.
void MediaWorker::consume(Box& box) {
  const auto channels = static_cast<std::size_t>(box.lines);
  for (auto& [call_id, recording] : recordings_)
    if (recording->request.box_serial == box.serial) feed(box, *recording);
  detect(box);
  const auto keep = static_cast<std::size_t>(history_seconds * box.rate_hz) * channels;
  if (box.history.size() > keep) {
    const std::size_t drop = (box.history.size() - keep) / channels * channels;
    box.history.erase(box.history.begin(), box.history.begin() + static_cast<std::ptrdiff_t>(drop));
    box.history_first_frame += drop / channels;
  }
  std::vector<std::string> done;
  for (auto& [call_id, recording] : recordings_)
    if (recording->request.box_serial == box.serial && recording->end_frame &&
        recording->next_frame >= *recording->end_frame)
      done.push_back(call_id);
  for (const auto& call_id : done) {
    finish(*recordings_[call_id], RecordingState::complete);
    recordings_.erase(call_id);
  }
}

void MediaWorker::feed(Box& box, Recording& recording) {
  if (!recording.writer || !box.capture) return;
  const auto& timeline = box.capture->timeline();
  if (!recording.started) {
    if (!timeline.known()) return;
    recording.next_frame = timeline.frame_at(recording.request.start_host_us);
    recording.started = true;
    if (recording.next_frame < box.history_first_frame) {
      log_.warning("call={} recording starts {} ms late: audio before it was no longer buffered",
                   recording.request.call_id,
                   (box.history_first_frame - recording.next_frame) * 1000 / box.rate_hz);
      recording.next_frame = box.history_first_frame;
    }
  }
  std::uint64_t until = std::min(box.history_end_frame(), recording.end_frame.value_or(UINT64_MAX));
  if (recording.hold_host_us) until = std::min(until, timeline.frame_at(*recording.hold_host_us));
  if (recording.next_frame >= until) return;
  const auto channels = static_cast<std::size_t>(box.lines);
  const auto channel = static_cast<std::size_t>(recording.request.port - 1);
  std::vector<std::int16_t> mono(until - recording.next_frame);
  for (std::size_t i = 0; i < mono.size(); ++i)
    mono[i] = box.history[(recording.next_frame - box.history_first_frame + i) * channels + channel];
  recording.next_frame = until;
  if (auto error = recording.writer->write(mono)) {
    finish(recording, RecordingState::truncated, error.message());
    recording.writer.reset();
  }
}

void MediaWorker::detect(Box& box) {
  if (!on_detection_ || box.detectors_refused || box.history.empty() || stop_requested_) return;
  const auto channels = static_cast<std::size_t>(box.lines);
  const std::uint32_t decimation = box.rate_hz / codec::detector_rate_hz;
  if (box.detectors.empty()) {
    if (box.rate_hz != codec::detector_rate_hz * decimation || decimation > 2) {
      log_.warning("box {}: no caller ID or DTMF from audio at {} Hz (8000 or 16000 only)", box.serial, box.rate_hz);
      box.detectors_refused = true;
      return;
    }
    for (int port = 1; port <= box.lines; ++port)
      box.detectors.emplace_back(caller_id_config_.caller_id_mode_for(box.serial, port), box.history_first_frame);
    box.detected_end_frame = box.history_first_frame;
  }
  const std::uint64_t end = box.history_end_frame();
  if (box.detected_end_frame >= end) return;
  const auto& timeline = box.capture->timeline();
  const std::size_t first = (box.detected_end_frame - box.history_first_frame) * channels;
  const std::size_t frames = end - box.detected_end_frame;
  std::vector<std::int16_t> mono(frames), decimated;
  for (std::size_t channel = 0; channel < channels; ++channel) {
    for (std::size_t i = 0; i < frames; ++i) mono[i] = box.history[first + i * channels + channel];
    auto& line = box.detectors[channel];
    if (decimation == 2) {
      decimated.clear();
      line.decimator.push(mono, decimated);
      line.detectors.push(decimated);
    } else {
      line.detectors.push(mono);
    }
    for (auto& event : line.detectors.take_events()) {
      if (!timeline.known()) continue;  // cannot happen once frames have arrived
      auto host_time = [&](std::uint64_t sample) { return timeline.host_time_us(line.origin + sample * decimation); };
      AudioDetection detection{box.serial, static_cast<int>(channel) + 1, host_time(codec::event_sample(event)),
                               host_time(event_end_sample(event)), std::move(event)};
      boost::asio::post(io_, [handler = on_detection_, detection = std::move(detection)] { handler(detection); });
    }
  }
  box.detected_end_frame = end;
}

void MediaWorker::handle(RecordingRequest& request) {
  RecordingResult refused{request.call_id, request.path, RecordingState::refused, 0, 0, {}, {}};
  auto box = boxes_.find(request.box_serial);
  if (box == boxes_.end() || !box->second->capture) {
    refused.error = box == boxes_.end() || box->second->capture_error.empty()
                        ? fmt::format("no audio from box {}", request.box_serial)
                        : box->second->capture_error;
    report(refused);
    return;
  }
  std::error_code error;
  fs::create_directories(request.path.parent_path(), error);
  struct statvfs space {};
  if (!error && ::statvfs(request.path.parent_path().c_str(), &space) == 0) {
    const auto free_bytes = static_cast<std::uint64_t>(space.f_bavail) * space.f_frsize;
    if (free_bytes < request.min_free_bytes) {
      refused.error = fmt::format("{} MiB free in {}, below the {} MiB floor", free_bytes >> 20,
                                  request.path.parent_path().string(), request.min_free_bytes >> 20);
      report(refused);
      return;
    }
  }
  const int fd = error ? -1 : ::open(request.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) {
    refused.error = fmt::format("cannot create {}: {}", request.path.string(),
                                error ? error.message() : std::strerror(errno));
    report(refused);
    return;
  }
  auto recording = std::make_unique<Recording>();
  recording->file = std::make_unique<codec::FdSink>(fd, codec::FdSink::Ownership::owned);
  codec::OpusSettings settings;
  settings.rate_hz = box->second->rate_hz;
  settings.bitrate_bps = request.bitrate_bps;
  settings.complexity = request.complexity;
  recording->writer = codec::OggOpusWriter::create(settings, request.comments, *recording->file, error);
  recording->request = std::move(request);
  if (!recording->writer) {
    // Nothing useful was written (the headers did not fit): leave no file behind.
    recording->file.reset();
    std::error_code ignored;
    fs::remove(recording->request.path, ignored);
    refused.error = fmt::format("cannot start the encoder: {}", error.message());
    report(refused);
    return;
  }
  const auto call_id = recording->request.call_id;
  recordings_[call_id] = std::move(recording);
  feed(*box->second, *recordings_[call_id]);
}

void MediaWorker::handle(AudioLost& request) {
  auto found = boxes_.find(request.serial);
  if (found != boxes_.end() && found->second->capture) found->second->capture->loss_reported(request.at_host_us);
}

void MediaWorker::handle(Stop& request) {
  auto found = recordings_.find(request.call_id);
  if (found == recordings_.end()) return;
  auto& recording = *found->second;
  auto box = boxes_.find(recording.request.box_serial);
  const bool capturing = box != boxes_.end() && box->second->capture && box->second->capture->timeline().known();
  if (capturing) {
    recording.end_frame = box->second->capture->timeline().frame_at(request.end_host_us);
    pump(*box->second);  // finishes it if the audio up to the end is already here
    return;
  }
  // The box is gone: keep what was captured.
  if (box != boxes_.end()) feed(*box->second, recording);
  finish(recording, RecordingState::complete);
  recordings_.erase(found);
}

void MediaWorker::handle(Hold& request) {
  auto found = recordings_.find(request.call_id);
  if (found == recordings_.end()) return;
  found->second->hold_host_us = request.until_host_us;
  if (auto box = boxes_.find(found->second->request.box_serial); box != boxes_.end()) feed(*box->second, *found->second);
}

void MediaWorker::finish(Recording& recording, RecordingState state, std::string error) {
  RecordingResult result{recording.request.call_id, recording.request.path, state, 0, 0, {}, {}};
  result.error = std::move(error);
  if (!recording.file) return;  // already finished
  if (recording.writer) {
    if (auto finish_error = recording.writer->finish()) {
      result.state = RecordingState::truncated;
      result.error = finish_error.message();
    }
    result.duration_s = recording.writer->duration_s();
  }
  if (result.state == RecordingState::truncated) {
    // The disk filled up: the file must end on its last whole page. The sink
    // cut the torn page when the write failed; this retries if that failed.
    (void)recording.file->trim_to_last_page();
  }
  const auto sync = stop_requested_ ? codec::FdSink::Sync::later : codec::FdSink::Sync::file;
  if (auto close_error = recording.file->close(sync); close_error && result.error.empty()) {
    result.state = RecordingState::truncated;
    result.error = close_error.message();
  }
  recording.file.reset();
  if (result.state == RecordingState::truncated) {
    const auto repair = repair_recording_file(recording.request.path);
    if (repair.result == FileRepair::Result::repaired || repair.result == FileRepair::Result::complete)
      result.duration_s = repair.duration_s;
    else
      log_.error("call={} recording {} could not be closed cleanly: {}", result.call_id, result.path.string(),
                 repair.reason);
  }
  std::error_code size_error;
  result.bytes = fs::file_size(result.path, size_error);
  result.sha256 = sha256_of_file(result.path);
  if (sync == codec::FdSink::Sync::later)
    unsynced_.push_back(std::move(result));
  else
    report(result);
}

void MediaWorker::sync_and_report_unsynced() {
  std::set<fs::path> synced;
  for (auto& result : unsynced_) {
    const auto folder = result.path.parent_path();
    if (synced.insert(folder).second) {
      const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0 || ::syncfs(fd) != 0)
        log_.error("recordings in {} may not be on disk: syncfs: {}", folder.string(), std::strerror(errno));
      if (fd >= 0) ::close(fd);
    }
    report(result);
  }
  unsynced_.clear();
}

void MediaWorker::report(const RecordingResult& result) {
  boost::asio::post(io_, [handler = on_result_, result] { handler(result); });
}

}  // namespace deskline::daemon
