#include "daemon/core/result.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

namespace deskline::daemon {
namespace {

Result<int> half(int number) {
  if (number % 2 != 0) return Error{std::make_error_code(std::errc::invalid_argument), "odd number"};
  return number / 2;
}

TEST(Result, HoldsAValue) {
  auto result = half(42);
  ASSERT_TRUE(result);
  EXPECT_TRUE(result.has_value());
  EXPECT_EQ(result.value(), 21);
  EXPECT_EQ(*result, 21);
  *result = 5;
  EXPECT_EQ(result.value(), 5);
  EXPECT_THROW((void)result.error(), BadResultAccess);
}

TEST(Result, HoldsAnError) {
  const auto result = half(3);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, std::errc::invalid_argument);
  EXPECT_EQ(result.error().message(), "odd number");
  EXPECT_THROW((void)result.value(), BadResultAccess);
  EXPECT_THROW((void)*result, BadResultAccess);
}

TEST(Result, ValueOr) {
  EXPECT_EQ(half(8).value_or(-1), 4);
  EXPECT_EQ(half(7).value_or(-1), -1);
}

TEST(Result, MessageFallsBackToTheCodesMessage) {
  const Error bare{std::make_error_code(std::errc::no_space_on_device), ""};
  EXPECT_EQ(bare.message(), std::make_error_code(std::errc::no_space_on_device).message());
  const Error detailed{std::make_error_code(std::errc::no_space_on_device), "/var/lib/deskline: disk full"};
  EXPECT_EQ(detailed.message(), "/var/lib/deskline: disk full");
}

TEST(Result, MoveOnlyValuesAndArrow) {
  Result<std::unique_ptr<std::string>> result = std::make_unique<std::string>("box");
  ASSERT_TRUE(result);
  EXPECT_EQ((*result)->size(), 3u);
  EXPECT_EQ(result->get()->front(), 'b');
  std::unique_ptr<std::string> taken = std::move(result).value();
  EXPECT_EQ(*taken, "box");
}

TEST(Result, ConvertsTheValueToItsType) {
  // A found row is returned as it is; "not found" is a value too, not an error.
  Result<std::optional<std::string>> found = std::string("call-1");
  ASSERT_TRUE(found);
  EXPECT_EQ(found.value(), "call-1");
  Result<std::optional<std::string>> missing = std::nullopt;
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing.value());
}

Result<void> check_even(int number) {
  if (auto halved = half(number); !halved) return halved.error();
  return {};
}

TEST(Result, VoidSucceedsOrHoldsAnError) {
  const auto good = check_even(4);
  EXPECT_TRUE(good);
  EXPECT_NO_THROW(good.value());
  EXPECT_THROW((void)good.error(), BadResultAccess);

  const auto bad = check_even(5);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "odd number");
  EXPECT_THROW(bad.value(), BadResultAccess);
}

}  // namespace
}  // namespace deskline::daemon
