// A download's lookup (daemon/api/recording_lookup.*): the one narrow query
// the file worker runs for GET /v1/recordings/{call_id}
// (Store::find_recording_for_download), its plan, and the answer each row
// gives (proto/http.md "Recordings").
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

#include "daemon/api/recording_lookup.hpp"
#include "daemon/domain/call_json.hpp"
#include "daemon/store/store.hpp"
#include "tests/unit/query_plan.hpp"
#include "tests/unit/result_testing.hpp"
#include "tests/unit/temp_store.hpp"

namespace deskline::daemon {
namespace {

using testing_support::ok;
using Status = RecordingLookup::Status;

constexpr WallTimeUs started = 1'795'758'302LL * 1'000'000;
constexpr const char* digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

CallRecord ended_call(const std::string& id) {
  CallRecord call;
  call.id = id;
  call.line = "front desk/2";
  call.box = "X800-0001";
  call.port = 2;
  call.direction = Direction::inbound;
  call.number = "13812345678";
  call.match = {"+8613812345678", "138 1234 5678", {{"c-1", "Ada", "Acme", ""}}};
  call.state = CallState::ended;
  call.outcome = Outcome::answered;
  call.end_reason = EndReason::on_hook;
  call.started_at = started;
  call.answered_at = started + 2'000'000;
  call.ended_at = started + 62'000'000;
  return call;
}

RecordingRecord recording_of(const std::string& call_id, RecordingState state) {
  return {call_id, "/var/lib/deskline/recordings/" + call_id + ".opus", state, started + 2'000'000, 60.0, 121'856,
          digest, ""};
}

class RecordingLookupTest : public testing_support::TempStoreTest {
 protected:
  int execute(const std::string& sql) {
    sqlite3* database = nullptr;
    EXPECT_EQ(sqlite3_open(database_path().c_str(), &database), SQLITE_OK);
    const int result = sqlite3_exec(database, sql.c_str(), nullptr, nullptr, nullptr);
    sqlite3_close(database);
    return result;
  }
};

TEST_F(RecordingLookupTest, OneQueryReadsWhatTheDownloadNeeds) {
  const auto call = ended_call("call-1");
  ASSERT_TRUE(ok(store_->insert_call(call)));
  ASSERT_TRUE(ok(store_->insert_recording(recording_of("call-1", RecordingState::complete))));

  const auto rows = store_->find_recording_for_download("call-1");
  ASSERT_TRUE(ok(rows));
  ASSERT_TRUE(rows->has_value());
  const auto& found = **rows;
  EXPECT_EQ(found.started_at, started);
  EXPECT_EQ(found.line, "front desk/2");
  EXPECT_EQ(found.direction, Direction::inbound);
  EXPECT_EQ(found.number, "13812345678");
  ASSERT_TRUE(found.recording);
  EXPECT_EQ(found.recording->state, RecordingState::complete);
  EXPECT_EQ(found.recording->path, "/var/lib/deskline/recordings/call-1.opus");
  EXPECT_EQ(found.recording->bytes, 121'856u);
  EXPECT_EQ(found.recording->sha256, digest);

  // Read from a second, read-only connection, as the file worker does.
  auto reader = Store::open(database_path(), /*read_only=*/true);
  ASSERT_TRUE(ok(reader));
  const auto lookup = look_up_recording(**reader, "call-1");
  EXPECT_EQ(lookup.status, Status::found);
  EXPECT_EQ(lookup.state, "complete");
  EXPECT_EQ(lookup.path, "/var/lib/deskline/recordings/call-1.opus");
  EXPECT_EQ(lookup.bytes, 121'856u);
  EXPECT_EQ(lookup.sha256, digest);
  // The same name as from the whole call row.
  EXPECT_EQ(lookup.filename, recording_file_name(call));
  EXPECT_EQ(lookup.read_error, "");
}

TEST_F(RecordingLookupTest, ADeskFindsItsLinesCallsOnly) {
  ASSERT_TRUE(ok(store_->insert_call(ended_call("call-1"))));  // on "front desk/2"
  ASSERT_TRUE(ok(store_->insert_recording(recording_of("call-1", RecordingState::complete))));
  const std::vector<std::string> its_lines = {"back office", "front desk/2"};
  const std::vector<std::string> other_lines = {"back office"};
  EXPECT_EQ(look_up_recording(*store_, "call-1", its_lines).status, Status::found);
  // Another desk's call is no call: not 403, which would tell it exists.
  EXPECT_EQ(look_up_recording(*store_, "call-1", other_lines).status, Status::no_call);
  EXPECT_EQ(look_up_recording(*store_, "call-1").status, Status::found);  // an API token: every line
}

TEST_F(RecordingLookupTest, NoCallAndNoRecordingAreTold) {
  ASSERT_TRUE(ok(store_->insert_call(ended_call("call-1"))));

  const auto none = store_->find_recording_for_download("no-such-call");
  ASSERT_TRUE(ok(none));
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(look_up_recording(*store_, "no-such-call").status, Status::no_call);

  const auto bare = store_->find_recording_for_download("call-1");
  ASSERT_TRUE(ok(bare));
  ASSERT_TRUE(bare->has_value());
  EXPECT_FALSE((*bare)->recording);
  EXPECT_EQ(look_up_recording(*store_, "call-1").status, Status::no_recording);
}

TEST_F(RecordingLookupTest, EachStateGetsItsAnswer) {
  const struct {
    RecordingState state;
    Status status;
  } rows[] = {
      {RecordingState::recording, Status::in_progress}, {RecordingState::complete, Status::found},
      {RecordingState::truncated, Status::found},       {RecordingState::repaired, Status::found},
      {RecordingState::refused, Status::failed},        {RecordingState::failed, Status::failed},
      {RecordingState::damaged, Status::failed},        {RecordingState::deleted, Status::deleted},
  };
  for (const auto& row : rows) {
    const std::string state(to_string(row.state));
    SCOPED_TRACE(state);
    RecordingForDownload found{started, "front", Direction::outbound, "", {}};
    found.recording = RecordingForDownload::Recording{row.state, "/r/a.opus", 100, digest};
    const auto lookup = decide_recording_lookup(found);
    EXPECT_EQ(lookup.status, row.status);
    EXPECT_EQ(lookup.state, state);
    if (row.status == Status::found)
      EXPECT_EQ(lookup.filename, recording_file_name(started, "front", Direction::outbound, ""));
    else
      EXPECT_EQ(lookup.path, "");  // nothing to open
  }
}

// A complete row without a file or a digest (no ETag to give) is not served.
TEST_F(RecordingLookupTest, ACompleteRowWithoutFileOrDigestIsNotServed) {
  RecordingForDownload found{started, "front", Direction::inbound, "1", {}};
  found.recording = RecordingForDownload::Recording{RecordingState::complete, "", 100, digest};
  EXPECT_EQ(decide_recording_lookup(found).status, Status::failed);
  found.recording = RecordingForDownload::Recording{RecordingState::complete, "/r/a.opus", 100, ""};
  EXPECT_EQ(decide_recording_lookup(found).status, Status::failed);
  EXPECT_EQ(decide_recording_lookup(found).read_error, "");  // a row read, not a read failure
}

TEST_F(RecordingLookupTest, AnUnknownStateIsAReadFailure) {
  ASSERT_TRUE(ok(store_->insert_call(ended_call("call-1"))));
  ASSERT_TRUE(ok(store_->insert_recording(recording_of("call-1", RecordingState::complete))));
  ASSERT_EQ(execute("UPDATE recordings SET state = 'melted'"), SQLITE_OK);

  const auto rows = store_->find_recording_for_download("call-1");
  ASSERT_FALSE(rows);
  EXPECT_EQ(rows.error().code, StoreError::invalid_row);
  const auto lookup = look_up_recording(*store_, "call-1");
  EXPECT_EQ(lookup.status, Status::failed);
  EXPECT_NE(lookup.read_error.find("unknown state 'melted'"), std::string::npos) << lookup.read_error;
}

// Both tables by their primary keys: no scan, whatever their size.
TEST_F(RecordingLookupTest, TheQueryReadsByPrimaryKeys) {
  sqlite3* database = nullptr;
  ASSERT_EQ(sqlite3_open(database_path().c_str(), &database), SQLITE_OK);
  const auto plan = testing_support::query_plan(database, std::string(Store::recording_for_download_sql()));
  sqlite3_close(database);
  EXPECT_EQ(plan.find("SCAN"), std::string::npos) << plan;
  EXPECT_NE(plan.find("SEARCH c USING INDEX sqlite_autoindex_calls_1"), std::string::npos) << plan;
  EXPECT_NE(plan.find("SEARCH r USING INDEX sqlite_autoindex_recordings_1"), std::string::npos) << plan;
}

}  // namespace
}  // namespace deskline::daemon
