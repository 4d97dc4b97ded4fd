#include "drivers/audio/capture.hpp"

#include "drivers/line_box.hpp"

#include <portaudio.h>

#include <algorithm>
#include <cctype>
#include <ctime>

namespace deskline::drivers::audio {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

}  // namespace

PortAudioSystem::PortAudioSystem() {
  const PaError error = Pa_Initialize();
  initialized_ = error == paNoError;
  if (!initialized_) error_ = Pa_GetErrorText(error);
}

PortAudioSystem::~PortAudioSystem() {
  if (initialized_) Pa_Terminate();
}

bool PortAudioSystem::rescan() {
  if (initialized_) Pa_Terminate();
  const PaError error = Pa_Initialize();
  initialized_ = error == paNoError;
  if (!initialized_) error_ = Pa_GetErrorText(error);
  return initialized_;
}

std::optional<int> PortAudioSystem::find_input(const std::vector<std::string>& patterns, int min_channels) const {
  if (!initialized_) return std::nullopt;
  const int count = Pa_GetDeviceCount();
  for (const auto& pattern : patterns) {
    const auto wanted = lower(pattern);
    for (int device = 0; device < count; ++device) {
      const auto* info = Pa_GetDeviceInfo(device);
      if (info && info->maxInputChannels >= min_channels &&
          lower(info->name).find(wanted) != std::string::npos)
        return device;
    }
  }
  return std::nullopt;
}

std::string PortAudioSystem::device_name(int device) const {
  const auto* info = initialized_ ? Pa_GetDeviceInfo(device) : nullptr;
  return info ? info->name : "";
}

std::uint64_t CaptureTimeline::frame_at(std::int64_t host_us) const {
  // Round up: the first frame sampled at or after host_us.
  return (clock_.to_device(host_us) * rate_hz_ + 999'999) / 1'000'000;
}

BoxCapture::BoxCapture(int channels, std::uint32_t rate_hz, std::size_t ring_samples)
    : channels_(channels), rate_hz_(rate_hz), ring_(ring_samples), timeline_(rate_hz) {}

BoxCapture::~BoxCapture() {
  if (stream_) {
    // Abort, not stop: a box that vanished will never drain its buffers.
    Pa_AbortStream(stream_);
    Pa_CloseStream(stream_);
  }
}

std::unique_ptr<BoxCapture> BoxCapture::open(int device, int channels, std::uint32_t rate_hz, double ring_seconds,
                                             std::string& error) {
  const auto ring_samples = static_cast<std::size_t>(ring_seconds * rate_hz) * static_cast<std::size_t>(channels);
  std::unique_ptr<BoxCapture> capture(new BoxCapture(channels, rate_hz, ring_samples));
  PaStreamParameters input{};
  input.device = device;
  input.channelCount = channels;
  input.sampleFormat = paInt16;
  const auto* info = Pa_GetDeviceInfo(device);
  input.suggestedLatency = info ? info->defaultLowInputLatency : 0.05;
  const unsigned long frames_per_buffer = rate_hz / 50;  // 20 ms
  PaStreamCallback* callback = [](const void* in, void* out, unsigned long frames, const PaStreamCallbackTimeInfo* time,
                                  PaStreamCallbackFlags flags, void* self) {
    return BoxCapture::on_audio(in, out, frames, time, flags, self);
  };
  PaError result = Pa_OpenStream(&capture->stream_, &input, nullptr, rate_hz, frames_per_buffer, paClipOff, callback,
                                 capture.get());
  if (result == paNoError) result = Pa_StartStream(capture->stream_);
  if (result != paNoError) {
    error = Pa_GetErrorText(result);
    if (capture->stream_) Pa_CloseStream(capture->stream_);
    capture->stream_ = nullptr;
    return nullptr;
  }
  return capture;
}

// Runs on PortAudio's real-time thread: no locks, no allocation, no logging.
int BoxCapture::on_audio(const void* input, void*, unsigned long frames, const void*, unsigned long status_flags,
                         void* self) {
  auto* capture = static_cast<BoxCapture*>(self);
  if (status_flags & paInputOverflow) capture->input_overflows_.fetch_add(1, std::memory_order_relaxed);
  const auto channels = static_cast<std::size_t>(capture->channels_);
  // Whole frames only, so a full ring never splits a frame across lines.
  const std::size_t free_frames = (capture->ring_.capacity() - capture->ring_.size()) / channels;
  const std::size_t stored_frames = std::min<std::size_t>(frames, free_frames);
  if (input && stored_frames > 0)
    capture->ring_.push({static_cast<const std::int16_t*>(input), stored_frames * channels});
  if (stored_frames < frames) capture->ring_.count_dropped((frames - stored_frames) * channels);
  capture->frames_arrived_ += frames;
  capture->timeline_.arrived(capture->frames_arrived_, realtime_us());
  return paContinue;
}

std::size_t BoxCapture::read(std::span<std::int16_t> out) {
  const auto channels = static_cast<std::size_t>(channels_);
  const std::size_t wanted = out.size() / channels * channels;
  const std::size_t samples = ring_.pop(out.subspan(0, std::min(wanted, ring_.size() / channels * channels)));
  frames_read_ += samples / channels;
  // Frames dropped on overflow came after what the ring held: skipping them
  // keeps frame numbers on the box's time line (the gap becomes silence).
  const std::uint64_t dropped = ring_.dropped() / channels;
  frames_read_ += dropped - dropped_frames_seen_;
  dropped_frames_seen_ = dropped;
  return samples / channels;
}

CaptureStats BoxCapture::stats() const {
  return {frames_read_, ring_.dropped() / static_cast<std::uint64_t>(channels_),
          input_overflows_.load(std::memory_order_relaxed)};
}

}  // namespace deskline::drivers::audio
