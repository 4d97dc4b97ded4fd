// Reloading the configuration under deskline-sim: SIGHUP and `deskline
// reload` while a recorded call goes on.
#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "tests/integration/harness.hpp"

namespace deskline::testing {
namespace {

// Line 1: an inbound call answered at 1.5 s, talking until 30 s. Line 2:
// three short outbound calls, at 4, 14 and 22 s.
constexpr const char* scenario = R"(
box A serial=X800-RL lines=2
at 0.5 A:1 ring cadence=1.0/4.0 count=1
at 0.6 A:1 callerid number=13812345678
at 1.5 A:1 offhook
at 1.6 A:1 play tone=440 duration=28
at 30 A:1 onhook
at 4 A:2 offhook
at 4.3 A:2 dial digits=13900000001
at 7 A:2 onhook
at 14 A:2 offhook
at 14.3 A:2 dial digits=13900000002
at 17 A:2 onhook
at 22 A:2 offhook
at 22.3 A:2 dial digits=13900000003
at 25 A:2 onhook
at 120 end
)";  // the test stops it once every call is over

std::string lines_config(const std::string& line1_keys, const std::string& line2_keys) {
  return fmt::format("[[line]]\nbox = \"X800-RL\"\nport = 1\n{}\n[[line]]\nbox = \"X800-RL\"\nport = 2\n{}\n",
                     line1_keys, line2_keys);
}

double now_s() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

TEST(Reload, LineNamesPoliciesAndTheDeskTokenChangeWhileARecordedCallGoesOn) {
  const std::string before = lines_config("name = \"Sales 1\"", "name = \"Sales 2\"\nrecord = \"never\"");
  Workspace workspace("reload", before);
  const auto config_text = read_file(workspace.config_path());
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(scenario));
  ASSERT_GT(simulator, 0);

  // Line 1 is in its recorded call; line 2's first call (not recorded) is over.
  nlohmann::json calls;
  ASSERT_TRUE(wait_until(
      [&] {
        calls = workspace.calls();
        const auto* first = calls.is_array() ? find_call_by_number(calls, "13900000001") : nullptr;
        const auto* long_call = calls.is_array() ? find_call_by_number(calls, "13812345678") : nullptr;
        return first && first->value("state", "") == "ended" && long_call && long_call->value("state", "") == "active";
      },
      std::chrono::seconds(60), "line 2's first call to end while line 1's goes on"))
      << workspace.log();
  EXPECT_EQ(find_call_by_number(calls, "13900000001")->value("line", ""), "Sales 2");
  const auto status = workspace.cli_json({"status", "--json"});
  ASSERT_TRUE(status.contains("pid")) << status.dump();
  const pid_t daemon = status["pid"].get<pid_t>();

  const std::string old_page = status.value("web_page", "");

  // The edit: both lines renamed, their recording policies swapped, new
  // caller-ID decoders for both, and a new token for the desk page.
  const auto edited = lines_config("name = \"Front desk\"\nrecord = \"never\"\ncallerid = \"v23\"",
                                   "name = \"Support\"\nrecord = \"always\"\ncallerid = \"dtmf\"");
  auto head = config_text.substr(0, config_text.find(before));
  head.replace(head.find("port = 0\n"), 9, "port = 0\ntoken = \"reloaded-desk-token-0001\"\n");
  std::ofstream(workspace.config_path()) << head << edited;
  const double reload_sent = now_s();
  ASSERT_EQ(::kill(daemon, SIGHUP), 0);
  ASSERT_TRUE(wait_until(
      [&] { return workspace.log().find("reload: applied http.token, line[0], line[1]") != std::string::npos; },
      std::chrono::seconds(30), "the reload to be applied"))
      << workspace.log();
  const double reloaded = now_s();
  // The line in a call keeps its decoders until the call ends; the idle one
  // changes at once, on the media thread, so right after the reload's answer.
  EXPECT_TRUE(wait_until(
      [&] { return workspace.log().find("box X800-RL port 2: caller ID from audio now dtmf") != std::string::npos; },
      std::chrono::seconds(30), "the idle line's new decoders"))
      << workspace.log();
  EXPECT_EQ(workspace.log().find("box X800-RL port 1: caller ID from audio now"), std::string::npos);

  // The page's address has the new token, which opens the page's API; the old one no longer does.
  const std::string new_page = workspace.cli_json({"status", "--json"}).value("web_page", "");
  EXPECT_NE(new_page.find("?token=reloaded-desk-token-0001"), std::string::npos) << new_page;
  const auto calls_with = [&](const std::string& page) {
    const auto base = page.substr(0, page.find("/?token="));
    std::string status_code;
    tools::run_capture({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                        "Authorization: Bearer " + page.substr(page.find("?token=") + 7), base + "/v1/calls"},
                       status_code);
    return status_code;
  };
  EXPECT_EQ(calls_with(new_page), "200");
  EXPECT_EQ(calls_with(old_page), "401") << old_page;

  // `deskline reload` now: the same file, nothing more to apply.
  const auto again = workspace.cli_json({"reload", "--json"});
  EXPECT_EQ(again.value("ok", false), true) << again.dump();
  EXPECT_EQ(again.value("applied", nlohmann::json()), nlohmann::json::array()) << again.dump();

  // A broken edit is refused whole, by SIGHUP and by `deskline reload`.
  std::ofstream(workspace.config_path()) << head
                                         << lines_config("name = \"Broken\"\nrecord = \"sometimes\"",
                                                         "name = \"Support\"\nwhatever = 1");
  ASSERT_EQ(::kill(daemon, SIGHUP), 0);
  ASSERT_TRUE(wait_until([&] { return workspace.log().find("reload refused") != std::string::npos; },
                         std::chrono::seconds(30), "the broken file to be refused"))
      << workspace.log();
  EXPECT_NE(workspace.log().find("line[0].record"), std::string::npos) << workspace.log();
  EXPECT_NE(workspace.log().find("line[1].whatever"), std::string::npos) << workspace.log();
  std::string output;
  EXPECT_EQ(run_with_stderr({bin("deskline").string(), "--config", workspace.config_path().string(), "reload"}, output),
            1);
  EXPECT_NE(output.find("line[0].record"), std::string::npos) << output;
  EXPECT_NE(output.find("the running configuration stays"), std::string::npos) << output;
  // The admin mends the file (the CLI reads it too); the daemon was not asked again.
  std::ofstream(workspace.config_path()) << head << edited;

  // Line 1's call goes on to its end, recorded whole, under the name it started with.
  nlohmann::json recordings;
  ASSERT_TRUE(wait_until(
      [&] {
        calls = workspace.calls();
        recordings = workspace.cli_json({"recordings", "--json"});
        const auto* last = calls.is_array() ? find_call_by_number(calls, "13900000003") : nullptr;
        const auto* long_call = calls.is_array() ? find_call_by_number(calls, "13812345678") : nullptr;
        return last && last->value("state", "") == "ended" && long_call && long_call->value("state", "") == "ended" &&
               recordings.is_array() && recordings.size() >= 2 &&
               std::all_of(recordings.begin(), recordings.end(),
                           [](const auto& recording) { return recording.value("state", "") != "recording"; });
      },
      std::chrono::seconds(90), "every call and recording to end"))
      << workspace.log();
  const auto& long_call = *find_call_by_number(calls, "13812345678");
  EXPECT_EQ(long_call.value("line", ""), "Sales 1");
  EXPECT_EQ(long_call.value("outcome", ""), "answered");
  const nlohmann::json* long_recording = nullptr;
  for (const auto& recording : recordings)
    if (recording.value("call_id", "") == long_call.value("id", "")) long_recording = &recording;
  ASSERT_NE(long_recording, nullptr) << recordings.dump(2);
  EXPECT_EQ(long_recording->value("state", ""), "complete") << long_recording->dump();
  EXPECT_NEAR(ffprobe_duration(long_recording->value("path", "")), 28.5, 0.5);
  // Its decoders change once it ended (on the media thread, like port 2's).
  EXPECT_TRUE(wait_until(
      [&] { return workspace.log().find("box X800-RL port 1: caller ID from audio now v23") != std::string::npos; },
      std::chrono::seconds(30), "line 1's new decoders after its call"))
      << workspace.log();

  // Line 2: a call that started before the reload was sent has the old name
  // and no recording; one that started after it was applied has the new name
  // and a recording. The broken file changed nothing.
  int after = 0;
  for (const auto* number : {"13900000001", "13900000002", "13900000003"}) {
    SCOPED_TRACE(number);
    const auto* call = find_call_by_number(calls, number);
    ASSERT_NE(call, nullptr);
    const double started = parse_iso8601(call->value("started_at", ""));
    const bool recorded = std::any_of(recordings.begin(), recordings.end(), [&](const auto& recording) {
      return recording.value("call_id", "") == call->value("id", "");
    });
    if (started < reload_sent) {
      EXPECT_EQ(call->value("line", ""), "Sales 2");
      EXPECT_FALSE(recorded);
    } else if (started > reloaded) {
      ++after;
      EXPECT_EQ(call->value("line", ""), "Support");
      EXPECT_TRUE(recorded);
    }
  }
  EXPECT_GE(after, 1) << "no call of line 2 started after the reload";
  workspace.stop_simulator(simulator);
}

}  // namespace
}  // namespace deskline::testing
