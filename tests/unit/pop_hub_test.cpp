// The pop hub: events from call changes, and the directory lookup of a number
// heard before its call starts, kept off the first ring's path.
#include "daemon/api/pop_hub.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace deskline::daemon {
namespace {

struct Recorder : PopSubscriber {
  std::vector<proto::pop::Event> events;
  void deliver(const PopMessagePtr& message) override { events.push_back(message->event); }
};

class PopHubTest : public ::testing::Test {
 protected:
  PopHubTest()
      : hub_(log_, [this](const std::string& number) {
          lookups_.push_back(number);
          return NumberMatch{"+86" + number, "display " + number, {{"c1", "Zhang Wei", "Acme", "https://crm/c1"}}};
        }) {
    hub_.subscribe(recorder_);
  }

  static CallRecord ringing_call(const std::string& id, const std::string& number) {
    CallRecord call;
    call.id = id;
    call.line = "Sales 1";
    call.box = "X800-0001";
    call.port = 1;
    call.direction = Direction::inbound;
    call.number = number;
    call.state = CallState::active;
    call.started_at = 1'800'000'000'000'000;
    return call;
  }

  Logger log_{LogLevel::error};
  std::vector<std::string> lookups_;
  PopHub hub_;
  Recorder recorder_;
};

TEST_F(PopHubTest, CallerIdBeforeTheRingIsLookedUpOnceBeforeTheCall) {
  hub_.caller_id_before_call("13812345678");
  ASSERT_EQ(lookups_.size(), 1u);
  EXPECT_TRUE(recorder_.events.empty());  // no call yet, no pop

  hub_.call_changed(CallChange::started, ringing_call("a", "13812345678"), {});
  ASSERT_EQ(recorder_.events.size(), 1u);
  EXPECT_EQ(lookups_.size(), 1u);  // the ring used the early lookup
  EXPECT_EQ(recorder_.events[0].event, "call.ringing");
  EXPECT_EQ(recorder_.events[0].number, "+8613812345678");
  ASSERT_EQ(recorder_.events[0].customers.size(), 1u);
  EXPECT_EQ(recorder_.events[0].customers[0].name, "Zhang Wei");

  // Used once: the next call from the same number looks it up again.
  hub_.call_changed(CallChange::ended, ringing_call("a", "13812345678"), {});
  hub_.call_changed(CallChange::started, ringing_call("b", "13812345678"), {});
  EXPECT_EQ(lookups_.size(), 2u);
}

TEST_F(PopHubTest, CallWithAnotherNumberIsLookedUpItself) {
  hub_.caller_id_before_call("13812345678");
  hub_.call_changed(CallChange::started, ringing_call("a", "13900001111"), {});
  EXPECT_EQ(lookups_, (std::vector<std::string>{"13812345678", "13900001111"}));
  EXPECT_EQ(recorder_.events.back().number, "+8613900001111");
}

TEST_F(PopHubTest, AFloodOfCallerIdsWithoutRingsIsBounded) {
  for (int i = 0; i < 1000; ++i) hub_.caller_id_before_call(std::to_string(13800000000 + i));
  EXPECT_EQ(lookups_.size(), 64u);  // at most 64 early lookups are kept
  hub_.call_changed(CallChange::started, ringing_call("a", "13800000999"), {});
  EXPECT_EQ(lookups_.size(), 65u);  // not kept early: looked up at the ring as before
  EXPECT_EQ(recorder_.events.back().customers.size(), 1u);
}

}  // namespace
}  // namespace deskline::daemon
