#include "daemon/crm/retry_policy.hpp"

#include <algorithm>
#include <memory>
#include <random>

#include "proto/retry_after.hpp"

namespace deskline::daemon {

std::string_view to_string(RetryVerdict verdict) {
  switch (verdict) {
    case RetryVerdict::done: return "done";
    case RetryVerdict::retry: return "retry";
    case RetryVerdict::park: return "park";
  }
  return "unknown";
}

RetryPolicy::RetryPolicy(RetrySettings settings, UniformSource uniform)
    : settings_(settings), uniform_(std::move(uniform)) {
  if (!uniform_) {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    uniform_ = [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
  }
}

RetryVerdict RetryPolicy::classify(const AttemptOutcome& outcome) {
  if (outcome.transport_error) return RetryVerdict::retry;
  const unsigned status = outcome.status;
  if (status >= 200 && status <= 299) return RetryVerdict::done;
  if (status == 408 || status == 429 || (status >= 500 && status <= 599)) return RetryVerdict::retry;
  return RetryVerdict::park;
}

std::chrono::milliseconds RetryPolicy::backoff(unsigned failures) {
  using std::chrono::milliseconds;
  // first_delay * 2^(failures-1) without overflow: stop doubling at the cap.
  milliseconds ceiling = settings_.first_delay;
  for (unsigned i = 1; i < failures && ceiling < settings_.max_backoff; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, settings_.max_backoff);
  const double fraction = std::clamp(uniform_(), 0.0, 1.0);
  return milliseconds(static_cast<milliseconds::rep>(fraction * static_cast<double>(ceiling.count())));
}

RetryDecision RetryPolicy::decide(const AttemptOutcome& outcome, unsigned failures, std::int64_t now_unix_s) {
  RetryDecision decision;
  decision.verdict = classify(outcome);
  if (decision.verdict != RetryVerdict::retry) return decision;
  decision.delay = backoff(std::max(failures, 1u));
  if (outcome.transport_error || outcome.retry_after.empty()) return decision;
  const auto retry_after = proto::http::parse_retry_after(outcome.retry_after, now_unix_s);
  if (!retry_after) return decision;  // an unreadable Retry-After is as good as none
  const auto asked = std::min<std::chrono::milliseconds>(std::chrono::seconds(*retry_after.delay_s),
                                                         settings_.max_retry_after);
  if (asked >= decision.delay) {
    decision.delay = asked;
    decision.honoured_retry_after = true;
  }
  return decision;
}

}  // namespace deskline::daemon
