// Least privilege, tried with real unprivileged accounts set up the way the
// README's "Install as a service" does: the daemon's group is the admins',
// a desk group gets the events socket. A desk account reads pops and nothing
// else: the control socket refuses it (by file permission, and by peer
// credentials when the file is opened up), and it can read no recording, no
// database, no token and no configuration. An admin gets all of it.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/integration/harness.hpp"

namespace deskline::testing {
namespace {

// Groups and users made for one test and removed after it, named with the
// test's pid so parallel runs do not meet.
class Accounts {
 public:
  Accounts() : suffix_(std::to_string(::getpid())) {}
  ~Accounts() {
    std::string ignored;
    for (const auto& user : users_) run_with_stderr({"userdel", user}, ignored);
    for (const auto& group : groups_) run_with_stderr({"groupdel", group}, ignored);
  }

  // A new group; its name.
  std::string group(const std::string& prefix) {
    const auto name = prefix + suffix_;
    std::string output;
    EXPECT_EQ(run_with_stderr({"groupadd", name}, output), 0) << output;
    groups_.push_back(name);
    return name;
  }
  // A new user without a home, primary group nogroup, in the given groups.
  std::string user(const std::string& prefix, const std::string& groups = "") {
    const auto name = prefix + suffix_;
    std::vector<std::string> argv{"useradd", "--no-create-home", "--no-user-group", "--gid", "nogroup",
                                  "--shell",  "/usr/sbin/nologin"};
    if (!groups.empty()) argv.insert(argv.end(), {"--groups", groups});
    argv.push_back(name);
    std::string output;
    EXPECT_EQ(run_with_stderr(argv, output), 0) << output;
    users_.push_back(name);
    return name;
  }

 private:
  std::string suffix_;
  std::vector<std::string> groups_;
  std::vector<std::string> users_;
};

// argv run as user with the user's own groups (as after a login); exit status,
// stdout and stderr in output.
int run_as(const std::string& user, std::vector<std::string> argv, std::string& output) {
  argv.insert(argv.begin(), {"setpriv", "--reuid=" + user, "--regid=nogroup", "--init-groups", "--"});
  output.clear();
  return run_with_stderr(argv, output);
}

TEST(Access, ADeskAccountReadsPopsAndNothingElse) {
  if (::geteuid() != 0) SKIP_OR_FAIL_MISSING() << "making accounts needs root";
  Accounts accounts;
  const auto admins = accounts.group("dls");  // the daemon's group: deskline when packaged
  const auto desks = accounts.group("dld");   // deskline-desk
  const auto admin = accounts.user("dla", admins);
  const auto desk = accounts.user("dlk", desks);
  const auto stranger = accounts.user("dlx");
  ASSERT_FALSE(::testing::Test::HasFailure());

  // The README's setup: desk_group names the desk group; the configuration
  // is closed to everyone but root and the daemon's group; run_dir is open
  // to traverse (RuntimeDirectoryMode=0755), the sockets' modes decide.
  Workspace workspace("access", "", "desk_group = \"" + desks + "\"\n");
  std::string output;
  ASSERT_EQ(run_with_stderr({"chown", "root:" + admins, workspace.config_path().string()}, output), 0) << output;
  ASSERT_EQ(::chmod(workspace.config_path().c_str(), 0640), 0);
  const auto run = workspace.dir() / "run";
  fs::create_directories(run);
  ASSERT_EQ(::chmod(run.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(workspace.dir().c_str(), 0755), 0);

  // The daemon runs with the admins' group as its own (as deskline:deskline
  // does under its unit; the uid stays root for the simulated USB device):
  // the simulator is started so and passes it on.
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(box A serial=X800-ACL lines=1
at 1.0 A:1 ring cadence=1.0/2.0 count=20
at 1.1 A:1 callerid number=13812345678
at 4.0 A:1 offhook
at 4.2 A:1 play tone=440 level=-15 duration=120
at 130.0 end
)"),
                                                           {"setpriv", "--regid=" + admins, "--clear-groups", "--"});
  ASSERT_GT(simulator, 0);
  ASSERT_TRUE(wait_until(
      [&] {
        const auto calls = workspace.calls();
        return calls.is_array() && calls.size() == 1 && !calls[0]["answered_at"].is_null() &&
               !workspace.recording_of(calls[0].value("id", "")).empty();
      },
      std::chrono::seconds(30), "the call to be answered and recorded"))
      << workspace.log();
  const auto events_socket = (run / "events.sock").string();
  const auto control_socket = run / "control.sock";

  // The desk gets the call's pop (replayed: it is in progress).
  EXPECT_EQ(run_as(desk, {bin("deskline").string(), "pop", "--socket", events_socket, "--json", "--count", "1"},
                   output),
            0)
      << output;
  EXPECT_NE(output.find("13812345678"), std::string::npos) << output;

  // ... and nothing else: the configuration, the control socket, the data.
  EXPECT_NE(run_as(desk, {bin("deskline").string(), "--config", workspace.config_path().string(), "status"}, output),
            0);
  EXPECT_NE(output.find("Permission denied"), std::string::npos) << output;
  const auto readable_config = workspace.dir() / "desk-copy.toml";
  fs::copy_file(workspace.config_path(), readable_config);
  ASSERT_EQ(::chmod(readable_config.c_str(), 0644), 0);
  EXPECT_EQ(run_as(desk, {bin("deskline").string(), "--config", readable_config.string(), "status"}, output), 3);
  EXPECT_NE(output.find("it is for desklined's admins"), std::string::npos) << output;
  const auto calls = workspace.calls();
  ASSERT_EQ(calls.size(), 1u);
  const auto recording = workspace.recording_of(calls[0].value("id", ""));
  const auto data = workspace.dir() / "data";
  for (const auto& file : {recording, data / "deskline.db", data / "http-token"}) {
    ASSERT_TRUE(fs::exists(file)) << file;
    EXPECT_NE(run_as(desk, {"cat", file.string()}, output), 0) << file;
    EXPECT_NE(output.find("Permission denied"), std::string::npos) << file << ": " << output;
  }

  // A socket file opened up by mistake still serves no one but admins: the
  // daemon checks the peer's credentials.
  ASSERT_EQ(::chmod(control_socket.c_str(), 0666), 0);
  EXPECT_EQ(run_as(desk, {bin("deskline").string(), "--config", readable_config.string(), "status"}, output), 3);
  EXPECT_NE(output.find("desklined refused: not allowed"), std::string::npos) << output;
  EXPECT_EQ(run_as(desk, {bin("deskline").string(), "--config", readable_config.string(), "calls"}, output), 1);
  EXPECT_EQ(output.find("13812345678"), std::string::npos) << output;

  // Someone in neither group gets no pops either.
  EXPECT_EQ(run_as(stranger, {bin("deskline").string(), "pop", "--socket", events_socket, "--count", "1"}, output), 3);
  EXPECT_NE(output.find("Permission denied"), std::string::npos) << output;

  // The admin gets everything: status with the page's token, calls, the file.
  EXPECT_EQ(run_as(admin, {bin("deskline").string(), "--config", workspace.config_path().string(), "status", "--json"},
                   output),
            0)
      << output;
  const auto status = nlohmann::json::parse(output, nullptr, false);
  ASSERT_TRUE(status.is_object()) << output;
  EXPECT_NE(status.value("web_page", "").find("token="), std::string::npos) << status.dump(2);
  EXPECT_EQ(status["connections"]["control"]["forbidden"], 2) << status.dump(2);
  EXPECT_EQ(run_as(admin, {"cmp", "-s", recording.string(), recording.string()}, output), 0) << output;

  ::kill(simulator, SIGTERM);  // forwarded to desklined
  EXPECT_EQ(workspace.wait_for_simulator(simulator), 0) << workspace.log();
  EXPECT_NE(workspace.log().find("control: refused uid"), std::string::npos) << workspace.log();
}

}  // namespace
}  // namespace deskline::testing
