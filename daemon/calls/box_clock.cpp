#include "daemon/calls/box_clock.hpp"

#include <algorithm>

namespace deskline::daemon {

void BoxClock::sample(drivers::BoxTimeUs box_time_us, drivers::HostTimeUs host_time_us) {
  const std::int64_t observed = host_time_us - static_cast<std::int64_t>(box_time_us);
  if (!offset_us_ || box_time_us < last_sample_box_us_) {
    offset_us_ = observed;  // first sample, or the box restarted its clock
  } else {
    const auto elapsed = static_cast<double>(box_time_us - last_sample_box_us_);
    const auto allowed_rise = static_cast<std::int64_t>(elapsed * max_drift);
    offset_us_ = std::min(*offset_us_ + allowed_rise, observed);
  }
  last_sample_box_us_ = box_time_us;
}

drivers::HostTimeUs BoxClock::to_host(drivers::BoxTimeUs box_time_us) const {
  return static_cast<drivers::HostTimeUs>(box_time_us) + offset_us_.value_or(0);
}

drivers::BoxTimeUs BoxClock::to_box(drivers::HostTimeUs host_time_us) const {
  const std::int64_t box = host_time_us - offset_us_.value_or(0);
  return box < 0 ? 0 : static_cast<drivers::BoxTimeUs>(box);
}

}  // namespace deskline::daemon
