#include "drivers/audio/capture_timeline.hpp"

#include <algorithm>
#include <limits>
#include <utility>

namespace deskline::drivers::audio {
namespace {

// Deliveries at more than this multiple of real time are a backlog being read.
constexpr double max_real_time_pace = 1.5;
// A watch that never sees real-time pace (its frames are held all along)
// decides anyway after this many watch_us.
constexpr std::int64_t max_watches = 3;

}  // namespace

std::string_view to_string(GapSource source) {
  switch (source) {
    case GapSource::box_report: return "box_report";
    case GapSource::input_overflow: return "input_overflow";
    case GapSource::estimated: return "estimated";
  }
  return "unknown";
}

std::optional<std::uint64_t> CaptureTimeline::Watch::loss_at() const {
  if (reported_at && overflow_at) return std::min(*reported_at, *overflow_at);
  return reported_at ? reported_at : overflow_at;
}

CaptureTimeline::CaptureTimeline(std::uint32_t rate_hz, GapRules rules) : rate_hz_(rate_hz), rules_(rules) {}

std::uint64_t CaptureTimeline::frame_at(HostTimeUs host_us) const {
  // Round up: the first frame sampled at or after host_us.
  return (clock_.to_device(host_us) * rate_hz_ + 999'999) / 1'000'000;
}

std::vector<Gap> CaptureTimeline::take_gaps() { return std::exchange(gaps_, {}); }

std::int64_t CaptureTimeline::excess_us(const Arrival& arrival) const {
  return arrival.at_us - clock_.to_host(frame_time_us(arrival.frames_end + gap_frames_));
}

void CaptureTimeline::arrived(const Arrival& arrival) {
  // The first delivery defines the time line.
  const bool suspect = clock_.synchronized() && (arrival.input_overflow || excess_us(arrival) >= rules_.late_us);
  if (!watch_ && suspect) watch_.emplace();
  if (!watch_) {
    settle(std::span(&arrival, 1), std::nullopt);
    return;
  }
  if (arrival.input_overflow && !watch_->overflow_at) watch_->overflow_at = arrival.frames_start();
  watch_->arrivals.push_back(arrival);
  decide();
}

void CaptureTimeline::loss_reported(HostTimeUs at_us) {
  if (!clock_.synchronized()) return;
  const std::uint64_t box_frame = frame_at(at_us);
  if (box_frame < last_gap_box_end_) return;  // inside or before a gap already placed
  const std::uint64_t at = std::max(box_frame - gap_frames_, settled_end_);
  if (!watch_) watch_.emplace();
  watch_->reported_at = std::min(at, watch_->reported_at.value_or(at));
}

void CaptureTimeline::decide() {
  const auto& arrivals = watch_->arrivals;
  const Arrival& last = arrivals.back();
  const auto known_loss = watch_->loss_at();
  const std::int64_t min_gap_us = known_loss ? rules_.min_reported_gap_us : rules_.min_unreported_gap_us;
  // Frames before a known loss are on time, so only those after it measure it.
  const std::uint64_t loss_not_before = known_loss.value_or(settled_end_);
  // A delivery after the loss that is barely late proves the loss negligible.
  if (last.frames_start() >= loss_not_before && excess_us(last) < min_gap_us) {
    settle(arrivals, std::nullopt);
    return;
  }
  const std::int64_t watched_us = last.at_us - arrivals.front().at_us;
  if (watched_us < rules_.watch_us) return;
  std::int64_t loss_us = std::numeric_limits<std::int64_t>::max();
  std::uint64_t quiet_frames = 0;
  for (auto it = arrivals.rbegin(); it != arrivals.rend() && it->at_us >= last.at_us - rules_.quiet_us; ++it) {
    if (it->frames_start() < loss_not_before) break;
    loss_us = std::min(loss_us, excess_us(*it));
    quiet_frames += it->frames;
  }
  if (quiet_frames == 0) return;  // nothing delivered after the reported loss yet
  const double quiet_pace = static_cast<double>(quiet_frames) * 1e6 / static_cast<double>(rules_.quiet_us) / rate_hz_;
  if (quiet_pace > max_real_time_pace && watched_us < max_watches * rules_.watch_us) return;
  settle(arrivals, loss_us >= min_gap_us ? gap_of(loss_us, loss_not_before) : std::nullopt);
}

std::optional<Gap> CaptureTimeline::gap_of(std::int64_t loss_us, std::uint64_t loss_not_before) const {
  Gap gap;
  gap.frames = static_cast<std::uint64_t>((loss_us * rate_hz_ + 500'000) / 1'000'000);
  if (gap.frames == 0) return std::nullopt;
  if (watch_->reported_at && watch_->reported_at == watch_->loss_at()) {
    gap.at_frame = *watch_->reported_at;
    gap.source = GapSource::box_report;
  } else if (watch_->overflow_at) {
    gap.at_frame = *watch_->overflow_at;
    gap.source = GapSource::input_overflow;
  } else {
    // The backlog before the loss came late by more than the loss, falling
    // towards it as it was read; the first delivery at the loss's excess is
    // the first after it.
    const auto& arrivals = watch_->arrivals;
    const auto first_after = std::find_if(arrivals.begin(), arrivals.end(), [&](const Arrival& arrival) {
      return arrival.frames_start() >= loss_not_before &&
             excess_us(arrival) <= loss_us + rules_.backlog_end_tolerance_us;
    });
    gap.at_frame = first_after->frames_start();
    gap.source = GapSource::estimated;
  }
  gap.box_frame = gap.at_frame + gap_frames_;
  return gap;
}

void CaptureTimeline::settle(std::span<const Arrival> arrivals, const std::optional<Gap>& gap) {
  const std::uint64_t gap_frames_before = gap_frames_;
  if (gap) {
    gap_frames_ += gap->frames;
    last_gap_box_end_ = gap->box_frame + gap->frames;
    gaps_.push_back(*gap);
  }
  for (const auto& arrival : arrivals) {
    const bool after_gap = gap && arrival.frames_end > gap->at_frame;
    const std::uint64_t box_end = arrival.frames_end + (after_gap ? gap_frames_ : gap_frames_before);
    clock_.sample(frame_time_us(box_end), arrival.at_us);
  }
  settled_end_ = arrivals.back().frames_end;
  watch_.reset();
}

}  // namespace deskline::drivers::audio
