// The directory lookup of a call's number: once per number, and done when
// caller ID arrives before the ring, so the ring's pop does not wait for it.
#include "daemon/calls/caller_matcher.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace deskline::daemon {
namespace {

class CallerMatcherTest : public ::testing::Test {
 protected:
  std::vector<std::string> lookups_;
  CallerMatcher matcher_{[this](const std::string& number) {
    lookups_.push_back(number);
    return CallerMatch{"+86" + number, "display " + number, {{"c1", "Zhang Wei", "Acme", "https://crm/c1"}}};
  }};
};

TEST_F(CallerMatcherTest, CallerIdBeforeTheRingIsLookedUpOnceBeforeTheCall) {
  matcher_.prepare("13812345678");
  ASSERT_EQ(lookups_.size(), 1u);
  const auto match = matcher_.match("13812345678");
  EXPECT_EQ(lookups_.size(), 1u);  // the prepared lookup was used
  EXPECT_EQ(match.e164, "+8613812345678");
  ASSERT_EQ(match.customers.size(), 1u);
  EXPECT_EQ(match.customers[0].name, "Zhang Wei");
  // Used once: the next call from the same number looks it up again.
  matcher_.match("13812345678");
  EXPECT_EQ(lookups_.size(), 2u);
}

TEST_F(CallerMatcherTest, AnotherNumberIsLookedUpItself) {
  matcher_.prepare("13812345678");
  EXPECT_EQ(matcher_.match("13900001111").e164, "+8613900001111");
  EXPECT_EQ(lookups_, (std::vector<std::string>{"13812345678", "13900001111"}));
}

TEST_F(CallerMatcherTest, AFloodOfCallerIdsWithoutRingsIsBounded) {
  for (int i = 0; i < 1000; ++i) matcher_.prepare(std::to_string(13800000000 + i));
  EXPECT_EQ(lookups_.size(), 64u);  // at most 64 prepared lookups are kept
  EXPECT_EQ(matcher_.match("13800000999").customers.size(), 1u);
  EXPECT_EQ(lookups_.size(), 65u);  // not kept: looked up at the ring
}

TEST(CallerMatcher, WithoutALookupOrADisplayTheNumberIsShownAsReceived) {
  CallerMatcher bare;
  EXPECT_EQ(bare.match("010 8888 1234"), (CallerMatch{"", "010 8888 1234", {}}));
  CallerMatcher no_display([](const std::string&) { return CallerMatch{"+8610888812345", "", {}}; });
  EXPECT_EQ(no_display.match("01088881234").display, "01088881234");
}

}  // namespace
}  // namespace deskline::daemon
