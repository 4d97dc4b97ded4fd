// PortAudio capture of a box's sound card: every line is one channel of one
// interleaved 16-bit stream at the box's native rate. The PortAudio callback
// only copies into a lock-free ring, counts overflows and timestamps the data;
// a consumer thread reads frames out. PortAudio is not thread-safe: every call
// except the callback must come from one thread (the daemon's media worker).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "drivers/audio/spsc_ring.hpp"
#include "drivers/audio/capture_timeline.hpp"

namespace deskline::drivers::audio {

// Owns Pa_Initialize/Pa_Terminate. Rescanning is how PortAudio learns about a
// sound card that appeared after it was initialised (a re-plugged box).
class PortAudioSystem {
 public:
  PortAudioSystem();
  ~PortAudioSystem();
  PortAudioSystem(const PortAudioSystem&) = delete;
  PortAudioSystem& operator=(const PortAudioSystem&) = delete;

  bool ok() const { return initialized_; }
  const std::string& error() const { return error_; }
  // Re-initialises PortAudio; only allowed while no stream is open.
  bool rescan();

  // First input device whose name contains one of the patterns
  // (case-insensitive) and has at least min_channels inputs.
  std::optional<int> find_input(const std::vector<std::string>& patterns, int min_channels) const;
  std::string device_name(int device) const;

 private:
  bool initialized_ = false;
  std::string error_;
};

struct CaptureStats {
  std::uint64_t frames = 0;                // read by the consumer, on the box's time line (gaps included)
  std::uint64_t ring_overflow_frames = 0;  // dropped: the consumer fell behind
  std::uint64_t input_overflows = 0;       // PortAudio/ALSA reported an input overflow
  std::uint64_t gaps = 0;                  // audio lost before it reached the host (CaptureTimeline)
  std::uint64_t gap_frames = 0;
};

// Frames of one line-up on the box's time line, as read() returns them.
struct CapturedFrames {
  std::uint64_t first_frame = 0;  // box frame of the first one
  std::size_t frames = 0;
};

class BoxCapture {
 public:
  ~BoxCapture();
  BoxCapture(const BoxCapture&) = delete;
  BoxCapture& operator=(const BoxCapture&) = delete;

  // Opens and starts capture of `channels` channels at rate_hz from device.
  // The ring holds ring_seconds of audio.
  static std::unique_ptr<BoxCapture> open(int device, int channels, std::uint32_t rate_hz, double ring_seconds,
                                          std::string& error);

  // Moves up to out.size() / channels() whole frames into out, consecutive on
  // the box's time line: frames lost before them (a gap, a ring overflow)
  // show as a first_frame past the end of the previous read. Frames the
  // timeline still holds (CaptureTimeline) are left in the ring.
  CapturedFrames read(std::span<std::int16_t> out);
  // The box reported audio lost at host time at_us (x800.md 6.8 audio_overrun).
  void loss_reported(HostTimeUs at_us) { timeline_.loss_reported(at_us); }
  // Gaps read() has passed since the last call, in order.
  std::vector<Gap> take_gaps() { return std::exchange(passed_gaps_, {}); }
  int channels() const { return channels_; }
  std::uint32_t rate_hz() const { return rate_hz_; }
  const CaptureTimeline& timeline() const { return timeline_; }
  CaptureStats stats() const;

 private:
  // A callback's frames: the first `stored` of them went into the ring.
  struct Delivery {
    Arrival arrival;
    std::uint32_t stored = 0;
    std::uint32_t consumed = 0;  // consumer side
  };

  BoxCapture(int channels, std::uint32_t rate_hz, std::size_t ring_frames, std::size_t deliveries);
  static int on_audio(const void* input, void* output, unsigned long frames, const void* time_info,
                      unsigned long status_flags, void* self);
  void take_deliveries();

  int channels_;
  std::uint32_t rate_hz_;
  SpscRing<std::int16_t> ring_;
  SpscRing<Delivery> deliveries_;
  void* stream_ = nullptr;  // PaStream
  // Producer side.
  std::uint64_t frames_arrived_ = 0;
  bool overflow_unrecorded_ = false;  // flagged while deliveries_ was full
  std::atomic<std::uint64_t> input_overflows_{0};
  // Consumer side.
  CaptureTimeline timeline_;
  std::deque<Delivery> unread_;
  std::deque<Gap> gaps_ahead_;  // decided, not yet reached by read()
  std::vector<Gap> passed_gaps_;
  std::uint64_t gap_count_ = 0;
  std::uint64_t gap_frames_ = 0;  // box frame = delivered frame + this, at the read position
  std::uint64_t next_frame_ = 0;  // box frame after the last one read
};

}  // namespace deskline::drivers::audio
