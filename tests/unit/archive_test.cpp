// Recording files against their rows (daemon/archive): the scan that finds
// orphans and missing files a bounded piece at a time, and re-attaching an
// orphan, with one test per refusal. Real files in a temporary folder, real
// recordings from the production writer, a real database.
#include "daemon/archive/recording_file.hpp"
#include "daemon/archive/recording_scan.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "daemon/domain/call_json.hpp"
#include "tests/unit/recording_test_support.hpp"
#include "tests/unit/result_testing.hpp"

namespace deskline::daemon {
namespace {

namespace fs = std::filesystem;
using codec::testing_support::Bytes;
using codec::testing_support::encode_to_bytes;
using codec::testing_support::read_file;
using codec::testing_support::TempDir;
using codec::testing_support::write_file;
using testing_support::ok;

constexpr WallTimeUs answered = 1'795'741'201'500'000;  // 2026-11-27T09:00:01.500+08:00

CallRecord call_with_id(const std::string& id, Direction direction = Direction::inbound) {
  CallRecord call;
  call.id = id;
  call.line = "Sales 1";
  call.box = "X800-0001";
  call.port = 2;
  call.direction = direction;
  call.number = "13812345678";
  call.state = CallState::ended;
  call.outcome = Outcome::answered;
  call.started_at = answered - 3'000'000;
  call.answered_at = answered;
  call.ended_at = answered + 2'000'000;
  return call;
}

std::string id_of(int n) { return fmt::format("0b6c3c8e-6d4e-4d38-9a51-{:012}", n); }

// Two seconds of a tone, as the recorder writes a call of this id.
Bytes recording_of(const CallRecord& call) {
  std::vector<std::int16_t> samples(16000);
  for (std::size_t i = 0; i < samples.size(); ++i)
    samples[i] = static_cast<std::int16_t>(8000 * std::sin(2 * 3.14159265 * 440 * static_cast<double>(i) / 8000));
  return encode_to_bytes(samples, {}, recording_comments(call, answered));
}

class Archive : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("TZ", "Asia/Shanghai", 1);
    ::tzset();
    auto opened = Store::open(temp_ / "deskline.db");
    ASSERT_TRUE(ok(opened));
    store_ = std::move(*opened);
    root_ = temp_ / "recordings";
    fs::create_directories(root_ / "2026" / "11" / "27");
  }
  void TearDown() override {
    ::unsetenv("TZ");
    ::tzset();
  }

  fs::path day() const { return root_ / "2026" / "11" / "27"; }

  // A recording of call on disk at day()/<id>.opus (or name), with its rows when attached.
  fs::path put(const CallRecord& call, bool attached, const std::string& name = "") {
    const auto path = day() / (name.empty() ? call.id + ".opus" : name);
    write_file(path, recording_of(call));
    if (attached) {
      EXPECT_TRUE(ok(store_->insert_call(call)));
      EXPECT_TRUE(ok(store_->insert_recording(row_of(call, path))));
    }
    return path;
  }

  static RecordingRecord row_of(const CallRecord& call, const fs::path& path,
                                RecordingState state = RecordingState::complete) {
    RecordingRecord row;
    row.call_id = call.id;
    row.path = path.string();
    row.state = state;
    row.started_at = answered;
    return row;
  }

  struct Found {
    std::set<std::string> orphans, missing;
  };
  Found scan_all(std::size_t per_step, RecordingScan::Counts* counts = nullptr, std::string* problem = nullptr) {
    RecordingScan scan(*store_, root_);
    Found found;
    bool missing_seen = false;
    std::size_t steps = 0;
    while (scan.step(per_step, [&](const RecordingScan::Finding& finding) {
      if (finding.kind == RecordingScan::Finding::Kind::orphan_file) {
        EXPECT_FALSE(missing_seen) << "orphans come before missing files";
        found.orphans.insert(finding.path.filename().string());
      } else {
        missing_seen = true;
        EXPECT_TRUE(finding.row.has_value());
        found.missing.insert(finding.call_id);
      }
    })) {
      EXPECT_LT(++steps, 10'000u);
    }
    EXPECT_TRUE(scan.done());
    if (counts) *counts = scan.counts();
    if (problem) *problem = scan.problem();
    return found;
  }

  TempDir temp_;
  fs::path root_;
  std::unique_ptr<Store> store_;
};

TEST_F(Archive, ScanFindsOrphansAndMissingFilesWhateverTheStepSize) {
  put(call_with_id(id_of(1)), true);
  put(call_with_id(id_of(2)), false);  // orphan
  fs::create_directories(root_ / "2026" / "12" / "01");
  write_file(root_ / "2026" / "12" / "01" / (id_of(3) + ".opus"), recording_of(call_with_id(id_of(3))));  // orphan
  // Not recordings: hidden, other names, a folder named like one, a link.
  write_file(day() / ".hidden.opus", Bytes{1, 2});
  write_file(day() / "notes.txt", Bytes{1, 2});
  write_file(day() / (id_of(4) + ".opus.partial-x1"), Bytes{1, 2});
  fs::create_directories(day() / "folder.opus");
  fs::create_symlink(day() / (id_of(2) + ".opus"), day() / (id_of(5) + ".opus"));
  // A row whose file is gone, one being recorded (its file comes later), one refused (no file).
  const auto gone = call_with_id(id_of(6));
  ASSERT_TRUE(ok(store_->insert_call(gone)));
  ASSERT_TRUE(ok(store_->insert_recording(row_of(gone, day() / (gone.id + ".opus")))));
  const auto live = call_with_id(id_of(7));
  ASSERT_TRUE(ok(store_->insert_call(live)));
  ASSERT_TRUE(ok(store_->insert_recording(row_of(live, day() / (live.id + ".opus"), RecordingState::recording))));
  const auto refused = call_with_id(id_of(8));
  ASSERT_TRUE(ok(store_->insert_call(refused)));
  ASSERT_TRUE(ok(store_->insert_recording(row_of(refused, "", RecordingState::refused))));
  // A row of a call whose file is somewhere else: this copy is not its file.
  const auto moved = call_with_id(id_of(9));
  put(moved, false);
  ASSERT_TRUE(ok(store_->insert_call(moved)));
  ASSERT_TRUE(ok(store_->insert_recording(row_of(moved, root_ / "elsewhere" / (moved.id + ".opus")))));

  for (const std::size_t per_step : {std::size_t{1}, std::size_t{3}, std::size_t{1000}}) {
    RecordingScan::Counts counts;
    std::string problem;
    const auto found = scan_all(per_step, &counts, &problem);
    EXPECT_EQ(found.orphans,
              (std::set<std::string>{id_of(2) + ".opus", id_of(3) + ".opus", id_of(9) + ".opus"}))
        << per_step;
    EXPECT_EQ(found.missing, (std::set<std::string>{id_of(6), id_of(9)})) << per_step;
    EXPECT_EQ(counts.files, 4u);
    EXPECT_EQ(counts.rows, 5u);
    EXPECT_EQ(counts.orphans, 3u);
    EXPECT_EQ(counts.missing_files, 2u);
    EXPECT_EQ(problem, "");
  }
}

TEST_F(Archive, ScanWalksRowsPastOnePage) {
  // More rows than a page, every other one's file missing.
  const std::size_t rows = RecordingScan::rows_per_page * 2 + 7;
  std::size_t missing = 0;
  for (std::size_t n = 0; n < rows; ++n) {
    const auto call = call_with_id(id_of(static_cast<int>(100 + n)));
    ASSERT_TRUE(ok(store_->insert_call(call)));
    const auto path = day() / (call.id + ".opus");
    if (n % 2 == 0) {
      write_file(path, Bytes{1});
    } else {
      ++missing;
    }
    ASSERT_TRUE(ok(store_->insert_recording(row_of(call, path))));
  }
  RecordingScan::Counts counts;
  const auto found = scan_all(50, &counts);
  EXPECT_EQ(counts.rows, rows);
  EXPECT_EQ(counts.missing_files, missing);
  EXPECT_EQ(found.missing.size(), missing);
  EXPECT_TRUE(found.orphans.empty());
}

TEST_F(Archive, ScanWithoutARecordingsFolderStillChecksRows) {
  fs::remove_all(root_);
  const auto gone = call_with_id(id_of(1));
  ASSERT_TRUE(ok(store_->insert_call(gone)));
  ASSERT_TRUE(ok(store_->insert_recording(row_of(gone, day() / (gone.id + ".opus")))));
  RecordingScan::Counts counts;
  std::string problem;
  const auto found = scan_all(10, &counts, &problem);
  EXPECT_EQ(counts.files, 0u);
  EXPECT_EQ(found.missing, (std::set<std::string>{id_of(1)}));
  EXPECT_EQ(problem, "");
}

TEST_F(Archive, InspectReportsClosedDurationAndTags) {
  const auto call = call_with_id(id_of(1));
  const auto path = put(call, false);
  const auto check = inspect_recording_file(path, true);
  ASSERT_TRUE(ok(check));
  EXPECT_TRUE(check->facts.closed);
  EXPECT_NEAR(check->facts.duration_s, 2.0, 0.001);
  EXPECT_EQ(check->facts.bytes, fs::file_size(path));
  EXPECT_EQ(check->facts.sha256, sha256_of_file(path));
  EXPECT_EQ(check->facts.sha256.size(), 64u);
  ASSERT_TRUE(check->tags) << check->tags.reason;
  EXPECT_EQ(check->tags.tags->call_id, call.id);
  EXPECT_EQ(check->tags.tags->started_at, answered);
  // Without sha256 when not asked.
  EXPECT_EQ(inspect_recording_file(path, false)->facts.sha256, "");
}

TEST_F(Archive, ReattachGivesAnOrphanItsRowsBackAndLeavesTheFileAlone) {
  const auto call = call_with_id(id_of(1));
  const auto path = put(call, false);
  const auto before = read_file(path);
  const auto modified = fs::last_write_time(path);
  const WallTimeUs now = answered + 3'600'000'000;

  const auto records = reattach_recording_file(*store_, root_, path, now);
  ASSERT_TRUE(ok(records));
  EXPECT_EQ(read_file(path), before);
  EXPECT_EQ(fs::last_write_time(path), modified);

  const auto stored_call = store_->find_call(call.id);
  ASSERT_TRUE(ok(stored_call) && *stored_call);
  EXPECT_EQ(**stored_call, records->call);
  EXPECT_EQ((*stored_call)->line, "Sales 1");
  EXPECT_EQ((*stored_call)->box, "X800-0001");
  EXPECT_EQ((*stored_call)->port, 2);
  EXPECT_EQ((*stored_call)->number, "13812345678");
  EXPECT_EQ((*stored_call)->outcome, Outcome::answered);
  EXPECT_EQ((*stored_call)->started_at, answered);
  const auto stored_recording = store_->find_recording(call.id);
  ASSERT_TRUE(ok(stored_recording) && *stored_recording);
  EXPECT_EQ((*stored_recording)->path, path.string());
  EXPECT_EQ((*stored_recording)->state, RecordingState::complete);
  EXPECT_EQ((*stored_recording)->bytes, before.size());
  EXPECT_EQ((*stored_recording)->sha256, sha256_of_file(path));
  EXPECT_NEAR((*stored_recording)->duration_s, 2.0, 0.001);
  const auto events = store_->call_events(call.id);
  ASSERT_TRUE(ok(events));
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].type, "reattached");
  EXPECT_EQ((*events)[0].at, now);

  // The scan agrees; a second attempt is refused.
  EXPECT_TRUE(scan_all(100).orphans.empty());
  const auto again = reattach_recording_file(*store_, root_, path, now);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ArchiveError::already_attached);
}

TEST_F(Archive, ACallRowThatSurvivedIsKept) {
  auto call = call_with_id(id_of(1));
  const auto path = put(call, false);
  call.name = "kept as stored";
  call.started_at = answered - 9'000'000;  // the first ring, which the tags do not know
  ASSERT_TRUE(ok(store_->insert_call(call)));
  const auto records = reattach_recording_file(*store_, root_, path, answered);
  ASSERT_TRUE(ok(records));
  EXPECT_EQ(records->call, call);
  EXPECT_EQ(store_->find_call(call.id)->value(), call);
  EXPECT_TRUE(store_->find_recording(call.id)->has_value());
}

TEST_F(Archive, AFileNeverClosedIsAttachedTruncatedWithoutRepair) {
  const auto call = call_with_id(id_of(1));
  const auto path = put(call, false);
  auto bytes = read_file(path);
  bytes.resize(bytes.size() * 2 / 3);  // cut inside a page, as a crash leaves it
  write_file(path, bytes);
  const auto records = reattach_recording_file(*store_, root_, path, answered);
  ASSERT_TRUE(ok(records));
  EXPECT_EQ(records->recording.state, RecordingState::truncated);
  EXPECT_NE(records->recording.error.find("never closed"), std::string::npos) << records->recording.error;
  EXPECT_GT(records->recording.duration_s, 0.5);
  EXPECT_LT(records->recording.duration_s, 2.0);
  EXPECT_EQ(read_file(path), bytes);
}

// Each refusal leaves the database and the file as they were.
TEST_F(Archive, EveryRefusal) {
  const auto call = call_with_id(id_of(1));
  const auto good = put(call, false);
  struct Case {
    std::string what;
    fs::path path;
    ArchiveError error;
    std::uint64_t max_bytes = max_recording_bytes;
  };
  std::vector<Case> cases;

  cases.push_back({"outside", temp_ / (call.id + ".opus"), ArchiveError::outside_recordings});
  write_file(temp_ / (call.id + ".opus"), read_file(good));
  cases.push_back({"dot-dot", day() / ".." / ".." / ".." / ".." / (call.id + ".opus"), ArchiveError::outside_recordings});
  cases.push_back({"relative", fs::path("recordings") / (call.id + ".opus"), ArchiveError::outside_recordings});
  cases.push_back({"the folder itself", root_, ArchiveError::outside_recordings});
  fs::create_symlink(temp_ / (call.id + ".opus"), day() / "link-out.opus");
  cases.push_back({"link leading out", day() / "link-out.opus", ArchiveError::outside_recordings});
  fs::create_symlink(good, day() / (id_of(2) + ".opus"));
  cases.push_back({"link inside", day() / (id_of(2) + ".opus"), ArchiveError::not_a_recording});
  write_file(day() / (call.id + ".ogg"), read_file(good));
  cases.push_back({"not .opus", day() / (call.id + ".ogg"), ArchiveError::not_a_recording});
  fs::create_directories(day() / "folder.opus");
  cases.push_back({"a folder", day() / "folder.opus", ArchiveError::not_a_recording});
  write_file(day() / (id_of(3) + ".opus"), Bytes{'g', 'a', 'r', 'b', 'a', 'g', 'e'});
  cases.push_back({"garbage", day() / (id_of(3) + ".opus"), ArchiveError::not_ogg_opus});
  write_file(day() / (id_of(4) + ".opus"), Bytes{});
  cases.push_back({"empty", day() / (id_of(4) + ".opus"), ArchiveError::not_ogg_opus});
  auto headers_cut = read_file(good);
  headers_cut.resize(40);
  write_file(day() / (id_of(5) + ".opus"), headers_cut);
  cases.push_back({"cut inside its headers", day() / (id_of(5) + ".opus"), ArchiveError::not_ogg_opus});
  write_file(day() / (id_of(6) + ".opus"), encode_to_bytes(std::vector<std::int16_t>(1600), {}, {"DESKLINE_SOURCE=a.wav"}));
  cases.push_back({"encoded by recordings encode", day() / (id_of(6) + ".opus"), ArchiveError::bad_tags});
  write_file(day() / (id_of(7) + ".opus"), read_file(good));
  cases.push_back({"named after another call", day() / (id_of(7) + ".opus"), ArchiveError::name_mismatch});
  cases.push_back({"too large", good, ArchiveError::too_large, 100});
  cases.push_back({"absent", day() / (id_of(8) + ".opus"), ArchiveError{}});

  for (const auto& refusal : cases) {
    const auto result = reattach_recording_file(*store_, root_, refusal.path, answered, refusal.max_bytes);
    ASSERT_FALSE(result) << refusal.what;
    if (refusal.error != ArchiveError{})
      EXPECT_EQ(result.error().code, refusal.error) << refusal.what << ": " << result.error().message();
    else
      EXPECT_EQ(result.error().code, std::errc::no_such_file_or_directory) << result.error().message();
    EXPECT_FALSE(result.error().message().empty());
  }
  EXPECT_TRUE(store_->list_calls(0)->empty());
  EXPECT_TRUE(store_->list_recordings(0)->empty());
}

TEST_F(Archive, NothingIsWrittenWhenOneRowFails) {
  const auto call = call_with_id(id_of(1));
  const auto rows = reattached_records(parse_recording_comments(recording_comments(call, answered)).tags.value(),
                                       {"/x.opus", true, "", 1.0, 1, ""}, answered);
  ASSERT_TRUE(ok(store_->insert_call(rows.call)));
  // The call row exists: inserting it again fails, and the recording must not stay behind.
  const auto written = store_->insert_reattached(&rows.call, rows.recording, rows.event);
  EXPECT_FALSE(written);
  EXPECT_FALSE(store_->find_recording(call.id)->has_value());
  EXPECT_TRUE(store_->call_events(call.id)->empty());
  // And the connection is usable afterwards.
  EXPECT_TRUE(ok(store_->insert_reattached(nullptr, rows.recording, rows.event)));
  EXPECT_TRUE(store_->find_recording(call.id)->has_value());
}

}  // namespace
}  // namespace deskline::daemon
