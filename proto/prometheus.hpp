// The Prometheus text exposition format (version 0.0.4): pure encoding of
// metric families and their samples, for GET /metrics (proto/http.md).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace deskline::proto::prometheus {

using Labels = std::vector<std::pair<std::string, std::string>>;

enum class Type { counter, gauge, histogram };

class Exposition {
 public:
  // Starts a family: its HELP and TYPE lines. Its samples follow.
  void family(std::string_view name, Type type, std::string_view help);
  // One sample of the family begun last (name may carry a suffix: _total).
  void sample(std::string_view name, const Labels& labels, double value);
  // A histogram's samples: cumulative _bucket lines (le="+Inf" last), _sum
  // and _count. counts are per bucket, one more than bounds (the last is
  // above every bound).
  void histogram(std::string_view name, const Labels& labels, std::span<const double> bounds,
                 std::span<const std::uint64_t> counts, double sum);
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// A label value with backslash, double quote and newline escaped.
std::string escape_label_value(std::string_view value);
// A sample value: integers without a decimal point, others in the shortest
// form that reads back the same, +Inf, -Inf and NaN as the format spells them.
std::string format_value(double value);

}  // namespace deskline::proto::prometheus
