// Maps a box's own clock to host wall-clock time. Every report carries box
// time; its host arrival time is box time + true offset + a positive delay
// (USB polling, scheduling). The smallest observed (host - box) is the best
// offset estimate; it may only creep upwards slowly, to follow crystal drift
// without ever following a delay spike. Durations come from box times alone.
#pragma once

#include <optional>

#include "drivers/line_box.hpp"

namespace deskline::daemon {

class BoxClock {
 public:
  // Crystal tolerance plus margin: 500 ppm.
  static constexpr double max_drift = 500e-6;

  void sample(drivers::BoxTimeUs box_time_us, drivers::HostTimeUs host_time_us);
  void reset() { offset_us_.reset(); }
  bool synchronized() const { return offset_us_.has_value(); }

  drivers::HostTimeUs to_host(drivers::BoxTimeUs box_time_us) const;
  drivers::BoxTimeUs to_box(drivers::HostTimeUs host_time_us) const;

 private:
  std::optional<std::int64_t> offset_us_;
  drivers::BoxTimeUs last_sample_box_us_ = 0;
};

}  // namespace deskline::daemon
