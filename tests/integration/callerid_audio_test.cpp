// Caller ID, dialled digits and busy tone from line audio: the real desklined
// under deskline-sim with a box that decodes nothing itself (decode=no), so
// every number below can only have come from the daemon's own detectors.
#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/integration/harness.hpp"

namespace deskline::testing {
namespace {

// Times in the comments are scenario seconds.
constexpr const char* audio_only = R"(scenario version=1
box A serial=X800-CID-01 lines=4 rate=8000 decode=no model="X800-4"

# Port 1: Bell 202 MDMF between the 1st and 2nd ring (China), answered.
at 0.5  A:1 ring cadence=1.0/4.0 count=2
at 2.0  A:1 callerid number=13812345678 name="ZHANG WEI" via=bell202 format=mdmf datetime=11271345
at 6.0  A:1 offhook
at 8.0  A:1 onhook

# Port 2: V.23 SDMF between rings, never answered.
at 0.5  A:2 ring cadence=1.0/4.0 count=2
at 2.0  A:2 callerid number=02161234567 via=v23 format=sdmf

# Port 3: DTMF caller ID before the ring (China A...C); answered; the far end
# hangs up at 8.0 and the exchange plays busy tone while the handset stays up.
at 0.5  A:3 callerid number=075523456789 via=dtmf dtmf_style=china
at 4.0  A:3 ring cadence=1.0/4.0 count=2
at 5.5  A:3 offhook
at 8.0  A:3 play busy duration=4
at 13.0 A:3 onhook

# Port 4: an outbound call dialled with DTMF tones on the line.
at 1.0  A:4 offhook
at 1.5  A:4 dial digits=01062345678 via=dtmf tone_ms=80 gap_ms=80
at 7.0  A:4 onhook
at 14.0 end
)";

constexpr const char* short_timeouts = R"(
[calls]
ring_timeout_s = 5.0
inter_digit_timeout_s = 2.0
remote_hangup_after_s = 2.0
)";

TEST(CallerIdAudio, NumbersAndHangupComeFromLineAudioAlone) {
  Workspace workspace("callerid-audio", short_timeouts);
  ASSERT_EQ(workspace.run_scenario(audio_only), 0) << workspace.log();
  const auto calls = workspace.calls();
  const auto log = workspace.log();
  ASSERT_TRUE(calls.is_array()) << calls.dump(2);
  ASSERT_EQ(calls.size(), 4u) << calls.dump(2) << log;

  struct Expected {
    std::string number, direction, outcome, line;
  };
  const std::vector<Expected> expected = {
      {"13812345678", "inbound", "answered", "X800-CID-01:1"},
      {"02161234567", "inbound", "missed", "X800-CID-01:2"},
      {"075523456789", "inbound", "remote_hangup", "X800-CID-01:3"},
      {"01062345678", "outbound", "completed", "X800-CID-01:4"},
  };
  for (const auto& want : expected) {
    SCOPED_TRACE(want.number);
    const auto* call = find_call_by_number(calls, want.number);
    ASSERT_NE(call, nullptr) << calls.dump(2) << log;
    EXPECT_EQ(call->value("direction", ""), want.direction);
    EXPECT_EQ(call->value("outcome", ""), want.outcome) << log;
    EXPECT_EQ(call->value("line", ""), want.line);
  }
  EXPECT_EQ((*find_call_by_number(calls, "13812345678"))["name"], "ZHANG WEI");

  // Each number came from the daemon's own decoders.
  EXPECT_NE(log.find("caller ID from audio (bell202): 13812345678"), std::string::npos) << log;
  EXPECT_NE(log.find("caller ID from audio (v23): 02161234567"), std::string::npos) << log;
  EXPECT_NE(log.find("caller ID from audio (dtmf): 075523456789"), std::string::npos) << log;
  EXPECT_NE(log.find("digit 8 from audio"), std::string::npos) << log;
  EXPECT_NE(log.find("digit 8 from box report not used"), std::string::npos) << log;
  EXPECT_EQ(log.find("rejected"), std::string::npos) << log;

  // The busy tone began at 8.0, 2.5 s after the answer: the call ends there,
  // and its recording at the decision 2 s later (10.0), not at the on-hook (13.0).
  const auto& hung_up = *find_call_by_number(calls, "075523456789");
  ASSERT_TRUE(hung_up["duration_s"].is_number()) << hung_up.dump();
  EXPECT_NEAR(hung_up["duration_s"].get<double>(), 2.5, 0.15) << hung_up.dump();
  EXPECT_NE(log.find("answered -> idle (hangup_tone)"), std::string::npos) << log;
  const auto file = workspace.recording_of(hung_up.value("id", ""));
  ASSERT_FALSE(file.empty()) << log;
  EXPECT_NEAR(ffprobe_duration(file), 4.5, 0.3);
}

}  // namespace
}  // namespace deskline::testing
