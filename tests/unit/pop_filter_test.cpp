// What a pop client may follow: its scope (a desk's page, or every line)
// and the lines or desk it asks for, checked against the configuration.
#include "daemon/api/pop_filter.hpp"

#include <gtest/gtest.h>

namespace deskline::daemon {
namespace {

using Lines = std::vector<std::string>;

config::Config two_desks() {
  config::Config config;
  config.lines = {{"B1", 1, "Sales 1", "Li Na", {}, {}},
                  {"B1", 2, "Sales 2", "Wang Wei", {}, {}},
                  {"B1", 3, "Support", "", {}, {}}};
  config.desks = {{"Front", "front-desk-token-01", {"Sales 1", "Support"}, true},
                  {"Back", "back-desk-token-001", {"Sales 2"}, false}};
  return config;
}

proto::pop::ClientRequest lines(Lines names) { return {std::nullopt, std::nullopt, std::move(names), std::nullopt}; }
proto::pop::ClientRequest desk(std::string name) { return {std::nullopt, std::nullopt, std::nullopt, std::move(name)}; }

struct FilterCase {
  std::string name;
  proto::pop::ClientRequest request;
  std::string scope;  // "": every line
  std::optional<Lines> passing;
  std::string refused;
  std::string error;
};

class PopFilterTest : public testing::TestWithParam<FilterCase> {};

TEST_P(PopFilterTest, AnswersTheRequest) {
  const auto config = two_desks();
  const auto& c = GetParam();
  const auto answer = resolve_pop_filter(c.request, config, c.scope.empty() ? nullptr : config.find_desk(c.scope));
  EXPECT_EQ(answer.lines, c.passing);
  EXPECT_EQ(answer.refused, c.refused);
  EXPECT_EQ(answer.error, c.error);
}

INSTANTIATE_TEST_SUITE_P(
    Table, PopFilterTest,
    testing::Values(
        FilterCase{"lines_anywhere", lines({"Sales 2", "Support"}), "", Lines{"Sales 2", "Support"}, "", ""},
        FilterCase{"no_line", lines({}), "", Lines{}, "", ""},
        FilterCase{"unknown_line", lines({"Sales 1", "Nope"}), "", std::nullopt, "lines",
                   "no line named \"Nope\" (lines: \"Sales 1\", \"Sales 2\", \"Support\")"},
        FilterCase{"desk_anywhere", desk("Back"), "", Lines{"Sales 2"}, "", ""},
        FilterCase{"unknown_desk", desk("Nope"), "", std::nullopt, "desk",
                   "no desk named \"Nope\" (desks: \"Front\", \"Back\")"},
        FilterCase{"lines_of_the_desk", lines({"Support"}), "Front", Lines{"Support"}, "", ""},
        FilterCase{"line_of_another_desk", lines({"Sales 2"}), "Front", std::nullopt, "lines",
                   "line \"Sales 2\" is not desk \"Front\"'s (lines: \"Sales 1\", \"Support\")"},
        FilterCase{"its_own_desk", desk("Front"), "Front", Lines{"Sales 1", "Support"}, "", ""},
        FilterCase{"another_desk", desk("Back"), "Front", std::nullopt, "desk",
                   "this page is desk \"Front\"'s: it cannot follow desk \"Back\""}),
    [](const testing::TestParamInfo<FilterCase>& info) { return info.param.name; });

TEST(PopFilter, NoDeskConfiguredIsSaid) {
  const auto answer = resolve_pop_filter(desk("Front"), config::Config{}, nullptr);
  EXPECT_EQ(answer.error, "no desk named \"Front\" (no desk is configured)");
}

TEST(PopFilter, TheHelloNamesWhatTheConnectionSees) {
  const auto config = two_desks();
  const auto all = scoped_hello("s", 7, config, nullptr);
  EXPECT_EQ(all, (proto::pop::Hello{"s", 7, "", {{"Sales 1", "Li Na"}, {"Sales 2", "Wang Wei"}, {"Support", ""}}, false}));
  const auto front = scoped_hello("s", 7, config, config.find_desk("Front"));
  EXPECT_EQ(front, (proto::pop::Hello{"s", 7, "Front", {{"Sales 1", "Li Na"}, {"Support", ""}}, true}));
}

}  // namespace
}  // namespace deskline::daemon
