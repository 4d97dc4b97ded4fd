// The CRM outbox: queued by the schema's triggers in the transaction that
// ends a call or completes its recording, and settled by the sync.
#include "daemon/store/crm_outbox.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>
#include <string>

#include "daemon/store/store.hpp"
#include "tests/unit/query_plan.hpp"
#include "tests/unit/recording_test_support.hpp"

namespace deskline::daemon {
namespace {

constexpr WallTimeUs t0 = 1'800'000'000'000'000;

class CrmOutboxTest : public ::testing::Test {
 protected:
  CrmOutboxTest() { EXPECT_TRUE(outbox_->set_queueing(true)); }

  static CallRecord call(const std::string& id) {
    CallRecord call;
    call.id = id;
    call.line = "Sales 1";
    call.box = "X800-0001";
    call.port = 1;
    call.number = "13812345678";
    call.started_at = t0;
    return call;
  }
  static CallRecord ended(CallRecord call) {
    call.state = CallState::ended;
    call.outcome = Outcome::answered;
    call.end_reason = EndReason::on_hook;
    call.answered_at = t0 + 5'000'000;
    call.ended_at = t0 + 65'000'000;
    return call;
  }
  static RecordingRecord recording(const std::string& call_id, RecordingState state) {
    RecordingRecord recording;
    recording.call_id = call_id;
    recording.path = "/var/lib/deskline/recordings/" + call_id + ".opus";
    recording.state = state;
    recording.started_at = t0 + 5'000'000;
    if (state != RecordingState::recording) {
      recording.duration_s = 60;
      recording.bytes = 120'000;
      recording.sha256 = std::string(64, 'a');
    }
    return recording;
  }
  OutboxItem item(const std::string& call_id, OutboxKind kind) {
    auto found = outbox_->find(call_id, kind);
    EXPECT_TRUE(found && *found) << call_id << " " << to_string(kind);
    return found && *found ? **found : OutboxItem{};
  }
  bool queued(const std::string& call_id, OutboxKind kind) { return outbox_->find(call_id, kind).value().has_value(); }
  // Far in the future: every pending item is due.
  std::vector<OutboxItem> due() { return outbox_->due(t0 * 2, 100).value(); }

  codec::testing_support::TempDir dir_;
  std::unique_ptr<Store> store_ = Store::open(dir_ / "deskline.db").value();
  std::unique_ptr<CrmOutbox> outbox_ = store_->open_crm_outbox().value();
};

TEST_F(CrmOutboxTest, AnEndedCallIsQueuedInItsOwnWriteAndOnceMoreOnlyWhenItChanges) {
  ASSERT_TRUE(store_->insert_call(call("a")));
  EXPECT_FALSE(queued("a", OutboxKind::call));  // active: nothing to send yet
  ASSERT_TRUE(store_->update_call(call("a")));
  EXPECT_FALSE(queued("a", OutboxKind::call));
  ASSERT_TRUE(store_->update_call(ended(call("a"))));
  EXPECT_EQ(item("a", OutboxKind::call).revision, 1);
  EXPECT_EQ(item("a", OutboxKind::call).state, OutboxState::pending);
  ASSERT_TRUE(store_->update_call(ended(call("a"))));  // the same content again
  EXPECT_EQ(item("a", OutboxKind::call).revision, 1);
  auto renamed = ended(call("a"));
  renamed.match.customers.push_back({"c-1", "Zhang Wei", "", ""});
  ASSERT_TRUE(store_->update_call(renamed));
  EXPECT_EQ(item("a", OutboxKind::call).revision, 2);
  // Inserted already ended (a recording re-attached to a new row).
  ASSERT_TRUE(store_->insert_call(ended(call("b"))));
  EXPECT_EQ(item("b", OutboxKind::call).revision, 1);
}

TEST_F(CrmOutboxTest, ACompletedRecordingIsQueuedAndChangesItsCallsEntry) {
  ASSERT_TRUE(store_->insert_call(call("a")));
  ASSERT_TRUE(store_->insert_recording(recording("a", RecordingState::recording)));
  EXPECT_FALSE(queued("a", OutboxKind::recording));
  ASSERT_TRUE(store_->update_call(ended(call("a"))));
  ASSERT_TRUE(store_->update_recording(recording("a", RecordingState::complete)));
  EXPECT_EQ(item("a", OutboxKind::recording).revision, 1);
  EXPECT_EQ(item("a", OutboxKind::call).revision, 2);  // now with the recording's metadata
  // Refused and failed recordings have no file: nothing to upload.
  ASSERT_TRUE(store_->insert_call(ended(call("b"))));
  auto refused = recording("b", RecordingState::refused);
  refused.path.clear();
  ASSERT_TRUE(store_->insert_recording(refused));
  EXPECT_FALSE(queued("b", OutboxKind::recording));
}

TEST_F(CrmOutboxTest, NothingIsQueuedWhileQueueingIsOff) {
  ASSERT_TRUE(outbox_->set_queueing(false));
  ASSERT_TRUE(store_->insert_call(ended(call("a"))));
  ASSERT_TRUE(store_->insert_recording(recording("a", RecordingState::complete)));
  EXPECT_FALSE(queued("a", OutboxKind::call));
  EXPECT_FALSE(queued("a", OutboxKind::recording));
  EXPECT_TRUE(outbox_->recording_settled("a").value());  // never queued: retention may take it
}

TEST_F(CrmOutboxTest, ARecordingIsDueOnlyAfterItsCallsEntryWasAcknowledged) {
  ASSERT_TRUE(store_->insert_call(ended(call("a"))));
  ASSERT_TRUE(store_->insert_recording(recording("a", RecordingState::complete)));
  auto items = due();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].kind, OutboxKind::call);
  ASSERT_TRUE(outbox_->delivered(items[0], items[0].revision, "", t0 + 1));
  EXPECT_EQ(item("a", OutboxKind::call).state, OutboxState::done);
  items = due();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].kind, OutboxKind::recording);
  EXPECT_FALSE(outbox_->recording_settled("a").value());  // retention must keep it
  ASSERT_TRUE(outbox_->delivered(items[0], items[0].revision, std::string(64, 'a'), t0 + 2));
  EXPECT_EQ(item("a", OutboxKind::recording).confirmed_sha256, std::string(64, 'a'));
  EXPECT_TRUE(outbox_->recording_settled("a").value());
  EXPECT_TRUE(due().empty());
  const auto summary = outbox_->summary().value();
  EXPECT_EQ(summary.done, 2);
  EXPECT_EQ(summary.pending, 0);
  EXPECT_EQ(summary.last_done_at, t0 + 2);
}

TEST_F(CrmOutboxTest, ANewerRevisionQueuedDuringASendIsSentNext) {
  ASSERT_TRUE(store_->insert_call(ended(call("a"))));
  const auto sending = item("a", OutboxKind::call);
  auto changed = ended(call("a"));
  changed.name = "ZHANG WEI";
  ASSERT_TRUE(store_->update_call(changed));  // revision 2 while revision 1 is on the wire
  ASSERT_TRUE(outbox_->delivered(sending, sending.revision, "", t0 + 1));
  const auto after = item("a", OutboxKind::call);
  EXPECT_EQ(after.state, OutboxState::pending);
  EXPECT_EQ(after.sent_revision, 1);
  EXPECT_EQ(after.revision, 2);
}

TEST_F(CrmOutboxTest, FailuresBackOffOrParkAndRetryBringsThemBack) {
  ASSERT_TRUE(store_->insert_call(ended(call("a"))));
  ASSERT_TRUE(store_->insert_call(ended(call("b"))));
  ASSERT_TRUE(outbox_->failed(item("a", OutboxKind::call), 503, "503 Service Unavailable", t0, t0 + 4'000'000));
  auto a = item("a", OutboxKind::call);
  EXPECT_EQ(a.state, OutboxState::pending);
  EXPECT_EQ(a.attempts, 1);
  EXPECT_EQ(a.next_at, t0 + 4'000'000);
  EXPECT_EQ(a.last_status, 503);
  EXPECT_EQ(outbox_->due(t0 + 3'999'999, 10).value().size(), 1u);  // only b
  // The sync's timer waits for a, not for b, which is due already (it goes
  // when a slot frees up, not by polling).
  EXPECT_EQ(outbox_->next_due(t0).value(), t0 + 4'000'000);
  EXPECT_EQ(outbox_->next_due(0).value(), item("b", OutboxKind::call).next_at);
  EXPECT_FALSE(outbox_->next_due(t0 + 4'000'000).value());

  ASSERT_TRUE(outbox_->failed(item("b", OutboxKind::call), 422, R"({"error": "bad_entry"})", t0, std::nullopt));
  EXPECT_EQ(item("b", OutboxKind::call).state, OutboxState::parked);
  EXPECT_EQ(item("b", OutboxKind::call).last_error, R"({"error": "bad_entry"})");
  EXPECT_EQ(outbox_->in_state(OutboxState::parked, 10).value().size(), 1u);
  EXPECT_EQ(outbox_->summary().value().parked, 1);

  EXPECT_EQ(outbox_->retry(std::nullopt, t0 + 10).value(), 1u);
  const auto b = item("b", OutboxKind::call);
  EXPECT_EQ(b.state, OutboxState::pending);
  EXPECT_EQ(b.attempts, 0);
  EXPECT_EQ(b.next_at, t0 + 10);
  EXPECT_EQ(outbox_->retry(std::string("a"), t0 + 20).value(), 1u);
  EXPECT_EQ(item("a", OutboxKind::call).next_at, t0 + 20);

  // A restart: what waits out a back-off is due at once, its failures kept.
  ASSERT_TRUE(outbox_->failed(item("a", OutboxKind::call), 503, "503", t0 + 20, t0 + 60'000'000));
  ASSERT_TRUE(outbox_->due_now(t0 + 30));
  EXPECT_EQ(item("a", OutboxKind::call).next_at, t0 + 30);
  EXPECT_EQ(item("a", OutboxKind::call).attempts, 1);
}

TEST_F(CrmOutboxTest, ARecordingTheCrmCannotPlaceSendsItsEntryAgainFirst) {
  ASSERT_TRUE(store_->insert_call(ended(call("a"))));
  ASSERT_TRUE(store_->insert_recording(recording("a", RecordingState::complete)));
  auto entry = due().front();
  ASSERT_TRUE(outbox_->delivered(entry, entry.revision, "", t0));
  ASSERT_TRUE(outbox_->resend_entry("a", t0 + 1));  // 404 unknown_call on the upload
  const auto items = due();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].kind, OutboxKind::call);
  EXPECT_GT(items[0].revision, entry.revision);
}

// The sync reads a few due items at a time, and a released backlog shares one next_at: unless the index yields
// them in order, SQLite sorts every due item for each read (a drain of n items: n sorts of up to n rows).
TEST_F(CrmOutboxTest, DueItemsAreReadInIndexOrderWithoutASort) {
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2((dir_ / "deskline.db").c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  const auto steps = testing_support::query_plan(raw, CrmOutbox::due_query());
  sqlite3_close(raw);
  EXPECT_NE(steps.find("USING INDEX crm_outbox_due"), std::string::npos) << steps;
  EXPECT_EQ(steps.find("TEMP B-TREE"), std::string::npos) << steps;
}

TEST_F(CrmOutboxTest, TheBodyOfARevisionIsKept) {
  ASSERT_TRUE(store_->insert_call(ended(call("a"))));
  ASSERT_TRUE(outbox_->keep_body("a", 1, R"({"version":1})"));
  const auto kept = item("a", OutboxKind::call);
  EXPECT_EQ(kept.body, R"({"version":1})");
  EXPECT_EQ(kept.body_revision, 1);
}

}  // namespace
}  // namespace deskline::daemon
