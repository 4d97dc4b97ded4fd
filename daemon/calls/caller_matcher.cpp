#include "daemon/calls/caller_matcher.hpp"

namespace deskline::daemon {
namespace {

// Caller ID comes at most a few seconds before the first ring; older
// prepared lookups are of calls that never started, and the directory may
// have changed since.
constexpr auto prepared_lifetime = std::chrono::seconds(10);
constexpr std::size_t max_prepared = 64;  // a flood of caller IDs without rings

}  // namespace

CallerMatch CallerMatcher::look_up(const std::string& number) const {
  auto match = lookup_ ? lookup_(number) : CallerMatch{};
  if (match.display.empty()) match.display = number;
  return match;
}

CallerMatch CallerMatcher::match(const std::string& number) {
  if (auto prepared = prepared_.find(number); prepared != prepared_.end()) {
    const bool fresh = std::chrono::steady_clock::now() - prepared->second.heard < prepared_lifetime;
    auto match = std::move(prepared->second.match);
    prepared_.erase(prepared);
    if (fresh) return match;
  }
  return look_up(number);
}

void CallerMatcher::prepare(const std::string& number) {
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(prepared_, [&](const auto& entry) { return now - entry.second.heard >= prepared_lifetime; });
  if (prepared_.size() >= max_prepared) return;
  prepared_[number] = {look_up(number), now};
}

}  // namespace deskline::daemon
