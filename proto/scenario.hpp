// Simulator scenario language: a text file of timed actions against virtual
// X800 boxes. Pure parser; the language is specified in proto/scenario.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace deskline::proto::scenario {

struct BoxDecl {
  std::string id;      // name used by actions ("A")
  std::string serial;  // reported in box info
  std::string model = "X800";
  std::string firmware = "1.0.0";  // "MAJOR.MINOR.PATCH"
  std::uint8_t lines = 4;          // 1..16
  std::uint32_t audio_rate_hz = 8000;  // 8000 or 16000
  bool decodes_caller_id = true;
  // Firmware that answers get_line_state (x800.md 7.5); false: an older box
  // that refuses it as an unknown command.
  bool answers_line_state = true;
  bool plugged_at_start = true;
  int source_line = 0;
};

enum class CallerIdVia { report, bell202, v23, dtmf };
enum class CallerIdFormat { mdmf, sdmf };
enum class DialVia { report, dtmf };
// Framing of DTMF caller ID (proto/callerid.hpp DtmfStyle).
enum class CallerIdDtmfStyle { china, etsi };

struct RingAction {
  double on_s = 1.0;   // cadence: ring burst length
  double off_s = 4.0;  // pause between bursts
  int count = 1;       // bursts; ringing also stops when the line goes off-hook
};

struct CallerIdAction {
  std::optional<std::string> number;
  std::optional<std::string> name;
  std::optional<char> number_absence;  // 'P' / 'O'
  std::optional<char> name_absence;
  std::optional<std::string> datetime;  // MMDDHHMM
  CallerIdVia via = CallerIdVia::report;
  CallerIdFormat format = CallerIdFormat::mdmf;
  double level_dbm0 = -13.0;  // audio deliveries only
  CallerIdDtmfStyle dtmf_style = CallerIdDtmfStyle::china;  // via=dtmf only
};

struct OffHookAction {};
struct OnHookAction {};

struct DialAction {
  std::string digits;
  DialVia via = DialVia::report;
  double tone_ms = 80;
  double gap_ms = 80;
  double level_dbm0 = -10.0;
};

struct PolarityAction {
  std::optional<bool> reversed;  // absent: toggle
};

struct PlayAction {
  enum class Kind { file, tone, silence, busy };
  Kind kind = Kind::silence;
  std::string path;                  // file: WAV (mono, 16-bit PCM)
  std::vector<double> frequencies_hz;  // tone: one or two frequencies
  double level_dbm0 = -10.0;
  double duration_s = 1.0;  // file: 0 = whole file
  double on_s = 0.0;        // tone cadence; 0 = continuous
  double off_s = 0.0;
};

struct VoltageAction {
  double volts = 48.0;
};

struct UnplugAction {};
struct PlugAction {};
struct RawAction {
  std::vector<std::uint8_t> bytes;  // delivered as one interrupt transfer, verbatim
};
struct GarbageAction {
  int count = 1;    // transfers
  int size = 16;    // bytes per transfer, 1..64
  std::uint32_t seed = 1;
};
struct EndAction {};

// Stops the program under test with a signal and starts it again, while the
// boxes stay powered: a daemon crash (kill) or a service restart (term).
enum class StopSignal { term, kill };
struct RestartAction {
  StopSignal signal = StopSignal::term;
};
// Stops the program under test (SIGSTOP) and lets it go on after duration_s
// (SIGCONT): a host held up by swapping, a long fsync or a debugger.
struct StallAction {
  double duration_s = 0;
};

using ActionBody = std::variant<RingAction, CallerIdAction, OffHookAction, OnHookAction, DialAction,
                                PolarityAction, PlayAction, VoltageAction, UnplugAction, PlugAction,
                                RawAction, GarbageAction, EndAction, RestartAction, StallAction>;

struct Action {
  double at_s = 0;                  // seconds from scenario start
  std::string box;                  // empty for "end", "restart" and "stall"
  std::optional<std::uint8_t> port;  // 1-based; absent for box-wide actions
  ActionBody body;
  int source_line = 0;
};

struct Scenario {
  int version = 1;
  std::vector<BoxDecl> boxes;
  std::vector<Action> actions;  // sorted by at_s, stable in file order
  double end_s = 0;             // time of "end", or last action
  bool has_end = false;         // an explicit "end" action exists
};

struct ParseError {
  int line = 0;  // 1-based; 0 for whole-file errors
  std::string message;
};

struct ParseResult {
  std::optional<Scenario> scenario;
  ParseError error;
  explicit operator bool() const { return scenario.has_value(); }
};

ParseResult parse(std::string_view text);

// "<source>:<line>: <message>" (or "<source>: <message>" for line 0).
std::string format_error(const ParseError& error, std::string_view source = "scenario");

// Statement keyword of an action: "ring", "callerid", ... "end", "restart", "stall".
std::string_view action_name(const ActionBody& body);

}  // namespace deskline::proto::scenario
