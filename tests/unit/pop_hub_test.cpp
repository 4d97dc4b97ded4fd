// The pop hub: numbered events from call changes, with the customer match the
// call holds, delivered at once and stored after on the writer thread, with
// their seqs reserved before delivery.
#include "daemon/api/pop_hub.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/domain/call_json.hpp"
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
  PopHubTest() { hub_->subscribe(recorder_); }

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

  // Holds the writer until the returned promise is set.
  std::promise<void> hold_writer() {
    std::promise<void> gate;
    writer_.submit([opened = gate.get_future().share()] { opened.wait(); });
    return gate;
  }

  Logger log_{LogLevel::error};
  TempStore database_;
  StoreWriter writer_{database_.store(), log_};
  std::unique_ptr<PopEventLog> history_ = database_.open_log();
  std::unique_ptr<PopEventLog> appends_ = database_.open_log();
  std::optional<PopHub> hub_{std::in_place, log_, *history_, *appends_, writer_};
  Recorder recorder_;
};

TEST_F(PopHubTest, EventsShowTheMatchTheCallHolds) {
  auto call = ringing_call("a", "13812345678");
  call.match = {"+8613812345678", "138 1234 5678", {{"c1", "Zhang Wei", "Acme", "https://crm/c1"}}};
  hub_->call_changed(CallChange::started, call, {});
  ASSERT_EQ(recorder_.events.size(), 1u);
  EXPECT_EQ(recorder_.events[0].event, "call.ringing");
  EXPECT_EQ(recorder_.events[0].number, "+8613812345678");
  EXPECT_EQ(recorder_.events[0].number_display, "138 1234 5678");
  EXPECT_EQ(recorder_.events[0].customers,
            (std::vector<proto::pop::Customer>{{"c1", "Zhang Wei", "Acme", "https://crm/c1"}}));

  // A number that could not be normalised goes out as received.
  auto other = ringing_call("b", "10086");
  other.match = {"", "10086", {}};
  hub_->call_changed(CallChange::started, other, {});
  EXPECT_EQ(recorder_.events.back().number, "10086");
  EXPECT_TRUE(recorder_.events.back().customers.empty());

  // No number yet: none shown.
  hub_->call_changed(CallChange::started, ringing_call("c", ""), {});
  EXPECT_EQ(recorder_.events.back().number, "");
  EXPECT_EQ(recorder_.events.back().number_display, "");
}

// A digit dialled is a call.dialling event with the digits so far in
// `digits`, the number still empty (it is not the callee's number until it
// is complete); a client that connects meanwhile gets them in the replay.
TEST_F(PopHubTest, DiallingEventsCarryTheDigitsSoFarAndTheReplayHasThem) {
  auto call = ringing_call("out", "");
  call.direction = Direction::outbound;
  hub_->call_changed(CallChange::started, call, {});
  hub_->call_changed(CallChange::digit_dialled, call, {1'800'000'000'500'000, '1', 0, "1"});
  hub_->call_changed(CallChange::digit_dialled, call, {1'800'000'001'000'000, '3', 0, "13"});
  ASSERT_EQ(recorder_.events.size(), 3u);
  EXPECT_EQ(recorder_.events[0].event, "call.outbound");
  EXPECT_FALSE(recorder_.events[0].digits);
  const auto& dialling = recorder_.events[2];
  EXPECT_EQ(dialling.event, "call.dialling");
  EXPECT_EQ(dialling.digits, "13");
  EXPECT_EQ(dialling.number, "");
  EXPECT_EQ(dialling.number_display, "");
  EXPECT_EQ(dialling.direction, "outbound");
  EXPECT_EQ(dialling.at, format_iso8601(1'800'000'001'000'000));
  EXPECT_EQ(dialling.started_at, format_iso8601(call.started_at));
  EXPECT_EQ(proto::pop::event_from_json(proto::pop::to_json(dialling)), dialling);

  auto replays = hub_->active_calls();
  ASSERT_EQ(replays.size(), 1u);
  EXPECT_EQ(replays[0]->event.event, "call.dialling");
  EXPECT_EQ(replays[0]->event.digits, "13");
  EXPECT_TRUE(replays[0]->event.replay);
  EXPECT_NE(replays[0]->text.find(R"("digits":"13")"), std::string::npos) << replays[0]->text;

  // Complete: the number is the number, and no event carries digits any more.
  call.number = "139";
  hub_->call_changed(CallChange::number_dialled, call, {1'800'000'005'000'000, 0, 0, {}});
  EXPECT_EQ(recorder_.events.back().event, "call.identified");
  EXPECT_EQ(recorder_.events.back().number, "139");
  EXPECT_FALSE(recorder_.events.back().digits);
  replays = hub_->active_calls();
  ASSERT_EQ(replays.size(), 1u);
  EXPECT_EQ(replays[0]->event.event, "call.identified");
  EXPECT_FALSE(replays[0]->event.digits);
}

// Another program's connection to the file.
std::unique_ptr<sqlite3, int (*)(sqlite3*)> sqlite_of(const std::filesystem::path& path) {
  sqlite3* database = nullptr;
  sqlite3_open(path.c_str(), &database);
  // The writer thread may hold the write lock when the test changes the schema.
  sqlite3_busy_timeout(database, 30'000);
  return {database, sqlite3_close};
}

drivers::BoxIdentity box(const std::string& serial) {
  drivers::BoxIdentity identity;
  identity.serial = serial;
  return identity;
}

// A daemon killed right after a delivery: the next run, which numbers on
// after what the log holds when it opens, must not give that seq again.
TEST_F(PopHubTest, EverySeqIsReservedBeforeDelivery) {
  struct CheckReserved : PopSubscriber {
    TempStore* database = nullptr;
    std::promise<void>* gate = nullptr;
    std::vector<std::uint64_t> unreserved;
    void deliver(const PopMessagePtr& message) override {
      if (database->open_log()->last_seq_at_open() < message->event.seq) unreserved.push_back(message->event.seq);
      if (message->event.seq == PopHub::reservation_block) gate->set_value();
    }
  } check;
  // The writer is held through the first block: the next event's seq is
  // reserved only once the hub has waited for the writer.
  auto gate = hold_writer();
  check.database = &database_;
  check.gate = &gate;
  hub_->subscribe(check);
  const auto events = 2 * PopHub::reservation_block + 100;
  for (std::uint64_t i = 0; i < events; ++i) hub_->box_changed(box("X800-0001"), i % 2 == 0);
  EXPECT_EQ(recorder_.events.size(), events);
  EXPECT_TRUE(check.unreserved.empty()) << check.unreserved.size() << " seqs delivered unreserved, the first "
                                        << check.unreserved.front();
}

TEST_F(PopHubTest, EventsAreDeliveredBeforeTheyAreStoredAndResumableMeanwhile) {
  auto gate = hold_writer();
  hub_->call_changed(CallChange::started, ringing_call("a", "13812345678"), {});
  hub_->box_changed(box("X800-0001"), true);
  ASSERT_EQ(recorder_.events.size(), 2u);  // delivered while the writer is held
  EXPECT_TRUE(database_.open_log()->since(0).value().empty());

  // History serves them from memory meanwhile, as they were sent.
  bool gap = true;
  auto history = hub_->history_since(0, gap);
  EXPECT_FALSE(gap);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0]->event, recorder_.events[0]);
  EXPECT_EQ(history[1]->event, recorder_.events[1]);

  // Stored, each event is served once, now from the log.
  gate.set_value();
  writer_.flush();
  const auto stored = database_.open_log()->since(0).value();
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[1].json + "\n", proto::pop::to_json(recorder_.events[1]) + "\n");
  hub_->box_changed(box("X800-0001"), false);
  history = hub_->history_since(1, gap);
  EXPECT_FALSE(gap);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0]->event.seq, 2u);
  EXPECT_EQ(history[1]->event.seq, 3u);
}

TEST_F(PopHubTest, SeqGoesOnFromTheStoreInTheNextDaemonRun) {
  hub_->call_changed(CallChange::started, ringing_call("a", "13812345678"), {});
  hub_->call_changed(CallChange::ended, ringing_call("a", "13812345678"), {});
  hub_->box_changed(box("X800-0001"), false);
  ASSERT_EQ(hub_->last_seq(), 3u);
  const auto stream = hub_->stream_id();
  hub_.reset();  // a clean stop gives back the seqs reserved and not used

  auto next_history = database_.open_log();
  auto next_log = database_.open_log();
  PopHub next(log_, *next_history, *next_log, writer_);
  Recorder recorder;
  next.subscribe(recorder);
  EXPECT_EQ(next.stream_id(), stream);
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
  EXPECT_EQ(proto::pop::hello_from_json(hub_->hello()), (proto::pop::Hello{hub_->stream_id(), 0, "", {}, false}));
  hub_->box_changed(box("X800-0001"), true);
  EXPECT_EQ(proto::pop::hello_from_json(hub_->hello()), (proto::pop::Hello{hub_->stream_id(), 1, "", {}, false}));
}

TEST_F(PopHubTest, OldEventsArePrunedInBatchesAndResumingBeforeThemIsAGap) {
  const std::size_t total = PopHub::history_limit + PopHub::prune_batch + 10;
  for (std::size_t i = 0; i < total; ++i) hub_->box_changed(box("X800-0001"), i % 2 == 0);
  writer_.flush();
  bool gap = false;
  const auto kept = hub_->history_since(0, gap);
  EXPECT_TRUE(gap);
  // Pruned after the batch that went past the limit: exactly the limit then, plus 10 since.
  ASSERT_EQ(kept.size(), PopHub::history_limit + 10);
  EXPECT_EQ(kept.front()->event.seq, total - kept.size() + 1);
  EXPECT_EQ(kept.back()->event.seq, total);

  hub_->history_since(kept.front()->event.seq - 1, gap);
  EXPECT_FALSE(gap);  // exactly the oldest kept
  hub_->history_since(kept.front()->event.seq - 2, gap);
  EXPECT_TRUE(gap);
}

TEST_F(PopHubTest, AFailedStoreNeitherStopsPopsNorLogsPerEvent) {
  Logger loud{LogLevel::info};
  hub_.reset();
  auto reads = database_.open_log();
  auto log = database_.open_log();
  PopHub hub(loud, *reads, *log, writer_);
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
  writer_.flush();
  ASSERT_EQ(sqlite3_exec(other.get(), "DROP TRIGGER full", nullptr, nullptr, nullptr), SQLITE_OK);
  hub.box_changed(box("X800-0001"), true);
  writer_.flush();
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

TEST_F(PopHubTest, AFailedReservationNeitherStopsPopsNorWaitsOrLogsPerEvent) {
  Logger loud{LogLevel::info};
  hub_.reset();
  const auto other = sqlite_of(database_.path());
  // A disk-full stand-in for the reservation's row.
  ASSERT_EQ(sqlite3_exec(other.get(),
                         "CREATE TRIGGER full BEFORE INSERT ON meta BEGIN SELECT RAISE(ABORT, 'disk full'); END",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  ::testing::internal::CaptureStderr();
  auto reads = database_.open_log();
  auto log = database_.open_log();
  std::optional<PopHub> hub(std::in_place, loud, *reads, *log, writer_);
  Recorder recorder;
  hub->subscribe(recorder);
  for (int i = 0; i < 3; ++i) hub->box_changed(box("X800-0001"), i % 2 == 0);
  ASSERT_EQ(sqlite3_exec(other.get(), "DROP TRIGGER full", nullptr, nullptr, nullptr), SQLITE_OK);
  hub->box_changed(box("X800-0001"), true);  // asks again
  writer_.flush();
  hub->box_changed(box("X800-0001"), false);
  const auto reserved = database_.open_log()->last_seq_at_open();
  hub.reset();
  const auto logged = ::testing::internal::GetCapturedStderr();

  ASSERT_EQ(recorder.events.size(), 5u);  // every pop went out
  EXPECT_NE(logged.find("cannot reserve pop event seqs: "), std::string::npos) << logged;
  std::size_t unreserved = 0;
  for (auto at = logged.find("is not reserved"); at != std::string::npos; at = logged.find("is not reserved", at + 1))
    ++unreserved;
  EXPECT_EQ(unreserved, 1u) << logged;
  EXPECT_GE(reserved, 5u) << "reserved again once the database took it";
}

}  // namespace
}  // namespace deskline::daemon
