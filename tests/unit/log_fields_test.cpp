#include <gtest/gtest.h>

#include <string>

#include "daemon/core/log.hpp"

namespace deskline::daemon {
namespace {

struct FieldsCase {
  const char* message;
  const char* call_id;
  const char* line;
  const char* box;
};

class LogFieldsTest : public ::testing::TestWithParam<FieldsCase> {};

TEST_P(LogFieldsTest, TakesWhatTheLineNames) {
  const auto& param = GetParam();
  const auto fields = log_fields(param.message);
  EXPECT_EQ(fields.call_id, param.call_id) << param.message;
  EXPECT_EQ(fields.line, param.line) << param.message;
  EXPECT_EQ(fields.box, param.box) << param.message;
}

INSTANTIATE_TEST_SUITE_P(
    Conventions, LogFieldsTest,
    ::testing::Values(
        FieldsCase{"line=Sales 1 call=0f8fad5b-d9cb-469f-a165-70867728950e answered inbound number=13812345678",
                   "0f8fad5b-d9cb-469f-a165-70867728950e", "Sales 1", ""},
        FieldsCase{"line=X800-A:2 call=- digit 5 from audio", "", "X800-A:2", ""},
        FieldsCase{"line=Front caller ID 1381 dropped: no ring followed it", "", "Front", ""},
        FieldsCase{"crm: call=0f8fad5b-d9cb-469f-a165-70867728950e recording revision 1 delivered",
                   "0f8fad5b-d9cb-469f-a165-70867728950e", "", ""},
        FieldsCase{"box X800-0001 in service (4 lines, 8000 Hz, caller ID decoded by box, usb 1-1)", "", "",
                   "X800-0001"},
        FieldsCase{"http: 127.0.0.1:5000 call=0f8fad5b-d9cb-469f-a165-70867728950e recording 206 bytes 0-9/100",
                   "0f8fad5b-d9cb-469f-a165-70867728950e", "", ""},
        FieldsCase{"recall=0f8fad5b-d9cb-469f-a165-70867728950e offline=x inbox X", "", "",
                   ""},  // not at a word's start
        FieldsCase{"call=not-a-uuid line=", "", "", ""}, FieldsCase{"desklined 0.1.0 ready", "", "", ""}));

}  // namespace
}  // namespace deskline::daemon
