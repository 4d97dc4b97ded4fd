#include "drivers/audio/capture_timeline.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <random>

namespace deskline::drivers::audio {
namespace {

constexpr std::int64_t epoch = 1'795'000'000'000'000;  // host time of box time 0
constexpr std::uint32_t rate = 8000;
constexpr std::uint32_t chunk = 160;  // frames per delivery: 20 ms
constexpr std::int64_t chunk_us = 20'000;
constexpr std::int64_t floor_delay_us = 1'000;  // the smallest delivery delay
constexpr std::uint64_t one_ms = rate / 1000;  // frames

Arrival arrival(std::uint64_t frames_end, std::int64_t at_us, bool overflow = false) {
  return {frames_end, chunk, epoch + at_us, overflow};
}

TEST(CaptureTimeline, MapsFramesToHostTimeThroughTheSmallestDelay) {
  CaptureTimeline timeline(8000);
  EXPECT_FALSE(timeline.known());
  timeline.arrived(arrival(160, 20'000 + 4'000));  // 20 ms of audio, delivered 4 ms late
  ASSERT_TRUE(timeline.known());
  EXPECT_EQ(timeline.host_time_us(0), epoch + 4'000);
  timeline.arrived(arrival(320, 40'000 + 1'000));  // delivered 1 ms late: better estimate
  EXPECT_EQ(timeline.host_time_us(0), epoch + 1'000);
  EXPECT_EQ(timeline.host_time_us(8000), epoch + 1'001'000);
  timeline.arrived(arrival(480, 60'000 + 9'000));  // a late delivery moves nothing but drift (20 ms * 500 ppm)
  EXPECT_EQ(timeline.host_time_us(0), epoch + 1'010);
  EXPECT_EQ(timeline.settled_end(), 480u);
  EXPECT_TRUE(timeline.take_gaps().empty());
}

TEST(CaptureTimeline, FrameAtRoundsUpToTheFirstFrameAtOrAfterAHostTime) {
  CaptureTimeline timeline(16000);
  timeline.arrived({320, 320, epoch + 20'000, false});  // frame 0 at epoch; a frame every 62.5 us
  EXPECT_EQ(timeline.frame_at(epoch), 0u);
  EXPECT_EQ(timeline.frame_at(epoch + 1), 1u);
  EXPECT_EQ(timeline.frame_at(epoch + 62), 1u);
  EXPECT_EQ(timeline.frame_at(epoch + 63), 2u);
  EXPECT_EQ(timeline.frame_at(epoch + 1'000'000), 16000u);
  EXPECT_EQ(timeline.frame_at(epoch - 5'000), 0u) << "before the stream started";
  EXPECT_EQ(timeline.host_time_us(timeline.frame_at(epoch + 500'000)), epoch + 500'000);
}

// A box streaming 20 ms deliveries to a host that may stop reading. While
// the host is stopped the box buffers up to buffer_us of audio and drops
// what comes after (the newest audio, as a full FIFO or USB buffer does);
// the backlog is read in a burst when the host resumes.
struct Stall {
  std::int64_t start_us;   // box time
  std::int64_t length_us;
  std::int64_t buffer_us = 500'000;
};

struct Loss {
  std::uint64_t at_frame = 0;   // frames delivered before it
  std::uint64_t box_frame = 0;  // first lost frame
  std::uint64_t frames = 0;
};

struct Stream {
  explicit Stream(std::vector<Stall> host_stalls = {}) : stalls(std::move(host_stalls)) {}

  std::vector<Stall> stalls;
  std::function<std::int64_t(std::size_t)> delay_us = [](std::size_t) { return floor_delay_us; };
  bool overflow_flag = false;  // PortAudio flags the first delivery after a loss

  std::vector<Arrival> arrivals;
  std::vector<Loss> losses;

  void play(std::int64_t duration_us) {
    std::uint64_t delivered = 0;
    std::int64_t previous_at = 0;
    bool lost_before = false;
    for (std::size_t index = 0; static_cast<std::int64_t>(index + 1) * chunk_us <= duration_us; ++index) {
      const std::int64_t produced = static_cast<std::int64_t>(index + 1) * chunk_us;
      std::int64_t at = produced + delay_us(index);
      bool lost = false;
      for (const auto& stall : stalls) {
        if (produced <= stall.start_us || produced > stall.start_us + stall.length_us) continue;
        if (produced - stall.start_us > stall.buffer_us) lost = true;
        else at = stall.start_us + stall.length_us + (produced - stall.start_us) / 200;  // the burst
      }
      if (lost) {
        if (!lost_before) losses.push_back({delivered, index * chunk, 0});
        losses.back().frames += chunk;
        lost_before = true;
        continue;
      }
      at = std::max(at, previous_at);  // read in order
      previous_at = at;
      delivered += chunk;
      arrivals.push_back({delivered, chunk, epoch + at, overflow_flag && lost_before});
      lost_before = false;
    }
  }
};

// Feeds every delivery; report_losses: the box's audio_overrun reports reach
// the timeline with the first delivery after each loss.
std::vector<Gap> feed(CaptureTimeline& timeline, const Stream& stream, bool report_losses = false) {
  std::size_t next_loss = 0;
  for (const auto& arrival : stream.arrivals) {
    while (report_losses && next_loss < stream.losses.size() &&
           stream.losses[next_loss].at_frame < arrival.frames_end) {
      const auto& loss = stream.losses[next_loss++];
      timeline.loss_reported(epoch + floor_delay_us + static_cast<std::int64_t>(loss.box_frame * 1'000'000 / rate));
    }
    timeline.arrived(arrival);
  }
  return timeline.take_gaps();
}

// After the gaps, later frames land at their true box time.
void expect_on_box_time(const CaptureTimeline& timeline, std::uint64_t box_frame) {
  const std::int64_t true_host_us = epoch + floor_delay_us + static_cast<std::int64_t>(box_frame * 1'000'000 / rate);
  EXPECT_NEAR(static_cast<double>(timeline.host_time_us(box_frame)), static_cast<double>(true_host_us), 1'000)
      << "frame " << box_frame;
}

TEST(CaptureTimeline, AStallWithoutLossLeavesNoGap) {
  Stream stream;
  stream.stalls = {{5'000'000, 400'000}};  // shorter than the box's buffer
  stream.play(10'000'000);
  ASSERT_TRUE(stream.losses.empty());
  CaptureTimeline timeline(rate);
  EXPECT_TRUE(feed(timeline, stream).empty());
  EXPECT_EQ(timeline.settled_end(), stream.arrivals.back().frames_end);
  expect_on_box_time(timeline, 9 * rate);
}

TEST(CaptureTimeline, ALossLeavesAGapOfItsLengthWhereTheBacklogEnds) {
  Stream stream({{5'000'000, 2'600'000}});
  stream.play(12'000'000);
  ASSERT_EQ(stream.losses.size(), 1u);
  const auto loss = stream.losses[0];
  EXPECT_EQ(loss.frames, 2'100 * one_ms);
  CaptureTimeline timeline(rate);
  const auto gaps = feed(timeline, stream);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_NEAR(static_cast<double>(gaps[0].frames), static_cast<double>(loss.frames), one_ms);
  EXPECT_NEAR(static_cast<double>(gaps[0].at_frame), static_cast<double>(loss.at_frame), chunk);
  EXPECT_EQ(gaps[0].box_frame, gaps[0].at_frame);
  EXPECT_EQ(gaps[0].source, GapSource::estimated);
  expect_on_box_time(timeline, 11 * rate);
}

TEST(CaptureTimeline, ALossUnderDeliveryJitterIsMeasuredToAMillisecond) {
  std::mt19937 random(11);
  std::uniform_int_distribution<std::int64_t> jitter(0, 5'000);
  Stream stream({{5'000'000, 2'600'000}});
  stream.delay_us = [&](std::size_t) { return floor_delay_us + jitter(random); };
  stream.play(12'000'000);
  ASSERT_EQ(stream.losses.size(), 1u);
  CaptureTimeline timeline(rate);
  const auto gaps = feed(timeline, stream, true);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_NEAR(static_cast<double>(gaps[0].frames), static_cast<double>(stream.losses[0].frames), one_ms);
  EXPECT_NEAR(static_cast<double>(gaps[0].at_frame), static_cast<double>(stream.losses[0].at_frame), one_ms);
}

TEST(CaptureTimeline, AReportedLossIsPlacedAtTheReportedTime) {
  Stream stream({{5'000'000, 3'000'000}});
  stream.play(12'000'000);
  ASSERT_EQ(stream.losses.size(), 1u);
  CaptureTimeline timeline(rate);
  const auto gaps = feed(timeline, stream, true);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].source, GapSource::box_report);
  EXPECT_NEAR(static_cast<double>(gaps[0].at_frame), static_cast<double>(stream.losses[0].at_frame), one_ms);
  EXPECT_NEAR(static_cast<double>(gaps[0].frames), static_cast<double>(stream.losses[0].frames), one_ms);
  expect_on_box_time(timeline, 11 * rate);
}

TEST(CaptureTimeline, HoldsTheFramesOfAWatchUntilItDecides) {
  Stream stream({{5'000'000, 3'000'000}});
  stream.play(12'000'000);
  CaptureTimeline timeline(rate);
  std::uint64_t settled_before_stall = 0;
  for (const auto& arrival : stream.arrivals) {
    timeline.arrived(arrival);
    if (arrival.at_us < epoch + 8'000'000) {  // read before the host stopped
      settled_before_stall = timeline.settled_end();
      continue;
    }
    if (timeline.take_gaps().empty()) {
      EXPECT_EQ(timeline.settled_end(), settled_before_stall);
      continue;
    }
    // Decided after the watch, and everything delivered is then placed.
    EXPECT_LE(arrival.at_us - (epoch + 8'000'000), 1'100'000);
    EXPECT_EQ(timeline.settled_end(), arrival.frames_end);
    return;
  }
  FAIL() << "no gap";
}

TEST(CaptureTimeline, JitterAndDelaySpikesLeaveNoGap) {
  std::mt19937 random(7);
  std::uniform_int_distribution<std::int64_t> jitter(0, 60'000);
  Stream stream;
  stream.delay_us = [&](std::size_t index) {
    if (index % 97 == 50) return floor_delay_us + 180'000;  // the reader ran late
    return floor_delay_us + jitter(random);
  };
  stream.play(60'000'000);
  CaptureTimeline timeline(rate);
  EXPECT_TRUE(feed(timeline, stream).empty());
  EXPECT_EQ(timeline.settled_end(), stream.arrivals.back().frames_end);
}

TEST(CaptureTimeline, AnInputOverflowPlacesTheGapBeforeTheFlaggedDelivery) {
  // The host's own buffer overran: frames lost with no stall of the reader.
  Stream stream({{3'000'000, 300'000, 0}});
  stream.overflow_flag = true;
  stream.play(6'000'000);
  ASSERT_EQ(stream.losses.size(), 1u);
  CaptureTimeline timeline(rate);
  const auto gaps = feed(timeline, stream);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].source, GapSource::input_overflow);
  EXPECT_EQ(gaps[0].at_frame, stream.losses[0].at_frame);
  EXPECT_NEAR(static_cast<double>(gaps[0].frames), static_cast<double>(stream.losses[0].frames), one_ms);
  expect_on_box_time(timeline, 5 * rate);
}

TEST(CaptureTimeline, AnOverflowWithoutLossLeavesNoGap) {
  Stream stream;
  stream.play(2'000'000);
  stream.arrivals[50].input_overflow = true;
  CaptureTimeline timeline(rate);
  EXPECT_TRUE(feed(timeline, stream).empty());
  EXPECT_EQ(timeline.settled_end(), stream.arrivals.back().frames_end);
}

TEST(CaptureTimeline, ASmallReportedLossIsPlacedTooButNotAnUnreportedOne) {
  // One 20 ms delivery dropped without a stall: too small to look late.
  Stream stream({{3'000'000, 20'000, 0}});
  stream.play(6'000'000);
  ASSERT_EQ(stream.losses.size(), 1u);
  CaptureTimeline unreported(rate);
  EXPECT_TRUE(feed(unreported, stream).empty());
  CaptureTimeline reported(rate);
  const auto gaps = feed(reported, stream, true);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].frames, chunk);
  EXPECT_EQ(gaps[0].at_frame, stream.losses[0].at_frame);
  expect_on_box_time(reported, 5 * rate);
}

TEST(CaptureTimeline, RepeatedLossesEachLeaveTheirGap) {
  Stream stream({{4'000'000, 1'500'000}, {9'000'000, 3'000'000}, {15'000'000, 700'000}});
  stream.play(20'000'000);
  ASSERT_EQ(stream.losses.size(), 3u);
  for (const bool reported : {false, true}) {
    SCOPED_TRACE(reported ? "reported" : "estimated");
    CaptureTimeline timeline(rate);
    const auto gaps = feed(timeline, stream, reported);
    ASSERT_EQ(gaps.size(), 3u);
    std::uint64_t lost_before = 0;
    for (std::size_t i = 0; i < gaps.size(); ++i) {
      EXPECT_NEAR(static_cast<double>(gaps[i].frames), static_cast<double>(stream.losses[i].frames), one_ms);
      EXPECT_NEAR(static_cast<double>(gaps[i].box_frame), static_cast<double>(stream.losses[i].box_frame),
                  reported ? one_ms : chunk);
      EXPECT_NEAR(static_cast<double>(gaps[i].box_frame - gaps[i].at_frame), static_cast<double>(lost_before),
                  3 * one_ms);
      lost_before += stream.losses[i].frames;
    }
    expect_on_box_time(timeline, 19 * rate);
  }
}

TEST(CaptureTimeline, AReportOfALossAlreadyPlacedChangesNothing) {
  Stream stream({{5'000'000, 3'000'000}});
  stream.play(12'000'000);
  CaptureTimeline timeline(rate);
  ASSERT_EQ(feed(timeline, stream, true).size(), 1u);
  timeline.loss_reported(epoch + floor_delay_us + 5'600'000);  // the same loss, told again
  const auto settled = timeline.settled_end();
  timeline.arrived({settled + chunk, chunk, stream.arrivals.back().at_us + chunk_us, false});
  EXPECT_EQ(timeline.settled_end(), settled + chunk);
  EXPECT_TRUE(timeline.take_gaps().empty());
}

}  // namespace
}  // namespace deskline::drivers::audio
