// The directory's answer for a call's number, asked once per number and kept
// with the call (CallRecord::match). Caller ID usually comes before the first
// ring: the lookup is done then, so the ring's pop does not wait for it.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "daemon/domain/call.hpp"

namespace deskline::daemon {

// The directory's lookup of a number as received (bound to the directory by
// the app); what it gives is used as is, except that an empty display becomes
// the number as received.
using NumberLookup = std::function<CallerMatch(const std::string& raw_number)>;

class CallerMatcher {
 public:
  explicit CallerMatcher(NumberLookup lookup = {}) : lookup_(std::move(lookup)) {}

  // The match for a call's number: prepared earlier if it was heard recently.
  CallerMatch match(const std::string& number);
  // Caller ID heard on an idle line: looked up now, for the call to come.
  void prepare(const std::string& number);

 private:
  struct Prepared {
    CallerMatch match;
    std::chrono::steady_clock::time_point heard;
  };
  CallerMatch look_up(const std::string& number) const;

  NumberLookup lookup_;
  std::map<std::string, Prepared> prepared_;  // by number
};

}  // namespace deskline::daemon
