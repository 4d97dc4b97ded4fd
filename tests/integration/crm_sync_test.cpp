// The CRM sync against the reference CRM (deskline-crm-ref) over real HTTP:
// every call and its recording arrive exactly once in effect, whatever the
// CRM does meanwhile (down, faults), checked on the CRM's side
// (/_ref/calls) against the daemon's database and files.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "tests/integration/harness.hpp"
#include "tests/integration/pop_client.hpp"
#include "tests/integration/reference_crm.hpp"
#include "tests/integration/small_tmpfs.hpp"

namespace deskline::testing {
namespace {

// The nice value of each of a process's threads, by thread name.
std::multimap<std::string, int> thread_nice_values(pid_t pid) {
  std::multimap<std::string, int> nice_of;
  for (const auto& task : fs::directory_iterator(fs::path("/proc") / std::to_string(pid) / "task")) {
    std::ifstream stat_file(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
    const auto open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    // After "(comm)": state, then fields 4..19 of proc(5); nice is field 19.
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    for (int number = 3; number <= 19 && fields >> field; ++number)
      if (number == 19) nice_of.emplace(stat.substr(open + 1, close - open - 1), std::stoi(field));
  }
  return nice_of;
}

// How many of the CRM's stored calls (ReferenceCrm::calls) have their recording.
std::size_t with_recording(const std::map<std::string, nlohmann::json>& stored) {
  return std::count_if(stored.begin(), stored.end(),
                       [](const auto& entry) { return entry.second.value("recording", nlohmann::json()).is_object(); });
}

std::string sha256_of(const fs::path& file) {
  std::string output;
  tools::run_capture({"sha256sum", file.string()}, output);
  return output.substr(0, 64);
}

constexpr const char* three_calls = R"(box A serial=X800-CRM lines=2
at 0.5 A:1 callerid number=13812345678
at 1.0 A:1 ring cadence=1.0/2.0 count=1
at 2.0 A:1 offhook
at 2.2 A:1 play tone=440 level=-15 duration=3
at 5.5 A:1 onhook
at 1.5 A:2 ring cadence=1.0/2.0 count=1
at 3.0 A:2 callerid number=02161234567
at 6.0 A:2 offhook
at 7.0 A:2 play tone=660 level=-15 duration=2
at 9.5 A:2 onhook
at 8.0 A:1 ring cadence=1.0/2.0 count=1
)";

// Every ended call of the daemon is on the CRM once, with its recording's
// very bytes, and the timeline has no duplicates.
void expect_everything_arrived(const Workspace& workspace, const ReferenceCrm& crm) {
  const auto local = workspace.calls();
  const auto stored = crm.calls();
  ASSERT_EQ(stored.size(), local.size()) << nlohmann::json(stored).dump(2);
  for (const auto& call : local) {
    const auto id = call.value("id", "");
    ASSERT_TRUE(stored.contains(id)) << id;
    const auto& entry = stored.at(id);
    EXPECT_EQ(entry["entry"]["outcome"], call["outcome"]) << entry.dump(2);
    EXPECT_EQ(entry["entry"]["number"]["heard"], call["number"]) << entry.dump(2);
    const auto file = workspace.recording_of(id);
    if (file.empty()) {
      EXPECT_TRUE(entry["recording"].is_null()) << entry.dump(2);
      continue;
    }
    ASSERT_TRUE(entry["recording"].is_object()) << entry.dump(2);
    EXPECT_EQ(entry["recording"]["sha256"], sha256_of(file));
    EXPECT_EQ(entry["recording"]["writes"], 1) << "stored more than once in effect: " << entry.dump(2);
    EXPECT_EQ(entry["entry"]["recording"]["sha256"], sha256_of(file)) << entry.dump(2);
  }
}

TEST(CrmSync, ACrmDownForTheWholeScenarioGetsEverythingOnceItIsUp) {
  const int port = unused_port();
  Workspace workspace("crm-down", crm_config(port));
  write_credentials(workspace);
  // The CRM is down while the calls happen and the daemon stops.
  ASSERT_EQ(workspace.run_scenario(std::string(three_calls) + "at 18 end\n"), 0) << workspace.log();
  const auto calls = workspace.calls();
  ASSERT_EQ(calls.size(), 3u) << calls.dump(2);
  EXPECT_NE(workspace.log().find("trying again"), std::string::npos) << workspace.log();

  // Up again, and the daemon started again: the outbox drains.
  ReferenceCrm crm(workspace, port);
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario("box A serial=X800-CRM lines=2\nat 120 end\n"));
  ASSERT_GT(simulator, 0);
  EXPECT_TRUE(wait_until(
      [&] {
        const auto stored = crm.calls();
        return stored.size() == 3 && with_recording(stored) == 2;
      },
      std::chrono::seconds(60), "3 call entries and 2 recordings on the CRM"))
      << workspace.log();
  ::kill(simulator, SIGTERM);
  EXPECT_EQ(workspace.wait_for_simulator(simulator), 0) << workspace.log();
  expect_everything_arrived(workspace, crm);
}

// `deskline reload` with a new [crm]: a section the sync cannot start with
// is refused and the running sync goes on; a good one restarts the sync
// against the new CRM, which gets everything queued for the old one.
TEST(CrmSync, AReloadMovesTheSyncToAnotherCrm) {
  const int old_port = unused_port();
  Workspace workspace("crm-reload", crm_config(old_port));
  write_credentials(workspace);
  const pid_t simulator =
      workspace.start_daemon_under_sim(workspace.write_scenario(std::string(three_calls) + "at 120 end\n"));
  ASSERT_GT(simulator, 0);
  ASSERT_TRUE(wait_until(
      [&] {
        const auto calls = workspace.calls();
        return calls.is_array() && calls.size() == 3 && workspace.log().find("trying again") != std::string::npos;
      },
      std::chrono::seconds(60), "3 calls queued for a CRM that is down"))
      << workspace.log();

  const int new_port = unused_port();
  ReferenceCrm crm(workspace, new_port);
  set_crm_section(workspace, crm_config(new_port) + "max_in_flight = 2\n");
  std::filesystem::rename(workspace.dir() / "crm-token", workspace.dir() / "crm-token.away");
  auto answer = workspace.cli_json({"reload", "--json"});
  EXPECT_EQ(answer.value("ok", true), false) << answer.dump();
  EXPECT_NE(answer.value("error", "").find("crm-token"), std::string::npos) << answer.dump();
  auto sync = workspace.cli_json({"sync", "status", "--json"});
  EXPECT_EQ(sync.value("url", ""), fmt::format("http://127.0.0.1:{}", old_port)) << sync.dump();

  std::filesystem::rename(workspace.dir() / "crm-token.away", workspace.dir() / "crm-token");
  answer = workspace.cli_json({"reload", "--json"});
  EXPECT_EQ(answer.value("ok", false), true) << answer.dump();
  EXPECT_EQ(answer.value("applied", nlohmann::json()), nlohmann::json::array({"crm"})) << answer.dump();
  EXPECT_TRUE(wait_until(
      [&] {
        const auto stored = crm.calls();
        return stored.size() == 3 && with_recording(stored) == 2;
      },
      std::chrono::seconds(60), "3 call entries and 2 recordings on the new CRM"))
      << workspace.log();
  sync = workspace.cli_json({"sync", "status", "--json"});
  EXPECT_EQ(sync.value("url", ""), fmt::format("http://127.0.0.1:{}", new_port)) << sync.dump();
  workspace.stop_simulator(simulator);
  expect_everything_arrived(workspace, crm);
}

TEST(CrmSync, FaultsDuringEntriesAndUploadsLeaveEverythingThereOnce) {
  const int port = unused_port();
  Workspace workspace("crm-faults", crm_config(port) + "timeout_s = 2\n");
  write_credentials(workspace);
  ReferenceCrm crm(workspace, port);
  const auto faults = nlohmann::json::array({
      {{"path_prefix", "/v1/calls"}, {"method", "PUT"}, {"fault", "status"}, {"status", 503}, {"times", 2}},
      {{"path_prefix", "/v1/calls"}, {"fault", "429"}, {"retry_after", 1}},
      {{"path_suffix", "/recording"}, {"fault", "reset_mid_upload"}},
      {{"path_suffix", "/recording"}, {"fault", "wrong_digest"}},
      {{"path_suffix", "/recording"}, {"fault", "slow"}, {"delay", 5}},  // beyond timeout_s
      {{"path_prefix", "/v1/calls"}, {"fault", "status"}, {"status", 500}, {"times", 2}},
  });
  crm.inject(faults);
  const pid_t simulator =
      workspace.start_daemon_under_sim(workspace.write_scenario(std::string(three_calls) + "at 150 end\n"));
  ASSERT_GT(simulator, 0);
  EXPECT_TRUE(wait_until(
      [&] {
        const auto stored = crm.calls();
        const auto queued = crm.get("/_ref/faults");
        return stored.size() == 3 && with_recording(stored) == 2 && queued.value("faults", nlohmann::json::array({nullptr})).empty();
      },
      std::chrono::seconds(120), "every call and recording on the CRM after its faults"))
      << workspace.log();
  ::kill(simulator, SIGTERM);
  EXPECT_EQ(workspace.wait_for_simulator(simulator), 0) << workspace.log();
  expect_everything_arrived(workspace, crm);
  // Each fault was met (the CRM's request log), and the upload answered
  // with a wrong digest went again: accepted only with the right one.
  std::map<int, int> statuses;
  for (const auto& request : crm.get("/_ref/requests")) ++statuses[request.value("status", -1)];
  EXPECT_EQ(statuses[503], 2);
  EXPECT_EQ(statuses[429], 1);
  EXPECT_EQ(statuses[500], 2);
  EXPECT_GE(statuses[0], 1) << "no reset mid-upload";
  int uploads_repeated = 0;
  for (const auto& [id, call] : crm.calls())
    if (call["recording"].is_object()) uploads_repeated += call["recording"]["puts"].get<int>() > 1;
  EXPECT_GE(uploads_repeated, 1);
  EXPECT_NE(workspace.log().find("is not the file's SHA-256"), std::string::npos) << workspace.log();
  EXPECT_NE(workspace.log().find("the server stopped answering for 2000 ms"), std::string::npos) << workspace.log();
}

// A refusal retrying cannot fix (a wrong token: 401, too large: 413) parks
// the item with the CRM's reason, shown by `deskline sync status`, and holds
// nothing else up; `deskline sync retry --parked` sends it again.
TEST(CrmSync, AParkedItemShowsWhyAndGoesThroughAfterRetry) {
  const int port = unused_port();
  Workspace workspace("crm-parked", crm_config(port));
  write_credentials(workspace);
  ReferenceCrm crm(workspace, port);
  crm.inject(nlohmann::json::array(
      {{{"path_prefix", "/v1/calls"}, {"method", "PUT"}, {"fault", "status"}, {"status", 401}, {"times", 1}},
       {{"path_prefix", "/v1/calls"}, {"method", "PUT"}, {"fault", "status"}, {"status", 413}, {"times", 1}}}));
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(box A serial=X800-PARK lines=1
at 0.5 A:1 ring cadence=1.0/2.0 count=1
at 0.6 A:1 callerid number=13812345678
at 9.0 A:1 ring cadence=1.0/2.0 count=1
at 17.0 A:1 ring cadence=1.0/2.0 count=1
at 120 end
)"));
  ASSERT_GT(simulator, 0);
  nlohmann::json status;
  ASSERT_TRUE(wait_until(
      [&] {
        status = workspace.cli_json({"sync", "status", "--json"});
        return status.is_object() && status.value("parked", 0) == 2;
      },
      std::chrono::seconds(40), "the first two missed calls' entries to be parked"))
      << status.dump(2) << workspace.log();
  ASSERT_EQ(status["parked_items"].size(), 2u) << status.dump(2);
  std::map<int, std::string> reasons;
  for (const auto& item : status["parked_items"]) reasons[item.value("status", 0)] = item.value("reason", "");
  EXPECT_NE(reasons[401].find("HTTP 401"), std::string::npos) << status.dump(2);
  EXPECT_NE(reasons[413].find("HTTP 413"), std::string::npos) << status.dump(2);
  // The sync and the database's writes run on threads of their own that
  // yield the CPU to the io thread, which carries the pops (it and the
  // other unnamed threads keep the process's name).
  const auto daemon_pid = workspace.cli_json({"status", "--json"}).value("pid", -1);
  ASSERT_GT(daemon_pid, 0);
  const auto nice_of = thread_nice_values(daemon_pid);
  for (const auto* bulk : {"desklined-crm", "desklined-store"}) {
    ASSERT_EQ(nice_of.count(bulk), 1u) << bulk;
    EXPECT_EQ(nice_of.find(bulk)->second, 10) << bulk;
  }
  ASSERT_GE(nice_of.count("desklined"), 1u);
  const auto [first, last] = nice_of.equal_range("desklined");
  EXPECT_TRUE(std::all_of(first, last, [](const auto& thread) { return thread.second == 0; }));
  // Nothing else is held up by them: the next call goes through.
  ASSERT_TRUE(wait_until([&] { return crm.calls().size() == 1; }, std::chrono::seconds(30),
                         "the third call on the CRM"))
      << workspace.log();
  std::string output;
  EXPECT_EQ(tools::run_capture({bin("deskline").string(), "--config", workspace.config_path().string(), "sync", "status"},
                               output),
            0);
  EXPECT_NE(output.find("parked    2 items"), std::string::npos) << output;

  output.clear();
  EXPECT_EQ(tools::run_capture({bin("deskline").string(), "--config", workspace.config_path().string(), "sync", "retry",
                                "--parked"},
                               output),
            0)
      << output;
  EXPECT_NE(output.find("2 items queued again"), std::string::npos) << output;
  EXPECT_TRUE(wait_until([&] { return crm.calls().size() == 3; }, std::chrono::seconds(30),
                         "the parked calls on the CRM after the retry"))
      << workspace.log();
  status = workspace.cli_json({"sync", "status", "--json"});
  EXPECT_EQ(status.value("parked", -1), 0) << status.dump(2);
  ::kill(simulator, SIGTERM);
  EXPECT_EQ(workspace.wait_for_simulator(simulator), 0) << workspace.log();
  expect_everything_arrived(workspace, crm);
}

// SIGKILL while the CRM holds a call entry's answer, and again while it
// holds an upload's: after each restart the item goes again, and the CRM
// ends up with one entry and one stored recording (the repeats carry the
// same webhook-id and bytes, so they change nothing).
TEST(CrmSync, SigkillWhileAnEntryAndAnUploadAreInFlightLosesAndDoublesNothing) {
  const int port = unused_port();
  Workspace workspace("crm-kill", crm_config(port));
  write_credentials(workspace);
  ReferenceCrm crm(workspace, port);
  crm.inject(nlohmann::json::array(
      {{{"path_prefix", "/v1/calls"}, {"method", "PUT"}, {"fault", "slow"}, {"delay", 60}},
       {{"path_suffix", "/recording"}, {"fault", "slow"}, {"delay", 60}}}));
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(box A serial=X800-KILL lines=1
at 0.5 A:1 callerid number=13812345678
at 1.0 A:1 ring cadence=1.0/2.0 count=1
at 2.0 A:1 offhook
at 2.2 A:1 play tone=440 level=-15 duration=2
at 4.5 A:1 onhook
# the entry's answer is held back by the CRM: killed while it waits
at 9.0 restart signal=kill
# the entry goes again; the upload's answer is held back: killed again
at 18.0 restart signal=kill
at 90 end
)"));
  ASSERT_GT(simulator, 0);
  EXPECT_TRUE(wait_until(
      [&] {
        const auto stored = crm.calls();
        return stored.size() == 1 && stored.begin()->second["recording"].is_object() &&
               crm.get("/_ref/faults").value("faults", nlohmann::json::array()).empty() &&
               workspace.cli_json({"sync", "status", "--json"}).value("backlog", -1) == 0;
      },
      std::chrono::seconds(80), "the call and its recording on the CRM after two kills"))
      << workspace.log();
  ::kill(simulator, SIGTERM);
  EXPECT_EQ(workspace.wait_for_simulator(simulator), 0) << workspace.log();
  expect_everything_arrived(workspace, crm);
  const auto call = crm.calls().begin()->second;
  // Each kill found its request in flight: both went again.
  EXPECT_GE(call["entry_puts"].get<int>(), 2) << call.dump(2);
  EXPECT_GE(call["recording"]["puts"].get<int>(), 2) << call.dump(2);
  EXPECT_EQ(call["recording"]["writes"], 1) << call.dump(2);
}

// A recording changed on disk after it was made: the first upload sends the
// digest stored with the recording (the file is not hashed twice), the CRM
// refuses the other bytes, and the retry hashes the file and parks the item
// with the reason; the CRM never stores the changed bytes.
TEST(CrmSync, ARecordingChangedOnDiskIsRefusedAndParkedNeverStored) {
  const int port = unused_port();
  Workspace workspace("crm-changed", crm_config(port));
  write_credentials(workspace);
  ReferenceCrm crm(workspace, port);
  // The entry (and so its recording) waits until the file has been changed.
  crm.inject(nlohmann::json{{"path_prefix", "/v1/calls"}, {"method", "PUT"}, {"fault", "status"}, {"status", 503},
                            {"times", 100000}});
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(box A serial=X800-EDIT lines=1
at 0.5 A:1 callerid number=13812345678
at 1.0 A:1 ring cadence=1.0/2.0 count=1
at 2.0 A:1 offhook
at 2.2 A:1 play tone=440 level=-15 duration=2
at 4.5 A:1 onhook
at 120 end
)"));
  ASSERT_GT(simulator, 0);
  std::string call_id;
  ASSERT_TRUE(wait_until(
      [&] {
        const auto recordings = workspace.cli_json({"recordings", "--json"});
        if (!recordings.is_array() || recordings.size() != 1 || recordings[0].value("state", "") != "complete")
          return false;
        call_id = recordings[0].value("call_id", "");
        const auto status = workspace.cli_json({"sync", "status", "--json"});
        return status.is_object() && status["last_failure"].is_string() &&
               status["last_failure"].get<std::string>().find("HTTP 503") != std::string::npos;
      },
      std::chrono::seconds(40), "the recording complete and its call's entry refused by the CRM"))
      << workspace.log();
  const auto file = workspace.recording_of(call_id);
  ASSERT_FALSE(file.empty());
  const auto size = fs::file_size(file);
  {
    std::fstream edit(file, std::ios::in | std::ios::out | std::ios::binary);
    edit.seekp(static_cast<std::streamoff>(size / 2));
    edit.write("edited", 6);
  }
  ASSERT_EQ(fs::file_size(file), size);
  ASSERT_EQ(crm.send("DELETE", "/_ref/faults"), 0);
  std::string output;
  EXPECT_EQ(tools::run_capture(
                {bin("deskline").string(), "--config", workspace.config_path().string(), "sync", "retry", call_id}, output),
            0)
      << output;
  nlohmann::json status;
  EXPECT_TRUE(wait_until(
      [&] {
        status = workspace.cli_json({"sync", "status", "--json"});
        return status.is_object() && status.value("parked", 0) == 1;
      },
      std::chrono::seconds(40), "the changed recording parked"))
      << status.dump(2) << workspace.log();
  ::kill(simulator, SIGTERM);
  EXPECT_EQ(workspace.wait_for_simulator(simulator), 0) << workspace.log();
  ASSERT_EQ(status["parked_items"].size(), 1u) << status.dump(2);
  EXPECT_EQ(status["parked_items"][0].value("kind", ""), "recording") << status.dump(2);
  EXPECT_NE(status["parked_items"][0].value("reason", "").find("differs from the recording's stored SHA-256"),
            std::string::npos)
      << status.dump(2);
  const auto stored = crm.calls();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_TRUE(stored.begin()->second["recording"].is_null()) << stored.begin()->second.dump(2);
  // The one upload that reached the CRM carried the stored digest: refused.
  std::vector<nlohmann::json> uploads;
  for (const auto& request : crm.get("/_ref/requests"))
    if (request.value("path", "").ends_with("/recording")) uploads.push_back(request);
  ASSERT_EQ(uploads.size(), 1u) << nlohmann::json(uploads).dump(2);
  EXPECT_EQ(uploads[0].value("status", 0), 400);
  EXPECT_EQ(uploads[0].value("error", ""), "digest_mismatch");
}

// TLS: the sync refuses a certificate it cannot trust and one for another
// host name, and delivers once the test CA is its ca_file.
TEST(CrmSync, TlsTrustsTheGivenCaAndChecksTheHostName) {
  const int port = unused_port();
  Workspace workspace("crm-tls");
  write_credentials(workspace);
  const auto tls = workspace.dir() / "tls";
  fs::create_directories(tls);
  make_test_certificates(tls, "crm.test");
  ReferenceCrm crm(workspace, port, tls);
  const std::string secrets = "token_file = \"crm-token\"\nsigning_secret_file = \"crm-secret\"\n";
  const std::string one_missed_call =
      "box A serial=X800-TLS lines=1\nat 0.5 A:1 ring cadence=1.0/2.0 count=1\nat 60 end\n";
  // Runs the daemon until the sync status satisfies done; that status.
  const auto run_until = [&](const std::string& what, auto done) {
    const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(one_missed_call));
    nlohmann::json status;
    EXPECT_TRUE(wait_until(
        [&] {
          status = workspace.cli_json({"sync", "status", "--json"});
          return status.is_object() && done(status);
        },
        std::chrono::seconds(40), what))
        << status.dump(2) << workspace.log();
    ::kill(simulator, SIGTERM);
    EXPECT_EQ(workspace.wait_for_simulator(simulator), 0) << workspace.log();
    return status;
  };
  const auto failed_with = [](const std::string& words) {
    return [words](const nlohmann::json& status) {
      const auto failure = status.value("last_failure", nlohmann::json());  // none in a CLI error object
      return failure.is_string() && failure.get<std::string>().find(words) != std::string::npos;
    };
  };

  // The system's CAs.
  set_crm_section(workspace, fmt::format("[crm]\nurl = \"https://127.0.0.1:{}\"\n", port) + secrets);
  auto status = run_until("a refusal of the untrusted certificate", failed_with("certificate"));
  EXPECT_EQ(status.value("delivered", -1), 0);
  set_crm_section(workspace,
                  fmt::format("[crm]\nurl = \"https://localhost:{}\"\nca_file = \"tls/ca.pem\"\n", port) + secrets);
  status = run_until("a refusal of the certificate for another name", failed_with("does not name localhost"));
  EXPECT_EQ(status.value("delivered", -1), 0);
  EXPECT_TRUE(crm.calls().empty());
  set_crm_section(workspace,
                  fmt::format("[crm]\nurl = \"https://127.0.0.1:{}\"\nca_file = \"tls/ca.pem\"\n", port) + secrets);
  // The calls held back and this run's: all arrive.
  run_until("every call delivered over TLS", [&](const nlohmann::json& s) {
    return s.value("backlog", -1) == 0 && s.value("delivered", 0) == static_cast<int>(workspace.calls().size());
  });
  EXPECT_GE(crm.calls().size(), 1u);
  EXPECT_EQ(crm.calls().size(), workspace.calls().size());
}

// Retention deletes an old recording only once the CRM has confirmed its
// digest; an old recording the CRM refused (parked) is kept.
TEST(CrmSync, RetentionDeletesOnlyWhatTheCrmConfirmed) {
  const int port = unused_port();
  Workspace workspace("crm-retention", crm_config(port) + "[recording]\nretention_days = 1\n");
  write_credentials(workspace);
  ReferenceCrm crm(workspace, port);
  const auto fault = nlohmann::json{{"path_suffix", "/recording"}, {"fault", "status"}, {"status", 413}};
  crm.inject(fault);
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(std::string(three_calls) + "at 120 end\n"));
  ASSERT_GT(simulator, 0);
  nlohmann::json status;
  ASSERT_TRUE(wait_until(
      [&] {
        status = workspace.cli_json({"sync", "status", "--json"});
        // Three entries and one recording delivered, the other recording parked.
        return status.is_object() && status.value("parked", 0) == 1 && status.value("delivered", 0) == 4 &&
               status.value("backlog", -1) == 0;
      },
      std::chrono::seconds(60), "one recording synced and one parked"))
      << status.dump(2) << workspace.log();
  ::kill(simulator, SIGTERM);
  ASSERT_EQ(workspace.wait_for_simulator(simulator), 0) << workspace.log();
  const auto parked_call = status["parked_items"][0].value("call_id", "");
  std::string synced_call;
  for (const auto& recording : workspace.cli_json({"recordings", "--json"}))
    if (recording.value("call_id", "") != parked_call) synced_call = recording.value("call_id", "");
  ASSERT_FALSE(synced_call.empty());
  const auto synced_file = workspace.recording_of(synced_call);
  const auto parked_file = workspace.recording_of(parked_call);
  ASSERT_FALSE(synced_file.empty());
  ASSERT_FALSE(parked_file.empty());

  // Three days pass (the rows say so), and the daemon starts again.
  std::string output;
  ASSERT_EQ(tools::run_capture({"sqlite3", (workspace.dir() / "data" / "deskline.db").string(),
                                "UPDATE recordings SET started_at = started_at - 3 * 86400000000"},
                               output),
            0)
      << output;
  ASSERT_EQ(workspace.run_scenario("box A serial=X800-CRM lines=2\nat 3 end\n"), 0) << workspace.log();
  EXPECT_FALSE(fs::exists(synced_file)) << "a recording the CRM confirmed was kept past retention";
  EXPECT_TRUE(fs::exists(parked_file)) << "a recording the CRM never confirmed was deleted";
  for (const auto& recording : workspace.cli_json({"recordings", "--json"})) {
    const auto id = recording.value("call_id", "");
    if (id == synced_call || id == parked_call) {
      EXPECT_EQ(recording["state"], id == synced_call ? "deleted" : "complete") << recording.dump();
    }
  }
  EXPECT_NE(workspace.log().find("retention: deleted 1 recordings"), std::string::npos) << workspace.log();
  EXPECT_NE(workspace.log().find("retention: kept 1 recordings"), std::string::npos) << workspace.log();
}

// The recordings' disk fills during a call while the sync runs (and the
// CRM fails an upload meanwhile): the cut recording goes to the CRM with the
// very bytes on disk, the call recorded after it could not be written still
// gets its entry, and nothing is parked, lost or sent twice.
TEST(CrmSync, AFullDiskDuringARecordingLosesNothingOnTheCrm) {
  const int port = unused_port();
  Workspace workspace("crm-full-disk", crm_config(port) + "[recording]\nmin_free_mb = 0\n");
  SmallTmpfs disk(workspace.dir() / "data" / "recordings", "4k");  // one page: ~4 s of tone
  if (!disk.mounted()) SKIP_OR_FAIL_MISSING() << "cannot mount a tmpfs here (needs root): " << disk.error();
  write_credentials(workspace);
  ReferenceCrm crm(workspace, port);
  crm.inject(nlohmann::json{{"path_suffix", "/recording"}, {"fault", "status"}, {"status", 503}, {"times", 1}});
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(box A serial=X800-FULL lines=2
at 0.5 A:1 callerid number=13812345678
at 1.0 A:1 ring cadence=1.0/2.0 count=1
at 2.0 A:1 offhook
at 2.0 A:1 play tone=600 level=-10 duration=12
at 15.0 A:1 onhook
at 16.0 A:2 callerid number=02161234567
at 16.5 A:2 ring cadence=1.0/2.0 count=1
at 17.5 A:2 offhook
at 17.5 A:2 play tone=440 level=-10 duration=3
at 21.0 A:2 onhook
at 120 end
)"));
  ASSERT_GT(simulator, 0);
  nlohmann::json status;
  EXPECT_TRUE(wait_until(
      [&] {
        const auto calls = workspace.calls();
        status = workspace.cli_json({"sync", "status", "--json"});
        const auto ended = [](const nlohmann::json& call) { return call.value("state", "") == "ended"; };
        return calls.is_array() && calls.size() == 2 && ended(calls[0]) && ended(calls[1]) && status.is_object() &&
               status.value("backlog", -1) == 0 &&
               crm.get("/_ref/faults").value("faults", nlohmann::json::array({nullptr})).empty();
      },
      std::chrono::seconds(60), "both calls ended and the outbox empty"))
      << status.dump(2) << workspace.log();
  ::kill(simulator, SIGTERM);
  EXPECT_EQ(workspace.wait_for_simulator(simulator), 0) << workspace.log();
  EXPECT_NE(workspace.log().find("recording truncated: No space left on device"), std::string::npos) << workspace.log();
  EXPECT_EQ(status.value("parked", -1), 0) << status.dump(2);
  const auto calls = workspace.calls();
  ASSERT_EQ(calls.size(), 2u);
  for (const auto& call : calls) EXPECT_EQ(call["outcome"], "answered") << call.dump();
  expect_everything_arrived(workspace, crm);
  // The cut recording is on the CRM (after the 503), the unrecorded call's entry without one.
  EXPECT_NE(workspace.log().find("not recorded: cannot start the encoder: No space left on device"), std::string::npos)
      << workspace.log();
  EXPECT_EQ(with_recording(crm.calls()), 1u);
}

// The directory pull (proto/crm.md section 5): customers in the CRM pop; an
// addition, a change and a deletion in the CRM are in the pops after
// `deskline customers sync`; a restarted daemon resumes from its stored cursor.
TEST(CrmSync, PopsFollowTheCrmsCustomers) {
  const int port = unused_port();
  // Pulls only at start and when asked, so the test decides when.
  Workspace workspace("crm-pull", crm_config(port) + "customers_poll_s = 0\n");
  write_credentials(workspace);
  ReferenceCrm crm(workspace, port);
  ASSERT_EQ(crm.send("POST", "/_ref/customers",
                     nlohmann::json::array({
                         {{"id", "c-1"}, {"name", "Zhang Wei"}, {"company", "Acme Trading"},
                          {"numbers", {"+86 138 1234 5678", "ask reception"}}},
                         {{"id", "c-2"}, {"name", "Wang Fang"}, {"company", "Shanghai Steel"}, {"numbers", {"021-6123 4567"}}},
                         {{"id", "c-3"}, {"name", "Liu Yang"}, {"company", ""}, {"numbers", {"139 0000 1111"}}},
                     })),
            0);

  // The daemon pulls at start.
  const std::string box = "box A serial=X800-PULL lines=4\n";
  pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(box + "at 300 end\n"));
  ASSERT_GT(simulator, 0);
  nlohmann::json status;
  ASSERT_TRUE(wait_until(
      [&] {
        status = workspace.cli_json({"sync", "status", "--json"});
        return status.is_object() && status["customers"]["last_pull"].is_object();
      },
      std::chrono::seconds(30), "the first customer pull"))
      << status.dump(2) << workspace.log();
  const auto first = status["customers"]["last_pull"];
  EXPECT_EQ(first["ok"], true) << status.dump(2);
  EXPECT_EQ(first["new"], 3) << status.dump(2);
  EXPECT_EQ(first["numbers_left_out"], 1) << status.dump(2);  // "ask reception": reported, c-1 still applied
  ASSERT_EQ(first["problems"].size(), 1u) << status.dump(2);
  EXPECT_NE(first["problems"][0].get<std::string>().find("ask reception"), std::string::npos) << status.dump(2);
  EXPECT_NE(workspace.log().find("number left out"), std::string::npos) << workspace.log();
  const auto found = workspace.cli_json({"customers", "lookup", "13812345678", "--json"});
  ASSERT_EQ(found.size(), 1u) << found.dump();
  EXPECT_EQ(found[0]["id"], "c-1");

  // The CRM changes: one customer added, one renamed, one deleted.
  ASSERT_EQ(crm.send("POST", "/_ref/customers",
                     nlohmann::json::array({{{"id", "c-4"}, {"name", "Zhao Lei"}, {"numbers", {"010 8888 1234"}}},
                                            {{"id", "c-2"}, {"name", "Wang Fang (Ops)"}, {"company", "Shanghai Steel"},
                                             {"numbers", {"021-6123 4567"}}}})),
            0);
  ASSERT_EQ(crm.send("DELETE", "/_ref/customers/c-3"), 0);
  std::string output;
  ASSERT_EQ(tools::run_capture({bin("deskline").string(), "--config", workspace.config_path().string(), "customers",
                                "sync"},
                               output),
            0)
      << output << workspace.log();
  EXPECT_NE(output.find("1 new, 1 updated, 1 deleted"), std::string::npos) << output;
  status = workspace.cli_json({"sync", "status", "--json"});
  const auto cursor = status["customers"].value("cursor", "");
  ASSERT_FALSE(cursor.empty()) << status.dump(2);
  ::kill(simulator, SIGTERM);
  ASSERT_EQ(workspace.wait_for_simulator(simulator), 0) << workspace.log();

  // Started again, with calls from each number: the pops follow the CRM.
  ASSERT_EQ(crm.send("DELETE", "/_ref/requests"), 0);
  simulator = workspace.start_daemon_under_sim(workspace.write_scenario(box + R"(
at 0.5 A:1 callerid number=13812345678
at 1.0 A:1 ring cadence=1.0/2.0 count=1
at 1.0 A:2 callerid number=02161234567
at 1.5 A:2 ring cadence=1.0/2.0 count=1
at 1.5 A:3 callerid number=13900001111
at 2.0 A:3 ring cadence=1.0/2.0 count=1
at 2.0 A:4 callerid number=01088881234
at 2.5 A:4 ring cadence=1.0/2.0 count=1
at 12 end
)"));
  ASSERT_GT(simulator, 0);
  PopTestClient client;
  ASSERT_TRUE(client.connect(workspace.dir() / "run" / "events.sock"));
  std::map<std::string, nlohmann::json> pops;  // customers shown, by number
  while (pops.size() < 4) {
    const auto ringing = client.until("call.ringing");
    ASSERT_TRUE(ringing) << workspace.log();
    pops[ringing->value("number", "")] = (*ringing)["customers"];
  }
  ASSERT_EQ(workspace.wait_for_simulator(simulator), 0) << workspace.log();
  ASSERT_EQ(pops["+8613812345678"].size(), 1u) << nlohmann::json(pops).dump(2);
  EXPECT_EQ(pops["+8613812345678"][0]["name"], "Zhang Wei");
  ASSERT_EQ(pops["+862161234567"].size(), 1u) << nlohmann::json(pops).dump(2);
  EXPECT_EQ(pops["+862161234567"][0]["name"], "Wang Fang (Ops)");  // changed in the CRM
  EXPECT_EQ(pops["+8613900001111"].size(), 0u) << nlohmann::json(pops).dump(2);  // deleted in the CRM
  ASSERT_EQ(pops["+861088881234"].size(), 1u) << nlohmann::json(pops).dump(2);  // added in the CRM
  EXPECT_EQ(pops["+861088881234"][0]["id"], "c-4");
  EXPECT_EQ(pops["+861088881234"][0]["name"], "Zhao Lei");

  // The restarted daemon's first page request carried the stored cursor.
  nlohmann::json first_get;
  for (const auto& request : crm.get("/_ref/requests"))
    if (request.value("method", "") == "GET" && request.value("path", "").starts_with("/v1/customers")) {
      first_get = request;
      break;
    }
  ASSERT_TRUE(first_get.is_object()) << crm.get("/_ref/requests").dump(2);
  EXPECT_EQ(first_get["path"], fmt::format("/v1/customers?cursor={}&limit=500", cursor)) << first_get.dump();
  EXPECT_EQ(first_get["status"], 200) << first_get.dump();
  EXPECT_TRUE(first_get.value("webhook_id", "").starts_with("customers-")) << first_get.dump();
}

}  // namespace
}  // namespace deskline::testing
