// health_alarms: one table row per rule, and the quiet cases that must not
// raise an alarm.
#include "daemon/app/health.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace deskline::daemon {
namespace {

constexpr WallTimeUs minute = 60'000'000;
constexpr WallTimeUs start = 1'779'969'600'000'000;  // 2026-05-28 12:00 UTC

// A daemon that started an hour ago with box B1 attached, 10 GiB free over
// a 200 MiB floor and no CRM: nothing to say.
HealthFacts healthy() {
  HealthFacts facts;
  facts.started_at = start;
  facts.now = start + 60 * minute;
  facts.configured_boxes = {"B1"};
  facts.boxes = {{"B1", true, start + minute}};
  facts.recordings_disk = DiskSpace{"/var/lib/deskline/recordings", 10ULL << 30, 200ULL << 20};
  return facts;
}

CrmSyncStatus crm_with(std::int64_t pending, std::int64_t parked, std::optional<WallTimeUs> oldest,
                       std::optional<WallTimeUs> success, std::optional<WallTimeUs> failure) {
  CrmSyncStatus crm;
  crm.enabled = true;
  crm.outbox.pending = pending;
  crm.outbox.parked = parked;
  crm.outbox.oldest_pending_queued_at = oldest;
  crm.last_success_at = success;
  crm.last_failure_at = failure;
  crm.last_failure = "call 1 call: HTTP 503: down";
  return crm;
}

struct Case {
  const char* name;
  void (*change)(HealthFacts&);
  // Each alarm's reason and a piece of its message, in order; none: healthy.
  std::vector<std::pair<std::string, std::string>> expected;
};

class HealthTest : public ::testing::TestWithParam<Case> {};

TEST_P(HealthTest, Alarms) {
  auto facts = healthy();
  GetParam().change(facts);
  const auto alarms = health_alarms(facts);
  std::string listed;
  for (const auto& alarm : alarms) listed += alarm.reason + ": " + alarm.message + "\n";
  ASSERT_EQ(alarms.size(), GetParam().expected.size()) << listed;
  for (std::size_t i = 0; i < alarms.size(); ++i) {
    EXPECT_EQ(alarms[i].reason, GetParam().expected[i].first);
    EXPECT_NE(alarms[i].message.find(GetParam().expected[i].second), std::string::npos) << alarms[i].message;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Rules, HealthTest,
    ::testing::Values(
        Case{"Healthy", [](HealthFacts&) {}, {}},
        Case{"ConfiguredBoxNeverSeen",
             [](HealthFacts& f) { f.configured_boxes.push_back("B2"); },
             {{"box_missing", "box B2 is not attached: not seen since the start at 2026-05-28"}}},
        Case{"BoxDetached",
             [](HealthFacts& f) {
               f.boxes[0] = {"B1", false, start + 50 * minute};
             },
             {{"box_detached", "box B1 is not attached: detached at 2026-05-28T"}}},
        Case{"BoxDetachedSaysHowLongAgo",
             [](HealthFacts& f) {
               f.boxes[0] = {"B1", false, start + 50 * minute};
             },
             {{"box_detached", "(10 min ago)"}}},
        Case{"UnconfiguredBoxAttachedIsFine",
             [](HealthFacts& f) {
               f.boxes.push_back({"B9", true, start});
             },
             {}},
        Case{"AudioFails",
             [](HealthFacts& f) { f.audio["B1"].error = "no audio input device matches deskline_B1 with 2 channels"; },
             {{"audio", "box B1: no audio, so no recordings: no audio input device matches"}}},
        Case{"DiskUnderTheFloor",
             [](HealthFacts& f) { f.recordings_disk->free_bytes = 150ULL << 20; },
             {{"disk_low", "150 MiB free, under the floor of 200 MiB"}}},
        Case{"DiskJustAboveTheFloorIsFine", [](HealthFacts& f) { f.recordings_disk->free_bytes = 201ULL << 20; }, {}},
        Case{"DiskUnreadable",
             [](HealthFacts& f) {
               f.recordings_disk.reset();
               f.disk_error = "/data: Permission denied";
             },
             {{"disk_unknown", "cannot tell the recordings disk's free space: /data: Permission denied"}}},
        Case{"DatabaseReplaced",
             [](HealthFacts& f) { f.database_moved = true; },
             {{"database_replaced", "the database file was deleted or replaced"}}},
        Case{"RecordingsCheck",
             [](HealthFacts& f) { f.recordings_check_alarms = {"2 orphan recordings"}; },
             {{"recordings_check", "2 orphan recordings"}}},
        Case{"CrmParked",
             [](HealthFacts& f) { f.crm = crm_with(0, 3, std::nullopt, start, start); },
             {{"crm_parked", "CRM: 3 item(s) parked"}}},
        Case{"CrmParkedSaysWhatToDo",
             [](HealthFacts& f) { f.crm = crm_with(0, 3, std::nullopt, start, start); },
             {{"crm_parked", "`deskline sync retry --parked` sends them again"}}},
        Case{"CrmFailingWithAnOldBacklog",
             [](HealthFacts& f) { f.crm = crm_with(7, 0, start, start + minute, start + 59 * minute); },
             {{"crm_failing", "CRM: 7 item(s) waiting, the oldest for 60 min; last failure: call 1 call: HTTP 503"}}},
        Case{"CrmBacklogYoungerThanTheLimitIsFine",
             [](HealthFacts& f) { f.crm = crm_with(7, 0, f.now - 14 * minute, std::nullopt, f.now - minute); },
             {}},
        Case{"CrmOldBacklogButSucceedingIsFine",
             [](HealthFacts& f) { f.crm = crm_with(900, 0, start, start + 59 * minute, start + 58 * minute); },
             {}},
        Case{"SeveralInTheirOrder",
             [](HealthFacts& f) {
               f.database_moved = true;
               f.configured_boxes.push_back("B2");
               f.recordings_disk->free_bytes = 0;
               f.crm = crm_with(0, 1, std::nullopt, std::nullopt, std::nullopt);
             },
             {{"database_replaced", "database file"},
              {"box_missing", "box B2"},
              {"disk_low", "0 MiB free"},
              {"crm_parked", "CRM: 1 item(s) parked"}}}),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace deskline::daemon
