#include "drivers/clock_offset.hpp"

#include <gtest/gtest.h>

namespace deskline::drivers {
namespace {

constexpr std::int64_t epoch = 1'795'000'000'000'000;  // some wall-clock microsecond

TEST(ClockOffset, FirstSampleDefinesTheOffset) {
  ClockOffset clock;
  EXPECT_FALSE(clock.synchronized());
  clock.sample(1'000'000, epoch + 1'000'000 + 700);
  EXPECT_TRUE(clock.synchronized());
  EXPECT_EQ(clock.to_host(1'000'000), epoch + 1'000'700);
  EXPECT_EQ(clock.to_device(epoch + 1'000'700), 1'000'000u);
}

TEST(ClockOffset, SmallestDelayWinsSoJitterNeverMovesTimes) {
  ClockOffset clock;
  clock.sample(0, epoch + 5'000);       // delayed 5 ms
  clock.sample(20'000, epoch + 20'300);  // delayed 0.3 ms: better estimate
  clock.sample(40'000, epoch + 48'000);  // a delay spike of 8 ms
  EXPECT_EQ(clock.to_host(40'000), epoch + 40'300 + 10);  // rose by drift allowance only (20 ms * 500 ppm)
}

TEST(ClockOffset, FollowsSlowDriftUpwards) {
  ClockOffset clock;
  clock.sample(0, epoch);
  // The box runs 100 ppm slow: after 1000 s the host sees 100 ms more.
  clock.sample(1'000'000'000, epoch + 1'000'100'000);
  EXPECT_EQ(clock.to_host(1'000'000'000), epoch + 1'000'100'000);
}

TEST(ClockOffset, DeviceRestartResetsTheMapping) {
  ClockOffset clock;
  clock.sample(900'000'000, epoch);
  clock.sample(1'000, epoch + 10'000'000);  // re-plugged: clock starts again
  EXPECT_EQ(clock.to_host(1'000), epoch + 10'000'000);
}

TEST(ClockOffset, ReportsStampedBeforeTheNewestDoNotMoveTheMapping) {
  ClockOffset clock;
  clock.sample(10'000'000, epoch + 10'000'000);
  // A DTMF digit of 400 ms stamped at its start, reported at its end.
  clock.sample(9'600'000, epoch + 10'000'500);
  EXPECT_EQ(clock.to_host(10'000'000), epoch + 10'000'000);
  // Still a better delay when it shows one.
  clock.sample(9'700'000, epoch + 9'699'000);
  EXPECT_EQ(clock.to_host(10'000'000), epoch + 9'999'000);
}

TEST(ClockOffset, ResetForgetsTheOffset) {
  ClockOffset clock;
  clock.sample(1'000, epoch);
  clock.reset();
  EXPECT_FALSE(clock.synchronized());
  EXPECT_EQ(clock.to_host(1'000), 1'000);  // no offset known: device time as is
  clock.sample(5'000, epoch + 20'000);  // a later sample than before, still taken whole
  EXPECT_EQ(clock.to_host(5'000), epoch + 20'000);
}

TEST(ClockOffset, HostTimesBeforeThePowerUpClampToZero) {
  ClockOffset clock;
  clock.sample(1'000, epoch);
  EXPECT_EQ(clock.to_device(epoch - 10'000), 0u);
}

}  // namespace
}  // namespace deskline::drivers
