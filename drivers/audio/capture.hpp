// PortAudio capture of a box's sound card: every line is one channel of one
// interleaved 16-bit stream at the box's native rate. The PortAudio callback
// only copies into a lock-free ring, counts overflows and timestamps the data;
// a consumer thread reads frames out. PortAudio is not thread-safe: every call
// except the callback must come from one thread (the daemon's media worker).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "drivers/audio/spsc_ring.hpp"
#include "drivers/clock_offset.hpp"

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

// Frame k of a capture was sampled at host wall time k * 1e6 / rate + offset,
// the offset estimated from arrival times as for box reports (ClockOffset):
// delivery only ever adds delay. Fed on PortAudio's thread, read on others.
class CaptureTimeline {
 public:
  explicit CaptureTimeline(std::uint32_t rate_hz) : rate_hz_(rate_hz) {}
  // Called when frames [0, frames_end) have arrived at host time now_us.
  void arrived(std::uint64_t frames_end, std::int64_t now_us) { clock_.sample(frame_time_us(frames_end), now_us); }
  bool known() const { return clock_.synchronized(); }
  std::int64_t host_time_us(std::uint64_t frame) const { return clock_.to_host(frame_time_us(frame)); }
  // The first frame sampled at or after host time host_us (clamped at 0).
  std::uint64_t frame_at(std::int64_t host_us) const;

 private:
  DeviceTimeUs frame_time_us(std::uint64_t frame) const { return frame * 1'000'000 / rate_hz_; }

  std::uint32_t rate_hz_;
  ClockOffset clock_;
};

struct CaptureStats {
  std::uint64_t frames = 0;            // delivered to the consumer
  std::uint64_t ring_overflow_frames = 0;  // dropped: the consumer fell behind
  std::uint64_t input_overflows = 0;   // PortAudio/ALSA reported an input overflow
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

  // Moves up to out.size() / channels() whole frames into out; returns frames.
  std::size_t read(std::span<std::int16_t> out);
  int channels() const { return channels_; }
  std::uint32_t rate_hz() const { return rate_hz_; }
  // Index of the next frame read() returns.
  std::uint64_t next_frame() const { return frames_read_; }
  const CaptureTimeline& timeline() const { return timeline_; }
  CaptureStats stats() const;

 private:
  BoxCapture(int channels, std::uint32_t rate_hz, std::size_t ring_samples);
  static int on_audio(const void* input, void* output, unsigned long frames, const void* time_info,
                      unsigned long status_flags, void* self);

  int channels_;
  std::uint32_t rate_hz_;
  SpscRing<std::int16_t> ring_;
  CaptureTimeline timeline_;
  void* stream_ = nullptr;  // PaStream
  std::uint64_t frames_arrived_ = 0;  // producer side
  std::atomic<std::uint64_t> input_overflows_{0};
  std::uint64_t frames_read_ = 0;  // consumer side
  std::uint64_t dropped_frames_seen_ = 0;
};

}  // namespace deskline::drivers::audio
