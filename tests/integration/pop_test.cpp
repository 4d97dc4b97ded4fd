// Screen pops over the events socket under deskline-sim: first ring, caller
// ID between rings, a client that connects mid-ring, resume by seq, a
// stalled client that is cut off while the others are served, and
// `deskline pop --notify` shown by a real notification server (dunst).
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/integration/harness.hpp"
#include "tests/integration/pop_client.hpp"
#include "tests/terminal_text.hpp"

namespace deskline::testing {
namespace {

// Validates events against proto/pop-event.schema.json with a real JSON Schema
// validator (python3-jsonschema); returns its complaints, "" when all are valid.
std::string schema_violations(const std::vector<nlohmann::json>& events, const fs::path& scratch) {
  const auto events_path = scratch / "events.json";
  std::ofstream(events_path) << nlohmann::json(events).dump();
  std::string output;
  const int status = tools::run_capture(
      {"python3", "-c",
       "import json, sys, jsonschema\n"
       "schema = json.load(open(sys.argv[1]))\n"
       "validator = jsonschema.Draft202012Validator(schema)\n"
       "for event in json.load(open(sys.argv[2])):\n"
       "    for error in validator.iter_errors(event):\n"
       "        print(event.get('event'), event.get('seq'), error.message)\n",
       (fs::path(DESKLINE_SOURCE_DIR) / "proto" / "pop-event.schema.json").string(), events_path.string()},
      output);
  return status == 0 ? output : "validator failed to run: " + output;
}

TEST(Pop, RingingOnFirstRingThenIdentifiedBetweenRings) {
  Workspace workspace("pop-ring");
  // The directory: one customer per number, and a switchboard shared by two.
  const auto imported = workspace.import_customers(
      "id,name,company,url,phone,phone_office\n"
      "c-1,Zhang Wei,Acme Trading,https://crm.example/c/1,+86 138 1234 5678,\n"
      "c-2,Wang Fang,Shanghai Steel,https://crm.example/c/2,,021-6123 4567\n"
      "c-3,Liu Yang,Shanghai Steel,https://crm.example/c/3,,(021) 61234567\n");
  ASSERT_FALSE(imported.contains("exit_status")) << imported.dump();
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(
box A serial=X800-POP-1 lines=2
at 1.0 A:1 ring cadence=1.0/2.0 count=2
at 2.5 A:1 callerid number=13812345678 name="ZHANG WEI"
at 4.2 A:1 offhook
at 5.0 A:1 onhook
# Caller ID before the first ring (ETSI style): the very first pop has the number.
at 5.5 A:2 callerid number=02161234567
at 6.0 A:2 ring cadence=1.0/2.0 count=1
at 9.5 end
)"));
  ASSERT_GT(simulator, 0);
  PopTestClient client;
  ASSERT_TRUE(client.connect(workspace.dir() / "run" / "events.sock"));

  auto ringing = client.until("call.ringing");
  ASSERT_TRUE(ringing) << workspace.log();
  EXPECT_EQ((*ringing)["line"], "X800-POP-1:1");
  EXPECT_EQ((*ringing)["number"], "");
  EXPECT_EQ((*ringing)["direction"], "inbound");
  auto identified = client.until("call.identified");
  ASSERT_TRUE(identified);
  EXPECT_EQ((*identified)["call_id"], (*ringing)["call_id"]);
  EXPECT_EQ((*identified)["name"], "ZHANG WEI");
  EXPECT_EQ((*identified)["number"], "+8613812345678");
  ASSERT_EQ((*identified)["customers"].size(), 1u) << identified->dump();
  EXPECT_EQ((*identified)["customers"][0]["name"], "Zhang Wei");
  EXPECT_EQ((*identified)["customers"][0]["company"], "Acme Trading");
  EXPECT_NE((*identified)["number_display"].get<std::string>(), "");
  EXPECT_GT((*identified)["seq"].get<std::uint64_t>(), (*ringing)["seq"].get<std::uint64_t>());
  auto answered = client.until("call.answered");
  ASSERT_TRUE(answered);
  auto ended = client.until("call.ended");
  ASSERT_TRUE(ended);
  EXPECT_EQ((*ended)["outcome"], "answered");
  EXPECT_NEAR((*ended)["duration_s"].get<double>(), 0.8, 0.05);

  auto early = client.until("call.ringing");
  ASSERT_TRUE(early);
  EXPECT_EQ((*early)["line"], "X800-POP-1:2");
  // Caller ID before the ring: the very first pop names both candidates of the switchboard.
  EXPECT_EQ((*early)["number"], "+862161234567") << early->dump();
  ASSERT_EQ((*early)["customers"].size(), 2u) << early->dump();
  EXPECT_EQ((*early)["customers"][0]["company"], "Shanghai Steel");
  EXPECT_EQ(workspace.wait_for_simulator(simulator), 0);
  while (auto event = client.next(std::chrono::milliseconds(500))) client.seen.push_back(*event);
  EXPECT_GE(client.seen.size(), 7u);
  EXPECT_EQ(schema_violations(client.seen, workspace.dir()), "");
}

// What the pop showed stays with the call (calls --json, the recording's
// tags), whatever the directory says later: the CRM entry goes to the
// customer the desk user saw.
TEST(Pop, TheCallKeepsTheMatchItsPopShowed) {
  Workspace workspace("pop-keep-match", "[[line]]\nbox = \"X800-KEEP\"\nport = 1\nname = \"Sales 1\"\nuser = \"Li Na\"\n");
  const auto imported = workspace.import_customers(
      "id,name,company,url,phone\n"
      "c-1,Zhang Wei,Acme Trading,https://crm.example/c/1,021-6123 4567\n"
      "c-2,Liu Yang,Acme Trading,,(021) 61234567\n");
  ASSERT_FALSE(imported.contains("exit_status")) << imported.dump();
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(
box A serial=X800-KEEP lines=1
at 0.5 A:1 callerid number=02161234567
at 1.0 A:1 ring cadence=1.0/2.0 count=1
at 2.0 A:1 offhook
at 2.2 A:1 play tone=440 level=-15 duration=2
at 4.5 A:1 onhook
at 5.0 end
)"));
  ASSERT_GT(simulator, 0);
  PopTestClient client;
  ASSERT_TRUE(client.connect(workspace.dir() / "run" / "events.sock"));
  const auto ringing = client.until("call.ringing");
  ASSERT_TRUE(ringing) << workspace.log();
  ASSERT_EQ(workspace.wait_for_simulator(simulator), 0) << workspace.log();

  // The directory changes after the call: the call still names who was shown.
  const auto renamed = workspace.import_customers("id,name,company,url,phone\nc-1,Zhang Wei (left),Other,,021-6123 4567\n");
  ASSERT_FALSE(renamed.contains("exit_status")) << renamed.dump();
  const auto calls = workspace.calls();
  ASSERT_EQ(calls.size(), 1u) << calls.dump(2);
  const auto& call = calls[0];
  EXPECT_EQ(call["user"], "Li Na");
  EXPECT_EQ(call["number"], "02161234567");
  EXPECT_EQ(call["number_e164"], "+862161234567");
  EXPECT_EQ(call["number_display"], (*ringing)["number_display"]);
  // The pop's candidates, in the pop's order, as they were then.
  ASSERT_EQ(call["customers"].size(), 2u) << call.dump(2);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& kept = call["customers"][i];
    const auto& shown = (*ringing)["customers"][i];
    EXPECT_EQ(kept["id"], shown["id"]);
    EXPECT_EQ(kept["name"], shown["name"]);
    EXPECT_EQ(kept["company"], "Acme Trading");
    EXPECT_EQ(kept["url"], kept["id"] == "c-1" ? nlohmann::json("https://crm.example/c/1") : nlohmann::json(nullptr));
  }
  EXPECT_NE(call["customers"].dump().find("\"Zhang Wei\""), std::string::npos);
  const auto file = workspace.recording_of(call.value("id", ""));
  ASSERT_FALSE(file.empty());
  std::string info;
  EXPECT_EQ(tools::run_capture({"opusinfo", file.string()}, info), 0) << info;
  for (const auto* tag : {"DESKLINE_USER=Li Na", "DESKLINE_NUMBER_E164=+862161234567", "DESKLINE_CUSTOMER_ID=c-1",
                          "DESKLINE_CUSTOMER=Zhang Wei", "DESKLINE_CUSTOMER_ID=c-2"})
    EXPECT_NE(info.find(tag), std::string::npos) << tag << "\n" << info;
}

TEST(Pop, ClientConnectingMidRingStillPops) {
  Workspace workspace("pop-midring");
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(
box A serial=X800-POP-2 lines=1
at 0.5 A:1 ring cadence=1.0/4.0 count=1
at 0.7 A:1 callerid number=13900001111 name="LI NA"
at 9.0 end
)"));
  ASSERT_GT(simulator, 0);
  // Connect well after the ring started: once the call, identified, is in the daemon's calls list.
  ASSERT_TRUE(wait_until(
      [&] {
        const auto calls = workspace.calls();  // {"exit_status", ...} until the daemon answers
        const auto* call = calls.is_array() ? find_call_by_number(calls, "13900001111") : nullptr;
        return call && call->value("state", "") == "active";
      },
      std::chrono::seconds(30), "the ringing call to be identified"))
      << workspace.log();
  PopTestClient late;
  ASSERT_TRUE(late.connect(workspace.dir() / "run" / "events.sock"));
  auto first = late.next();
  ASSERT_TRUE(first) << workspace.log();
  EXPECT_EQ((*first)["event"], "call.identified") << first->dump();
  EXPECT_EQ((*first)["replay"], true);
  EXPECT_EQ((*first)["name"], "LI NA");
  EXPECT_TRUE(late.until("call.missed"));
  EXPECT_EQ(workspace.wait_for_simulator(simulator), 0);
}

TEST(Pop, ResumeBySeqMissesNothing) {
  Workspace workspace("pop-resume");
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(
box A serial=X800-POP-3 lines=2
at 1.0 A:1 ring cadence=0.5/0.5 count=1
at 1.1 A:1 callerid number=13800000001
at 1.3 A:1 offhook
at 1.8 A:1 onhook
at 3.0 A:2 ring cadence=0.5/0.5 count=1
at 3.1 A:2 callerid number=13800000002
at 3.3 A:2 offhook
at 3.8 A:2 onhook
at 4.5 A:1 offhook
at 4.6 A:1 dial digits=13800000003
at 6.0 A:1 onhook
at 600 end
)"));  // no early end: the test resumes after the calls, then stops it
  ASSERT_GT(simulator, 0);
  const auto socket = workspace.dir() / "run" / "events.sock";
  PopTestClient first;
  ASSERT_TRUE(first.connect(socket));
  ASSERT_TRUE(first.until("call.ended")) << workspace.log();  // the first call, then we go away
  const auto last_seq = first.seen.back()["seq"].get<std::uint64_t>();
  first.close();

  // The other calls happen meanwhile: wait until all three have ended.
  ASSERT_TRUE(wait_until(
      [&] {
        const auto calls = workspace.calls();
        return calls.is_array() && calls.size() == 3 &&
               std::all_of(calls.begin(), calls.end(), [](const auto& call) { return call["state"] == "ended"; });
      },
      std::chrono::seconds(30), "the other two calls to end"))
      << workspace.calls().dump(2);
  PopTestClient again;
  ASSERT_TRUE(again.connect(socket));
  again.send({{"resume_from", last_seq}});
  std::vector<nlohmann::json> resumed;
  while (auto event = again.next(std::chrono::milliseconds(1500)))
    if (!event->value("replay", false)) resumed.push_back(*event);
  ASSERT_FALSE(resumed.empty());
  // Every seq after the last one seen, each exactly once, in order.
  for (std::size_t i = 0; i < resumed.size(); ++i)
    EXPECT_EQ(resumed[i]["seq"].get<std::uint64_t>(), last_seq + 1 + i) << resumed[i].dump();
  std::vector<std::string> names;
  for (const auto& event : resumed) names.push_back(event["event"]);
  EXPECT_NE(std::find(names.begin(), names.end(), "call.outbound"), names.end());
  EXPECT_EQ(std::count(names.begin(), names.end(), "call.ended"), 2);
  workspace.stop_simulator(simulator);
}

TEST(Pop, StalledClientIsCutOffOthersUnaffected) {
  const std::string scenario =
      "box A serial=X800-POP-4 lines=16\n" + short_calls_on_every_line("A", 1.0) + "at 9.0 end\n";
  Workspace workspace("pop-stall");
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(scenario));
  ASSERT_GT(simulator, 0);
  const auto socket = workspace.dir() / "run" / "events.sock";
  PopTestClient stalled, healthy;
  ASSERT_TRUE(stalled.connect(socket, std::chrono::seconds(20), 4096));  // and never reads
  ASSERT_TRUE(healthy.connect(socket));
  std::vector<nlohmann::json> events;
  while (auto event = healthy.next(std::chrono::seconds(4))) events.push_back(*event);
  EXPECT_EQ(workspace.wait_for_simulator(simulator), 0);

  const auto ended = std::count_if(events.begin(), events.end(), [](const auto& e) { return e["event"] == "call.ended"; });
  EXPECT_EQ(ended, 16 * 15) << workspace.log().substr(0, 4000);
  for (std::size_t i = 1; i < events.size(); ++i)
    ASSERT_EQ(events[i]["seq"].get<std::uint64_t>(), events[i - 1]["seq"].get<std::uint64_t>() + 1);
  EXPECT_NE(workspace.log().find("disconnected: more than"), std::string::npos)
      << "the stalled client was never cut off";
}


// Stops a child: SIGTERM, then SIGKILL if it lingers; always reaped.
void stop(pid_t pid) {
  ::kill(pid, SIGTERM);
  if (!tools::wait_for(pid, std::chrono::seconds(3))) {
    ::kill(pid, SIGKILL);
    tools::wait_for(pid, std::chrono::seconds(3));
  }
}

// Starts a server that reports readiness by writing one line to its stdout
// (Xvfb's display number, dbus-daemon's address); returns its pid, or -1.
pid_t spawn_until_first_line(const std::vector<std::string>& argv, const fs::path& log, std::string& line) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return -1;
  tools::SpawnOptions options;
  options.stdout_fd = pipe_fds[1];
  options.stderr_path = log;
  const pid_t pid = tools::spawn(argv, options);
  ::close(pipe_fds[1]);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  char c;
  while (pid > 0 && std::chrono::steady_clock::now() < deadline) {
    pollfd readable{pipe_fds[0], POLLIN, 0};
    if (::poll(&readable, 1, 100) <= 0) continue;
    if (::read(pipe_fds[0], &c, 1) != 1 || c == '\n') break;  // EOF: it died before it was ready
    line += c;
  }
  ::close(pipe_fds[0]);
  return pid;
}

// A private desktop for one test: an X server (Xvfb), a D-Bus session bus and
// dunst, the notification server, on them. Whatever it started is stopped
// when it goes out of scope, also when the test fails.
class NotificationDesktop {
 public:
  explicit NotificationDesktop(const fs::path& dir) {
    std::string display;
    // -displayfd: Xvfb picks a free display itself and says which once it accepts clients.
    start({"Xvfb", "-displayfd", "1", "-nolisten", "tcp"}, dir / "xvfb.log", &display);
    // Not the system's session.conf: its service activation would start a second dunst
    // behind our back; here only the dunst started below can take the notifications.
    std::ofstream(dir / "bus.conf") << "<busconfig><type>session</type>"
                                    << "<listen>unix:path=" << (dir / "bus").string() << "</listen>"
                                    << "<auth>EXTERNAL</auth><policy context=\"default\">"
                                    << "<allow send_destination=\"*\" eavesdrop=\"true\"/>"
                                    << "<allow eavesdrop=\"true\"/><allow own=\"*\"/></policy></busconfig>\n";
    std::string bus;
    start({"dbus-daemon", "--config-file=" + (dir / "bus.conf").string(), "--nofork", "--print-address=1"},
          dir / "dbus.log", &bus);
    if (!error_.empty()) return;
    environment_ = {"DISPLAY=:" + display, "DBUS_SESSION_BUS_ADDRESS=" + bus};
    // Every notification kept apart (dunst merges identical ones by default), on X11 even
    // where WAYLAND_DISPLAY is set.
    std::ofstream(dir / "dunstrc") << "[global]\n    stack_duplicates = false\n    force_xwayland = true\n";
    tools::SpawnOptions options;
    options.environment = environment_;
    options.stderr_path = dir / "dunst.log";
    const pid_t dunst = tools::spawn({"dunst", "-config", (dir / "dunstrc").string()}, options);
    if (dunst < 0) {
      error_ = "cannot start dunst";
      return;
    }
    processes_.push_back(dunst);
    // Ready once it answers on the bus (it owns org.freedesktop.Notifications by then).
    tools::SpawnOptions ask;
    ask.environment = environment_;
    ask.stdout_path = ask.stderr_path = dir / "dunstctl.log";  // "is it running?" until it is
    bool exited = false;
    const auto answers = [&] {
      const pid_t dunstctl = tools::spawn({"dunstctl", "is-paused"}, ask);
      if (dunstctl > 0 && tools::wait_for(dunstctl, std::chrono::seconds(5)) == 0) return true;
      exited = tools::wait_for(dunst, {}).has_value();
      return exited;
    };
    if (!wait_until(answers, std::chrono::seconds(10), "dunst to answer on the bus") || exited)
      error_ = "dunst did not come up: " + read_file(dir / "dunst.log");
  }
  ~NotificationDesktop() {
    for (auto pid = processes_.rbegin(); pid != processes_.rend(); ++pid) stop(*pid);
  }
  NotificationDesktop(const NotificationDesktop&) = delete;
  NotificationDesktop& operator=(const NotificationDesktop&) = delete;

  const std::string& error() const { return error_; }  // "" when it is up
  const std::vector<std::string>& environment() const { return environment_; }  // DISPLAY, DBUS_SESSION_BUS_ADDRESS

  // Every notification dunst received, newest first: dunstctl history as {summary, body, appname}.
  std::vector<nlohmann::json> notifications() const {
    std::string ignored, history;
    // dunst lists a notification in its history only once it is closed.
    tools::run_capture({"dunstctl", "close-all"}, ignored, environment_);
    tools::run_capture({"dunstctl", "history"}, history, environment_);
    const auto parsed = nlohmann::json::parse(history, nullptr, false);  // busctl's JSON of aa{sv}
    std::vector<nlohmann::json> notifications;
    if (parsed.is_discarded() || !parsed.contains("data")) return notifications;
    for (const auto& entry : parsed["data"][0])
      notifications.push_back({{"summary", entry["summary"]["data"]},
                               {"body", entry["body"]["data"]},
                               {"appname", entry["appname"]["data"]}});
    return notifications;
  }

 private:
  void start(const std::vector<std::string>& argv, const fs::path& log, std::string* ready_line) {
    if (!error_.empty()) return;
    const pid_t pid = spawn_until_first_line(argv, log, *ready_line);
    if (pid > 0) processes_.push_back(pid);
    if (pid < 0 || ready_line->empty()) error_ = fmt::format("{} did not come up: {}", argv[0], read_file(log));
  }

  std::vector<pid_t> processes_;
  std::vector<std::string> environment_;
  std::string error_;
};

struct PopRun {
  int status = -1;
  std::string out, err;
  std::vector<nlohmann::json> pops;  // the call.ringing and call.identified events it printed, inbound
  std::vector<nlohmann::json> outbound;  // the outbound call's call.identified
};

// Runs `deskline pop --notify --json --once` (with these extra environment
// variables) while a customer from the directory rings "Sales 1": a ring
// without number, then caller ID between the rings. Meanwhile port 2 dials
// out to a number the exchange answers: a call the desk makes, not a pop.
PopRun pop_notify_during_ringing_call(const Workspace& workspace, const std::vector<std::string>& environment) {
  PopRun run;
  const auto imported = workspace.import_customers(
      "id,name,company,url,phone\n"
      "c-1,Zhang Wei,Acme Trading,https://crm.example/c/1,+86 138 1234 5678\n");
  EXPECT_FALSE(imported.contains("exit_status")) << imported.dump();
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(
box A serial=X800-NOTIFY-1 lines=2
at 1.0 A:1 ring cadence=0.8/0.8 count=2
at 2.0 A:1 callerid number=13812345678 name="ZHANG WEI"
at 1.5 A:2 offhook
at 1.7 A:2 dial digits=13900001111 via=report tone_ms=60 gap_ms=60
at 3.2 A:2 polarity reversed=yes
at 3.6 end
)"));
  if (simulator < 0) return run;
  // --once gives up when there is no daemon yet, so start it once the daemon listens.
  const auto events_socket = workspace.dir() / "run" / "events.sock";
  EXPECT_TRUE(wait_until([&] { return fs::exists(events_socket); }, std::chrono::seconds(30),
                         "the daemon's events socket"))
      << workspace.log();
  tools::SpawnOptions options;
  options.environment = environment;
  options.stdout_path = workspace.dir() / "pop.out";
  options.stderr_path = workspace.dir() / "pop.err";
  const pid_t pop = tools::spawn({bin("deskline").string(), "--config", workspace.config_path().string(), "pop",
                                  "--notify", "--json", "--once"},
                                 options);
  EXPECT_EQ(workspace.wait_for_simulator(simulator), 0) << workspace.log();
  if (pop < 0) return run;
  // It exits when the daemon goes away at the scenario's end.
  const auto status = tools::wait_for(pop, std::chrono::seconds(20));
  if (!status) stop(pop);
  run.status = status.value_or(-1);
  run.out = read_file(workspace.dir() / "pop.out");
  run.err = read_file(workspace.dir() / "pop.err");
  std::istringstream lines(run.out);
  for (std::string line; std::getline(lines, line);) {
    auto event = nlohmann::json::parse(line, nullptr, false);
    if (event.is_discarded() || (event["event"] != "call.ringing" && event["event"] != "call.identified")) continue;
    (event["direction"] == "outbound" ? run.outbound : run.pops).push_back(event);
  }
  return run;
}

constexpr auto kSalesLine = "[[line]]\nbox = \"X800-NOTIFY-1\"\nport = 1\nname = \"Sales 1\"\n";

TEST(Pop, NotifyShowsADesktopNotificationPerPop) {
  std::vector<std::string> missing;
  for (const auto* program : {"Xvfb", "dbus-daemon", "dunst", "dunstctl", "notify-send"})
    if (!on_path(program)) missing.push_back(program);
  if (!missing.empty())
    SKIP_OR_FAIL_MISSING() << fmt::format("needs {} (tools/install-deps.sh installs xvfb, dunst and libnotify-bin)",
                                          fmt::join(missing, ", "));
  Workspace workspace("pop-notify", kSalesLine);
  NotificationDesktop desktop(workspace.dir());
  ASSERT_EQ(desktop.error(), "");

  const auto run = pop_notify_during_ringing_call(workspace, desktop.environment());
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.err, "");  // no notification failed
  ASSERT_EQ(run.pops.size(), 2u) << run.out << workspace.log();
  EXPECT_EQ(run.pops[0]["event"], "call.ringing");
  EXPECT_EQ(run.pops[1]["event"], "call.identified");
  ASSERT_EQ(run.outbound.size(), 1u) << run.out << workspace.log();
  EXPECT_EQ(run.outbound[0]["number_display"], "139 0000 1111") << run.outbound[0].dump();

  // Two notifications, both of the incoming call: none for the number the desk dialled.
  const auto notifications = desktop.notifications();  // newest first
  ASSERT_EQ(notifications.size(), 2u) << nlohmann::json(notifications).dump();
  EXPECT_EQ(notifications[1]["summary"], "Sales 1: incoming call") << notifications[1].dump();
  EXPECT_EQ(notifications[1]["body"], "unknown caller") << notifications[1].dump();
  EXPECT_EQ(notifications[0]["summary"], "Sales 1: 138 1234 5678") << notifications[0].dump();
  EXPECT_EQ(notifications[0]["body"], "Zhang Wei (Acme Trading)") << notifications[0].dump();
  for (const auto& notification : notifications) EXPECT_EQ(notification["appname"], "Deskline");
}

TEST(Pop, NotifyWithoutNotificationServerWarnsOnceAndKeepsPopping) {
  Workspace workspace("pop-notify-none", kSalesLine);
  // A session bus address nobody listens on: notify-send fails for every pop.
  const auto run = pop_notify_during_ringing_call(
      workspace, {"DBUS_SESSION_BUS_ADDRESS=unix:path=" + (workspace.dir() / "no-bus").string()});
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_GE(run.pops.size(), 2u) << run.out << workspace.log();  // the ring, then the caller ID
  std::istringstream lines(run.err);
  int warnings = 0;
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with("deskline pop: ") && line.find("notify-send") != std::string::npos) ++warnings;
  EXPECT_EQ(warnings, 1) << run.err;
}

// Dialling out: call.outbound, then one call.dialling per digit with the
// digits so far in `digits` (the number stays empty), then call.identified
// with the complete number once the exchange answers; a client connecting
// mid-dial gets the digits so far in the replay. Every event fits the schema.
TEST(Pop, DiallingOutGivesOneProgressEventPerDigit) {
  Workspace workspace("pop-dialling");
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(R"(
box A serial=X800-POP-DIAL lines=1
at 2.0 A:1 offhook
at 2.5 A:1 dial digits=13900001111 via=report tone_ms=80 gap_ms=420
at 9.0 A:1 polarity reversed=yes
at 10.0 A:1 onhook
at 11.0 end
)"));  // a digit every 0.5 s from 2.5 s to 7.5 s
  ASSERT_GT(simulator, 0);
  const auto socket = workspace.dir() / "run" / "events.sock";
  PopTestClient client;
  ASSERT_TRUE(client.connect(socket));
  ASSERT_TRUE(client.until("call.outbound")) << workspace.log();
  // `deskline pop` as a desk runs it: the digits are data for --json, not lines of text.
  std::vector<pid_t> pop_clients;
  for (const char* format : {"text", "json"}) {
    tools::SpawnOptions options;
    options.stdout_path = workspace.dir() / (std::string("pop-") + format + ".out");
    std::vector<std::string> argv = {bin("deskline").string(), "--config", workspace.config_path().string(), "pop",
                                     "--once"};
    if (format == std::string("json")) argv.push_back("--json");
    pop_clients.push_back(tools::spawn(argv, options));
  }
  for (int digit = 0; digit < 2; ++digit) ASSERT_TRUE(client.until("call.dialling")) << workspace.log();

  PopTestClient late;
  ASSERT_TRUE(late.connect(socket));
  const auto replay = late.next();
  ASSERT_TRUE(replay) << workspace.log();
  EXPECT_EQ((*replay)["event"], "call.dialling") << replay->dump();
  EXPECT_EQ((*replay)["replay"], true);
  const auto replayed = replay->value("digits", "");
  EXPECT_TRUE(replayed.size() >= 2 && std::string("13900001111").starts_with(replayed)) << replay->dump();
  EXPECT_EQ((*replay)["number"], "");

  ASSERT_TRUE(client.until("call.ended")) << workspace.log();
  EXPECT_EQ(workspace.wait_for_simulator(simulator), 0);
  for (const pid_t pop_client : pop_clients) EXPECT_EQ(tools::wait_for(pop_client, std::chrono::seconds(60)), 0);
  const auto text = read_file(workspace.dir() / "pop-text.out");
  EXPECT_EQ(text.find("call.dialling"), std::string::npos) << text;
  for (const char* name : {"call.identified", "call.answered", "call.ended"})
    EXPECT_NE(text.find(name), std::string::npos) << name << " in\n" << text;
  // The desk is the caller here: its lines say it dials, then that the number is no customer's.
  EXPECT_EQ(text.find("unknown caller"), std::string::npos) << text;
  for (const auto& line : lines_of(text)) {
    if (line.find("call.outbound") != std::string::npos) {
      EXPECT_TRUE(line.ends_with("dialling")) << line;
    } else if (line.find("call.identified") != std::string::npos) {
      EXPECT_NE(line.find("no matching customer"), std::string::npos) << line;
    }
  }
  EXPECT_NE(read_file(workspace.dir() / "pop-json.out").find(R"("event":"call.dialling")"), std::string::npos);
  std::vector<std::string> names;
  std::vector<std::string> digits;
  for (const auto& event : client.seen) {
    if (event.value("call_id", "").empty()) continue;  // device events
    names.push_back(event["event"]);
    EXPECT_EQ(event["direction"], "outbound") << event.dump();
    if (event["event"] == "call.dialling") {
      digits.push_back(event.value("digits", ""));
      EXPECT_EQ(event["number"], "") << event.dump();
      EXPECT_EQ(event["number_display"], "") << event.dump();
      EXPECT_EQ(event["line"], "X800-POP-DIAL:1");
    } else {
      EXPECT_FALSE(event.contains("digits")) << event.dump();
    }
  }
  std::vector<std::string> expected_names{"call.outbound"};
  std::vector<std::string> expected_digits;
  for (std::size_t n = 1; n <= 11; ++n) {
    expected_names.push_back("call.dialling");
    expected_digits.push_back(std::string("13900001111").substr(0, n));
  }
  for (const char* name : {"call.identified", "call.answered", "call.ended"}) expected_names.push_back(name);
  EXPECT_EQ(names, expected_names) << nlohmann::json(client.seen).dump();
  EXPECT_EQ(digits, expected_digits);
  const auto identified =
      std::find_if(client.seen.begin(), client.seen.end(), [](const auto& e) { return e["event"] == "call.identified"; });
  ASSERT_NE(identified, client.seen.end());
  EXPECT_EQ((*identified)["number"], "+8613900001111") << identified->dump();
  EXPECT_EQ((*identified)["number_display"], "139 0000 1111") << identified->dump();
  EXPECT_EQ(schema_violations(client.seen, workspace.dir()), "");
  // The stored call is as before: the complete number, and no call event per digit dialled.
  const auto calls = workspace.calls();
  ASSERT_TRUE(calls.is_array() && calls.size() == 1u) << calls.dump();
  EXPECT_EQ(calls[0]["number"], "13900001111") << calls.dump();
  EXPECT_EQ(calls[0]["outcome"], "answered") << calls.dump();
}

}  // namespace
}  // namespace deskline::testing
