#include "drivers/clock_offset.hpp"

#include <algorithm>

namespace deskline::drivers {

void ClockOffset::sample(DeviceTimeUs device_time_us, HostTimeUs host_time_us) {
  const std::int64_t observed = host_time_us - static_cast<std::int64_t>(device_time_us);
  if (!synchronized_.load(std::memory_order_relaxed) || device_time_us + max_reorder_us < last_sample_us_) {
    // First sample, or the device restarted its clock.
    offset_us_.store(observed, std::memory_order_relaxed);
    synchronized_.store(true, std::memory_order_release);
  } else if (device_time_us < last_sample_us_) {
    // Stamped before the newest sample: no drift allowance, only a better delay.
    offset_us_.store(std::min(offset_us_.load(std::memory_order_relaxed), observed), std::memory_order_release);
    return;
  } else {
    const auto elapsed_us = static_cast<double>(device_time_us - last_sample_us_);
    const auto allowed_rise = static_cast<std::int64_t>(elapsed_us * max_drift);
    offset_us_.store(std::min(offset_us_.load(std::memory_order_relaxed) + allowed_rise, observed),
                     std::memory_order_release);
  }
  last_sample_us_ = device_time_us;
}

std::int64_t ClockOffset::offset_us() const {
  return synchronized() ? offset_us_.load(std::memory_order_acquire) : 0;
}

HostTimeUs ClockOffset::to_host(DeviceTimeUs device_time_us) const {
  return static_cast<HostTimeUs>(device_time_us) + offset_us();
}

DeviceTimeUs ClockOffset::to_device(HostTimeUs host_time_us) const {
  const std::int64_t device = host_time_us - offset_us();
  return device < 0 ? 0 : static_cast<DeviceTimeUs>(device);
}

}  // namespace deskline::drivers
