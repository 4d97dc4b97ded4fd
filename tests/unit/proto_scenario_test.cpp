// Scenario language (proto/scenario.md): every statement, action and key, and
// every error path with its line number.
#include "proto/scenario.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace deskline::proto::scenario;

const char* const box_a = "box A serial=X800-0001 lines=4\n";

Scenario parse_ok(const std::string& text) {
  auto result = parse(text);
  EXPECT_TRUE(result) << format_error(result.error) << "\n--- in ---\n" << text;
  return result ? *result.scenario : Scenario{};
}

template <typename T>
const T& only_action(const Scenario& scenario) {
  EXPECT_EQ(scenario.actions.size(), 1u);
  static const T empty{};
  if (scenario.actions.empty()) return empty;
  const T* body = std::get_if<T>(&scenario.actions[0].body);
  EXPECT_NE(body, nullptr) << "action is " << action_name(scenario.actions[0].body);
  return body ? *body : empty;
}

TEST(ScenarioParse, FullExampleFromTheBrief) {
  const std::string text = R"(# comment
scenario version=1
box A serial=X800-0001 lines=4 rate=8000 decode=yes model="X800-4" firmware=1.4.2 plugged=yes
at 0.0  A:1 ring cadence=1.0/4.0 count=3      # port numbers are 1-based
at 0.2  A:1 callerid number=13812345678 name="ZHANG WEI" via=report
at +2.5 A:1 offhook
at +30  A:1 onhook
at 40   A:2 dial digits=13900001111 via=report
at 41   A:2 polarity reversed=yes
at 42   A:2 play tone=450 level=-10 duration=2 cadence=0.35/0.35
at 43   A:2 play file=speech.wav duration=0
at 44   A:2 play silence duration=1
at 44.5 A:2 play busy duration=3
at 45   A:2 voltage volts=-48.5
at 50   A unplug
at 51   A plug
at 52   A raw 01 02 ff 00
at 53   A garbage count=3 size=20 seed=7
at 60   end
)";
  const Scenario scenario = parse_ok(text);
  ASSERT_EQ(scenario.boxes.size(), 1u);
  const BoxDecl& box = scenario.boxes[0];
  EXPECT_EQ(box.id, "A");
  EXPECT_EQ(box.serial, "X800-0001");
  EXPECT_EQ(box.lines, 4);
  EXPECT_EQ(box.audio_rate_hz, 8000u);
  EXPECT_TRUE(box.decodes_caller_id);
  EXPECT_EQ(box.model, "X800-4");
  EXPECT_EQ(box.firmware, "1.4.2");
  EXPECT_TRUE(box.plugged_at_start);
  EXPECT_EQ(box.source_line, 3);
  ASSERT_EQ(scenario.actions.size(), 16u);
  EXPECT_DOUBLE_EQ(scenario.actions[2].at_s, 2.7);   // +2.5 after 0.2
  EXPECT_DOUBLE_EQ(scenario.actions[3].at_s, 32.7);  // +30 after 2.7
  EXPECT_EQ(scenario.actions[0].port, 1);
  EXPECT_EQ(scenario.actions[0].source_line, 4);
  EXPECT_TRUE(scenario.has_end);
  EXPECT_DOUBLE_EQ(scenario.end_s, 60);
  EXPECT_FALSE(scenario.actions[12].port.has_value());  // unplug is box-wide
  EXPECT_EQ(action_name(scenario.actions[15].body), "end");
  EXPECT_TRUE(scenario.actions[15].box.empty());
}

TEST(ScenarioParse, BoxDefaults) {
  const Scenario scenario = parse_ok("box B serial=S1\n");
  const BoxDecl& box = scenario.boxes.at(0);
  EXPECT_EQ(box.lines, 4);
  EXPECT_EQ(box.audio_rate_hz, 8000u);
  EXPECT_TRUE(box.decodes_caller_id);
  EXPECT_TRUE(box.plugged_at_start);
  EXPECT_TRUE(box.answers_line_state);
  EXPECT_EQ(box.model, "X800");
  EXPECT_EQ(box.firmware, "1.0.0");
  EXPECT_FALSE(scenario.has_end);
  EXPECT_DOUBLE_EQ(scenario.end_s, 0);
}

TEST(ScenarioParse, BoxKeys) {
  const Scenario scenario =
      parse_ok("box B serial=S-2 lines=16 rate=16000 decode=no plugged=no model=\"My \\\"Box\\\"\" firmware=2.10.255 "
               "line_state=no\n");
  const BoxDecl& box = scenario.boxes.at(0);
  EXPECT_EQ(box.lines, 16);
  EXPECT_EQ(box.audio_rate_hz, 16000u);
  EXPECT_FALSE(box.decodes_caller_id);
  EXPECT_FALSE(box.plugged_at_start);
  EXPECT_FALSE(box.answers_line_state);
  EXPECT_EQ(box.model, "My \"Box\"");
  EXPECT_EQ(box.firmware, "2.10.255");
}

TEST(ScenarioParse, RingKeys) {
  const auto ring = only_action<RingAction>(parse_ok(std::string(box_a) + "at 1 A:4 ring cadence=0.4/0.2 count=7\n"));
  EXPECT_DOUBLE_EQ(ring.on_s, 0.4);
  EXPECT_DOUBLE_EQ(ring.off_s, 0.2);
  EXPECT_EQ(ring.count, 7);
  const auto defaults = only_action<RingAction>(parse_ok(std::string(box_a) + "at 1 A:1 ring\n"));
  EXPECT_DOUBLE_EQ(defaults.on_s, 1.0);
  EXPECT_DOUBLE_EQ(defaults.off_s, 4.0);
  EXPECT_EQ(defaults.count, 1);
}

TEST(ScenarioParse, CallerIdKeys) {
  const auto cid = only_action<CallerIdAction>(
      parse_ok(std::string(box_a) +
               "at 1 A:1 callerid number=+8613812345678 name=\"LI NA\" datetime=11271345 via=v23 format=mdmf level=-20\n"));
  EXPECT_EQ(cid.number, "+8613812345678");
  EXPECT_EQ(cid.name, "LI NA");
  EXPECT_EQ(cid.datetime, "11271345");
  EXPECT_EQ(cid.via, CallerIdVia::v23);
  EXPECT_EQ(cid.format, CallerIdFormat::mdmf);
  EXPECT_DOUBLE_EQ(cid.level_dbm0, -20);

  const auto withheld = only_action<CallerIdAction>(
      parse_ok(std::string(box_a) + "at 1 A:1 callerid absence=P name_absence=O via=bell202\n"));
  EXPECT_EQ(withheld.number_absence, 'P');
  EXPECT_EQ(withheld.name_absence, 'O');
  EXPECT_EQ(withheld.via, CallerIdVia::bell202);
  EXPECT_EQ(withheld.via, CallerIdVia::bell202);

  const auto sdmf = only_action<CallerIdAction>(
      parse_ok(std::string(box_a) + "at 1 A:1 callerid number=555 via=bell202 format=sdmf\n"));
  EXPECT_EQ(sdmf.format, CallerIdFormat::sdmf);

  const auto dtmf = only_action<CallerIdAction>(
      parse_ok(std::string(box_a) + "at 1 A:1 callerid number=13812345678 via=dtmf dtmf_style=etsi\n"));
  EXPECT_EQ(dtmf.via, CallerIdVia::dtmf);
  EXPECT_EQ(dtmf.dtmf_style, CallerIdDtmfStyle::etsi);

  const auto defaults = only_action<CallerIdAction>(parse_ok(std::string(box_a) + "at 1 A:1 callerid number=1\n"));
  EXPECT_EQ(defaults.via, CallerIdVia::report);
  EXPECT_EQ(defaults.format, CallerIdFormat::mdmf);
  EXPECT_EQ(defaults.dtmf_style, CallerIdDtmfStyle::china);
  EXPECT_DOUBLE_EQ(defaults.level_dbm0, -13);
}

TEST(ScenarioParse, HookActions) {
  const Scenario scenario = parse_ok(std::string(box_a) + "at 1 A:1 offhook\nat 2 A:1 onhook\n");
  ASSERT_EQ(scenario.actions.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<OffHookAction>(scenario.actions[0].body));
  EXPECT_TRUE(std::holds_alternative<OnHookAction>(scenario.actions[1].body));
}

TEST(ScenarioParse, DialKeys) {
  const auto dial = only_action<DialAction>(
      parse_ok(std::string(box_a) + "at 1 A:2 dial digits=*21#ABCD09 via=dtmf tone_ms=50 gap_ms=45.5 level=-3\n"));
  EXPECT_EQ(dial.digits, "*21#ABCD09");  // '#' inside a value is not a comment
  EXPECT_EQ(dial.via, DialVia::dtmf);
  EXPECT_DOUBLE_EQ(dial.tone_ms, 50);
  EXPECT_DOUBLE_EQ(dial.gap_ms, 45.5);
  EXPECT_DOUBLE_EQ(dial.level_dbm0, -3);
  const auto defaults = only_action<DialAction>(parse_ok(std::string(box_a) + "at 1 A:2 dial digits=1\n"));
  EXPECT_EQ(defaults.via, DialVia::report);
  EXPECT_DOUBLE_EQ(defaults.tone_ms, 80);
  EXPECT_DOUBLE_EQ(defaults.gap_ms, 80);
}

TEST(ScenarioParse, PolarityAndVoltage) {
  const Scenario scenario = parse_ok(std::string(box_a) +
                                     "at 1 A:1 polarity\nat 2 A:1 polarity reversed=no\nat 3 A:1 voltage volts=-48.5\n");
  ASSERT_EQ(scenario.actions.size(), 3u);
  EXPECT_FALSE(std::get<PolarityAction>(scenario.actions[0].body).reversed.has_value());  // toggle
  EXPECT_EQ(std::get<PolarityAction>(scenario.actions[1].body).reversed, false);
  EXPECT_DOUBLE_EQ(std::get<VoltageAction>(scenario.actions[2].body).volts, -48.5);
}

TEST(ScenarioParse, PlayKinds) {
  const Scenario scenario = parse_ok(std::string(box_a) +
                                     "at 1 A:1 play tone=350+440 level=-13 duration=2.5\n"
                                     "at 2 A:1 play tone=450 duration=4 cadence=1/4\n"
                                     "at 3 A:1 play file=\"my speech.wav\"\n"
                                     "at 4 A:1 play file=a.wav duration=3\n"
                                     "at 5 A:1 play silence duration=1\n"
                                     "at 6 A:1 play busy duration=3\n");
  ASSERT_EQ(scenario.actions.size(), 6u);
  const auto& dial_tone = std::get<PlayAction>(scenario.actions[0].body);
  EXPECT_EQ(dial_tone.kind, PlayAction::Kind::tone);
  EXPECT_EQ(dial_tone.frequencies_hz, (std::vector<double>{350, 440}));
  EXPECT_DOUBLE_EQ(dial_tone.level_dbm0, -13);
  EXPECT_DOUBLE_EQ(dial_tone.duration_s, 2.5);
  EXPECT_DOUBLE_EQ(dial_tone.on_s, 0);
  const auto& ringback = std::get<PlayAction>(scenario.actions[1].body);
  EXPECT_DOUBLE_EQ(ringback.on_s, 1);
  EXPECT_DOUBLE_EQ(ringback.off_s, 4);
  const auto& file = std::get<PlayAction>(scenario.actions[2].body);
  EXPECT_EQ(file.kind, PlayAction::Kind::file);
  EXPECT_EQ(file.path, "my speech.wav");
  EXPECT_DOUBLE_EQ(file.duration_s, 0);  // whole file
  EXPECT_DOUBLE_EQ(std::get<PlayAction>(scenario.actions[3].body).duration_s, 3);
  EXPECT_EQ(std::get<PlayAction>(scenario.actions[4].body).kind, PlayAction::Kind::silence);
  const auto& busy = std::get<PlayAction>(scenario.actions[5].body);
  EXPECT_EQ(busy.kind, PlayAction::Kind::busy);
  EXPECT_EQ(busy.frequencies_hz, (std::vector<double>{450}));
  EXPECT_DOUBLE_EQ(busy.on_s, 0.35);
  EXPECT_DOUBLE_EQ(busy.off_s, 0.35);
}

TEST(ScenarioParse, BoxActions) {
  const Scenario scenario = parse_ok(std::string(box_a) +
                                     "at 1 A unplug\nat 2 A plug\nat 3 A raw 01 2 FF 0a0B\nat 4 A garbage\n"
                                     "at 5 A garbage count=3 size=64 seed=4294967295\n");
  ASSERT_EQ(scenario.actions.size(), 5u);
  EXPECT_EQ(std::get<RawAction>(scenario.actions[2].body).bytes, (std::vector<std::uint8_t>{1, 2, 0xFF, 0x0A, 0x0B}));
  const auto& defaults = std::get<GarbageAction>(scenario.actions[3].body);
  EXPECT_EQ(defaults.count, 1);
  EXPECT_EQ(defaults.size, 16);
  EXPECT_EQ(defaults.seed, 1u);
  const auto& garbage = std::get<GarbageAction>(scenario.actions[4].body);
  EXPECT_EQ(garbage.count, 3);
  EXPECT_EQ(garbage.size, 64);
  EXPECT_EQ(garbage.seed, 4294967295u);
}

TEST(ScenarioParse, RestartTakesNoBoxAndDefaultsToTerm) {
  const Scenario scenario =
      parse_ok(std::string(box_a) + "at 1 restart\nat 2 restart signal=kill\nat 3 restart signal=term\n");
  ASSERT_EQ(scenario.actions.size(), 3u);
  EXPECT_EQ(action_name(scenario.actions[0].body), "restart");
  EXPECT_TRUE(scenario.actions[0].box.empty());
  EXPECT_FALSE(scenario.actions[0].port);
  EXPECT_EQ(std::get<RestartAction>(scenario.actions[0].body).signal, StopSignal::term);
  EXPECT_EQ(std::get<RestartAction>(scenario.actions[1].body).signal, StopSignal::kill);
  EXPECT_EQ(std::get<RestartAction>(scenario.actions[2].body).signal, StopSignal::term);
  EXPECT_DOUBLE_EQ(scenario.end_s, 3);
}

TEST(ScenarioParse, StallTakesNoBoxAndLastsUntilItsEnd) {
  const Scenario scenario = parse_ok(std::string(box_a) + "at 1 stall duration=3\nat 4 stall duration=.5\n");
  ASSERT_EQ(scenario.actions.size(), 2u);
  EXPECT_EQ(action_name(scenario.actions[0].body), "stall");
  EXPECT_TRUE(scenario.actions[0].box.empty());
  EXPECT_FALSE(scenario.actions[0].port);
  EXPECT_DOUBLE_EQ(std::get<StallAction>(scenario.actions[0].body).duration_s, 3);
  EXPECT_DOUBLE_EQ(std::get<StallAction>(scenario.actions[1].body).duration_s, 0.5);
  EXPECT_DOUBLE_EQ(scenario.end_s, 4.5) << "without 'end', the scenario lasts until the program goes on";
}

TEST(ScenarioParse, ActionsSortStablyByTime) {
  const Scenario scenario = parse_ok(std::string(box_a) +
                                     "at 5 A:1 offhook\n"
                                     "at 1 A:2 offhook\n"
                                     "at 5 A:3 offhook\n"
                                     "at -4.5 A:4 offhook\n");  // relative: 0.5 s
  ASSERT_EQ(scenario.actions.size(), 4u);
  EXPECT_EQ(scenario.actions[0].port, 4);
  EXPECT_DOUBLE_EQ(scenario.actions[0].at_s, 0.5);
  EXPECT_EQ(scenario.actions[1].port, 2);
  EXPECT_EQ(scenario.actions[2].port, 1);  // same time: file order kept
  EXPECT_EQ(scenario.actions[3].port, 3);
  EXPECT_FALSE(scenario.has_end);
  EXPECT_DOUBLE_EQ(scenario.end_s, 5);
}

TEST(ScenarioParse, RelativeTimesFollowFileOrder) {
  const Scenario scenario = parse_ok(std::string(box_a) + "at +1 A:1 offhook\nat +.5 A:1 onhook\nat 10 A:1 offhook\n"
                                                          "at -2 A:1 onhook\n");
  ASSERT_EQ(scenario.actions.size(), 4u);
  EXPECT_DOUBLE_EQ(scenario.actions[0].at_s, 1);
  EXPECT_DOUBLE_EQ(scenario.actions[1].at_s, 1.5);
  EXPECT_DOUBLE_EQ(scenario.actions[2].at_s, 8);
  EXPECT_DOUBLE_EQ(scenario.actions[3].at_s, 10);
}

TEST(ScenarioParse, CommentsBlankLinesAndCrLf) {
  const Scenario scenario = parse_ok("# only a comment\r\n\r\n   \t\nbox A serial=1 # trailing\r\nat 1 A:1 offhook\r\n");
  EXPECT_EQ(scenario.boxes.size(), 1u);
  EXPECT_EQ(scenario.actions.size(), 1u);
  EXPECT_EQ(scenario.actions[0].source_line, 5);
}

TEST(ScenarioParse, EmptyTextIsAnEmptyScenario) {
  const Scenario scenario = parse_ok("");
  EXPECT_TRUE(scenario.boxes.empty());
  EXPECT_TRUE(scenario.actions.empty());
}

TEST(ScenarioParse, FormatError) {
  EXPECT_EQ(format_error(ParseError{12, "unknown action 'rng'"}), "scenario:12: unknown action 'rng'");
  EXPECT_EQ(format_error(ParseError{3, "x"}, "calls.scn"), "calls.scn:3: x");
  EXPECT_EQ(format_error(ParseError{0, "x"}, "calls.scn"), "calls.scn: x");
}

struct ErrorCase {
  const char* name;
  std::string text;
  int line;
  std::string message;  // substring of the message
};

class ScenarioErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ScenarioErrors, ReportsLineAndReason) {
  const ErrorCase& error_case = GetParam();
  const auto result = parse(error_case.text);
  ASSERT_FALSE(result) << "parsed:\n" << error_case.text;
  EXPECT_EQ(result.error.line, error_case.line) << result.error.message;
  EXPECT_NE(result.error.message.find(error_case.message), std::string::npos)
      << "message: " << result.error.message << "\nexpected to contain: " << error_case.message;
}

const std::string a = box_a;  // line 1

INSTANTIATE_TEST_SUITE_P(
    Table, ScenarioErrors,
    ::testing::Values(
        // statements and lexing
        ErrorCase{"unknown_statement", "boxx A serial=1\n", 1, "unknown statement 'boxx'"},
        ErrorCase{"statement_with_value", "at=1\n", 1, "a statement starts with"},
        ErrorCase{"scenario_not_first", a + "scenario version=1\n", 2, "'scenario' must be the first statement"},
        ErrorCase{"scenario_version", "scenario version=2\n", 1, "unsupported scenario version 2"},
        ErrorCase{"scenario_version_text", "scenario version=one\n", 1, "bad version 'one'"},
        ErrorCase{"scenario_unknown_key", "scenario speed=2\n", 1, "unknown key 'speed' for scenario"},
        ErrorCase{"unterminated_quote", "box A serial=1 model=\"X800\n", 1, "unterminated quoted value of 'model'"},
        ErrorCase{"bare_quote", "box A serial=1 \"x\"\n", 1, "quoted text must be the value of a key"},
        ErrorCase{"text_after_quote", "box A serial=1 model=\"a\"b\n", 1, "text right after the closing quote"},
        ErrorCase{"bad_escape", "box A serial=1 model=\"a\\n\"\n", 1, "unknown escape"},
        ErrorCase{"empty_value", "box A serial=\n", 1, "key 'serial' has an empty value"},
        ErrorCase{"missing_key", "box A =1\n", 1, "'=' without a key"},
        ErrorCase{"quote_in_bare_value", "box A serial=a\"b\n", 1, "unexpected '\"'"},
        // boxes
        ErrorCase{"box_without_id", "box serial=1\n", 1, "'box' needs an id"},
        ErrorCase{"box_bad_id", "box A:1 serial=1\n", 1, "bad box id 'A:1'"},
        ErrorCase{"box_duplicate_id", a + "box A serial=2\n", 2, "box 'A' already declared at line 1"},
        ErrorCase{"box_duplicate_serial", a + "box B serial=X800-0001\n", 2, "serial 'X800-0001' already used by box 'A'"},
        ErrorCase{"box_missing_serial", "box A lines=2\n", 1, "box 'A' needs serial="},
        ErrorCase{"box_serial_space", "box A serial=\"X 1\"\n", 1, "bad serial"},
        ErrorCase{"box_lines_zero", "box A serial=1 lines=0\n", 1, "lines '0' out of range 1..16"},
        ErrorCase{"box_lines_17", "box A serial=1 lines=17\n", 1, "lines '17' out of range 1..16"},
        ErrorCase{"box_lines_text", "box A serial=1 lines=four\n", 1, "bad lines 'four'"},
        ErrorCase{"box_rate", "box A serial=1 rate=44100\n", 1, "rate '44100' must be 8000 or 16000"},
        ErrorCase{"box_decode", "box A serial=1 decode=maybe\n", 1, "bad decode 'maybe': expected yes or no"},
        ErrorCase{"box_plugged", "box A serial=1 plugged=2\n", 1, "bad plugged '2'"},
        ErrorCase{"box_firmware", "box A serial=1 firmware=1.2\n", 1, "bad firmware '1.2'"},
        ErrorCase{"box_firmware_range", "box A serial=1 firmware=1.256.0\n", 1, "bad firmware"},
        ErrorCase{"box_model_control", "box A serial=1 model=\"\t\"\n", 1, "bad model"},
        ErrorCase{"box_info_too_long", "box A serial=ABCDEFGHIJKLMNOPQRSTUVWXYZ model=\"ABCDEFGHIJKLMNOP\"\n", 1,
                  "exceed 40 characters"},
        ErrorCase{"box_unknown_key", "box A serial=1 colour=red\n", 1, "unknown key 'colour' for box"},
        ErrorCase{"box_duplicate_key", "box A serial=1 lines=2 lines=3\n", 1, "duplicate key 'lines'"},
        ErrorCase{"box_flag_without_value", "box A serial=1 decode\n", 1, "key 'decode' needs a value"},
        ErrorCase{"box_line_state", "box A serial=1 line_state=old\n", 1, "bad line_state 'old': expected yes or no"},
        // times and targets
        ErrorCase{"at_without_time", a + "at\n", 2, "'at' needs a time"},
        ErrorCase{"at_bad_time", a + "at soon A:1 offhook\n", 2, "bad time 'soon'"},
        ErrorCase{"at_exponent", a + "at 1e3 A:1 offhook\n", 2, "bad time '1e3'"},
        ErrorCase{"at_without_action", a + "at 1\n", 2, "needs an action"},
        ErrorCase{"time_negative", a + "at 1 A:1 offhook\nat -2 A:1 onhook\n", 3, "before the scenario start"},
        ErrorCase{"time_double_sign", a + "at +-1 A:1 offhook\n", 2, "bad time '+-1'"},
        ErrorCase{"time_too_large", a + "at 100000 A:1 offhook\n", 2, "beyond 86400 s"},
        ErrorCase{"undeclared_box", a + "at 1 B:1 offhook\n", 2, "undeclared box 'B'"},
        ErrorCase{"box_declared_later", "at 1 A:1 offhook\n" + a, 1, "undeclared box 'A'"},
        ErrorCase{"port_zero", a + "at 1 A:0 offhook\n", 2, "port 0 out of range for box 'A' (lines=4)"},
        ErrorCase{"port_too_high", a + "at 1 A:5 ring\n", 2, "port 5 out of range for box 'A' (lines=4)"},
        ErrorCase{"port_text", a + "at 1 A:x ring\n", 2, "bad port 'x'"},
        ErrorCase{"line_action_without_port", a + "at 1 A ring\n", 2, "'ring' acts on a line"},
        ErrorCase{"box_action_with_port", a + "at 1 A:1 unplug\n", 2, "'unplug' acts on the whole box"},
        ErrorCase{"unknown_action", a + "at 1 A:1 rng\n", 2, "unknown action 'rng'"},
        ErrorCase{"missing_action", a + "at 1 A:1\n", 2, "expected an action"},
        ErrorCase{"end_with_box", a + "at 1 A end\n", 2, "'end' takes no box"},
        ErrorCase{"end_with_key", a + "at 1 end now=1\n", 2, "unknown key 'now' for end"},
        ErrorCase{"duplicate_end", a + "at 1 end\nat 2 end\n", 3, "duplicate 'end' (the first is at line 2)"},
        ErrorCase{"action_after_end", a + "at 5 end\nat 6 A:1 offhook\n", 3, "comes after 'end' at 5 s (line 2)"},
        ErrorCase{"target_with_value", a + "at 1 A=1 ring\n", 2, "expected a box"},
        // restart
        ErrorCase{"restart_with_box", a + "at 1 A restart\n", 2, "'restart' takes no box: write at TIME restart"},
        ErrorCase{"restart_with_port", a + "at 1 A:1 restart\n", 2, "'restart' takes no box"},
        ErrorCase{"restart_signal", a + "at 1 restart signal=hup\n", 2, "bad signal 'hup': expected term or kill"},
        ErrorCase{"restart_signal_case", a + "at 1 restart signal=KILL\n", 2, "bad signal 'KILL'"},
        ErrorCase{"restart_unknown_key", a + "at 1 restart after=2\n", 2,
                  "unknown key 'after' for restart (allowed: signal)"},
        ErrorCase{"restart_flag", a + "at 1 restart signal\n", 2, "key 'signal' needs a value"},
        ErrorCase{"restart_duplicate_key", a + "at 1 restart signal=kill signal=term\n", 2, "duplicate key 'signal'"},
        ErrorCase{"restart_after_end", a + "at 5 end\nat 6 restart\n", 3, "comes after 'end' at 5 s (line 2)"},
        // stall
        ErrorCase{"stall_with_box", a + "at 1 A stall duration=1\n", 2, "'stall' takes no box: write at TIME stall"},
        ErrorCase{"stall_with_port", a + "at 1 A:1 stall duration=1\n", 2, "'stall' takes no box"},
        ErrorCase{"stall_no_duration", a + "at 1 stall\n", 2, "stall needs duration=SECONDS, as duration=3"},
        ErrorCase{"stall_bad_duration", a + "at 1 stall duration=3s\n", 2, "bad duration '3s': expected a decimal number"},
        ErrorCase{"stall_zero_duration", a + "at 1 stall duration=0\n", 2, "stall duration must be above 0"},
        ErrorCase{"stall_long_duration", a + "at 1 stall duration=3601\n", 2, "duration '3601' out of range 0..3600"},
        ErrorCase{"stall_unknown_key", a + "at 1 stall duration=1 signal=kill\n", 2,
                  "unknown key 'signal' for stall (allowed: duration)"},
        ErrorCase{"stall_duplicate_key", a + "at 1 stall duration=1 duration=2\n", 2, "duplicate key 'duration'"},
        ErrorCase{"stall_overlap", a + "at 1 stall duration=2\nat 2.5 stall duration=1\n", 3,
                  "stall at 2.5 s starts before the stall of line 2 is over at 3 s"},
        ErrorCase{"stall_after_end", a + "at 5 end\nat 6 stall duration=1\n", 3, "comes after 'end' at 5 s (line 2)"},
        // ring
        ErrorCase{"ring_cadence_format", a + "at 1 A:1 ring cadence=1\n", 2, "bad cadence '1'"},
        ErrorCase{"ring_cadence_zero", a + "at 1 A:1 ring cadence=0/4\n", 2, "on-time must be above 0"},
        ErrorCase{"ring_count", a + "at 1 A:1 ring count=0\n", 2, "count '0' out of range 1..1000"},
        ErrorCase{"ring_unknown_key", a + "at 1 A:1 ring rate=1\n", 2, "unknown key 'rate' for ring (allowed: cadence, count)"},
        // caller ID
        ErrorCase{"cid_empty", a + "at 1 A:1 callerid via=report\n", 2, "callerid needs number="},
        ErrorCase{"cid_number_chars", a + "at 1 A:1 callerid number=12a\n", 2, "bad number '12a'"},
        ErrorCase{"cid_number_long", a + "at 1 A:1 callerid number=123456789012345678901\n", 2, "bad number"},
        ErrorCase{"cid_name_long", a + "at 1 A:1 callerid name=ABCDEFGHIJKLMNOPQ\n", 2, "bad name"},
        ErrorCase{"cid_both_numbers", a + "at 1 A:1 callerid number=1 absence=P\n", 2, "either number= or absence="},
        ErrorCase{"cid_both_names", a + "at 1 A:1 callerid name=X name_absence=O\n", 2, "either name= or name_absence="},
        ErrorCase{"cid_absence", a + "at 1 A:1 callerid absence=X\n", 2, "bad absence 'X'"},
        ErrorCase{"cid_datetime", a + "at 1 A:1 callerid number=1 datetime=13011200\n", 2, "bad datetime"},
        ErrorCase{"cid_via", a + "at 1 A:1 callerid number=1 via=fax\n", 2, "bad via 'fax'"},
        ErrorCase{"cid_format", a + "at 1 A:1 callerid number=1 format=xml\n", 2, "bad format 'xml'"},
        ErrorCase{"cid_style", a + "at 1 A:1 callerid number=1 dtmf_style=us\n", 2, "bad dtmf_style 'us'"},
        ErrorCase{"cid_level", a + "at 1 A:1 callerid number=1 level=-70\n", 2, "level (dBm0) '-70' out of range"},
        ErrorCase{"cid_sdmf_name", a + "at 1 A:1 callerid number=1 name=X via=bell202 format=sdmf\n", 2,
                  "SDMF carries no name"},
        ErrorCase{"cid_sdmf_no_number", a + "at 1 A:1 callerid name_absence=P via=v23 format=sdmf\n", 2,
                  "SDMF carries no name"},
        ErrorCase{"cid_dtmf_name", a + "at 1 A:1 callerid number=1 name=X via=dtmf\n", 2, "DTMF caller ID carries no name"},
        ErrorCase{"cid_dtmf_digits", a + "at 1 A:1 callerid number=+86 via=dtmf\n", 2, "digits 0-9 only"},
        // dial
        ErrorCase{"dial_without_digits", a + "at 1 A:1 dial via=dtmf\n", 2, "dial needs digits="},
        ErrorCase{"dial_bad_digit", a + "at 1 A:1 dial digits=12E\n", 2, "bad digits '12E'"},
        ErrorCase{"dial_via", a + "at 1 A:1 dial digits=1 via=pulse\n", 2, "bad via 'pulse'"},
        ErrorCase{"dial_tone_ms", a + "at 1 A:1 dial digits=1 tone_ms=0\n", 2, "tone_ms '0' out of range"},
        ErrorCase{"dial_gap_ms", a + "at 1 A:1 dial digits=1 gap_ms=-1\n", 2, "gap_ms '-1' out of range"},
        // polarity, voltage
        ErrorCase{"polarity_value", a + "at 1 A:1 polarity reversed=sideways\n", 2, "bad reversed 'sideways'"},
        ErrorCase{"voltage_missing", a + "at 1 A:1 voltage\n", 2, "voltage needs volts="},
        ErrorCase{"voltage_range", a + "at 1 A:1 voltage volts=500\n", 2, "volts '500' out of range"},
        // play
        ErrorCase{"play_nothing", a + "at 1 A:1 play duration=1\n", 2, "play needs exactly one of"},
        ErrorCase{"play_two_kinds", a + "at 1 A:1 play silence busy\n", 2, "play needs exactly one of"},
        ErrorCase{"play_three_tones", a + "at 1 A:1 play tone=1+2+3\n", 2, "one or two frequencies"},
        ErrorCase{"play_nyquist", a + "at 1 A:1 play tone=4000\n", 2, "tone frequency (Hz) '4000' out of range 1..3999"},
        ErrorCase{"play_zero_duration", a + "at 1 A:1 play tone=400 duration=0\n", 2, "duration must be above 0"},
        ErrorCase{"play_cadence_on_file", a + "at 1 A:1 play file=a.wav cadence=1/1\n", 2, "cadence= applies to"},
        ErrorCase{"play_level_on_silence", a + "at 1 A:1 play silence level=-3\n", 2, "silence has no level"},
        ErrorCase{"play_level_on_file", a + "at 1 A:1 play file=a.wav level=-3\n", 2, "recorded level"},
        ErrorCase{"play_flag_with_value", a + "at 1 A:1 play busy=yes\n", 2, "'busy' takes no value"},
        // raw, garbage
        ErrorCase{"raw_empty", a + "at 1 A raw\n", 2, "raw needs at least one hex byte"},
        ErrorCase{"raw_bad_hex", a + "at 1 A raw 0g\n", 2, "bad hex byte '0g'"},
        ErrorCase{"raw_odd_hex", a + "at 1 A raw 123\n", 2, "pairs of hex digits"},
        ErrorCase{"raw_too_long", a + "at 1 A raw " + std::string(130, 'a') + "\n", 2, "longer than 64 bytes"},
        ErrorCase{"raw_key", a + "at 1 A raw x=1\n", 2, "raw takes hex bytes"},
        ErrorCase{"garbage_size", a + "at 1 A garbage size=65\n", 2, "size '65' out of range 1..64"},
        ErrorCase{"garbage_count", a + "at 1 A garbage count=0\n", 2, "count '0' out of range"},
        ErrorCase{"garbage_seed", a + "at 1 A garbage seed=-1\n", 2, "seed '-1' out of range"},
        // plug state over time
        ErrorCase{"unplug_twice", a + "at 1 A unplug\nat 2 A unplug\n", 3, "box 'A' is already unplugged at 2 s"},
        ErrorCase{"plug_plugged", a + "at 1 A plug\n", 2, "box 'A' is already plugged at 1 s"},
        ErrorCase{"plug_order_by_time", a + "at 5 A plug\nat 1 A unplug\nat 6 A plug\n", 4, "already plugged at 6 s"}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) { return std::string(info.param.name); });

}  // namespace
