#include "daemon/store/store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "daemon/store/wal_checkpointer.hpp"
#include "tests/unit/result_testing.hpp"

namespace deskline::daemon {
namespace {

namespace fs = std::filesystem;
using testing_support::ok;

CallRecord inbound_call(std::string id, WallTimeUs started_at) {
  CallRecord call;
  call.id = std::move(id);
  call.line = "Sales 1";
  call.box = "X800-0001";
  call.port = 1;
  call.direction = Direction::inbound;
  call.user = "Li Na";
  call.number = "13812345678";
  call.name = "LI NA";
  call.match = {"+8613812345678", "138 1234 5678", {{"c-42", "Zhang Wei", "Acme", "https://crm/c/42"}}};
  call.state = CallState::active;
  call.started_at = started_at;
  return call;
}

// Direct SQLite access, to look at the file the way another program would.
class RawDatabase {
 public:
  explicit RawDatabase(const fs::path& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &database_), SQLITE_OK);
    sqlite3_busy_timeout(database_, 5000);
  }
  ~RawDatabase() { sqlite3_close(database_); }
  int execute(const std::string& sql) { return sqlite3_exec(database_, sql.c_str(), nullptr, nullptr, nullptr); }
  std::string text(const std::string& sql) {
    sqlite3_stmt* statement = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(database_, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK &&
        sqlite3_step(statement) == SQLITE_ROW && sqlite3_column_text(statement, 0))
      out = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
    sqlite3_finalize(statement);
    return out;
  }

 private:
  sqlite3* database_ = nullptr;
};

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "deskline-store-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    folder_ = pattern;
    path_ = folder_ / "deskline.db";
  }
  void TearDown() override { fs::remove_all(folder_); }

  std::unique_ptr<Store> open_store(bool read_only = false) {
    auto store = Store::open(path_, read_only);
    EXPECT_TRUE(ok(store));
    return store ? std::move(*store) : nullptr;
  }

  fs::path folder_;
  fs::path path_;
};

// ---- opening and migrations ----------------------------------------------------

// The daemon's commits never checkpoint: the commit that took the WAL past
// 1000 pages used to run the checkpoint and its two fsyncs on the io thread,
// ahead of the next pop. The checkpointer's thread copies the WAL instead.
TEST_F(StoreTest, CheckpointsRunOnTheCheckpointerThreadNotInCommits) {
  auto store = open_store();
  ASSERT_TRUE(store);
  Logger log(LogLevel::error);
  {
    auto idle = store->start_checkpointer(std::chrono::hours(1), log);  // never wakes in this block
    ASSERT_TRUE(ok(idle));
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE(ok(store->insert_call(inbound_call(fmt::format("c-{}", i), i))));
    // SQLite's own checkpoint would have restarted the WAL at 1000 pages.
    const auto wal_bytes = fs::file_size(fs::path(path_.string() + "-wal"));
    EXPECT_GT(wal_bytes, 1500u * (4096 + 24)) << "a commit checkpointed";
    EXPECT_EQ((*idle)->checkpoints(), 0u);
  }
  auto checkpointer = store->start_checkpointer(std::chrono::milliseconds(10), log);
  ASSERT_TRUE(ok(checkpointer));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while ((*checkpointer)->checkpoints() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_GT((*checkpointer)->checkpoints(), 0u);
  // Every call is in the database file itself, read without the WAL.
  sqlite3* file_only = nullptr;
  ASSERT_EQ(sqlite3_open_v2(("file:" + path_.string() + "?immutable=1").c_str(), &file_only,
                            SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr),
            SQLITE_OK);
  sqlite3_stmt* count = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(file_only, "SELECT count(*) FROM calls", -1, &count, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(count), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(count, 0), 1000);
  sqlite3_finalize(count);
  sqlite3_close(file_only);
}

TEST_F(StoreTest, MigratesAnEmptyFileToTheLatestSchema) {
  auto store = open_store();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), Store::latest_schema_version());
  // 1: calls and events, 2: recordings, 3: direction unknown, 4: end_reason, 5: pop events,
  // 6: desk user and customer match, 7: CRM outbox, 8: pull API change feed, 9: outbox due order
  EXPECT_EQ(Store::latest_schema_version(), 9);
  EXPECT_FALSE(store->read_only());
  RawDatabase raw(path_);
  EXPECT_EQ(raw.text("PRAGMA user_version"), std::to_string(Store::latest_schema_version()));
  EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");  // persistent in the file
  EXPECT_EQ(raw.text("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'calls'"), "calls");
  EXPECT_EQ(raw.text("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'call_events'"), "call_events");
  EXPECT_EQ(raw.text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'calls' AND sql LIKE "
                     "'%started_at%'"),
            "calls_started_at");
}

TEST_F(StoreTest, ReopeningIsIdempotent) {
  {
    auto store = open_store();
    ASSERT_TRUE(store);
    ASSERT_TRUE(ok(store->insert_call(inbound_call("a", 1))));
  }
  for (int round = 0; round < 3; ++round) {
    auto store = open_store();
    ASSERT_TRUE(store);
    EXPECT_EQ(store->schema_version(), Store::latest_schema_version());
    EXPECT_EQ(store->list_calls(0).value().size(), 1u);
  }
}

// A database this user cannot write: opened for writing, SQLite would fall
// back to read-only and the daemon would lose every call after starting. As
// root (CI), the check runs in a child that drops to an unprivileged uid,
// since root writes any file whatever its mode.
TEST_F(StoreTest, AWriterRefusesADatabaseItCannotWrite) {
  open_store().reset();
  fs::permissions(path_, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  fs::permissions(folder_, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(3);
    const auto store = Store::open(path_);
    const bool refused = !store && store.error().code == StoreError::database_read_only &&
                         store.error().message().find("read-only for this user") != std::string::npos;
    ::_exit(refused ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  EXPECT_TRUE(open_store(true));  // reading is still fine
}

TEST_F(StoreTest, RefusesADatabaseFromANewerVersion) {
  {
    RawDatabase raw(path_);
    ASSERT_EQ(raw.execute("CREATE TABLE future (x); PRAGMA user_version = 99;"), SQLITE_OK);
  }
  for (bool read_only : {false, true}) {
    const auto store = Store::open(path_, read_only);
    ASSERT_FALSE(store);
    const auto error = store.error().code;
    const auto message = store.error().message();
    EXPECT_EQ(error, StoreError::schema_too_new);
    EXPECT_EQ(error.category().name(), std::string("store"));
    EXPECT_NE(error.message().find("newer deskline"), std::string::npos) << error.message();
    EXPECT_NE(message.find("99"), std::string::npos) << message;
    EXPECT_NE(message.find(path_.string()), std::string::npos) << message;
  }
  RawDatabase raw(path_);
  EXPECT_EQ(raw.text("PRAGMA user_version"), "99");  // never downgraded
  EXPECT_EQ(raw.text("SELECT count(*) FROM sqlite_master WHERE name = 'calls'"), "0");
}

TEST_F(StoreTest, AFailedMigrationLeavesTheFileUntouched) {
  {
    RawDatabase raw(path_);
    // A table the migration wants to create already exists: migration 1 fails.
    ASSERT_EQ(raw.execute("CREATE TABLE calls (x)"), SQLITE_OK);
  }
  const auto store = Store::open(path_);
  ASSERT_FALSE(store);
  const auto error = store.error().code;
  const auto message = store.error().message();
  EXPECT_EQ(error.category(), sqlite_category());
  EXPECT_NE(message.find("migration 1"), std::string::npos) << message;
  RawDatabase raw(path_);
  EXPECT_EQ(raw.text("PRAGMA user_version"), "0");
  EXPECT_EQ(raw.text("SELECT count(*) FROM sqlite_master WHERE name = 'call_events'"), "0");  // rolled back
}

// The schema as version 2 left it, written by hand as a database in the field has it.
constexpr const char* schema_version_2 = R"sql(
CREATE TABLE calls (
  id TEXT PRIMARY KEY NOT NULL, line TEXT NOT NULL, box TEXT NOT NULL, port INTEGER NOT NULL,
  direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
  number TEXT NOT NULL DEFAULT '', number_absence TEXT CHECK (number_absence IN ('P', 'O')),
  name TEXT NOT NULL DEFAULT '', state TEXT NOT NULL, outcome TEXT,
  started_at INTEGER NOT NULL, answered_at INTEGER, ended_at INTEGER);
CREATE INDEX calls_started_at ON calls (started_at);
CREATE INDEX calls_active ON calls (state) WHERE state = 'active';
CREATE TABLE call_events (
  id INTEGER PRIMARY KEY, call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
  at INTEGER NOT NULL, type TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail)));
CREATE INDEX call_events_call_id ON call_events (call_id, at);
CREATE TABLE recordings (
  call_id TEXT PRIMARY KEY NOT NULL REFERENCES calls (id) ON DELETE CASCADE, path TEXT NOT NULL,
  state TEXT NOT NULL, started_at INTEGER NOT NULL, duration_ms INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0, sha256 TEXT NOT NULL DEFAULT '', error TEXT NOT NULL DEFAULT '');
INSERT INTO calls (id, line, box, port, direction, number, state, outcome, started_at, answered_at, ended_at)
  VALUES ('old-in', 'Sales 1', 'X800-0001', 1, 'inbound', '13812345678', 'ended', 'answered', 10, 20, 30),
         ('old-out', 'Sales 2', 'X800-0001', 2, 'outbound', '', 'active', NULL, 40, NULL, NULL);
INSERT INTO call_events (call_id, at, type, detail) VALUES ('old-in', 25, 'dtmf', '{"digit":"5"}');
INSERT INTO recordings (call_id, path, state, started_at) VALUES ('old-in', '/r/old-in.opus', 'complete', 20);
PRAGMA user_version = 2;
)sql";

TEST_F(StoreTest, Migration3AllowsUnknownDirectionAndKeepsEveryRow) {
  {
    RawDatabase raw(path_);
    ASSERT_EQ(raw.execute(schema_version_2), SQLITE_OK);
  }
  auto store = open_store();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), Store::latest_schema_version());
  const auto old_in = store->find_call("old-in").value();
  ASSERT_TRUE(old_in);
  EXPECT_EQ(old_in->direction, Direction::inbound);
  EXPECT_EQ(old_in->number, "13812345678");
  EXPECT_EQ(old_in->answered_at, 20);
  EXPECT_EQ(store->find_call("old-out").value()->direction, Direction::outbound);
  EXPECT_EQ(store->call_events("old-in").value().size(), 1u);  // not cascaded away
  EXPECT_TRUE(store->find_recording("old-in").value());
  auto joined = inbound_call("joined", 50);
  joined.direction = Direction::unknown;
  EXPECT_TRUE(ok(store->insert_call(joined)));
  RawDatabase raw(path_);
  EXPECT_EQ(raw.execute("INSERT INTO calls (id, line, box, port, direction, state, started_at) "
                        "VALUES ('bad', 'L', 'B', 1, 'sideways', 'active', 2)"),
            SQLITE_CONSTRAINT);
  EXPECT_EQ(raw.text("PRAGMA foreign_key_check"), "");
  EXPECT_EQ(raw.text("PRAGMA integrity_check"), "ok");
}

TEST_F(StoreTest, Migration4GivesEndedCallsTheEndReasonTheirOutcomeImplies) {
  {
    RawDatabase raw(path_);
    ASSERT_EQ(raw.execute(schema_version_2), SQLITE_OK);
    ASSERT_EQ(raw.execute("INSERT INTO calls (id, line, box, port, direction, state, outcome, started_at, ended_at) "
                          "VALUES ('missed', 'L', 'B', 1, 'inbound', 'ended', 'missed', 1, 2), "
                          "('abandoned', 'L', 'B', 1, 'outbound', 'ended', 'abandoned', 1, 2), "
                          "('hung-up', 'L', 'B', 1, 'outbound', 'ended', 'remote_hangup', 1, 2), "
                          "('unplugged', 'L', 'B', 1, 'inbound', 'ended', 'device_lost', 1, 2), "
                          "('stopped', 'L', 'B', 1, 'inbound', 'ended', 'interrupted', 1, 2)"),
              SQLITE_OK);
  }
  auto store = open_store();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), Store::latest_schema_version());
  auto end_reason_of = [&](const std::string& id) {
    const auto call = store->find_call(id);
    EXPECT_TRUE(ok(call)) << id;
    return call && *call ? (*call)->end_reason : std::nullopt;
  };
  EXPECT_EQ(end_reason_of("old-in"), EndReason::on_hook);  // answered
  EXPECT_EQ(end_reason_of("old-out"), std::nullopt);       // still active
  EXPECT_EQ(end_reason_of("missed"), EndReason::ring_timeout);
  EXPECT_EQ(end_reason_of("abandoned"), EndReason::on_hook);
  EXPECT_EQ(end_reason_of("hung-up"), EndReason::hangup_tone);
  EXPECT_EQ(end_reason_of("unplugged"), EndReason::device_lost);
  EXPECT_EQ(end_reason_of("stopped"), std::nullopt);  // shutdown or restart: not known
  EXPECT_EQ(store->list_calls(0).value().size(), 7u);
}

// ---- pop event log ---------------------------------------------------------------

TEST_F(StoreTest, Migration5MakesOneStreamIdPerDatabaseThatReopeningKeeps) {
  std::string stream;
  {
    auto store = open_store();
    ASSERT_TRUE(store);
    const auto log = store->open_pop_event_log();
    ASSERT_TRUE(ok(log));
    stream = (*log)->stream_id();
    EXPECT_EQ((*log)->last_seq_at_open(), 0u);
  }
  EXPECT_TRUE(std::regex_match(stream, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << stream;
  for (int round = 0; round < 2; ++round) {
    auto store = open_store();
    ASSERT_TRUE(store);
    EXPECT_EQ(store->open_pop_event_log().value()->stream_id(), stream);
  }
  const auto other = Store::open(folder_ / "other.db").value();
  EXPECT_NE(other->open_pop_event_log().value()->stream_id(), stream);
}

TEST_F(StoreTest, PopEventsAreAppendedReadAfterASeqAndPruned) {
  auto store = open_store();
  ASSERT_TRUE(store);
  {
    auto log = store->open_pop_event_log().value();
    for (std::uint64_t seq = 1; seq <= 5; ++seq)
      ASSERT_TRUE(ok(log->append(seq, seq == 5 ? "" : "call-a", 1000 + static_cast<std::int64_t>(seq),
                                 R"({"seq":)" + std::to_string(seq) + "}")));
    const auto after_two = log->since(2).value();
    ASSERT_EQ(after_two.size(), 3u);
    EXPECT_EQ(after_two[0].seq, 3u);
    EXPECT_EQ(after_two[2].json, R"({"seq":5})");
    EXPECT_TRUE(log->since(5).value().empty());
    EXPECT_EQ(log->prune_through(3).value(), 3u);
    EXPECT_EQ(log->prune_through(3).value(), 0u);
    const auto kept = log->since(0).value();
    ASSERT_EQ(kept.size(), 2u);
    EXPECT_EQ(kept[0].seq, 4u);
  }
  RawDatabase raw(path_);
  EXPECT_EQ(raw.text("SELECT call_id FROM pop_events WHERE seq = 4"), "call-a");
  EXPECT_EQ(raw.text("SELECT count(*) FROM pop_events WHERE seq = 5 AND call_id IS NULL"), "1");  // a device event
  EXPECT_EQ(raw.text("SELECT published_at FROM pop_events WHERE seq = 5"), "1005");

  // The next run goes on after the newest seq, and a seq is never stored twice.
  auto log = store->open_pop_event_log().value();
  EXPECT_EQ(log->last_seq_at_open(), 5u);
  const auto again = log->append(5, "", 1, "{}");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code.value() & 0xFF, SQLITE_CONSTRAINT);
  EXPECT_NE(again.error().message().find("store pop event 5"), std::string::npos) << again.error().message();
}

TEST_F(StoreTest, PopEventLogWithoutAStreamIdIsAnError) {
  auto store = open_store();
  ASSERT_TRUE(store);
  RawDatabase(path_).execute("DELETE FROM meta");
  const auto log = store->open_pop_event_log();
  ASSERT_FALSE(log);
  EXPECT_EQ(log.error().code, StoreError::invalid_row);
  EXPECT_NE(log.error().message().find("pop_stream_id"), std::string::npos) << log.error().message();
}

TEST_F(StoreTest, NotADatabaseIsAnSqliteError) {
  std::ofstream(path_) << "this is not a database, just text that is long enough to have a header......";
  const auto store = Store::open(path_);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, std::error_code(SQLITE_NOTADB, sqlite_category()));
}

TEST_F(StoreTest, MissingFolderIsAnError) {
  const auto store = Store::open(folder_ / "no" / "such" / "dir.db");
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, std::error_code(SQLITE_CANTOPEN, sqlite_category()));
  EXPECT_NE(store.error().message().find("cannot open"), std::string::npos) << store.error().message();
}

// ---- calls and events ------------------------------------------------------------

TEST_F(StoreTest, InsertFindUpdate) {
  auto store = open_store();
  ASSERT_TRUE(store);
  CallRecord call = inbound_call("0b5e0c6e-1111-4c3a-9a51-000000000001", 1'795'758'302'125'000);
  ASSERT_TRUE(ok(store->insert_call(call)));

  auto found = store->find_call(call.id).value();
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, call);
  EXPECT_FALSE(found->outcome);  // stored as NULL while active
  EXPECT_FALSE(found->end_reason);
  EXPECT_FALSE(found->answered_at);

  call.state = CallState::ended;
  call.outcome = Outcome::answered;
  call.end_reason = EndReason::on_hook;
  call.answered_at = call.started_at + 7'500'000;
  call.ended_at = call.started_at + 65'250'000;
  call.number = "";
  call.number_absence = 'P';
  call.name = "";
  call.match = {};
  ASSERT_TRUE(ok(store->update_call(call)));
  found = store->find_call(call.id).value();
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, call);

  RawDatabase raw(path_);
  EXPECT_EQ(raw.text("SELECT number_absence FROM calls"), "P");
  EXPECT_EQ(raw.text("SELECT typeof(outcome) FROM calls"), "text");
  EXPECT_EQ(raw.text("SELECT direction || ' ' || state || ' ' || outcome || ' ' || end_reason FROM calls"),
            "inbound ended answered on_hook");
}

TEST_F(StoreTest, FindUnknownIdIsNotAnError) {
  auto store = open_store();
  const auto found = store->find_call("nope");
  ASSERT_TRUE(ok(found));
  EXPECT_FALSE(*found);
}

TEST_F(StoreTest, UpdateOfUnknownIdIsAnError) {
  auto store = open_store();
  const auto updated = store->update_call(inbound_call("nope", 1));
  ASSERT_FALSE(updated);
  EXPECT_EQ(updated.error().code, StoreError::no_such_call);
  EXPECT_EQ(updated.error().message(), "update call nope: no call with this id");
}

TEST_F(StoreTest, DuplicateIdIsAnErrorNotAnException) {
  auto store = open_store();
  ASSERT_TRUE(ok(store->insert_call(inbound_call("same", 1))));
  Result<void> inserted;
  EXPECT_NO_THROW(inserted = store->insert_call(inbound_call("same", 2)));
  ASSERT_FALSE(inserted);
  const auto error = inserted.error().code;
  EXPECT_EQ(error, std::error_code(SQLITE_CONSTRAINT_PRIMARYKEY, sqlite_category()));
  EXPECT_EQ(error.value() & 0xFF, SQLITE_CONSTRAINT);
  EXPECT_NE(inserted.error().message().find("insert call same: UNIQUE constraint failed"), std::string::npos)
      << inserted.error().message();
  EXPECT_FALSE(error.message().empty());
  // The statement is reusable after the failure.
  EXPECT_TRUE(ok(store->insert_call(inbound_call("other", 3))));
  EXPECT_EQ(store->list_calls(0).value().size(), 2u);
}

TEST_F(StoreTest, EveryWordIsStoredAndReadBack) {
  auto store = open_store();
  int index = 0;
  for (auto direction : {Direction::inbound, Direction::outbound, Direction::unknown})
    for (auto outcome : {Outcome::answered, Outcome::missed, Outcome::completed, Outcome::abandoned,
                         Outcome::device_lost, Outcome::interrupted, Outcome::remote_hangup}) {
      ++index;
      auto call = inbound_call("call-" + std::to_string(index), index);
      call.direction = direction;
      call.state = CallState::ended;
      call.outcome = outcome;
      call.end_reason = static_cast<EndReason>(index % 6);
      call.ended_at = index + 1;
      ASSERT_TRUE(ok(store->insert_call(call)));
      EXPECT_EQ(store->find_call(call.id).value(), call);
    }
}

// A word this deskline does not know (a newer one wrote it, or a person
// edited the file) makes the row an error, naming the call and the word.
TEST_F(StoreTest, UnknownWordInARowIsAnError) {
  auto store = open_store();
  ASSERT_TRUE(ok(store->insert_call(inbound_call("good", 1))));
  ASSERT_TRUE(ok(store->insert_call(inbound_call("odd", 2))));
  {
    RawDatabase raw(path_);
    ASSERT_EQ(raw.execute("UPDATE calls SET state = 'ended', outcome = 'exploded' WHERE id = 'odd'"), SQLITE_OK);
  }
  const auto listed = store->list_calls(0);
  ASSERT_FALSE(listed);
  EXPECT_EQ(listed.error().code, StoreError::invalid_row);
  EXPECT_EQ(listed.error().message(), "list calls: call odd: unknown outcome 'exploded'");
  const auto odd = store->find_call("odd");
  ASSERT_FALSE(odd);
  EXPECT_EQ(odd.error().code, StoreError::invalid_row);
  EXPECT_TRUE(store->find_call("good").value());  // the other rows still read
  {
    RawDatabase raw(path_);
    ASSERT_EQ(raw.execute("UPDATE calls SET customers = '{\"id\": 1}' WHERE id = 'good'"), SQLITE_OK);
  }
  const auto good = store->find_call("good");
  ASSERT_FALSE(good);
  EXPECT_EQ(good.error().message(), "find call: call good: customers is not an array of objects");

  ASSERT_TRUE(ok(store->insert_recording({"good", "/r/good.opus", RecordingState::recording, 1, 0, 0, "", ""})));
  {
    RawDatabase raw(path_);
    ASSERT_EQ(raw.execute("UPDATE recordings SET state = 'melted'"), SQLITE_OK);
  }
  const auto recordings = store->list_recordings(0);
  ASSERT_FALSE(recordings);
  EXPECT_EQ(recordings.error().code, StoreError::invalid_row);
  EXPECT_EQ(recordings.error().message(), "list recordings: recording of call good: unknown state 'melted'");
}

TEST_F(StoreTest, ListIsNewestFirstWithLimit) {
  auto store = open_store();
  for (int i : {3, 1, 4, 2, 5}) {
    auto call = inbound_call("call-" + std::to_string(i), i * 1'000'000);
    if (i == 4) call.direction = Direction::outbound;
    ASSERT_TRUE(ok(store->insert_call(call)));
  }
  const auto all = store->list_calls(0).value();
  ASSERT_EQ(all.size(), 5u);
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].id, "call-" + std::to_string(5 - i));
  EXPECT_EQ(all[1].direction, Direction::outbound);
  const auto newest = store->list_calls(2).value();
  ASSERT_EQ(newest.size(), 2u);
  EXPECT_EQ(newest[0].id, "call-5");
  EXPECT_EQ(newest[1].id, "call-4");
  EXPECT_EQ(store->list_calls(100).value().size(), 5u);
}

TEST_F(StoreTest, ADesksListHasItsLinesCallsOnlyNewestFirst) {
  auto store = open_store();
  for (int i : {3, 1, 4, 2, 5}) {
    auto call = inbound_call("call-" + std::to_string(i), i * 1'000'000);
    call.line = i % 2 == 0 ? "Sales 2" : (i == 5 ? "Sales \"5\"" : "Sales 1");
    ASSERT_TRUE(ok(store->insert_call(call)));
  }
  const auto ids = [](const std::vector<CallRecord>& calls) {
    std::vector<std::string> listed;
    for (const auto& call : calls) listed.push_back(call.id);
    return listed;
  };
  const std::vector<std::string> front = {"Sales 1", "Sales \"5\""};  // a quote in a name stays a name
  EXPECT_EQ(ids(store->list_calls_on_lines(0, front).value()), (std::vector<std::string>{"call-5", "call-3", "call-1"}));
  EXPECT_EQ(ids(store->list_calls_on_lines(2, front).value()), (std::vector<std::string>{"call-5", "call-3"}));
  const std::vector<std::string> back = {"Sales 2"};
  EXPECT_EQ(ids(store->list_calls_on_lines(0, back).value()), (std::vector<std::string>{"call-4", "call-2"}));
  const std::vector<std::string> nobody = {"Support"};
  EXPECT_TRUE(store->list_calls_on_lines(0, nobody).value().empty());
}

TEST_F(StoreTest, NextPageStartsAfterTheGivenCall) {
  auto store = open_store();
  for (int i : {3, 1, 4, 2, 5}) ASSERT_TRUE(ok(store->insert_call(inbound_call("call-" + std::to_string(i), i * 1'000'000))));
  ASSERT_TRUE(ok(store->insert_call(inbound_call("call-4b", 4'000'000))));  // same start: inserted later is newer
  std::vector<std::string> pages;
  for (std::string before;;) {
    const auto page = store->list_calls(2, before).value();
    if (page.empty()) break;
    for (const auto& call : page) pages.push_back(call.id);
    before = page.back().id;
  }
  EXPECT_EQ(pages, (std::vector<std::string>{"call-5", "call-4b", "call-4", "call-3", "call-2", "call-1"}));
  EXPECT_TRUE(store->list_calls(2, "no-such-call").value().empty());
}

TEST_F(StoreTest, SameStartTimeKeepsInsertionOrder) {
  auto store = open_store();
  ASSERT_TRUE(ok(store->insert_call(inbound_call("first", 42))));
  ASSERT_TRUE(ok(store->insert_call(inbound_call("second", 42))));
  const auto calls = store->list_calls(0).value();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].id, "second");
}

TEST_F(StoreTest, EventsInTimeOrder) {
  auto store = open_store();
  ASSERT_TRUE(ok(store->insert_call(inbound_call("c1", 1))));
  ASSERT_TRUE(ok(store->insert_call(inbound_call("c2", 1))));
  ASSERT_TRUE(ok(store->add_event({"c1", 300, "dtmf", R"({"digit":"5"})"})));
  ASSERT_TRUE(ok(store->add_event({"c1", 100, "caller_id", R"({"number":"138"})"})));
  ASSERT_TRUE(ok(store->add_event({"c2", 200, "polarity", ""})));
  const auto events = store->call_events("c1").value();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], (CallEventRecord{"c1", 100, "caller_id", R"({"number":"138"})"}));
  EXPECT_EQ(events[1], (CallEventRecord{"c1", 300, "dtmf", R"({"digit":"5"})"}));
  const auto other = store->call_events("c2").value();
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ(other[0].detail, "{}");  // empty detail is stored as an empty object
  EXPECT_TRUE(store->call_events("none").value().empty());
}

TEST_F(StoreTest, EventForUnknownCallViolatesTheForeignKey) {
  auto store = open_store();
  const auto added = store->add_event({"ghost", 1, "dtmf", "{}"});
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code, std::error_code(SQLITE_CONSTRAINT_FOREIGNKEY, sqlite_category()));
  EXPECT_NE(added.error().message().find("add dtmf event to call ghost: FOREIGN KEY constraint failed"),
            std::string::npos)
      << added.error().message();
}

TEST_F(StoreTest, EventDetailMustBeJson) {
  auto store = open_store();
  ASSERT_TRUE(ok(store->insert_call(inbound_call("c1", 1))));
  const auto added = store->add_event({"c1", 1, "dtmf", "{not json"});
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code, std::error_code(SQLITE_CONSTRAINT_CHECK, sqlite_category()));
}

TEST_F(StoreTest, ActiveCallsAreThoseNotEnded) {
  auto store = open_store();
  auto ended = inbound_call("ended", 1);
  ended.state = CallState::ended;
  ended.outcome = Outcome::missed;
  ended.ended_at = 5;
  ASSERT_TRUE(ok(store->insert_call(ended)));
  ASSERT_TRUE(ok(store->insert_call(inbound_call("active-2", 20))));
  ASSERT_TRUE(ok(store->insert_call(inbound_call("active-1", 10))));
  const auto active = store->active_calls().value();
  ASSERT_EQ(active.size(), 2u);
  EXPECT_EQ(active[0].id, "active-1");  // oldest first: the order they are recovered in
  EXPECT_EQ(active[1].id, "active-2");
}

TEST_F(StoreTest, LatestCallOnAPort) {
  auto store = open_store();
  EXPECT_FALSE(store->latest_call_on("X800-0001", 1).value());
  ASSERT_TRUE(ok(store->insert_call(inbound_call("older", 10))));
  ASSERT_TRUE(ok(store->insert_call(inbound_call("newer", 20))));
  auto other_port = inbound_call("other-port", 30);
  other_port.port = 2;
  ASSERT_TRUE(ok(store->insert_call(other_port)));
  auto other_box = inbound_call("other-box", 40);
  other_box.box = "X800-0002";
  ASSERT_TRUE(ok(store->insert_call(other_box)));
  const auto latest = store->latest_call_on("X800-0001", 1).value();
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->id, "newer");
  EXPECT_EQ(store->latest_call_on("X800-0001", 2).value()->id, "other-port");
  EXPECT_FALSE(store->latest_call_on("X800-0001", 3).value());
}

TEST_F(StoreTest, MovedStoreKeepsWorking) {
  auto opened = open_store();
  Store store = std::move(*opened);
  opened.reset();
  EXPECT_TRUE(ok(store.insert_call(inbound_call("m", 1))));
  EXPECT_TRUE(store.find_call("m").value());
}

// ---- read-only access ----------------------------------------------------------

TEST_F(StoreTest, ReadOnlyOfAMissingFileIsAClearError) {
  const auto store = Store::open(path_, true);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, StoreError::database_missing);
  EXPECT_EQ(store.error().code.message(), "database does not exist");
  EXPECT_EQ(store.error().message(), path_.string() + ": database does not exist (desklined creates it)");
  EXPECT_FALSE(fs::exists(path_));  // and it was not created
}

TEST_F(StoreTest, ReadOnlyDoesNotMigrate) {
  { RawDatabase raw(path_); }  // an empty SQLite file, user_version 0
  const auto store = Store::open(path_, true);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, StoreError::schema_too_old);
  RawDatabase raw(path_);
  EXPECT_EQ(raw.text("PRAGMA user_version"), "0");
}

TEST_F(StoreTest, ReadOnlyReadsButCannotWrite) {
  {
    auto writer = open_store();
    ASSERT_TRUE(ok(writer->insert_call(inbound_call("a", 1))));
    ASSERT_TRUE(ok(writer->add_event({"a", 2, "dtmf", "{}"})));
  }
  auto reader = open_store(true);
  ASSERT_TRUE(reader);
  EXPECT_TRUE(reader->read_only());
  EXPECT_EQ(reader->schema_version(), Store::latest_schema_version());
  EXPECT_EQ(reader->list_calls(0).value().size(), 1u);
  EXPECT_EQ(reader->call_events("a").value().size(), 1u);
  const auto inserted = reader->insert_call(inbound_call("b", 2));
  ASSERT_FALSE(inserted);
  EXPECT_EQ(inserted.error().code.value() & 0xFF, SQLITE_READONLY);
  EXPECT_EQ(inserted.error().code.category(), sqlite_category());
  const auto added = reader->add_event({"a", 3, "dtmf", "{}"});
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code.value() & 0xFF, SQLITE_READONLY);
}

// ---- concurrency -------------------------------------------------------------------

TEST_F(StoreTest, ReaderIsNotBlockedWhileAWriterHoldsTheWal) {
  auto daemon_store = open_store();
  ASSERT_TRUE(ok(daemon_store->insert_call(inbound_call("committed", 1))));

  RawDatabase writer(path_);
  ASSERT_EQ(writer.execute("BEGIN IMMEDIATE"), SQLITE_OK);
  ASSERT_EQ(writer.execute("INSERT INTO calls (id, line, box, port, direction, state, started_at) "
                           "VALUES ('pending', 'L', 'B', 1, 'inbound', 'active', 2)"),
            SQLITE_OK);

  // The CLI reads while the write transaction is open: no wait, no error, and
  // it sees only committed calls.
  const auto started = std::chrono::steady_clock::now();
  auto reader = open_store(true);
  ASSERT_TRUE(reader);
  const auto listed = reader->list_calls(0);
  ASSERT_TRUE(ok(listed));
  const auto& calls = *listed;
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].id, "committed");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));

  ASSERT_EQ(writer.execute("COMMIT"), SQLITE_OK);
  EXPECT_EQ(reader->list_calls(0).value().size(), 2u);
}

TEST_F(StoreTest, WriterWaitsForAnotherWriterInsteadOfFailing) {
  auto daemon_store = open_store();
  RawDatabase other(path_);
  ASSERT_EQ(other.execute("BEGIN IMMEDIATE"), SQLITE_OK);
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    other.execute("COMMIT");
  });
  const auto started = std::chrono::steady_clock::now();
  const auto inserted = daemon_store->insert_call(inbound_call("waited", 1));  // busy_timeout covers the wait
  const auto waited = std::chrono::steady_clock::now() - started;
  release.join();
  EXPECT_TRUE(ok(inserted));
  EXPECT_GE(waited, std::chrono::milliseconds(200));
}

TEST(StoreCategory, Names) {
  EXPECT_STREQ(sqlite_category().name(), "sqlite");
  EXPECT_EQ(std::error_code(SQLITE_BUSY, sqlite_category()).message(), sqlite3_errstr(SQLITE_BUSY));
  EXPECT_STREQ(store_category().name(), "store");
  EXPECT_EQ(make_error_code(StoreError::no_such_call).message(), "no call with this id");
}

}  // namespace
}  // namespace deskline::daemon

namespace deskline::daemon {
namespace {

using testing_support::ok;

TEST(StoreRecordings, InsertUpdateListFindAndUnfinished) {
  const auto path = std::filesystem::temp_directory_path() / ("deskline-store-rec-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  auto opened = Store::open(path);
  ASSERT_TRUE(ok(opened));
  auto store = std::move(*opened);
  CallRecord call;
  call.id = "call-1";
  call.line = "Sales 1";
  call.box = "B1";
  call.port = 1;
  call.direction = Direction::inbound;
  call.state = CallState::active;
  call.started_at = 1'000'000;
  ASSERT_TRUE(ok(store->insert_call(call)));
  RecordingRecord recording{"call-1", "/r/call-1.opus", RecordingState::recording, 2'000'000, 0, 0, "", ""};
  ASSERT_TRUE(ok(store->insert_recording(recording)));
  EXPECT_EQ(store->recordings_in_state(RecordingState::recording).value().size(), 1u);
  recording.state = RecordingState::complete;
  recording.duration_s = 12.345;
  recording.bytes = 4096;
  recording.sha256 = "ab";
  ASSERT_TRUE(ok(store->update_recording(recording)));
  EXPECT_EQ(store->find_recording("call-1").value(), recording);
  EXPECT_TRUE(store->recordings_in_state(RecordingState::recording).value().empty());
  EXPECT_EQ(store->list_recordings(0).value(), std::vector<RecordingRecord>{recording});
  // A recording needs its call; an unknown one cannot be updated.
  EXPECT_FALSE(store->insert_recording({"no-such-call", "", RecordingState::refused, 0, 0, 0, "", ""}));
  const auto updated = store->update_recording({"other", "", RecordingState::complete, 0, 0, 0, "", ""});
  ASSERT_FALSE(updated);
  EXPECT_EQ(updated.error().code, StoreError::no_such_call);
  store.reset();
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace deskline::daemon
