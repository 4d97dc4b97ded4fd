// The pull API's reads (migration 8): filtered pages in (started_at, id)
// order that stay exact while calls are inserted, the change feed, and query
// plans that use an index for every filter.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <set>
#include <string>

#include <fmt/format.h>

#include "daemon/store/store.hpp"
#include "tests/unit/query_plan.hpp"
#include "tests/unit/result_testing.hpp"
#include "tests/unit/temp_store.hpp"

namespace deskline::daemon {
namespace {

using testing_support::ok;

constexpr WallTimeUs hour = 3'600'000'000;
constexpr WallTimeUs base = 1'795'758'302LL * 1'000'000;

std::string id_of(int n) { return fmt::format("00000000-0000-4000-8000-{:012d}", n); }

CallRecord call_at(int n, WallTimeUs started_at) {
  CallRecord call;
  call.id = id_of(n);
  call.line = n % 2 ? "front" : "back";
  call.box = "X800-0001";
  call.port = 1 + n % 2;
  call.direction = n % 3 ? Direction::inbound : Direction::outbound;
  call.number = fmt::format("138{:08d}", n % 10);
  call.match = {fmt::format("+86138{:08d}", n % 10), "", {}};
  if (n % 5 == 0) call.match.customers = {{"c-5", "Five", "", ""}, {"c-x", "Other", "", ""}};
  call.state = CallState::ended;
  call.outcome = n % 4 ? Outcome::answered : Outcome::missed;
  call.end_reason = EndReason::on_hook;
  call.started_at = started_at;
  call.ended_at = started_at + 1'000'000;
  return call;
}

class StorePullTest : public testing_support::TempStoreTest {
 protected:
  std::vector<std::string> ids(const CallQuery& query) {
    std::vector<std::string> found;
    const auto calls = store_->query_calls(query);
    EXPECT_TRUE(ok(calls));
    if (calls)
      for (const auto& stored : *calls) found.push_back(stored.call.id);
    return found;
  }
};

TEST_F(StorePullTest, EachFilterKeepsItsCallsInStartOrder) {
  for (int n = 1; n <= 20; ++n) ASSERT_TRUE(ok(store_->insert_call(call_at(n, base + (20 - n) * hour))));
  CallQuery all;
  all.limit = 0;
  const auto every = ids(all);
  ASSERT_EQ(every.size(), 20u);
  EXPECT_EQ(every.front(), id_of(20));  // started first
  EXPECT_EQ(every.back(), id_of(1));

  CallQuery window;
  window.since = base + 5 * hour;
  window.until = base + 8 * hour;
  EXPECT_EQ(ids(window), (std::vector<std::string>{id_of(15), id_of(14), id_of(13)}));
  CallQuery line;
  line.line = "front";
  EXPECT_EQ(ids(line).size(), 10u);
  CallQuery heard;
  heard.number = "13800000003";
  EXPECT_EQ(ids(heard), (std::vector<std::string>{id_of(13), id_of(3)}));
  CallQuery e164;
  e164.number = "+8613800000003";
  EXPECT_EQ(ids(e164), ids(heard));
  CallQuery customer;
  customer.customer = "c-x";
  EXPECT_EQ(ids(customer), (std::vector<std::string>{id_of(20), id_of(15), id_of(10), id_of(5)}));
  CallQuery outbound;
  outbound.direction = Direction::outbound;
  outbound.outcome = Outcome::missed;
  EXPECT_EQ(ids(outbound), (std::vector<std::string>{id_of(12)}));
}

TEST_F(StorePullTest, PagesSeeEveryCallOnceWhileCallsAreInserted) {
  for (int n = 1; n <= 250; ++n) ASSERT_TRUE(ok(store_->insert_call(call_at(n, base + n / 3 * 1000))));  // ties
  std::multiset<std::string> seen;
  CallQuery page;
  page.limit = 7;
  int inserted = 1000;
  while (true) {
    const auto calls = store_->query_calls(page);
    ASSERT_TRUE(ok(calls));
    for (const auto& stored : *calls) seen.insert(stored.call.id);
    // New calls after the walk's position, at it, and before it.
    ASSERT_TRUE(ok(store_->insert_call(call_at(++inserted, base + 10 * hour))));
    if (calls->size() < page.limit) break;
    page.after = CallKey{calls->back().call.started_at, calls->back().call.id};
  }
  for (int n = 1; n <= 250; ++n) EXPECT_EQ(seen.count(id_of(n)), 1u) << n;
  for (const auto& id : seen) EXPECT_EQ(seen.count(id), 1u) << id;
}

TEST_F(StorePullTest, ChangesListEachCallOnceAtItsNewestChange) {
  EXPECT_EQ(*store_->last_change_seq(), 0);
  for (int n = 1; n <= 3; ++n) ASSERT_TRUE(ok(store_->insert_call(call_at(n, base + n))));
  auto first = store_->changes_after(0, 10);
  ASSERT_TRUE(ok(first));
  ASSERT_EQ(first->size(), 3u);
  const auto cursor = first->back().seq;
  EXPECT_EQ(*store_->last_change_seq(), cursor);
  EXPECT_TRUE(store_->changes_after(cursor, 10)->empty());

  auto changed = call_at(1, base + 1);
  ASSERT_TRUE(ok(store_->update_call(changed)));  // nothing differs: no change
  EXPECT_TRUE(store_->changes_after(cursor, 10)->empty());
  changed.name = "LI NA";
  ASSERT_TRUE(ok(store_->update_call(changed)));
  RecordingRecord recording{id_of(2), "/r/2.opus", RecordingState::recording, base, 0, 0, "", ""};
  ASSERT_TRUE(ok(store_->insert_recording(recording)));
  recording.state = RecordingState::complete;
  recording.sha256 = std::string(64, 'a');
  ASSERT_TRUE(ok(store_->update_recording(recording)));
  ASSERT_TRUE(ok(store_->update_call(changed)));  // the same again: no change

  const auto next = store_->changes_after(cursor, 10);
  ASSERT_TRUE(ok(next));
  ASSERT_EQ(next->size(), 2u);
  EXPECT_EQ((*next)[0].stored.call.id, id_of(1));
  EXPECT_EQ((*next)[0].stored.call.name, "LI NA");
  EXPECT_EQ((*next)[1].stored.call.id, id_of(2));
  ASSERT_TRUE((*next)[1].stored.recording);
  EXPECT_EQ((*next)[1].stored.recording->state, RecordingState::complete);
  EXPECT_LT((*next)[0].seq, (*next)[1].seq);
  EXPECT_EQ(store_->changes_after(0, 10)->size(), 3u);  // each call once, at its newest change
  EXPECT_EQ(store_->changes_after(0, 1)->front().stored.call.id, id_of(3));
}

TEST_F(StorePullTest, ChangeSeqGoesOnAfterReopening) {
  ASSERT_TRUE(ok(store_->insert_call(call_at(1, base))));
  const auto before = *store_->last_change_seq();
  store_.reset();
  auto reopened = Store::open(database_path());
  ASSERT_TRUE(ok(reopened));
  store_ = std::move(*reopened);
  EXPECT_EQ(*store_->last_change_seq(), before);
  ASSERT_TRUE(ok(store_->insert_call(call_at(2, base))));
  EXPECT_GT(*store_->last_change_seq(), before);
}

TEST_F(StorePullTest, EveryFilterUsesAnIndex) {
  std::vector<CallQuery> queries(9);
  queries[1].since = base;
  queries[2].until = base;
  queries[3].line = "front";
  queries[4].number = "1";
  queries[5].customer = "c";
  queries[6].direction = Direction::inbound;
  queries[7].outcome = Outcome::missed;
  queries[8].line = "front";
  queries[8].since = base;
  for (auto& query : queries) query.after = CallKey{base, id_of(1)};
  sqlite3* database = nullptr;
  ASSERT_EQ(sqlite3_open(database_path().c_str(), &database), SQLITE_OK);
  for (const auto& query : queries) {
    const auto sql = Store::call_query_sql(query);
    SCOPED_TRACE(sql);
    const auto plan = testing_support::query_plan(database, sql);
    EXPECT_EQ(plan.find("SCAN c\n"), std::string::npos) << plan;  // a scan of the whole table
    EXPECT_EQ(plan.find("SCAN calls"), std::string::npos) << plan;
    EXPECT_NE(plan.find("INDEX"), std::string::npos) << plan;
  }
  sqlite3_close(database);
}

}  // namespace
}  // namespace deskline::daemon
