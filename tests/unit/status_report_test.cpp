// The status answer rendered from the services' typed stats (proto/control.md).
#include "daemon/app/status_report.hpp"
#include "daemon/domain/call_json.hpp"

#include <gtest/gtest.h>

namespace deskline::daemon {
namespace {

TEST(StatusReport, FaultsNameEveryKindThatHappenedAndOnlyThose) {
  FaultCounters faults;
  EXPECT_EQ(to_json(faults), nlohmann::json::object());
  for (std::size_t kind = 0; kind < drivers::box_fault_kind_count; ++kind)
    faults[static_cast<drivers::BoxFaultKind>(kind)] = kind + 1;
  EXPECT_EQ(to_json(faults), (nlohmann::json{{"malformed_report", 1},
                                             {"lost_reports", 2},
                                             {"box_error", 3},
                                             {"command_failed", 4},
                                             {"no_response", 5},
                                             {"reports_out_of_order", 6}}));
}

TEST(StatusReport, BoxesLinesAndDetections) {
  CallServiceStats stats;
  auto& box = stats.boxes.emplace_back();
  box.identity.serial = "X800-0001";
  box.identity.model = "X800-4";
  box.identity.firmware = "1.4.2";
  box.identity.usb_path = "1-5";
  box.identity.audio_rate_hz = 8000;
  box.identity.decodes_caller_id = true;
  box.attached = true;
  box.faults[drivers::BoxFaultKind::lost_reports] = 1;
  box.detections = {.callerid_box = 4, .callerid_audio = 2, .callerid_rejected = 0, .callerid_disagreements = 1,
                    .dtmf_audio = 11};
  box.lines.push_back({1, "Sales 1", LineState::ringing, "call-1"});
  box.lines.push_back({2, "Sales 2", LineState::idle, std::nullopt});
  stats.unidentified_faults[drivers::BoxFaultKind::malformed_report] = 3;

  const auto json = to_json(stats);
  EXPECT_EQ(json["unidentified_faults"], (nlohmann::json{{"malformed_report", 3}}));
  ASSERT_EQ(json["boxes"].size(), 1u);
  const auto& shown = json["boxes"][0];
  EXPECT_EQ(shown["serial"], "X800-0001");
  EXPECT_EQ(shown["model"], "X800-4");
  EXPECT_EQ(shown["firmware"], "1.4.2");
  EXPECT_EQ(shown["usb_path"], "1-5");
  EXPECT_EQ(shown["audio_rate_hz"], 8000);
  EXPECT_EQ(shown["decodes_caller_id"], true);
  EXPECT_EQ(shown["attached"], true);
  EXPECT_EQ(shown["faults"], (nlohmann::json{{"lost_reports", 1}}));
  EXPECT_EQ(shown["detections"], (nlohmann::json{{"callerid_box", 4},
                                                 {"callerid_audio", 2},
                                                 {"callerid_rejected", 0},
                                                 {"callerid_disagreements", 1},
                                                 {"dtmf_audio", 11}}));
  EXPECT_EQ(shown["lines"][0], (nlohmann::json{{"port", 1}, {"name", "Sales 1"}, {"state", "ringing"}, {"call_id", "call-1"}}));
  EXPECT_TRUE(shown["lines"][1]["call_id"].is_null());
  EXPECT_EQ(shown["lines"][1]["state"], "idle");
}

TEST(StatusReport, AudioCaptureWithAndWithoutAStream) {
  std::map<std::string, BoxAudioStats> audio;
  audio["A"] = {"deskline_A", true, "", drivers::audio::CaptureStats{8000, 2, 1, 1, 16800}};
  audio["B"] = {"", false, "no audio device matches", std::nullopt};
  const auto json = to_json(audio);
  EXPECT_EQ(json["A"], (nlohmann::json{{"device", "deskline_A"},
                                       {"capturing", true},
                                       {"frames", 8000},
                                       {"ring_overflow_frames", 2},
                                       {"input_overflows", 1},
                                       {"gaps", 1},
                                       {"gap_frames", 16800}}));
  EXPECT_EQ(json["B"], (nlohmann::json{{"device", ""}, {"capturing", false}, {"error", "no audio device matches"}}));
}

TEST(StatusReport, RecordingsCheckCountsAndItsAlarms) {
  RecordingsCheck::Summary check;
  EXPECT_EQ(to_json(check), (nlohmann::json{{"checked", false},
                                            {"checking", false},
                                            {"files", 0},
                                            {"rows", 0},
                                            {"orphans", 0},
                                            {"missing_files", 0},
                                            {"problem", nullptr}}));
  check.checking = true;
  check.counts = {12, 10, 3, 1};
  // No alarm before a check has finished: the counts are not known yet.
  EXPECT_TRUE(recordings_alarms(check).empty());

  check.checked = true;
  check.checking = false;
  EXPECT_EQ(to_json(check)["orphans"], 3);
  EXPECT_EQ(recordings_alarms(check),
            std::vector<std::string>{"3 recording files have no row in the database (orphans) and 1 recording row names "
                                     "a file that is missing: `deskline recordings check` lists them, `deskline "
                                     "recordings check --reattach` gives the orphans their rows back"});
  check.counts = {12, 12, 1, 0};
  EXPECT_EQ(recordings_alarms(check),
            std::vector<std::string>{"1 recording file has no row in the database (orphan): `deskline recordings "
                                     "check` lists them, `deskline recordings check --reattach` gives the orphans "
                                     "their rows back"});
  check.counts = {12, 14, 0, 2};
  EXPECT_EQ(recordings_alarms(check), std::vector<std::string>{"2 recording rows name a file that is missing: "
                                                               "`deskline recordings check` lists them"});
  check.counts = {12, 12, 0, 0};
  EXPECT_TRUE(recordings_alarms(check).empty());
  check.problem = "cannot list /r: Permission denied";
  EXPECT_EQ(to_json(check)["problem"], "cannot list /r: Permission denied");
  EXPECT_EQ(recordings_alarms(check),
            std::vector<std::string>{"the recordings check could not look at everything: cannot list /r: Permission "
                                     "denied"});
}

TEST(StatusReport, TheCustomerPull) {
  CustomerPullStatus pull;
  EXPECT_EQ(to_json(pull), (nlohmann::json{{"enabled", false},
                                           {"poll_s", 0},
                                           {"pulling", false},
                                           {"pulls_started", 0},
                                           {"cursor", ""},
                                           {"cursor_refused", false},
                                           {"next_pull_at", nullptr},
                                           {"last_success_at", nullptr},
                                           {"last_error_at", nullptr},
                                           {"last_error", nullptr},
                                           {"last_pull", nullptr}}));
  pull.enabled = true;
  pull.cursor = "c42";
  CustomerPullRun run;
  run.number = 3;
  run.started_at = 1'795'741'272'000'000;
  run.finished_at = 1'795'741'272'120'000;
  run.ok = true;
  run.pages = 2;
  run.inserted = 1;
  run.updated = 4;
  run.deleted = 2;
  run.numbers_left_out = 1;
  run.problems = {"customer c-1: number left out: \"x\" is not a number"};
  pull.last = run;
  const auto json = to_json(pull);
  EXPECT_EQ(json["cursor"], "c42");
  const auto& last = json["last_pull"];
  EXPECT_EQ(last["number"], 3);
  EXPECT_EQ(last["applied"], 5);
  EXPECT_EQ(last["new"], 1);
  EXPECT_EQ(last["updated"], 4);
  EXPECT_EQ(last["deleted"], 2);
  EXPECT_EQ(last["numbers_left_out"], 1);
  EXPECT_EQ(last["problems"].size(), 1u);
  EXPECT_EQ(last["error"], nullptr);
  EXPECT_EQ(last["started_at"], format_iso8601(run.started_at));
}

}  // namespace
}  // namespace deskline::daemon
