// A Result as a gtest assertion: EXPECT_TRUE(ok(store->insert_call(call)))
// passes on success and prints the error's message on failure.
#pragma once

#include <gtest/gtest.h>

#include "daemon/core/result.hpp"

namespace deskline::daemon::testing_support {

template <typename T>
::testing::AssertionResult ok(const Result<T>& result) {
  if (result) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << result.error().message() << " (" << result.error().code << ")";
}

}  // namespace deskline::daemon::testing_support
