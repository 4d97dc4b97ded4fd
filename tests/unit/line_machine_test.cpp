#include "daemon/calls/line_machine.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace deskline::daemon {
namespace {

using drivers::CallerIdInfo;
using drivers::CallerIdReceived;
using drivers::DigitDetected;
using drivers::HookChanged;
using drivers::LineStateSnapshot;
using drivers::PolarityChanged;
using drivers::RingChanged;

constexpr BoxTimeUs duration(double seconds) { return static_cast<BoxTimeUs>(seconds * 1e6); }
// Box time `seconds` into a test: the box has been up for a while, so no
// report counts as a power-up state (power_up_window_us).
constexpr BoxTimeUs s(double seconds) { return duration(100 + seconds); }

// Every on-hook ends the call at once (flash_max 0); flashes have their own tests below.
constexpr LineTimeouts test_timeouts{duration(6), duration(4), duration(15), duration(2), 0};

class LineMachineTest : public ::testing::Test {
 protected:
  LineMachine machine{test_timeouts};
  std::vector<CallUpdate> updates;
  std::vector<Transition> transitions;

  void feed(const drivers::LineSignal& signal, double at) { collect(machine.on_signal(signal, s(at))); }
  void tick(double at) { collect(machine.on_time(s(at))); }
  void collect(const MachineOutput& output) {
    updates.insert(updates.end(), output.updates.begin(), output.updates.end());
    transitions.insert(transitions.end(), output.transitions.begin(), output.transitions.end());
  }
  const CallUpdate& last() const { return updates.back(); }
};

TEST_F(LineMachineTest, InboundAnsweredWithCallerIdBetweenRings) {
  feed(RingChanged{true}, 1.0);
  EXPECT_EQ(machine.state(), LineState::ringing);
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].change, CallChange::started);
  EXPECT_EQ(updates[0].call.direction, Direction::inbound);
  feed(RingChanged{false}, 2.0);
  EXPECT_EQ(machine.deadline(), s(8.0));
  feed(CallerIdReceived{CallerIdInfo{"13812345678", "ZHANG WEI", {}, {}, "11270900"}}, 2.5);
  EXPECT_EQ(last().change, CallChange::identified);
  EXPECT_EQ(last().call.number, "13812345678");
  EXPECT_EQ(last().call.name, "ZHANG WEI");
  feed(RingChanged{true}, 6.0);
  EXPECT_FALSE(machine.deadline());
  feed(HookChanged{true}, 6.5);
  EXPECT_EQ(machine.state(), LineState::answered);
  EXPECT_EQ(last().change, CallChange::answered);
  feed(DigitDetected{'5', 80}, 8.0);
  EXPECT_EQ(last().change, CallChange::digit_in_call);
  EXPECT_EQ(last().digit, '5');
  feed(HookChanged{false}, 16.5);
  EXPECT_EQ(machine.state(), LineState::idle);
  const auto& ended = last();
  EXPECT_EQ(ended.change, CallChange::ended);
  EXPECT_EQ(ended.call.outcome, Outcome::answered);
  EXPECT_EQ(ended.call.started_at, s(1.0));
  EXPECT_EQ(ended.call.answered_at, s(6.5));
  EXPECT_EQ(ended.call.ended_at, s(16.5));
  EXPECT_EQ(ended.call.number, "13812345678");
  ASSERT_EQ(transitions.size(), 3u);
  EXPECT_EQ(transitions[2].reason, "on_hook");
}

TEST_F(LineMachineTest, MissedWhenRingingStopsForTheTimeout) {
  feed(RingChanged{true}, 0.0);
  feed(RingChanged{false}, 1.0);
  feed(RingChanged{true}, 5.0);
  feed(RingChanged{false}, 6.0);
  tick(11.9);  // not yet: 6.0 + 6
  EXPECT_EQ(machine.state(), LineState::ringing);
  tick(12.0);
  EXPECT_EQ(machine.state(), LineState::idle);
  EXPECT_EQ(last().call.outcome, Outcome::missed);
  EXPECT_EQ(last().call.ended_at, s(6.0));  // when the caller stopped ringing, not when we noticed
  EXPECT_FALSE(last().call.answered_at);
  EXPECT_EQ(transitions.back().reason, "ring_timeout");
}

TEST_F(LineMachineTest, OverdueDeadlineFiresBeforeTheNextSignal) {
  feed(RingChanged{true}, 0.0);
  feed(RingChanged{false}, 1.0);
  feed(RingChanged{true}, 30.0);  // a new call long after the first gave up
  ASSERT_EQ(updates.size(), 3u);
  EXPECT_EQ(updates[1].change, CallChange::ended);
  EXPECT_EQ(updates[1].call.outcome, Outcome::missed);
  EXPECT_EQ(updates[2].change, CallChange::started);
  EXPECT_EQ(updates[2].call.started_at, s(30.0));
}

TEST_F(LineMachineTest, OutboundNumberFromDigitsAfterInterDigitTimeout) {
  feed(HookChanged{true}, 3.0);
  EXPECT_EQ(machine.state(), LineState::dialing);
  EXPECT_EQ(last().call.direction, Direction::outbound);
  for (char digit : std::string("01062345678")) feed(DigitDetected{digit, 80}, 4.0 + (digit - '0') * 0.01);
  tick(7.9);
  EXPECT_EQ(machine.state(), LineState::dialing);
  tick(8.2);
  EXPECT_EQ(machine.state(), LineState::outbound);
  EXPECT_EQ(last().change, CallChange::number_dialled);
  EXPECT_EQ(last().call.number, "01062345678");
  feed(DigitDetected{'1', 80}, 10.0);  // IVR menu choice: an event, not part of the number
  EXPECT_EQ(last().change, CallChange::digit_in_call);
  feed(HookChanged{false}, 19.0);
  EXPECT_EQ(last().call.outcome, Outcome::completed);
  EXPECT_EQ(last().call.number, "01062345678");
  EXPECT_EQ(last().call.started_at, s(3.0));
  EXPECT_EQ(last().call.ended_at, s(19.0));
}

// Each digit while dialling is a progress update carrying the number so far;
// nothing else in the call's sequence changes (the number is complete, and
// stored, at number_dialled as before).
TEST_F(LineMachineTest, EachDigitDialledIsAnUpdateWithTheNumberSoFar) {
  feed(HookChanged{true}, 3.0);
  feed(DigitDetected{'1', 80}, 4.0);
  ASSERT_EQ(updates.size(), 2u);
  EXPECT_EQ(last().change, CallChange::digit_dialled);
  EXPECT_EQ(last().call.number, "1");
  EXPECT_EQ(last().digit, '1');
  EXPECT_EQ(last().at, s(4.0));
  EXPECT_EQ(machine.state(), LineState::dialing);
  EXPECT_TRUE(transitions.size() == 1u && transitions[0].to == LineState::dialing);  // no transition per digit
  feed(DigitDetected{'3', 80}, 5.0);
  feed(DigitDetected{'9', 80}, 6.0);
  EXPECT_EQ(last().change, CallChange::digit_dialled);
  EXPECT_EQ(last().call.number, "139");
  EXPECT_EQ(last().digit, '9');
  EXPECT_EQ(machine.deadline(), s(10.0));  // the inter-digit timeout runs from the last digit
  EXPECT_EQ(machine.call()->number, "139");
  tick(10.0);
  feed(DigitDetected{'2', 80}, 11.0);  // connected now: a digit of the call, not of the number
  feed(PolarityChanged{true}, 12.0);
  feed(HookChanged{false}, 20.0);
  std::vector<std::pair<CallChange, std::string>> sequence;
  for (const auto& update : updates) sequence.emplace_back(update.change, update.call.number);
  EXPECT_EQ(sequence, (std::vector<std::pair<CallChange, std::string>>{{CallChange::started, ""},
                                                                       {CallChange::digit_dialled, "1"},
                                                                       {CallChange::digit_dialled, "13"},
                                                                       {CallChange::digit_dialled, "139"},
                                                                       {CallChange::number_dialled, "139"},
                                                                       {CallChange::digit_in_call, "139"},
                                                                       {CallChange::answered, "139"},
                                                                       {CallChange::ended, "139"}}));
  EXPECT_EQ(updates[5].digit, '2');
  EXPECT_EQ(to_string(CallChange::digit_dialled), "digit_dialled");
  ASSERT_EQ(transitions.size(), 3u);
  EXPECT_EQ(transitions[1].reason, "dial_timeout");
}

// Answer supervision right after the last digit: the digits, then the
// number complete, then the answer.
TEST_F(LineMachineTest, DigitsThenAnswerSupervisionInOrder) {
  feed(HookChanged{true}, 0.0);
  feed(DigitDetected{'1', 80}, 1.0);
  feed(DigitDetected{'0', 80}, 1.2);
  feed(PolarityChanged{true}, 3.0);
  std::vector<CallChange> changes;
  for (const auto& update : updates) changes.push_back(update.change);
  EXPECT_EQ(changes, (std::vector<CallChange>{CallChange::started, CallChange::digit_dialled, CallChange::digit_dialled,
                                              CallChange::number_dialled, CallChange::answered}));
  EXPECT_EQ(updates[2].call.number, "10");
  EXPECT_EQ(updates[3].call.number, "10");
}

TEST_F(LineMachineTest, PolarityReversalIsAnswerSupervision) {
  feed(HookChanged{true}, 0.0);
  feed(DigitDetected{'1', 80}, 1.0);
  feed(DigitDetected{'0', 80}, 1.2);
  feed(PolarityChanged{true}, 3.0);
  EXPECT_EQ(machine.state(), LineState::outbound);
  EXPECT_EQ(last().change, CallChange::answered);
  feed(HookChanged{false}, 9.0);
  EXPECT_EQ(last().call.outcome, Outcome::answered);
  EXPECT_EQ(last().call.answered_at, s(3.0));
}

TEST_F(LineMachineTest, OffHookWithoutDigitsIsAbandoned) {
  feed(HookChanged{true}, 0.0);
  feed(HookChanged{false}, 2.0);
  EXPECT_EQ(last().call.outcome, Outcome::abandoned);
}

TEST_F(LineMachineTest, CallerIdBeforeFirstRingIsKeptForThatRing) {
  feed(CallerIdReceived{CallerIdInfo{"02161234567", {}, {}, {}, {}}}, 0.0);
  EXPECT_TRUE(updates.empty());
  feed(RingChanged{true}, 0.8);
  EXPECT_EQ(last().change, CallChange::started);
  EXPECT_EQ(last().call.number, "02161234567");
}

TEST_F(LineMachineTest, StaleEarlyCallerIdIsDropped) {
  feed(CallerIdReceived{CallerIdInfo{"02161234567", {}, {}, {}, {}}}, 0.0);
  feed(RingChanged{true}, 20.0);
  EXPECT_EQ(last().call.number, "");
}

TEST_F(LineMachineTest, PrivateNumberAbsence) {
  feed(RingChanged{true}, 0.0);
  feed(CallerIdReceived{CallerIdInfo{{}, {}, 'P', {}, {}}}, 1.5);
  EXPECT_EQ(last().call.number_absence, 'P');
  EXPECT_EQ(last().call.number, "");
}

TEST_F(LineMachineTest, DeviceLostEndsTheCallInProgress) {
  feed(RingChanged{true}, 0.0);
  feed(HookChanged{true}, 2.0);
  collect(machine.on_interrupted(s(7.25), Outcome::device_lost));
  EXPECT_EQ(machine.state(), LineState::idle);
  EXPECT_EQ(last().call.outcome, Outcome::device_lost);
  EXPECT_EQ(last().call.ended_at, s(7.25));
  EXPECT_FALSE(machine.deadline());
}

TEST_F(LineMachineTest, BusyToneOnAnAnsweredCallEndsItAsRemoteHangup) {
  feed(RingChanged{true}, 0.0);
  feed(HookChanged{true}, 2.0);
  // Tone began at 10.0, confirmed at 11.4; default delay 2 s: not yet due.
  collect(machine.on_hangup_tone(s(10.0), s(11.4)));
  EXPECT_EQ(machine.state(), LineState::answered);
  EXPECT_EQ(machine.deadline(), s(12.0));
  tick(12.0);
  EXPECT_EQ(machine.state(), LineState::idle);
  EXPECT_EQ(last().change, CallChange::ended);
  EXPECT_EQ(last().call.outcome, Outcome::remote_hangup);
  EXPECT_EQ(last().call.ended_at, s(10.0));  // where the far end went away
  EXPECT_EQ(transitions.back().reason, "hangup_tone");
  EXPECT_EQ(to_string(Outcome::remote_hangup), "remote_hangup");
  // The handset going back on hook later changes nothing.
  feed(HookChanged{false}, 20.0);
  EXPECT_EQ(updates.back().call.outcome, Outcome::remote_hangup);
}

TEST_F(LineMachineTest, HangupToneOnHookFirstIsANormalEnd) {
  feed(HookChanged{true}, 0.0);
  feed(DigitDetected{'1', 80}, 0.5);
  tick(4.5);  // dial timeout: outbound
  collect(machine.on_hangup_tone(s(30.0), s(31.4)));
  feed(HookChanged{false}, 31.5);
  EXPECT_EQ(last().call.outcome, Outcome::completed);
  EXPECT_FALSE(machine.deadline());
}

TEST_F(LineMachineTest, HangupToneIsIgnoredWhenNotConnected) {
  feed(RingChanged{true}, 0.0);
  collect(machine.on_hangup_tone(s(0.5), s(1.9)));
  EXPECT_EQ(machine.state(), LineState::ringing);
  EXPECT_EQ(updates.size(), 1u);
  EXPECT_FALSE(machine.deadline());
}

TEST_F(LineMachineTest, InterruptWhenIdleDoesNothing) {
  collect(machine.on_interrupted(s(1), Outcome::interrupted));
  EXPECT_TRUE(updates.empty());
  EXPECT_TRUE(transitions.empty());
}

TEST_F(LineMachineTest, StraySignalsInIdleAreIgnored) {
  feed(RingChanged{false}, 0.0);
  feed(HookChanged{false}, 0.1);
  feed(DigitDetected{'3', 80}, 0.2);
  feed(PolarityChanged{true}, 0.3);
  feed(drivers::VoltageMeasured{-48.0}, 0.4);
  EXPECT_TRUE(updates.empty());
  EXPECT_EQ(machine.state(), LineState::idle);
}

// ---- line state snapshots (the box's answer at attach) ----------------------

TEST_F(LineMachineTest, OffHookSnapshotJoinsACallOfUnknownDirection) {
  feed(LineStateSnapshot{true, false, false}, 3.5);
  EXPECT_EQ(machine.state(), LineState::joined);
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].change, CallChange::started);
  EXPECT_EQ(updates[0].call.direction, Direction::unknown);
  EXPECT_TRUE(updates[0].call.joined_in_progress);
  EXPECT_EQ(updates[0].call.started_at, s(3.5));  // when the daemon learned of it
  EXPECT_EQ(transitions.back().reason, "joined_off_hook");
  EXPECT_EQ(to_string(LineState::joined), "joined");
  EXPECT_EQ(to_string(Direction::unknown), "unknown");
  feed(HookChanged{false}, 9.0);
  EXPECT_EQ(machine.state(), LineState::idle);
  EXPECT_EQ(last().change, CallChange::ended);
  EXPECT_EQ(last().call.outcome, Outcome::completed);  // answered or not: unknown
  EXPECT_EQ(last().call.ended_at, s(9.0));
  EXPECT_FALSE(last().call.answered_at);
  EXPECT_EQ(transitions.back().reason, "on_hook");
}

TEST_F(LineMachineTest, JoinedCallTakesDigitsAndHangupToneLikeAConnectedOne) {
  feed(LineStateSnapshot{true, false, false}, 1.0);
  feed(DigitDetected{'7', 80}, 2.0);
  EXPECT_EQ(last().change, CallChange::digit_in_call);
  EXPECT_EQ(last().digit, '7');
  feed(PolarityChanged{true}, 2.5);  // could be answer or clear-down: ignored
  EXPECT_EQ(machine.state(), LineState::joined);
  EXPECT_FALSE(last().call.answered_at);
  collect(machine.on_hangup_tone(s(5.0), s(6.4)));
  tick(7.0);
  EXPECT_EQ(machine.state(), LineState::idle);
  EXPECT_EQ(last().call.outcome, Outcome::remote_hangup);
  EXPECT_EQ(last().call.ended_at, s(5.0));
}

TEST_F(LineMachineTest, RingingSnapshotStartsARingingInboundCall) {
  feed(LineStateSnapshot{false, true, false}, 2.0);
  EXPECT_EQ(machine.state(), LineState::ringing);
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].change, CallChange::started);
  EXPECT_EQ(updates[0].call.direction, Direction::inbound);
  EXPECT_TRUE(updates[0].call.joined_in_progress);
  EXPECT_EQ(transitions.back().reason, "joined_ringing");
  EXPECT_FALSE(machine.deadline());  // still inside the burst
  feed(RingChanged{false}, 2.4);     // the burst we joined ends
  EXPECT_EQ(machine.deadline(), s(8.4));
  feed(HookChanged{true}, 5.0);
  EXPECT_EQ(last().change, CallChange::answered);
  feed(HookChanged{false}, 10.0);
  EXPECT_EQ(last().call.outcome, Outcome::answered);
  EXPECT_EQ(last().call.started_at, s(2.0));
}

TEST_F(LineMachineTest, RingingSnapshotUnansweredIsMissed) {
  feed(LineStateSnapshot{false, true, true}, 2.0);
  feed(RingChanged{false}, 2.4);
  tick(8.4);
  EXPECT_EQ(machine.state(), LineState::idle);
  EXPECT_EQ(last().call.outcome, Outcome::missed);
}

TEST_F(LineMachineTest, AnsweredMidBurstSnapshotIsOffHook) {
  feed(LineStateSnapshot{true, true, false}, 2.0);
  EXPECT_EQ(machine.state(), LineState::joined);
  feed(RingChanged{false}, 2.1);  // the exchange trips the ringing: nothing to do
  EXPECT_EQ(machine.state(), LineState::joined);
  EXPECT_EQ(updates.size(), 1u);
}

TEST_F(LineMachineTest, IdleSnapshotDoesNothing) {
  feed(LineStateSnapshot{false, false, true}, 1.0);
  EXPECT_TRUE(updates.empty());
  EXPECT_TRUE(transitions.empty());
  EXPECT_EQ(machine.state(), LineState::idle);
}

TEST_F(LineMachineTest, SnapshotThatAgreesWithTheReportsChangesNothing) {
  // Reports queued while no host read the box came first (x800.md 8.1).
  feed(HookChanged{true}, 1.0);
  feed(LineStateSnapshot{true, false, false}, 3.0);
  EXPECT_EQ(machine.state(), LineState::dialing);
  EXPECT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].call.direction, Direction::outbound);
  EXPECT_FALSE(updates[0].call.joined_in_progress);
}

TEST_F(LineMachineTest, SnapshotCatchesUpWithALostHookReport) {
  feed(RingChanged{true}, 0.0);
  feed(RingChanged{false}, 1.0);
  feed(LineStateSnapshot{true, false, false}, 2.0);  // the off-hook report was dropped
  EXPECT_EQ(machine.state(), LineState::answered);
  EXPECT_EQ(last().call.answered_at, s(2.0));
  feed(LineStateSnapshot{false, false, false}, 5.0);  // and the on-hook one
  EXPECT_EQ(machine.state(), LineState::idle);
  EXPECT_EQ(last().call.outcome, Outcome::answered);
  EXPECT_EQ(last().call.ended_at, s(5.0));
}

TEST_F(LineMachineTest, SnapshotCatchesUpWithALostRingStop) {
  feed(RingChanged{true}, 0.0);
  feed(LineStateSnapshot{false, false, false}, 1.5);  // the burst's stop report was dropped
  EXPECT_EQ(machine.deadline(), s(7.5));              // so the ring timeout runs from the snapshot
  tick(7.5);
  EXPECT_EQ(machine.state(), LineState::idle);
  EXPECT_EQ(last().call.outcome, Outcome::missed);
}

TEST_F(LineMachineTest, InterruptEndsAJoinedCall) {
  feed(LineStateSnapshot{true, false, false}, 1.0);
  collect(machine.on_interrupted(s(4.0), Outcome::interrupted));
  EXPECT_EQ(machine.state(), LineState::idle);
  EXPECT_EQ(last().call.outcome, Outcome::interrupted);
  EXPECT_EQ(last().call.direction, Direction::unknown);
}

// ---- a re-plugged box: its power-up reports are states, not changes --------

TEST(LineMachinePowerUp, OffHookAtPowerUpJoinsACallNeverAnOutboundOne) {
  LineMachine machine{test_timeouts};
  const auto output = machine.on_signal(HookChanged{true}, 20'000);  // 20 ms after power-up
  EXPECT_EQ(machine.state(), LineState::joined);
  ASSERT_EQ(output.updates.size(), 1u);
  EXPECT_EQ(output.updates[0].call.direction, Direction::unknown);
  EXPECT_TRUE(output.updates[0].call.joined_in_progress);
  EXPECT_EQ(output.transitions.at(0).reason, "joined_off_hook");
  // The snapshot the driver asks for next agrees: nothing more.
  EXPECT_TRUE(machine.on_signal(LineStateSnapshot{true, false, false}, 60'000).updates.empty());
  const auto ended = machine.on_signal(HookChanged{false}, duration(30));
  EXPECT_EQ(ended.updates.back().call.outcome, Outcome::completed);
}

TEST(LineMachinePowerUp, RingingAtPowerUpJoinsARingingInboundCall) {
  LineMachine machine{test_timeouts};
  const auto output = machine.on_signal(RingChanged{true}, 0);
  EXPECT_EQ(machine.state(), LineState::ringing);
  ASSERT_EQ(output.updates.size(), 1u);
  EXPECT_EQ(output.updates[0].call.direction, Direction::inbound);
  EXPECT_TRUE(output.updates[0].call.joined_in_progress);
}

TEST(LineMachinePowerUp, AnOffHookAfterTheWindowIsAnOutboundCall) {
  LineMachine machine{test_timeouts};
  machine.on_signal(HookChanged{true}, power_up_window_us + 1);
  EXPECT_EQ(machine.state(), LineState::dialing);
}

// ---- hook flash ---------------------------------------------------------------

class FlashTest : public LineMachineTest {
 protected:
  FlashTest() {
    auto timeouts = test_timeouts;
    timeouts.flash_max_us = duration(0.8);
    machine = LineMachine{timeouts};
  }
  void answered_call() {
    feed(RingChanged{true}, 1.0);
    feed(HookChanged{true}, 2.0);
    ASSERT_EQ(machine.state(), LineState::answered);
  }
  std::size_t count(CallChange change) const {
    return static_cast<std::size_t>(
        std::count_if(updates.begin(), updates.end(), [&](const CallUpdate& update) { return update.change == change; }));
  }
};

TEST_F(FlashTest, AShortOnHookIsAFlashAndTheCallGoesOn) {
  answered_call();
  feed(HookChanged{false}, 10.0);
  EXPECT_EQ(machine.state(), LineState::answered);  // not decided yet
  EXPECT_EQ(machine.deadline(), s(10.8));
  feed(HookChanged{true}, 10.3);
  EXPECT_EQ(machine.state(), LineState::answered);
  EXPECT_EQ(last().change, CallChange::flash);
  EXPECT_EQ(last().at, s(10.3));
  EXPECT_EQ(last().flash_us, duration(0.3));
  EXPECT_FALSE(machine.deadline());
  feed(HookChanged{false}, 20.0);
  tick(20.8);
  EXPECT_EQ(machine.state(), LineState::idle);
  EXPECT_EQ(count(CallChange::started), 1u);
  EXPECT_EQ(count(CallChange::ended), 1u);
  EXPECT_EQ(last().call.outcome, Outcome::answered);
  EXPECT_EQ(last().call.ended_at, s(20.0));  // when the handset went down, not when that was certain
}

TEST_F(FlashTest, AnOnHookLongerThanAFlashEndsTheCallWhenTheHandsetWentDown) {
  answered_call();
  feed(HookChanged{false}, 10.0);
  tick(10.79);
  EXPECT_EQ(machine.state(), LineState::answered);
  feed(HookChanged{true}, 10.9);  // too late for a flash: the deadline fired first
  EXPECT_EQ(count(CallChange::ended), 1u);
  EXPECT_EQ(updates[updates.size() - 2].call.ended_at, s(10.0));
  EXPECT_EQ(machine.state(), LineState::dialing);  // and a new call starts
  EXPECT_EQ(count(CallChange::flash), 0u);
}

TEST_F(FlashTest, FlashOnOutboundAndJoinedCalls) {
  feed(HookChanged{true}, 1.0);
  feed(DigitDetected{'1', 80}, 1.5);
  tick(5.5);
  ASSERT_EQ(machine.state(), LineState::outbound);
  feed(HookChanged{false}, 8.0);
  feed(HookChanged{true}, 8.1);
  EXPECT_EQ(machine.state(), LineState::outbound);
  EXPECT_EQ(last().change, CallChange::flash);

  LineMachine joined{LineTimeouts{duration(6), duration(4), duration(15), duration(2), duration(0.8)}};
  joined.on_signal(LineStateSnapshot{true, false, false}, s(1.0));
  joined.on_signal(HookChanged{false}, s(2.0));
  EXPECT_EQ(joined.on_signal(HookChanged{true}, s(2.5)).updates.at(0).change, CallChange::flash);
  EXPECT_EQ(joined.state(), LineState::joined);
}

TEST_F(FlashTest, OnHookWhileDiallingEndsTheCallAtOnce) {
  feed(HookChanged{true}, 1.0);
  feed(HookChanged{false}, 2.0);
  EXPECT_EQ(machine.state(), LineState::idle);
  EXPECT_EQ(last().call.outcome, Outcome::abandoned);
}

TEST_F(FlashTest, ARingDuringTheFlashWindowEndsTheCallFirst) {
  answered_call();
  feed(HookChanged{false}, 10.0);
  feed(RingChanged{true}, 10.5);
  EXPECT_EQ(count(CallChange::ended), 1u);
  EXPECT_EQ(count(CallChange::started), 2u);
  EXPECT_EQ(machine.state(), LineState::ringing);
}

TEST_F(FlashTest, DeviceLostDuringTheFlashWindowEndsTheCallWhenTheHandsetWentDown) {
  answered_call();
  feed(HookChanged{false}, 10.0);
  collect(machine.on_interrupted(s(10.2), Outcome::device_lost));
  EXPECT_EQ(last().call.ended_at, s(10.0));
}

// ---- caller ID after the answer, repeats --------------------------------------

TEST_F(LineMachineTest, CallerIdAfterTheAnswerIdentifiesTheCall) {
  feed(RingChanged{true}, 1.0);
  feed(HookChanged{true}, 2.0);
  feed(CallerIdReceived{CallerIdInfo{"13812345678", "ZHANG WEI", {}, {}, {}}}, 3.5);
  EXPECT_EQ(last().change, CallChange::identified);
  EXPECT_EQ(last().call.number, "13812345678");
  EXPECT_EQ(last().call.answered_at, s(2.0));
  EXPECT_EQ(machine.state(), LineState::answered);
}

TEST_F(LineMachineTest, AnIdenticalRepeatIsNoChangeButADifferentMessageIs) {
  feed(RingChanged{true}, 1.0);
  feed(CallerIdReceived{CallerIdInfo{"13812345678", {}, {}, {}, {}}}, 1.5);
  const auto before = updates.size();
  feed(CallerIdReceived{CallerIdInfo{"13812345678", {}, {}, {}, {}}}, 6.5);  // the exchange sends it again
  EXPECT_EQ(updates.size(), before);
  feed(CallerIdReceived{CallerIdInfo{"13812345678", "ZHANG WEI", {}, {}, {}}}, 7.0);  // now with the name
  EXPECT_EQ(updates.size(), before + 1);
  EXPECT_EQ(last().call.name, "ZHANG WEI");
}

TEST_F(LineMachineTest, CallerIdWhileDiallingOutIsIgnored) {
  feed(HookChanged{true}, 1.0);
  feed(CallerIdReceived{CallerIdInfo{"13812345678", {}, {}, {}, {}}}, 1.5);
  EXPECT_EQ(updates.size(), 1u);
  EXPECT_EQ(machine.call()->number, "");
}

TEST_F(LineMachineTest, CallerIdWithNoRingAfterItIsToldWhenDropped) {
  feed(CallerIdReceived{CallerIdInfo{"13812345678", {}, {}, {}, {}}}, 1.0);
  EXPECT_FALSE(machine.on_time(s(15.9)).unused_caller_id);
  const auto output = machine.on_time(s(16.0));
  ASSERT_TRUE(output.unused_caller_id);
  EXPECT_EQ(output.unused_caller_id->number, "13812345678");
  EXPECT_FALSE(machine.on_time(s(17.0)).unused_caller_id);  // told once
}

TEST_F(LineMachineTest, BusyToneWhileStillDiallingEndsTheCallAsRemoteHangup) {
  feed(HookChanged{true}, 1.0);
  feed(DigitDetected{'8', 80}, 1.5);
  feed(DigitDetected{'8', 80}, 1.7);
  collect(machine.on_hangup_tone(s(3.0), s(3.7)));  // inside the 4 s inter-digit window
  EXPECT_EQ(machine.state(), LineState::outbound);
  EXPECT_EQ(transitions.back().reason, "hangup_tone");
  tick(5.0);
  EXPECT_EQ(machine.state(), LineState::idle);
  EXPECT_EQ(last().call.outcome, Outcome::remote_hangup);
  EXPECT_EQ(last().call.ended_at, s(3.0));
}

}  // namespace
}  // namespace deskline::daemon
