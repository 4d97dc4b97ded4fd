// Places a capture's frames on the box's time line (x800.md 3: frame k is the
// sample at box time k / rate), from when each delivery reached the host.
//
// A delivery arrives at its box time + a fixed offset + a positive delay
// (ClockOffset). A stall of the host only delays deliveries for a while: the
// backlog is read in a burst and the delay drops back. Frames lost before
// they reached the host (the box dropped them, or the host's buffer overran)
// leave a lasting excess: every later delivery counts L fewer frames than the
// box produced, so it looks L late for good. So a late delivery starts a
// watch; its frames are held until the watch either sees the delay drop back
// (no loss) or sees a lasting excess, which is taken as a gap of that length.
// The gap goes where the box reported the loss (audio_overrun), before a
// delivery PortAudio flagged as an input overflow, or, with neither, where the
// backlog ends (the newest audio is what a full buffer drops).
//
// Pure: deliveries and reports are data, so tests drive it with synthetic
// times. One thread (the capture's consumer) uses it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "drivers/clock_offset.hpp"

namespace deskline::drivers::audio {

// One delivery of frames (a PortAudio callback) as it reached the host.
struct Arrival {
  std::uint64_t frames_end = 0;  // frames delivered so far, these included
  std::uint32_t frames = 0;      // in this delivery
  HostTimeUs at_us = 0;
  bool input_overflow = false;  // the host lost frames just before these (paInputOverflow)

  std::uint64_t frames_start() const { return frames_end - frames; }
};

// How a gap was placed.
enum class GapSource { box_report, input_overflow, estimated };
std::string_view to_string(GapSource source);

struct Gap {
  std::uint64_t at_frame = 0;   // frames delivered before the gap
  std::uint64_t box_frame = 0;  // the first lost frame on the box's time line
  std::uint64_t frames = 0;     // lost
  GapSource source = GapSource::estimated;
};

struct GapRules {
  // A delivery this much later than the time line expects starts a watch;
  // scheduling jitter stays far below it.
  std::int64_t late_us = 100'000;
  // The smallest loss taken from lateness alone: below it, lateness is load.
  std::int64_t min_unreported_gap_us = 20'000;
  // The smallest loss placed when the box or PortAudio said audio was lost.
  std::int64_t min_reported_gap_us = 2'000;
  // A watch decides once it has seen deliveries for this long...
  std::int64_t watch_us = 1'000'000;
  // ...the last quiet_us of them at real-time pace (the backlog is read):
  // their smallest excess is the loss.
  std::int64_t quiet_us = 500'000;
  // Unreported, the gap goes before the first delivery this close to the
  // loss's excess: where the backlog ends.
  std::int64_t backlog_end_tolerance_us = 5'000;
};

class CaptureTimeline {
 public:
  explicit CaptureTimeline(std::uint32_t rate_hz, GapRules rules = {});

  void arrived(const Arrival& arrival);
  // The box reported audio lost at host time at_us (mapped from its box time).
  void loss_reported(HostTimeUs at_us);

  // Delivered frames [0, settled_end()) have their place on the box's time
  // line; later ones are held until the watch decides.
  std::uint64_t settled_end() const { return settled_end_; }
  // Gaps decided since the last call, in order.
  std::vector<Gap> take_gaps();

  bool known() const { return clock_.synchronized(); }
  // Host time of a frame of the box's time line.
  HostTimeUs host_time_us(std::uint64_t box_frame) const { return clock_.to_host(frame_time_us(box_frame)); }
  // The first box frame sampled at or after host time host_us (clamped at 0).
  std::uint64_t frame_at(HostTimeUs host_us) const;

 private:
  struct Watch {
    std::vector<Arrival> arrivals;
    std::optional<std::uint64_t> reported_at;  // delivered frames before the earliest reported loss
    std::optional<std::uint64_t> overflow_at;
    std::optional<std::uint64_t> loss_at() const;
  };

  DeviceTimeUs frame_time_us(std::uint64_t box_frame) const { return box_frame * 1'000'000 / rate_hz_; }
  // How much later than the time line expects a delivery came.
  std::int64_t excess_us(const Arrival& arrival) const;
  void decide();
  std::optional<Gap> gap_of(std::int64_t loss_us, std::uint64_t loss_not_before) const;
  void settle(std::span<const Arrival> arrivals, const std::optional<Gap>& gap);

  std::uint32_t rate_hz_;
  GapRules rules_;
  ClockOffset clock_;  // box frame time -> host time, fed with settled deliveries
  std::uint64_t settled_end_ = 0;
  std::uint64_t gap_frames_ = 0;        // all gaps so far: box frame = delivered frame + this
  std::uint64_t last_gap_box_end_ = 0;  // a report before this is of a loss already placed
  std::optional<Watch> watch_;
  std::vector<Gap> gaps_;
};

}  // namespace deskline::drivers::audio
