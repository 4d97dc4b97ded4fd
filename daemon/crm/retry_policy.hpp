// What to do after one attempt to deliver something to the CRM, and when to
// try again (proto/crm.md "Errors and retries"). Pure: the caller passes the
// attempt's outcome, the number of failures so far and the time, and the
// random source is injected, so tests choose the jitter.
//
//   2xx                            done
//   408, 429, 5xx, transport error retry: exponential backoff with full
//                                  jitter, 1 s doubling to 5 min; a
//                                  Retry-After is honoured (capped at 1 h)
//   other 1xx, 3xx, 4xx            park (a person looks; `deskline sync retry`)
//
// Exceptions that need the answer's body (404 unknown_call on an upload, a
// digest that does not match) are the sync service's to decide.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>
#include <system_error>

namespace deskline::daemon {

enum class RetryVerdict { done, retry, park };
std::string_view to_string(RetryVerdict verdict);

// The outcome of one attempt: a transport error, or an HTTP status (with the
// answer's Retry-After header, "" when it had none).
struct AttemptOutcome {
  std::error_code transport_error;
  unsigned status = 0;
  std::string_view retry_after;
};

struct RetryDecision {
  RetryVerdict verdict = RetryVerdict::done;
  std::chrono::milliseconds delay{0};  // for retry: how long to wait before the next attempt
  bool honoured_retry_after = false;   // the delay came from the server's Retry-After
};

struct RetrySettings {
  std::chrono::milliseconds first_delay{1000};
  std::chrono::milliseconds max_backoff{5 * 60 * 1000};
  std::chrono::milliseconds max_retry_after{60 * 60 * 1000};
};

class RetryPolicy {
 public:
  // Returns a uniformly distributed value in [0, 1).
  using UniformSource = std::function<double()>;

  // A default-constructed policy draws its jitter from a seeded std::mt19937_64.
  explicit RetryPolicy(RetrySettings settings = {}, UniformSource uniform = {});

  static RetryVerdict classify(const AttemptOutcome& outcome);

  // failures counts the failed attempts so far including this one (1 after
  // the first failure). The backoff ceiling is first_delay * 2^(failures-1),
  // at most max_backoff, and the delay is drawn uniformly below it ("full
  // jitter": retries of many items spread out instead of marching in step).
  // A parseable Retry-After (seconds or an HTTP date, seen from now_unix_s)
  // is a floor, at most max_retry_after: the retry never comes earlier than
  // the server asked, and a "Retry-After: 0" still backs off.
  RetryDecision decide(const AttemptOutcome& outcome, unsigned failures, std::int64_t now_unix_s);

  // The jittered backoff alone (decide() without a Retry-After).
  std::chrono::milliseconds backoff(unsigned failures);

 private:
  RetrySettings settings_;
  UniformSource uniform_;
};

}  // namespace deskline::daemon
