// Maps a device's own clock (a box's report timestamps, a sound card's frame
// count) to host wall-clock time. Whatever the device stamps reaches the host
// at device time + true offset + a positive delay (USB polling, scheduling,
// audio buffering). The smallest observed (host - device) is the best offset
// estimate; it may only creep upwards slowly, to follow crystal drift without
// ever following a delay spike. Durations come from device times alone.
//
// Threading: sample() and reset() from one thread at a time; the mappings may
// be read from any thread meanwhile (the audio capture samples on PortAudio's
// thread and the media worker maps frames on its own).
#pragma once

#include <atomic>
#include <cstdint>

#include "drivers/line_box.hpp"

namespace deskline::drivers {

// Microseconds from the device's own origin (power-up, start of a stream).
using DeviceTimeUs = BoxTimeUs;

class ClockOffset {
 public:
  // Crystal tolerance plus margin: 500 ppm.
  static constexpr double max_drift = 500e-6;
  static constexpr DeviceTimeUs max_reorder_us = 60'000'000;

  // Something stamped at device_time_us reached the host at host_time_us.
  // Reports may be stamped up to a detection delay before the previous one
  // (x800.md 8.3: a DTMF digit is stamped at its start); such a sample only
  // ever lowers the offset. A device time more than max_reorder_us before
  // the newest means the device restarted its clock: the mapping starts
  // again from this sample.
  void sample(DeviceTimeUs device_time_us, HostTimeUs host_time_us);
  void reset() { synchronized_.store(false, std::memory_order_release); }
  bool synchronized() const { return synchronized_.load(std::memory_order_acquire); }

  // Before the first sample the offset is 0.
  HostTimeUs to_host(DeviceTimeUs device_time_us) const;
  // Host times before the device's origin clamp to 0.
  DeviceTimeUs to_device(HostTimeUs host_time_us) const;

 private:
  std::int64_t offset_us() const;

  std::atomic<std::int64_t> offset_us_{0};  // host - device
  std::atomic<bool> synchronized_{false};
  DeviceTimeUs last_sample_us_ = 0;  // sampling side only
};

}  // namespace deskline::drivers
