// The store writer: the daemon's writes in submission order on a thread of
// their own, seen by another connection once flushed, failures logged.
#include "daemon/store/store_writer.hpp"

#include <gtest/gtest.h>

#include <future>
#include <optional>
#include <string>

#include "daemon/store/store.hpp"
#include "tests/unit/call_test_support.hpp"
#include "tests/unit/temp_store.hpp"

namespace deskline::daemon {
namespace {

using testing_support::answered_inbound;

class StoreWriterTest : public testing_support::TempStoreTest {
 protected:
  Logger log_{LogLevel::info};
};

TEST_F(StoreWriterTest, WritesRunInOrderOffTheCallersThreadAndAreThereOnceFlushed) {
  auto writes = store_->open_another().value();
  StoreWriter writer(*writes, log_);
  std::promise<void> gate;
  writer.submit([opened = gate.get_future().share()] { opened.wait(); });

  auto call = answered_inbound();
  call.state = CallState::active;
  call.outcome.reset();
  writer.write("insert", [call](Store& store) { return store.insert_call(call); });
  auto ended = answered_inbound();
  writer.write("update", [ended](Store& store) { return store.update_call(ended); });
  // Held: nothing is written yet, and the caller went on.
  EXPECT_EQ(writer.backlog(), 3u);
  EXPECT_EQ(store_->find_call(call.id).value(), std::nullopt);

  gate.set_value();
  writer.flush();
  EXPECT_EQ(writer.backlog(), 0u);
  const auto stored = store_->find_call(call.id).value();
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->state, CallState::ended);  // the update after the insert
}

TEST_F(StoreWriterTest, AFailedWriteIsLoggedAndTheNextOnesGoOn) {
  auto writes = store_->open_another().value();
  ::testing::internal::CaptureStderr();
  {
    StoreWriter writer(*writes, log_);
    const auto call = answered_inbound();
    writer.write("call=1 cannot store call", [call](Store& store) { return store.update_call(call); });  // not there
    writer.write("call=1 cannot insert", [call](Store& store) { return store.insert_call(call); });
    // Destroyed with writes queued: they run before the thread ends.
  }
  const auto logged = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(logged.find("call=1 cannot store call: "), std::string::npos) << logged;
  EXPECT_EQ(logged.find("cannot insert"), std::string::npos) << logged;
  EXPECT_TRUE(store_->find_call(answered_inbound().id).value());
}

}  // namespace
}  // namespace deskline::daemon
