// Tests that need an external tool (espeak-ng, sox, minimodem, opus-tools,
// ffmpeg, Xvfb and dunst, /dev/full, root for a tmpfs, ...) skip when it is
// missing, so a bare checkout still runs what it can. tools/test.sh sets
// DESKLINE_REQUIRE_TOOLS=1: there (and in CI) a missing tool is a failure,
// never a silent skip. Use it where GTEST_SKIP() would go, with the same message:
//
//   if (!have_sox) SKIP_OR_FAIL_MISSING() << "sox not installed";
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

// Not in deskline::testing: unit tests in deskline::codec and the like say
// testing::TestWithParam, which such a namespace would hide.
namespace deskline::require_tools {

inline bool required() {
  const char* value = std::getenv("DESKLINE_REQUIRE_TOOLS");
  return value && *value && std::strcmp(value, "0") != 0;
}

}  // namespace deskline::require_tools

// Like GTEST_SKIP(): returns from the test, taking a message with <<. It is a
// fatal failure instead of a skip when DESKLINE_REQUIRE_TOOLS is set (not "0").
#define SKIP_OR_FAIL_MISSING()                                                                        \
  return ::testing::internal::AssertHelper(                                                           \
             ::deskline::require_tools::required() ? ::testing::TestPartResult::kFatalFailure         \
                                                   : ::testing::TestPartResult::kSkip,                \
             __FILE__, __LINE__,                                                                      \
             ::deskline::require_tools::required()                                                    \
                 ? "DESKLINE_REQUIRE_TOOLS is set, so a missing tool fails:"                          \
                 : "") = ::testing::Message()
