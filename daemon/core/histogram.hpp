// Observations counted in fixed buckets, for /metrics (a Prometheus
// histogram). Not thread-safe: each histogram belongs to one thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace deskline::daemon {

class Histogram {
 public:
  // Upper bounds, ascending; one more bucket counts what is above the last.
  explicit Histogram(std::vector<double> upper_bounds)
      : upper_bounds_(std::move(upper_bounds)), counts_(upper_bounds_.size() + 1, 0) {}

  void observe(double value) {
    const auto bucket = std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin();
    ++counts_[static_cast<std::size_t>(bucket)];
    sum_ += value;
  }

  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  // Per bucket, not cumulative; the last is above every bound.
  const std::vector<std::uint64_t>& counts() const { return counts_; }
  double sum() const { return sum_; }

 private:
  std::vector<double> upper_bounds_;
  std::vector<std::uint64_t> counts_;
  double sum_ = 0;
};

// 50 µs to 1 s: a pop or a directory lookup takes well under a millisecond
// on an idle machine; the upper buckets show a stall.
inline std::vector<double> latency_buckets_s() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};
}

}  // namespace deskline::daemon
