// Fuzz target for the scenario parser (proto/scenario.md). Any text either
// parses into a scenario that keeps the documented invariants, or fails with
// a message and a line number inside the text.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string_view>

#include "proto/scenario.hpp"

namespace {

namespace scenario = deskline::proto::scenario;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_scenario: %s\n", what);
  std::abort();
}

void check_scenario(const scenario::Scenario& parsed) {
  std::set<std::string> ids, serials;
  for (const auto& box : parsed.boxes) {
    if (!ids.insert(box.id).second) fail("duplicate box id accepted");
    if (!serials.insert(box.serial).second) fail("duplicate serial accepted");
    if (box.lines < 1 || box.lines > 16) fail("line count out of range");
    if (box.audio_rate_hz != 8000 && box.audio_rate_hz != 16000) fail("bad rate accepted");
    if (box.model.size() + box.serial.size() > 40) fail("info text too long");
  }
  double previous = 0;
  double stalled_until = 0;
  for (const auto& action : parsed.actions) {
    if (action.at_s < 0 || action.at_s < previous) fail("actions not sorted or negative");
    previous = action.at_s;
    if (action.at_s > parsed.end_s) fail("action after end_s");
    // end, restart and stall concern the whole run, not a box.
    const bool boxless = std::holds_alternative<scenario::EndAction>(action.body) ||
                         std::holds_alternative<scenario::RestartAction>(action.body) ||
                         std::holds_alternative<scenario::StallAction>(action.body);
    if (boxless != action.box.empty()) fail("end, restart or stall has a box, or an action has none");
    if (!boxless) {
      const auto box = std::find_if(parsed.boxes.begin(), parsed.boxes.end(),
                                    [&](const scenario::BoxDecl& decl) { return decl.id == action.box; });
      if (box == parsed.boxes.end()) fail("action on an undeclared box");
      if (action.port && (*action.port < 1 || *action.port > box->lines)) fail("port out of range");
    }
    if (const auto* raw = std::get_if<scenario::RawAction>(&action.body))
      if (raw->bytes.empty() || raw->bytes.size() > 64) fail("raw size out of range");
    if (const auto* garbage = std::get_if<scenario::GarbageAction>(&action.body))
      if (garbage->size < 1 || garbage->size > 64 || garbage->count < 1) fail("garbage out of range");
    if (const auto* play = std::get_if<scenario::PlayAction>(&action.body))
      if (play->duration_s < 0 || play->duration_s > 3600) fail("play duration out of range");
    if (const auto* stall = std::get_if<scenario::StallAction>(&action.body)) {
      if (stall->duration_s <= 0 || stall->duration_s > 3600) fail("stall duration out of range");
      if (action.at_s + stall->duration_s > parsed.end_s && !parsed.has_end) fail("stall outlasts end_s");
      if (action.at_s < stalled_until) fail("overlapping stalls accepted");
      stalled_until = action.at_s + stall->duration_s;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto result = scenario::parse(text);
  if (result) {
    check_scenario(*result.scenario);
  } else {
    const auto lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
    if (result.error.message.empty()) fail("error without a message");
    if (result.error.line < 0 || result.error.line > lines) fail("error line outside the text");
  }
  return 0;
}
