// The pop hub: numbered events from call changes, with the customer match the
// call holds, stored before delivery.
#include "daemon/api/pop_hub.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>
#include <string>
#include <vector>

#include "daemon/store/store.hpp"
#include "tests/unit/recording_test_support.hpp"

namespace deskline::daemon {
namespace {

struct Recorder : PopSubscriber {
  std::vector<proto::pop::Event> events;
  void deliver(const PopMessagePtr& message) override { events.push_back(message->event); }
};

// A database in a fresh folder, and pop event logs on it (one per daemon run).
class TempStore {
 public:
  TempStore() : store_(Store::open(dir_ / "deskline.db").value()) {}
  std::unique_ptr<PopEventLog> open_log() const { return store_->open_pop_event_log().value(); }
  Store& store() { return *store_; }
  std::filesystem::path path() const { return dir_ / "deskline.db"; }

 private:
  codec::testing_support::TempDir dir_;
  std::unique_ptr<Store> store_;
};

class PopHubTest : public ::testing::Test {
 protected:
  PopHubTest() : hub_(log_, *events_) { hub_.subscribe(recorder_); }

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
  TempStore database_;
  std::unique_ptr<PopEventLog> events_ = database_.open_log();
  PopHub hub_;
  Recorder recorder_;
};

TEST_F(PopHubTest, EventsShowTheMatchTheCallHolds) {
  auto call = ringing_call("a", "13812345678");
  call.match = {"+8613812345678", "138 1234 5678", {{"c1", "Zhang Wei", "Acme", "https://crm/c1"}}};
  hub_.call_changed(CallChange::started, call, {});
  ASSERT_EQ(recorder_.events.size(), 1u);
  EXPECT_EQ(recorder_.events[0].event, "call.ringing");
  EXPECT_EQ(recorder_.events[0].number, "+8613812345678");
  EXPECT_EQ(recorder_.events[0].number_display, "138 1234 5678");
  EXPECT_EQ(recorder_.events[0].customers,
            (std::vector<proto::pop::Customer>{{"c1", "Zhang Wei", "Acme", "https://crm/c1"}}));

  // A number that could not be normalised goes out as received.
  auto other = ringing_call("b", "10086");
  other.match = {"", "10086", {}};
  hub_.call_changed(CallChange::started, other, {});
  EXPECT_EQ(recorder_.events.back().number, "10086");
  EXPECT_TRUE(recorder_.events.back().customers.empty());

  // No number yet: none shown.
  hub_.call_changed(CallChange::started, ringing_call("c", ""), {});
  EXPECT_EQ(recorder_.events.back().number, "");
  EXPECT_EQ(recorder_.events.back().number_display, "");
}

// Another program's connection to the file.
std::unique_ptr<sqlite3, int (*)(sqlite3*)> sqlite_of(const std::filesystem::path& path) {
  sqlite3* database = nullptr;
  sqlite3_open(path.c_str(), &database);
  return {database, sqlite3_close};
}

drivers::BoxIdentity box(const std::string& serial) {
  drivers::BoxIdentity identity;
  identity.serial = serial;
  return identity;
}

TEST_F(PopHubTest, EveryEventIsStoredBeforeDelivery) {
  struct CheckStored : PopSubscriber {
    PopEventLog* log = nullptr;
    std::vector<bool> stored;
    void deliver(const PopMessagePtr& message) override {
      const auto rows = log->since(message->event.seq - 1).value();
      stored.push_back(!rows.empty() && rows.back().seq == message->event.seq &&
                       rows.back().json + "\n" == message->text);
    }
  } check;
  auto second_log = database_.open_log();  // reads through its own connection, as after a restart
  check.log = second_log.get();
  hub_.subscribe(check);
  hub_.call_changed(CallChange::started, ringing_call("a", "13812345678"), {});
  hub_.box_changed(box("X800-0001"), true);
  EXPECT_EQ(check.stored, (std::vector<bool>{true, true}));
}

TEST_F(PopHubTest, SeqGoesOnFromTheStoreInTheNextDaemonRun) {
  hub_.call_changed(CallChange::started, ringing_call("a", "13812345678"), {});
  hub_.call_changed(CallChange::ended, ringing_call("a", "13812345678"), {});
  hub_.box_changed(box("X800-0001"), false);
  ASSERT_EQ(hub_.last_seq(), 3u);

  auto next_log = database_.open_log();
  PopHub next(log_, *next_log);
  Recorder recorder;
  next.subscribe(recorder);
  EXPECT_EQ(next.stream_id(), hub_.stream_id());
  EXPECT_EQ(next.last_seq(), 3u);
  next.box_changed(box("X800-0001"), true);
  ASSERT_EQ(recorder.events.size(), 1u);
  EXPECT_EQ(recorder.events[0].seq, 4u);

  // The new run replays the old run's events as they were sent, then its own.
  bool gap = true;
  const auto history = next.history_since(1, gap);
  EXPECT_FALSE(gap);
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0]->event, recorder_.events[1]);
  EXPECT_EQ(history[1]->event, recorder_.events[2]);
  EXPECT_EQ(history[2]->event.seq, 4u);
  EXPECT_EQ(history[2]->text, proto::pop::to_json(recorder.events[0]) + "\n");
  EXPECT_TRUE(next.history_since(4, gap).empty());
  EXPECT_FALSE(gap);
}

TEST_F(PopHubTest, HelloNamesTheStreamAndTheNewestSeq) {
  EXPECT_EQ(proto::pop::hello_from_json(hub_.hello()), (proto::pop::Hello{hub_.stream_id(), 0}));
  hub_.box_changed(box("X800-0001"), true);
  EXPECT_EQ(proto::pop::hello_from_json(hub_.hello()), (proto::pop::Hello{hub_.stream_id(), 1}));
}

TEST_F(PopHubTest, OldEventsArePrunedInBatchesAndResumingBeforeThemIsAGap) {
  const std::size_t total = PopHub::history_limit + PopHub::prune_batch + 10;
  for (std::size_t i = 0; i < total; ++i) hub_.box_changed(box("X800-0001"), i % 2 == 0);
  bool gap = false;
  const auto kept = hub_.history_since(0, gap);
  EXPECT_TRUE(gap);
  // Pruned after the batch that went past the limit: exactly the limit then, plus 10 since.
  ASSERT_EQ(kept.size(), PopHub::history_limit + 10);
  EXPECT_EQ(kept.front()->event.seq, total - kept.size() + 1);
  EXPECT_EQ(kept.back()->event.seq, total);

  hub_.history_since(kept.front()->event.seq - 1, gap);
  EXPECT_FALSE(gap);  // exactly the oldest kept
  hub_.history_since(kept.front()->event.seq - 2, gap);
  EXPECT_TRUE(gap);
}

TEST_F(PopHubTest, AFailedStoreNeitherStopsPopsNorLogsPerEvent) {
  Logger loud{LogLevel::info};
  auto log = database_.open_log();
  PopHub hub(loud, *log);
  Recorder recorder;
  hub.subscribe(recorder);
  // A disk-full stand-in: every insert fails until the trigger is dropped.
  const auto other = sqlite_of(database_.path());
  ASSERT_EQ(sqlite3_exec(other.get(),
                         "CREATE TRIGGER full BEFORE INSERT ON pop_events BEGIN SELECT RAISE(ABORT, 'disk full'); END",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  ::testing::internal::CaptureStderr();
  for (int i = 0; i < 3; ++i) hub.box_changed(box("X800-0001"), i % 2 == 0);
  ASSERT_EQ(sqlite3_exec(other.get(), "DROP TRIGGER full", nullptr, nullptr, nullptr), SQLITE_OK);
  hub.box_changed(box("X800-0001"), true);
  const auto logged = ::testing::internal::GetCapturedStderr();

  ASSERT_EQ(recorder.events.size(), 4u);  // every pop went out
  EXPECT_EQ(recorder.events.back().seq, 4u);
  std::size_t errors = 0;
  for (auto at = logged.find("cannot store pop event"); at != std::string::npos;
       at = logged.find("cannot store pop event", at + 1))
    ++errors;
  EXPECT_EQ(errors, 1u) << logged;
  EXPECT_NE(logged.find("disk full"), std::string::npos) << logged;
  EXPECT_NE(logged.find("stored again from seq=4"), std::string::npos) << logged;
  bool gap = false;
  const auto history = hub.history_since(0, gap);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0]->event.seq, 4u);
  EXPECT_TRUE(gap);
}

}  // namespace
}  // namespace deskline::daemon
