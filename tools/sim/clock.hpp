// Clocks of the simulator. Scheduling uses CLOCK_MONOTONIC nanoseconds; the
// trace also carries CLOCK_REALTIME seconds so tests can line it up with the
// child's own logs.
#pragma once

#include <cstdint>
#include <ctime>

namespace deskline::sim {

using Nanoseconds = std::int64_t;
inline constexpr Nanoseconds nanoseconds_per_second = 1'000'000'000;

inline Nanoseconds monotonic_ns() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<Nanoseconds>(now.tv_sec) * nanoseconds_per_second + now.tv_nsec;
}

inline double realtime_s() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec / 1000) * 1e-6;
}

// Sleeps until an absolute monotonic time; returns early only on a signal.
inline void sleep_until_ns(Nanoseconds deadline) {
  timespec when{};
  when.tv_sec = static_cast<time_t>(deadline / nanoseconds_per_second);
  when.tv_nsec = static_cast<long>(deadline % nanoseconds_per_second);
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &when, nullptr);
}

}  // namespace deskline::sim
