// Calls, recordings and a time zone shared by the tests of their JSON
// (call_json_test) and of the CLI's tables (cli_tables_test).
#pragma once

#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>

#include "daemon/domain/call.hpp"

namespace deskline::daemon::testing_support {

// 2026-11-27T05:45:02Z = 13:45:02 in Shanghai.
inline constexpr WallTimeUs base = 1'795'758'302LL * 1'000'000;

// Sets TZ for one test and puts the old value back.
class TimeZone {
 public:
  explicit TimeZone(const char* zone) {
    if (const char* old = std::getenv("TZ")) old_ = old;
    ::setenv("TZ", zone, 1);
    ::tzset();
  }
  ~TimeZone() {
    if (old_)
      ::setenv("TZ", old_->c_str(), 1);
    else
      ::unsetenv("TZ");
    ::tzset();
  }

 private:
  std::optional<std::string> old_;
};

inline CallRecord answered_inbound() {
  CallRecord call;
  call.id = "0b5e0c6e-1111-4c3a-9a51-000000000001";
  call.line = "Sales 1";
  call.box = "X800-0001";
  call.port = 1;
  call.direction = Direction::inbound;
  call.user = "Li Na";
  call.number = "13812345678";
  call.name = "LI NA";
  call.match = {"+8613812345678", "138 1234 5678", {{"c-42", "Zhang Wei", "Acme", "https://crm/c/42"}, {"c-7", "Wang Fang", "", ""}}};
  call.state = CallState::ended;
  call.outcome = Outcome::answered;
  call.end_reason = EndReason::on_hook;
  call.started_at = base + 125'000;
  call.answered_at = base + 7'625'000;
  call.ended_at = base + 65'375'000;
  return call;
}

inline RecordingRecord complete_recording() {
  RecordingRecord recording;
  recording.call_id = "0b5e0c6e-1111-4c3a-9a51-000000000001";
  recording.path = "/var/lib/deskline/recordings/2026/11/27/0b5e0c6e-1111-4c3a-9a51-000000000001.opus";
  recording.state = RecordingState::complete;
  recording.started_at = base + 7'625'000;
  recording.duration_s = 57.75;
  recording.bytes = 118'272;
  recording.sha256 = std::string(64, 'a');
  return recording;
}

}  // namespace deskline::daemon::testing_support
