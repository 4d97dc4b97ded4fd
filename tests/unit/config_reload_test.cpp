#include "config/reload.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace deskline::config {
namespace {

Config parse_ok(const std::string& text) {
  auto result = parse(text, "deskline.toml");
  EXPECT_TRUE(result) << result.error.to_string();
  return result ? *result.config : Config{};
}

constexpr const char* running_text = R"(
[daemon]
data_dir = "/var/lib/deskline"
[recording]
policy = "always"
[[line]]
box = "X800-A"
port = 1
name = "Sales 1"
[[line]]
box = "X800-A"
port = 2
name = "Sales 2"
user = "Li"
)";

struct ReloadCase {
  const char* what;
  std::string edit;  // TOML appended to (or replacing) the running file
  std::vector<std::string> applied;
  std::vector<std::string> need_restart;
};

class ReloadPlanTest : public ::testing::TestWithParam<ReloadCase> {};

TEST_P(ReloadPlanTest, NamesWhatAppliesAndWhatWaitsForARestart) {
  const auto& param = GetParam();
  const auto running = parse_ok(running_text);
  const auto next = parse_ok(param.edit);
  const auto plan = plan_reload(running, next);
  EXPECT_EQ(plan.applied, param.applied);
  EXPECT_EQ(plan.need_restart, param.need_restart);

  // After apply_reload, only the keys that need a restart still differ.
  auto applied = running;
  apply_reload(applied, next);
  const auto after = plan_reload(applied, next);
  EXPECT_TRUE(after.applied.empty()) << param.what;
  EXPECT_EQ(after.need_restart, param.need_restart);
}

// The running file with one string replaced.
std::string edited(const std::string& from, const std::string& to) {
  std::string text = running_text;
  text.replace(text.find(from), from.size(), to);
  return text;
}

INSTANTIATE_TEST_SUITE_P(
    Rules, ReloadPlanTest,
    ::testing::Values(
        ReloadCase{"same file", running_text, {}, {}},
        ReloadCase{"a line renamed", edited("Sales 2", "Support"), {"line[1]"}, {}},
        ReloadCase{"a line's policy", edited("user = \"Li\"", "record = \"never\""), {"line[1]"}, {}},
        ReloadCase{"a line added",
                   std::string(running_text) + "[[line]]\nbox = \"X800-A\"\nport = 3\nname = \"S3\"\n",
                   {"line[2]"},
                   {}},
        ReloadCase{"a line removed",
                   edited("[[line]]\nbox = \"X800-A\"\nport = 2\nname = \"Sales 2\"\nuser = \"Li\"\n", ""),
                   {"line[1]"},
                   {}},
        ReloadCase{"recording keys",
                   edited("policy = \"always\"", "policy = \"inbound\"\nbitrate_bps = 24000"),
                   {"recording.policy", "recording.bitrate_bps"},
                   {}},
        ReloadCase{
            "caller ID mode", std::string(running_text) + "[callerid]\nmode = \"dtmf\"\n", {"callerid.mode"}, {}},
        ReloadCase{"a restart key with a live one",
                   edited("/var/lib/deskline", "/srv/deskline") +
                       "[http]\nport = 9000\nallowed_origins = [\"https://crm.example\"]\n",
                   {"http.allowed_origins"},
                   {"daemon.data_dir", "http.port"}},
        ReloadCase{"numbering and the desk token",
                   std::string(running_text) + "[directory]\narea_code = \"10\"\n[http]\ntoken = \"0123456789abcdef0123\"\n",
                   {"directory.area_code", "http.token"}, {}},
        ReloadCase{"a desk added",
                   std::string(running_text) +
                       "[[desk]]\nname = \"Front\"\ntoken = \"front-desk-token-01\"\nlines = [\"Sales 2\"]\n",
                   {"desk"},
                   {}},
        ReloadCase{"devices and timers",
                   std::string(running_text) + "[calls]\nring_timeout_s = 8.0\n",
                   {},
                   {"calls.ring_timeout_s"}}),
    [](const auto& info) {
      std::string name;
      for (const char c : std::string(info.param.what)) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return name;
    });

TEST(ReloadPlan, TheCrmSectionIsOneKeyAndFlagsARestartOfTheSync) {
  const auto running = parse_ok(running_text);
  const auto next = parse_ok(std::string(running_text) +
                             "[crm]\nurl = \"http://127.0.0.1:9/crm\"\ntoken_file = \"/etc/deskline/crm-token\"\n"
                             "signing_secret_file = \"/etc/deskline/crm-secret\"\n");
  const auto plan = plan_reload(running, next);
  EXPECT_TRUE(plan.crm);
  EXPECT_FALSE(plan.lines);
  EXPECT_EQ(plan.applied, std::vector<std::string>{"crm"});
}

}  // namespace
}  // namespace deskline::config
