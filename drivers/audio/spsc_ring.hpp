// Bounded single-producer single-consumer ring of samples. The PortAudio
// callback (producer) never blocks or allocates: when the consumer falls
// behind, the samples that do not fit are dropped and counted as an overflow.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace deskline::drivers::audio {

template <typename Sample>
class SpscRing {
 public:
  // capacity is rounded up to a power of two.
  explicit SpscRing(std::size_t capacity) : buffer_(round_up(capacity)), mask_(buffer_.size() - 1) {}

  // Producer side. Returns how many samples were stored (the rest are dropped).
  std::size_t push(std::span<const Sample> samples) {
    const auto head = head_.load(std::memory_order_relaxed);
    const auto tail = tail_.load(std::memory_order_acquire);
    const std::size_t space = buffer_.size() - (head - tail);
    const std::size_t count = std::min(space, samples.size());
    for (std::size_t i = 0; i < count; ++i) buffer_[(head + i) & mask_] = samples[i];
    head_.store(head + count, std::memory_order_release);
    if (count < samples.size()) dropped_.fetch_add(samples.size() - count, std::memory_order_relaxed);
    return count;
  }

  // Consumer side. Returns how many samples were copied into out.
  std::size_t pop(std::span<Sample> out) {
    const auto tail = tail_.load(std::memory_order_relaxed);
    const auto head = head_.load(std::memory_order_acquire);
    const std::size_t count = std::min(head - tail, out.size());
    for (std::size_t i = 0; i < count; ++i) out[i] = buffer_[(tail + i) & mask_];
    tail_.store(tail + count, std::memory_order_release);
    return count;
  }

  // Producer side: samples dropped before push (e.g. to keep whole frames).
  void count_dropped(std::size_t samples) { dropped_.fetch_add(samples, std::memory_order_relaxed); }

  std::size_t size() const { return head_.load(std::memory_order_acquire) - tail_.load(std::memory_order_acquire); }
  std::size_t capacity() const { return buffer_.size(); }
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  static std::size_t round_up(std::size_t value) {
    std::size_t power = 1;
    while (power < value) power <<= 1;
    return power;
  }

  std::vector<Sample> buffer_;
  std::size_t mask_;
  alignas(64) std::atomic<std::size_t> head_{0};
  alignas(64) std::atomic<std::size_t> tail_{0};
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace deskline::drivers::audio
