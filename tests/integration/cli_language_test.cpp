// The CLI speaks the user's language, chosen as gettext chooses (LANGUAGE,
// LC_ALL, LC_MESSAGES, LANG), from its compiled catalogues; its tables line up
// in Chinese; it colours a terminal only, and never with NO_COLOR.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>

#include "tests/integration/harness.hpp"
#include "tests/terminal_text.hpp"

namespace deskline::testing {
namespace {

// The harness runs everything in C.UTF-8 (English); these undo that.
const std::vector<std::string> chinese = {"LC_ALL=", "LANGUAGE=", "LANG=zh_CN.UTF-8"};

std::string without_colour(std::string text) { return std::regex_replace(text, std::regex("\x1b\\[[0-9;]*m"), ""); }

// `deskline` with its stdout on a pseudo-terminal `columns` wide, as in a
// terminal window: its status and what it printed.
Workspace::CliRun run_cli_on_terminal(const Workspace& workspace, const std::vector<std::string>& arguments,
                                      unsigned short columns, const std::vector<std::string>& environment) {
  Workspace::CliRun result;
  const int terminal = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (terminal < 0 || ::grantpt(terminal) != 0 || ::unlockpt(terminal) != 0) return result;
  const int side = ::open(::ptsname(terminal), O_RDWR | O_NOCTTY | O_CLOEXEC);
  termios mode{};
  ::tcgetattr(side, &mode);
  mode.c_oflag &= ~static_cast<tcflag_t>(OPOST);  // "\n" as written, not "\r\n"
  ::tcsetattr(side, TCSANOW, &mode);
  const winsize size{24, columns, 0, 0};
  ::ioctl(terminal, TIOCSWINSZ, &size);
  std::vector<std::string> argv = {bin("deskline").string(), "--config", workspace.config_path().string()};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  tools::SpawnOptions options;
  options.environment = environment;
  options.stdout_fd = side;
  const pid_t pid = tools::spawn(argv, options);
  ::close(side);
  if (pid > 0) {
    // Read until the child's side closes (EIO), so a full terminal buffer never blocks it.
    char buffer[4096];
    for (ssize_t got; (got = ::read(terminal, buffer, sizeof buffer)) > 0 || (got < 0 && errno == EINTR);)
      if (got > 0) result.out.append(buffer, static_cast<std::size_t>(got));
    result.status = tools::wait_for(pid, std::chrono::seconds(60)).value_or(-2);
  }
  ::close(terminal);
  return result;
}

TEST(CliLanguage, HelpUsageErrorsAndNoDaemonFollowTheEnvironment) {
  Workspace workspace("cli-language-help");
  const auto english = workspace.run_cli({"--help"});
  EXPECT_EQ(english.status, 0);
  EXPECT_NE(english.out.find("Usage:"), std::string::npos) << english.out;
  EXPECT_NE(english.out.find("list calls, newest first"), std::string::npos) << english.out;

  // zh_CN.UTF-8 is not generated on a fresh machine: the catalogue is used all the same.
  const auto help = workspace.run_cli({"--help"}, chinese);
  EXPECT_EQ(help.status, 0);
  for (const char* text : {"用法:", "子命令", "列出通话，最新的在前", "退出状态：0 成功", "显示此帮助信息并退出"})
    EXPECT_NE(help.out.find(text), std::string::npos) << text << " in\n" << help.out;
  EXPECT_EQ(help.out.find("list calls"), std::string::npos) << help.out;

  // LANGUAGE comes first, except under the C locale, as gettext has it.
  const auto by_language = workspace.run_cli({"--help"}, {"LC_ALL=", "LANG=en_US.UTF-8", "LANGUAGE=zh_CN"});
  EXPECT_NE(by_language.out.find("列出通话"), std::string::npos) << by_language.out;
  const auto c_locale = workspace.run_cli({"--help"}, {"LC_ALL=C", "LANGUAGE=zh_CN"});
  EXPECT_NE(c_locale.out.find("list calls, newest first"), std::string::npos) << c_locale.out;

  const auto usage = workspace.run_cli({"calls", "--limit", "-1"}, chinese);
  EXPECT_EQ(usage.status, 2);
  EXPECT_TRUE(usage.out.empty()) << usage.out;
  EXPECT_NE(usage.err.find("必须是 0 到 1000000 之间的整数，而不是 -1"), std::string::npos) << usage.err;
  EXPECT_NE(usage.err.find("运行 `deskline --help` 查看命令及其选项。"), std::string::npos) << usage.err;

  const auto no_daemon = workspace.run_cli({"status"}, chinese);
  EXPECT_EQ(no_daemon.status, 3);
  EXPECT_NE(no_daemon.err.find("deskline: desklined 未运行（"), std::string::npos) << no_daemon.err;
}

constexpr const char* answered_then_missed = R"(
box A serial=X800-LANG lines=1
at 1.0 A:1 ring cadence=0.5/0.5 count=1
at 1.1 A:1 callerid number=13812345678
at 1.6 A:1 offhook
at 4.1 A:1 onhook
at 6.0 A:1 ring cadence=0.5/0.5 count=1
at 6.1 A:1 callerid absence=P
at 600 end
)";

TEST(CliLanguage, ChineseCallsTableLinesUpAndIsRedOnATerminalOnly) {
  Workspace workspace("cli-language-table", "[calls]\nring_timeout_s = 2.0\n");
  ASSERT_EQ(workspace.import_customers("id,name,company,phone\nc-1,张伟,顺达贸易,13812345678\n").value("imported", 0),
            1);
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(answered_then_missed));
  ASSERT_GT(simulator, 0);
  ASSERT_TRUE(wait_until(
      [&] {
        const auto calls = workspace.calls();
        return calls.is_array() && calls.size() == 2 && calls[0].value("state", "") == "ended" &&
               calls[1].value("state", "") == "ended";
      },
      std::chrono::seconds(60), "both calls to end"))
      << workspace.log();

  const auto table = workspace.run_cli({"calls"}, chinese);
  ASSERT_EQ(table.status, 0) << table.err;
  const auto lines = lines_of(table.out);
  ASSERT_EQ(lines.size(), 3u) << table.out;
  for (const char* text : {"开始时间", "线路", "方向", "号码", "客户", "结果", "时长"})
    EXPECT_NE(lines[0].find(text), std::string::npos) << text << " in " << lines[0];
  // Newest first: the missed call from a withheld number, then the answered one.
  for (const char* text : {"呼入", "号码隐藏", "未接"}) EXPECT_NE(lines[1].find(text), std::string::npos) << lines[1];
  for (const char* text : {"呼入", "张伟", "已接听", "2.5 秒"})
    EXPECT_NE(lines[2].find(text), std::string::npos) << text << " in " << lines[2];
  // The duration is the last column, right-aligned: every line ends at the same column.
  EXPECT_EQ(display_width(lines[1]), display_width(lines[0])) << table.out;
  EXPECT_EQ(display_width(lines[2]), display_width(lines[0])) << table.out;
  EXPECT_EQ(table.out.find('\x1b'), std::string::npos) << "colour in a pipe";
  // Data stays data: --json is the same in every language.
  const auto json_english = workspace.run_cli({"calls", "--json"});
  EXPECT_EQ(json_english.status, 0) << json_english.err;
  EXPECT_EQ(workspace.run_cli({"calls", "--json"}, chinese).out, json_english.out);

  // A terminal 60 columns wide: the table fits it, and the missed call alone is red.
  const auto coloured = run_cli_on_terminal(workspace, {"calls"}, 60, chinese);
  ASSERT_EQ(coloured.status, 0) << coloured.out;
  const auto on_terminal = lines_of(coloured.out);
  ASSERT_EQ(on_terminal.size(), 3u) << coloured.out;
  for (const auto& line : on_terminal) EXPECT_LE(display_width(without_colour(line)), 60u) << coloured.out;
  EXPECT_EQ(on_terminal[0].find('\x1b'), std::string::npos) << coloured.out;
  EXPECT_TRUE(on_terminal[1].starts_with("\x1b[31m")) << coloured.out;
  EXPECT_NE(on_terminal[1].find("未接"), std::string::npos) << "red is never the only signal: " << coloured.out;
  EXPECT_EQ(on_terminal[2].find('\x1b'), std::string::npos) << coloured.out;

  auto no_colour = chinese;
  no_colour.push_back("NO_COLOR=1");
  const auto plain = run_cli_on_terminal(workspace, {"calls"}, 60, no_colour);
  EXPECT_EQ(plain.status, 0);
  EXPECT_EQ(plain.out.find('\x1b'), std::string::npos) << plain.out;
  EXPECT_EQ(plain.out, without_colour(coloured.out));

  // The status of the lines is in words of the language too: the box's one line is idle again.
  const auto status = workspace.run_cli({"status"}, chinese);
  EXPECT_EQ(status.status, 0) << status.err;
  const auto status_lines = lines_of(status.out);
  EXPECT_EQ(std::count_if(status_lines.begin(), status_lines.end(),
                          [](const std::string& line) { return line.ends_with("空闲"); }),
            1)
      << status.out;
  EXPECT_EQ(status.out.find("idle"), std::string::npos) << status.out;

  workspace.stop_simulator(simulator);
}

}  // namespace
}  // namespace deskline::testing
