// Orphan recordings (issue 14, item 5): the database deleted after calls were
// recorded, so their files have no rows. The restarted daemon counts them in
// `deskline status`; `deskline recordings check` lists them (exit 1) and
// `--reattach` gives them their rows back from their tags (exit 0), through
// the running daemon, or directly when none runs. Files that are not
// recordings are listed with the reason and kept byte for byte; a row whose
// file is gone is listed as missing.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <iterator>
#include <map>

#include "tests/integration/harness.hpp"

namespace deskline::testing {
namespace {

// Two inbound calls on port 1 (one with a caller name) and an outbound call on
// port 2, all answered and recorded.
constexpr const char* three_calls = R"(scenario version=1
box A serial=X800-ORPH lines=2 rate=8000 decode=yes
at 0.5 A:1 ring cadence=1.0/2.0 count=2
at 0.6 A:1 callerid number=13812345678 name="LI NA"
at 1.0 A:2 offhook
at 1.5 A:1 offhook
at 1.5 A:2 dial digits=01062345678 tone_ms=80 gap_ms=80
at 1.8 A:1 play tone=1000 level=-10 duration=2
at 4.0 A:1 onhook
at 4.5 A:2 onhook
at 5.0 A:1 ring cadence=1.0/2.0 count=2
at 5.1 A:1 callerid number=02161234567
at 6.0 A:1 offhook
at 9.0 A:1 onhook
at 10.0 end
)";

// The daemon runs, idle, until the test stops it.
constexpr const char* idle_box = R"(scenario version=1
box A serial=X800-ORPH lines=2 rate=8000 decode=yes
at 600.0 end
)";

struct CliResult {
  int status = -1;
  std::string out;
};

CliResult run_cli(const Workspace& workspace, const std::vector<std::string>& arguments) {
  std::vector<std::string> argv = {bin("deskline").string(), "--config", workspace.config_path().string()};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  CliResult result;
  result.status = tools::run_capture(argv, result.out);
  return result;
}

std::string sha256_of(const fs::path& path) {
  std::string output;
  if (tools::run_capture({"sha256sum", path.string()}, output) != 0) return "";
  return output.substr(0, output.find(' '));
}

void remove_database(const Workspace& workspace) {
  for (const char* name : {"deskline.db", "deskline.db-wal", "deskline.db-shm"})
    fs::remove(workspace.dir() / "data" / name);
}

// The recordings_check object of `deskline status --json`, null when no daemon answers.
nlohmann::json recordings_check(const Workspace& workspace) {
  const auto status = workspace.cli_json({"status", "--json"});
  return status.is_object() ? status.value("recordings_check", nlohmann::json()) : nlohmann::json();
}

nlohmann::json status_alarms(const Workspace& workspace) {
  const auto status = workspace.cli_json({"status", "--json"});
  return status.is_object() ? status.value("alarms", nlohmann::json::array()) : nlohmann::json::array();
}

// Waits until the daemon's finished check counts this many orphans.
::testing::AssertionResult orphans_counted(const Workspace& workspace, int orphans) {
  return wait_until(
      [&] {
        const auto check = recordings_check(workspace);
        return check.is_object() && check.value("checked", false) && !check.value("checking", true) &&
               check.value("orphans", -1) == orphans;
      },
      std::chrono::seconds(30), fmt::format("status to count {} orphans", orphans));
}

// What the calls and recordings of the first run were, by call id.
struct Original {
  nlohmann::json call, recording;
};

TEST(OrphanRecordings, CountedListedAndReattachedFromTheirTags) {
  Workspace workspace("orphans");
  ASSERT_EQ(workspace.run_scenario(three_calls), 0) << workspace.log();
  const auto calls = workspace.calls();
  const auto recordings = workspace.cli_json({"recordings", "--json"});
  ASSERT_TRUE(calls.is_array() && calls.size() == 3) << calls.dump(2) << workspace.log();
  ASSERT_TRUE(recordings.is_array() && recordings.size() == 3) << recordings.dump(2);
  std::map<std::string, Original> original;
  for (const auto& call : calls) original[call["id"]].call = call;
  for (const auto& recording : recordings) original[recording["call_id"]].recording = recording;
  ASSERT_EQ(original.size(), 3u);

  // The last inbound call's file was never closed (a crash, as it were):
  // it plays up to its last whole page.
  const auto* last = find_call_by_number(calls, "02161234567");
  ASSERT_NE(last, nullptr) << calls.dump(2);
  const fs::path cut = original[(*last)["id"]].recording["path"].get<std::string>();
  fs::resize_file(cut, fs::file_size(cut) * 2 / 3);

  // The database goes; the recordings stay. The restarted daemon counts them.
  remove_database(workspace);
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(idle_box));
  ASSERT_GT(simulator, 0);
  ASSERT_TRUE(orphans_counted(workspace, 3)) << recordings_check(workspace).dump() << workspace.log();
  EXPECT_EQ(recordings_check(workspace)["files"], 3);
  EXPECT_EQ(recordings_check(workspace)["missing_files"], 0);
  const auto alarms = status_alarms(workspace);
  ASSERT_EQ(alarms.size(), 1u) << alarms.dump();
  EXPECT_NE(alarms[0].get<std::string>().find("3 recording files have no row"), std::string::npos) << alarms;
  EXPECT_NE(alarms[0].get<std::string>().find("deskline recordings check --reattach"), std::string::npos) << alarms;
  const auto status_text = run_cli(workspace, {"status"});
  EXPECT_NE(status_text.out.find("3 orphans"), std::string::npos) << status_text.out;
  EXPECT_NE(status_text.out.find("ALARM: 3 recording files have no row"), std::string::npos) << status_text.out;
  EXPECT_NE(workspace.log().find("3 of 3 recording files have no row"), std::string::npos) << workspace.log();

  // Listed, with what their tags say; exit 1 while they are orphans.
  const auto listed = run_cli(workspace, {"recordings", "check", "--json"});
  EXPECT_EQ(listed.status, 1) << listed.out;
  const auto report = nlohmann::json::parse(listed.out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << listed.out;
  ASSERT_EQ(report["orphans"].size(), 3u) << report.dump(2);
  EXPECT_TRUE(report["missing_files"].empty()) << report.dump(2);
  EXPECT_EQ(report["counts"]["orphans_left"], 3);
  for (const auto& orphan : report["orphans"]) {
    ASSERT_TRUE(orphan["call_id"].is_string()) << orphan.dump(2);
    const auto& before = original[orphan["call_id"].get<std::string>()];
    ASSERT_TRUE(before.call.is_object()) << orphan.dump(2);
    EXPECT_EQ(orphan["path"], before.recording["path"]);
    EXPECT_EQ(orphan["line"], before.call["line"]);
    EXPECT_EQ(orphan["started_at"], before.recording["started_at"]);
    EXPECT_EQ(orphan["bytes"].get<std::uint64_t>(), fs::file_size(orphan["path"].get<std::string>()));
    EXPECT_GT(orphan["duration_s"].get<double>(), 1.0);
    EXPECT_EQ(orphan["reattached"], false);
    EXPECT_TRUE(orphan["problem"].is_null()) << orphan.dump(2);
    EXPECT_EQ(orphan["state"], fs::path(orphan["path"].get<std::string>()) == cut ? "truncated" : "complete");
  }
  const auto table = run_cli(workspace, {"recordings", "check"});
  EXPECT_EQ(table.status, 1);
  EXPECT_NE(table.out.find("3 orphans"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("deskline recordings check --reattach"), std::string::npos) << table.out;

  // Re-attached through the daemon: exit 0, nothing left.
  const auto reattached = run_cli(workspace, {"recordings", "check", "--reattach"});
  EXPECT_EQ(reattached.status, 0) << reattached.out << workspace.log();
  EXPECT_NE(reattached.out.find("3 re-attached by desklined"), std::string::npos) << reattached.out;
  EXPECT_EQ(run_cli(workspace, {"recordings", "check"}).status, 0);

  // The calls are back, answered by the daemon, with their line, number and start.
  const auto calls_back = workspace.calls();
  ASSERT_TRUE(calls_back.is_array() && calls_back.size() == 3) << calls_back.dump(2);
  for (const auto& call : calls_back) {
    const auto& before = original[call["id"].get<std::string>()];
    ASSERT_TRUE(before.call.is_object()) << call.dump(2);
    EXPECT_EQ(call["line"], before.call["line"]);
    EXPECT_EQ(call["box"], before.call["box"]);
    EXPECT_EQ(call["port"], before.call["port"]);
    EXPECT_EQ(call["direction"], before.call["direction"]);
    EXPECT_EQ(call["state"], "ended");
    EXPECT_TRUE(call["end_reason"].is_null()) << call.dump(2);  // not known
    // A recording starts at the answer of an inbound call and at the start of
    // an outbound one; the call is rebuilt from there.
    if (before.call["direction"] == "inbound") {
      EXPECT_EQ(call["number"], before.call["number"]);
      EXPECT_EQ(call["outcome"], "answered");
      EXPECT_EQ(call["started_at"], before.call["answered_at"]);
      EXPECT_EQ(call["answered_at"], before.call["answered_at"]);
    } else {
      // Dialled after the recording began: not in its tags, so not known.
      EXPECT_EQ(call["number"], "") << call.dump(2);
      EXPECT_EQ(call["outcome"], "completed");
      EXPECT_EQ(call["started_at"], before.call["started_at"]);
    }
  }
  const auto* named = find_call_by_number(calls_back, "13812345678");
  ASSERT_NE(named, nullptr);
  EXPECT_EQ((*named)["name"], "LI NA");

  const auto recordings_back = workspace.cli_json({"recordings", "--json"});
  ASSERT_TRUE(recordings_back.is_array() && recordings_back.size() == 3) << recordings_back.dump(2);
  for (const auto& recording : recordings_back) {
    const auto& before = original[recording["call_id"].get<std::string>()];
    const fs::path path = recording["path"].get<std::string>();
    EXPECT_EQ(recording["path"], before.recording["path"]);
    EXPECT_EQ(recording["started_at"], before.recording["started_at"]);
    EXPECT_EQ(recording["line"], before.call["line"]);
    EXPECT_EQ(recording["sha256"], sha256_of(path)) << path;
    EXPECT_EQ(recording["bytes"].get<std::uint64_t>(), fs::file_size(path));
    if (path == cut) {
      EXPECT_EQ(recording["state"], "truncated") << recording.dump(2);
      EXPECT_LT(recording["duration_s"].get<double>(), before.recording["duration_s"].get<double>());
    } else {
      EXPECT_EQ(recording["state"], "complete") << recording.dump(2);
      EXPECT_EQ(recording["sha256"], before.recording["sha256"]);
      EXPECT_NEAR(recording["duration_s"].get<double>(), before.recording["duration_s"].get<double>(), 0.002);
    }
  }
  // The daemon counts again once re-attaching stops.
  ASSERT_TRUE(orphans_counted(workspace, 0)) << recordings_check(workspace).dump();
  EXPECT_TRUE(status_alarms(workspace).empty()) << status_alarms(workspace).dump();

  // Files that are not recordings: listed with the reason, kept as they are.
  const auto day = cut.parent_path();
  const auto garbage = day / "00000000-0000-4000-8000-000000000001.opus";
  std::ofstream(garbage, std::ios::binary) << "this is not an Ogg Opus file";
  const auto headers_cut = day / "00000000-0000-4000-8000-000000000002.opus";
  std::ofstream(headers_cut, std::ios::binary) << read_file(cut).substr(0, 60);
  const auto garbage_bytes = read_file(garbage);
  const auto headers_cut_bytes = read_file(headers_cut);
  for (const auto* arguments : {"--json", "--reattach"}) {
    const auto kept = run_cli(workspace, {"recordings", "check", "--json", arguments});
    EXPECT_EQ(kept.status, 1) << kept.out;
    const auto listing = nlohmann::json::parse(kept.out, nullptr, false);
    ASSERT_TRUE(listing.is_object()) << kept.out;
    ASSERT_EQ(listing["orphans"].size(), 2u) << listing.dump(2);
    std::map<std::string, std::string> problems;
    for (const auto& orphan : listing["orphans"]) {
      EXPECT_EQ(orphan["reattached"], false);
      problems[fs::path(orphan["path"].get<std::string>()).filename()] = orphan.value("problem", "");
    }
    EXPECT_NE(problems[garbage.filename()].find("not an Ogg file"), std::string::npos) << listing.dump(2);
    EXPECT_NE(problems[headers_cut.filename()].find("headers are incomplete"), std::string::npos) << listing.dump(2);
    EXPECT_EQ(read_file(garbage), garbage_bytes);
    EXPECT_EQ(read_file(headers_cut), headers_cut_bytes);
  }
  const auto garbage_text = run_cli(workspace, {"recordings", "check", "--reattach"});
  EXPECT_EQ(garbage_text.status, 1);
  EXPECT_NE(garbage_text.out.find(garbage.string() + "\n             kept as it is: not an Ogg file\n"),
            std::string::npos)
      << garbage_text.out;

  // A row whose file is gone.
  const auto* outbound = find_call_by_number(calls, "01062345678");
  ASSERT_NE(outbound, nullptr);
  const fs::path gone = original[(*outbound)["id"]].recording["path"].get<std::string>();
  const auto gone_bytes = read_file(gone);
  fs::remove(gone);
  const auto missing = run_cli(workspace, {"recordings", "check", "--json"});
  EXPECT_EQ(missing.status, 1);
  const auto missing_report = nlohmann::json::parse(missing.out, nullptr, false);
  ASSERT_TRUE(missing_report.is_object()) << missing.out;
  ASSERT_EQ(missing_report["missing_files"].size(), 1u) << missing_report.dump(2);
  EXPECT_EQ(missing_report["missing_files"][0]["path"], gone.string());
  EXPECT_EQ(missing_report["missing_files"][0]["call_id"], (*outbound)["id"]);

  workspace.stop_simulator(simulator);

  // Without a daemon the CLI writes itself: the database deleted again, a
  // fresh one made by a short run, and the orphans re-attached directly.
  std::ofstream(gone, std::ios::binary) << gone_bytes;
  fs::remove(garbage);
  fs::remove(headers_cut);
  remove_database(workspace);
  ASSERT_EQ(workspace.run_scenario("scenario version=1\nbox A serial=X800-ORPH lines=2\nat 1.0 end\n"), 0)
      << workspace.log();
  const auto direct = run_cli(workspace, {"recordings", "check", "--reattach"});
  EXPECT_EQ(direct.status, 0) << direct.out;
  EXPECT_NE(direct.out.find("3 orphans (3 re-attached)"), std::string::npos) << direct.out;
  const auto direct_recordings = workspace.cli_json({"recordings", "--json"});
  ASSERT_TRUE(direct_recordings.is_array() && direct_recordings.size() == 3) << direct_recordings.dump(2);
  for (const auto& recording : direct_recordings)
    EXPECT_EQ(recording["sha256"], sha256_of(recording["path"].get<std::string>()));
}

}  // namespace
}  // namespace deskline::testing
