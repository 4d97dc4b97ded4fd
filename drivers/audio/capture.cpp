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

BoxCapture::BoxCapture(int channels, std::uint32_t rate_hz, std::size_t ring_frames, std::size_t deliveries)
    : channels_(channels),
      rate_hz_(rate_hz),
      ring_(ring_frames * static_cast<std::size_t>(channels)),
      deliveries_(deliveries),
      timeline_(rate_hz) {}

BoxCapture::~BoxCapture() {
  if (stream_) {
    // Abort, not stop: a box that vanished will never drain its buffers.
    Pa_AbortStream(stream_);
    Pa_CloseStream(stream_);
  }
}

std::unique_ptr<BoxCapture> BoxCapture::open(int device, int channels, std::uint32_t rate_hz, double ring_seconds,
                                             std::string& error) {
  const unsigned long frames_per_buffer = rate_hz / 50;  // 20 ms
  const auto ring_frames = static_cast<std::size_t>(ring_seconds * rate_hz);
  std::unique_ptr<BoxCapture> capture(
      new BoxCapture(channels, rate_hz, ring_frames, ring_frames / frames_per_buffer + 1));
  PaStreamParameters input{};
  input.device = device;
  input.channelCount = channels;
  input.sampleFormat = paInt16;
  const auto* info = Pa_GetDeviceInfo(device);
  input.suggestedLatency = info ? info->defaultLowInputLatency : 0.05;
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
  const bool overflow = (status_flags & paInputOverflow) != 0;
  if (overflow) capture->input_overflows_.fetch_add(1, std::memory_order_relaxed);
  const auto channels = static_cast<std::size_t>(capture->channels_);
  capture->frames_arrived_ += frames;
  // Whole frames only, so a full ring never splits a frame across lines; and
  // only with room to say when they came, which places them on the time line.
  const bool recordable = capture->deliveries_.size() < capture->deliveries_.capacity();
  const std::size_t free_frames = recordable ? (capture->ring_.capacity() - capture->ring_.size()) / channels : 0;
  const std::size_t stored_frames = input ? std::min<std::size_t>(frames, free_frames) : 0;
  if (stored_frames > 0) capture->ring_.push({static_cast<const std::int16_t*>(input), stored_frames * channels});
  if (stored_frames < frames) capture->ring_.count_dropped((frames - stored_frames) * channels);
  if (!recordable) {
    capture->overflow_unrecorded_ |= overflow;
    return paContinue;
  }
  const Delivery delivery{{capture->frames_arrived_, static_cast<std::uint32_t>(frames), realtime_us(),
                           overflow || capture->overflow_unrecorded_},
                          static_cast<std::uint32_t>(stored_frames)};
  capture->deliveries_.push({&delivery, 1});
  capture->overflow_unrecorded_ = false;
  return paContinue;
}

void BoxCapture::take_deliveries() {
  Delivery delivery;
  while (deliveries_.pop({&delivery, 1}) == 1) {
    timeline_.arrived(delivery.arrival);
    unread_.push_back(delivery);
  }
  for (const auto& gap : timeline_.take_gaps()) gaps_ahead_.push_back(gap);
}

CapturedFrames BoxCapture::read(std::span<std::int16_t> out) {
  take_deliveries();
  const auto channels = static_cast<std::size_t>(channels_);
  const std::size_t room = out.size() / channels;
  CapturedFrames block{next_frame_, 0};
  while (block.frames < room && !unread_.empty() && unread_.front().arrival.frames_end <= timeline_.settled_end()) {
    auto& delivery = unread_.front();
    if (delivery.consumed == delivery.stored) {  // the rest of it did not fit in the ring
      unread_.pop_front();
      continue;
    }
    const std::uint64_t position = delivery.arrival.frames_start() + delivery.consumed;
    // A gap at or before this frame moves it, and all after it, along the box's time line.
    while (!gaps_ahead_.empty() && gaps_ahead_.front().at_frame <= position) {
      gap_frames_ += gaps_ahead_.front().frames;
      ++gap_count_;
      passed_gaps_.push_back(gaps_ahead_.front());
      gaps_ahead_.pop_front();
    }
    const std::uint64_t box_frame = position + gap_frames_;
    if (box_frame != block.first_frame + block.frames) {
      if (block.frames > 0) break;  // frames lost: the next read starts after them
      block.first_frame = box_frame;
    }
    std::uint64_t count = std::min<std::uint64_t>(delivery.stored - delivery.consumed, room - block.frames);
    if (!gaps_ahead_.empty()) count = std::min(count, gaps_ahead_.front().at_frame - position);
    ring_.pop(out.subspan(block.frames * channels, count * channels));
    delivery.consumed += static_cast<std::uint32_t>(count);
    block.frames += count;
  }
  next_frame_ = block.first_frame + block.frames;
  return block;
}

CaptureStats BoxCapture::stats() const {
  return {next_frame_, ring_.dropped() / static_cast<std::uint64_t>(channels_),
          input_overflows_.load(std::memory_order_relaxed), gap_count_, gap_frames_};
}

}  // namespace deskline::drivers::audio
