// Every deskline command that prints data, with --json and without, against
// a daemon with a recorded call: the exit status is the documented one, and
// stdout holds the data alone: JSON with --json (JSON lines for analyze),
// text without.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/integration/harness.hpp"

namespace deskline::testing {
namespace {

constexpr const char* one_recorded_call = R"(
box A serial=X800-CLI lines=1
at 1.0 A:1 ring cadence=0.5/0.5 count=1
at 1.1 A:1 callerid number=13812345678
at 1.6 A:1 offhook
at 3.6 A:1 onhook
at 600 end
)";

bool is_json(const std::string& text) { return !nlohmann::json::parse(text, nullptr, false).is_discarded(); }

// None at all is JSON lines too: analyze found nothing (and says so on stderr).
bool is_json_lines(const std::string& text) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (!nlohmann::json::parse(line, nullptr, false).is_object()) return false;
  return true;
}

TEST(CliTable, EveryCommandWithAndWithoutJson) {
  Workspace workspace("cli-table");
  const auto csv = workspace.dir() / "customers.csv";
  std::ofstream(csv) << "id,name,company,phone\nc-1,Zhang Wei,Acme Trading,13812345678\n";
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(one_recorded_call));
  ASSERT_GT(simulator, 0);
  std::string call_id;
  ASSERT_TRUE(wait_until(
      [&] {
        const auto recordings = workspace.cli_json({"recordings", "--json"});
        if (!recordings.is_array() || recordings.empty() || recordings[0]["state"] != "complete") return false;
        call_id = recordings[0]["call_id"];
        return true;
      },
      std::chrono::seconds(60), "the call's recording to be complete"))
      << workspace.log();
  const auto wav = workspace.dir() / "call.wav";
  ASSERT_EQ(workspace.run_cli({"recordings", "export", call_id, "-o", wav.string()}).status, 0);

  struct Command {
    std::vector<std::string> arguments;
    int status;
    bool json_lines = false;
    std::vector<std::string> json_arguments = {};  // none: arguments and --json
  };
  const std::vector<Command> commands = {
      {{"calls"}, 0},
      {{"status"}, 0},
      {{"reload"}, 0},
      {{"recordings"}, 0},
      {{"recordings", "check"}, 0},
      {{"customers", "import", csv.string()}, 0},
      {{"customers", "lookup", "13812345678"}, 0},
      {{"customers", "sync"}, 1},  // the customer pull is off: no [crm] url
      {{"sync", "status"}, 0},
      {{"sync", "retry", call_id}, 0},
      {{"tokens", "add", "crm-table"}, 0, false, {"tokens", "add", "crm-table-json", "--json"}},
      {{"tokens", "list"}, 0},
      {{"analyze", wav.string()}, 0, true},
  };
  for (const auto& command : commands) {
    const auto name = command.arguments[0] + (command.arguments.size() > 1 ? " " + command.arguments[1] : "");
    auto with_json = command.json_arguments;
    if (with_json.empty()) {
      with_json = command.arguments;
      with_json.push_back("--json");
    }
    const auto text = workspace.run_cli(command.arguments);
    const auto json = workspace.run_cli(with_json);
    EXPECT_EQ(text.status, command.status) << name << ": " << text.err;
    EXPECT_EQ(json.status, command.status) << name << " --json: " << json.err;
    if (command.status != 0) {
      EXPECT_NE(text.err, "") << name << " says why on stderr";
      continue;
    }
    if (command.json_lines) {
      EXPECT_TRUE(is_json_lines(text.out)) << name << ":\n" << text.out;
      EXPECT_TRUE(is_json_lines(json.out)) << name << " --json:\n" << json.out;
      continue;
    }
    EXPECT_TRUE(is_json(json.out)) << name << " --json:\n" << json.out;
    EXPECT_FALSE(text.out.empty()) << name;
    EXPECT_FALSE(is_json(text.out)) << name << " prints text without --json:\n" << text.out;
  }
  // Without a daemon: 3, and nothing on stdout with or without --json.
  workspace.stop_simulator(simulator);
  for (const auto& command : std::vector<std::vector<std::string>>{{"status"}, {"reload"}, {"sync", "status"}}) {
    for (const bool as_json : {false, true}) {
      auto arguments = command;
      if (as_json) arguments.push_back("--json");
      const auto run = workspace.run_cli(arguments);
      EXPECT_EQ(run.status, 3) << command[0];
      EXPECT_EQ(run.out, "") << command[0];
    }
  }
}

}  // namespace
}  // namespace deskline::testing
