#include "proto/scenario.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <map>
#include <initializer_list>
#include <set>
#include <tuple>
#include <utility>

#include "proto/bytes.hpp"

namespace deskline::proto::scenario {
namespace {

// Bounds that keep a hostile or mistyped file from asking the simulator for
// days of audio or millions of transfers.
constexpr double max_time_s = 86400.0;
constexpr double max_duration_s = 3600.0;
constexpr int max_ring_count = 1000;
constexpr int max_garbage_count = 10000;
constexpr std::size_t max_transfer_size = 64;
constexpr std::size_t max_digits = 64;
constexpr std::size_t max_number_length = 20;
constexpr std::size_t max_name_length = 16;  // MDMF name on the wire
constexpr std::size_t max_info_text = 40;    // model + serial inside a 49-byte Info report
constexpr std::size_t max_serial_length = 32;

// Thrown inside the parser only; parse() turns it into a ParseError.
struct Failure {
  std::string message;
};

[[noreturn]] void fail(std::string message) { throw Failure{std::move(message)}; }

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

std::string number_text(double value) {
  std::array<char, 32> buffer{};
  auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return std::string(buffer.data(), result.ptr);
}

// ---- lexing ---------------------------------------------------------------

struct Word {
  std::string key;    // the whole word when there is no '='
  std::string value;
  bool has_value = false;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// Splits one line into words. '#' starts a comment only where a word would
// begin, so "digits=*21#" keeps its '#'. Values may be double-quoted with
// \" and \\ escapes to hold spaces.
std::vector<Word> lex(std::string_view line) {
  std::vector<Word> words;
  std::size_t position = 0;
  while (true) {
    while (position < line.size() && is_space(line[position])) ++position;
    if (position >= line.size() || line[position] == '#') break;
    if (line[position] == '"') fail("quoted text must be the value of a key, as key=\"...\"");
    Word word;
    while (position < line.size() && !is_space(line[position]) && line[position] != '=') {
      if (line[position] == '"') fail("unexpected '\"' inside " + quoted(word.key));
      word.key.push_back(line[position++]);
    }
    if (position < line.size() && line[position] == '=') {
      ++position;
      word.has_value = true;
      if (word.key.empty()) fail("'=' without a key before it");
      if (position < line.size() && line[position] == '"') {
        ++position;
        bool closed = false;
        while (position < line.size()) {
          const char c = line[position++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c == '\\') {
            if (position >= line.size()) break;
            const char escaped = line[position++];
            if (escaped != '"' && escaped != '\\')
              fail("unknown escape '\\" + std::string(1, escaped) + "' in the value of " + quoted(word.key));
            word.value.push_back(escaped);
            continue;
          }
          word.value.push_back(c);
        }
        if (!closed) fail("unterminated quoted value of " + quoted(word.key));
        if (position < line.size() && !is_space(line[position]))
          fail("text right after the closing quote of " + quoted(word.key));
      } else {
        while (position < line.size() && !is_space(line[position])) {
          if (line[position] == '"') fail("unexpected '\"' inside the value of " + quoted(word.key));
          word.value.push_back(line[position++]);
        }
        if (word.value.empty()) fail("key " + quoted(word.key) + " has an empty value");
      }
    }
    words.push_back(std::move(word));
  }
  return words;
}

// ---- values ---------------------------------------------------------------

// Unsigned decimal: "12", "1.5", ".5", "3." (no exponent, no sign).
bool is_plain_decimal(std::string_view text) {
  if (text.empty()) return false;
  bool digits = false, dot = false;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      digits = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      return false;
    }
  }
  return digits;
}

double parse_decimal(std::string_view text, std::string_view what) {
  bool negative = false;
  std::string_view digits = text;
  if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) {
    negative = digits.front() == '-';
    digits.remove_prefix(1);
  }
  if (!is_plain_decimal(digits)) fail("bad " + std::string(what) + " " + quoted(text) + ": expected a decimal number");
  double value = 0;
  auto result = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (result.ec != std::errc() || result.ptr != digits.data() + digits.size() || !std::isfinite(value))
    fail("bad " + std::string(what) + " " + quoted(text));
  return negative ? -value : value;
}

double parse_bounded(std::string_view text, std::string_view what, double low, double high) {
  const double value = parse_decimal(text, what);
  if (value < low || value > high)
    fail(std::string(what) + " " + quoted(text) + " out of range " + number_text(low) + ".." + number_text(high));
  return value;
}

long parse_integer(std::string_view text, std::string_view what, long low, long high) {
  long value = 0;
  auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || result.ec != std::errc() || result.ptr != text.data() + text.size())
    fail("bad " + std::string(what) + " " + quoted(text) + ": expected an integer");
  if (value < low || value > high)
    fail(std::string(what) + " " + quoted(text) + " out of range " + std::to_string(low) + ".." + std::to_string(high));
  return value;
}

bool parse_flag(std::string_view text, std::string_view what) {
  if (text == "yes" || text == "true" || text == "on" || text == "1") return true;
  if (text == "no" || text == "false" || text == "off" || text == "0") return false;
  fail("bad " + std::string(what) + " " + quoted(text) + ": expected yes or no");
}

char parse_absence(std::string_view text, std::string_view what) {
  if (text == "P" || text == "O") return text[0];
  fail("bad " + std::string(what) + " " + quoted(text) + ": expected P (private) or O (unavailable)");
}

bool printable_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7F; });
}

bool is_dial_char(char c) {
  return (c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D');
}

// "ON/OFF" seconds, as in cadence=1.0/4.0.
std::pair<double, double> parse_cadence(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) fail("bad cadence " + quoted(text) + ": expected ON/OFF seconds, as 1.0/4.0");
  const double on = parse_bounded(text.substr(0, slash), "cadence on-time", 0, max_duration_s);
  const double off = parse_bounded(text.substr(slash + 1), "cadence off-time", 0, max_duration_s);
  if (on <= 0) fail("cadence on-time must be above 0 in " + quoted(text));
  return {on, off};
}

// ---- statements -----------------------------------------------------------

// Key lookup for one statement: rejects unknown and repeated keys up front.
class Keys {
 public:
  Keys(const std::vector<Word>& words, std::size_t first, std::string_view statement,
       std::initializer_list<std::string_view> allowed, std::initializer_list<std::string_view> flags = {}) {
    for (std::size_t i = first; i < words.size(); ++i) {
      const Word& word = words[i];
      const bool is_flag = std::find(flags.begin(), flags.end(), word.key) != flags.end();
      const bool is_key = std::find(allowed.begin(), allowed.end(), word.key) != allowed.end();
      if (!is_flag && !is_key) {
        std::string list;
        for (auto name : allowed) list += (list.empty() ? "" : ", ") + std::string(name);
        for (auto name : flags) list += (list.empty() ? "" : ", ") + std::string(name);
        fail("unknown key " + quoted(word.key) + " for " + std::string(statement) +
             (list.empty() ? " (it takes none)" : " (allowed: " + list + ")"));
      }
      if (is_flag && word.has_value) fail(quoted(word.key) + " takes no value");
      if (is_key && !word.has_value) fail("key " + quoted(word.key) + " needs a value, as " + word.key + "=...");
      if (!values_.emplace(word.key, word.value).second) fail("duplicate key " + quoted(word.key));
    }
  }
  const std::string* find(std::string_view key) const {
    auto it = values_.find(std::string(key));
    return it == values_.end() ? nullptr : &it->second;
  }
  bool has(std::string_view key) const { return find(key) != nullptr; }

 private:
  std::map<std::string, std::string> values_;
};

struct BoxState {
  BoxDecl decl;
};

class Parser {
 public:
  Scenario parse_all(std::string_view text) {
    int line_number = 0;
    std::size_t start = 0;
    while (start <= text.size()) {
      const auto end = text.find('\n', start);
      const auto line = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
      ++line_number;
      line_ = line_number;
      statement(lex(line));
      if (end == std::string_view::npos) break;
      start = end + 1;
    }
    line_ = 0;
    finish();
    return std::move(scenario_);
  }

  int line() const { return line_; }
  void set_line(int line) { line_ = line; }

 private:
  void statement(const std::vector<Word>& words) {
    if (words.empty()) return;
    const Word& head = words[0];
    if (head.has_value) fail("a statement starts with scenario, box or at, not " + quoted(head.key + "=..."));
    if (head.key == "scenario") {
      scenario_statement(words);
    } else if (head.key == "box") {
      box_statement(words);
    } else if (head.key == "at") {
      at_statement(words);
    } else {
      fail("unknown statement " + quoted(head.key) + " (expected scenario, box or at)");
    }
    seen_statement_ = true;
  }

  void scenario_statement(const std::vector<Word>& words) {
    if (seen_statement_) fail("'scenario' must be the first statement");
    Keys keys(words, 1, "scenario", {"version"});
    if (const auto* version = keys.find("version")) {
      const long value = parse_integer(*version, "version", 0, 1000000);
      if (value != 1) fail("unsupported scenario version " + *version + " (this parser reads version 1)");
      scenario_.version = static_cast<int>(value);
    }
  }

  void box_statement(const std::vector<Word>& words) {
    if (words.size() < 2 || words[1].has_value) fail("'box' needs an id first, as: box A serial=X800-0001");
    BoxDecl box;
    box.id = words[1].key;
    box.source_line = line_;
    const bool good_id = !box.id.empty() && box.id.size() <= 32 &&
                         std::all_of(box.id.begin(), box.id.end(), [](char c) {
                           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                  c == '_' || c == '-';
                         });
    if (!good_id) fail("bad box id " + quoted(box.id) + ": use up to 32 letters, digits, '_' or '-'");
    if (auto it = boxes_.find(box.id); it != boxes_.end())
      fail("box " + quoted(box.id) + " already declared at line " + std::to_string(it->second.decl.source_line));
    Keys keys(words, 2, "box", {"serial", "lines", "rate", "decode", "model", "firmware", "plugged", "line_state"});
    const auto* serial = keys.find("serial");
    if (!serial) fail("box " + quoted(box.id) + " needs serial=...");
    if (serial->empty() || serial->size() > max_serial_length ||
        !std::all_of(serial->begin(), serial->end(), [](char c) { return c > 0x20 && c < 0x7F; }))
      fail("bad serial " + quoted(*serial) + ": 1..32 printable characters without spaces");
    for (const auto& [id, other] : boxes_)
      if (other.decl.serial == *serial)
        fail("serial " + quoted(*serial) + " already used by box " + quoted(id) + " (line " +
             std::to_string(other.decl.source_line) + ")");
    box.serial = *serial;
    if (const auto* lines = keys.find("lines"))
      box.lines = static_cast<std::uint8_t>(parse_integer(*lines, "lines", 1, 16));
    if (const auto* rate = keys.find("rate")) {
      const long value = parse_integer(*rate, "rate", 0, 1000000);
      if (value != 8000 && value != 16000) fail("rate " + quoted(*rate) + " must be 8000 or 16000");
      box.audio_rate_hz = static_cast<std::uint32_t>(value);
    }
    if (const auto* decode = keys.find("decode")) box.decodes_caller_id = parse_flag(*decode, "decode");
    if (const auto* plugged = keys.find("plugged")) box.plugged_at_start = parse_flag(*plugged, "plugged");
    if (const auto* line_state = keys.find("line_state"))
      box.answers_line_state = parse_flag(*line_state, "line_state");
    if (const auto* model = keys.find("model")) {
      if (model->empty() || !printable_ascii(*model)) fail("bad model " + quoted(*model) + ": printable ASCII text");
      box.model = *model;
    }
    if (box.model.size() + box.serial.size() > max_info_text)
      fail("model and serial together exceed " + std::to_string(max_info_text) + " characters (Info report limit)");
    if (const auto* firmware = keys.find("firmware")) {
      parse_firmware(*firmware);
      box.firmware = *firmware;
    }
    boxes_.emplace(box.id, BoxState{box});
    scenario_.boxes.push_back(std::move(box));
  }

  static void parse_firmware(std::string_view text) {
    int parts = 0;
    std::size_t start = 0;
    while (true) {
      const auto dot = text.find('.', start);
      const auto part = text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
      long value = 0;
      auto result = std::from_chars(part.data(), part.data() + part.size(), value);
      if (part.empty() || result.ec != std::errc() || result.ptr != part.data() + part.size() || value < 0 ||
          value > 255)
        fail("bad firmware " + quoted(text) + ": expected MAJOR.MINOR.PATCH, each 0..255");
      ++parts;
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
    if (parts != 3) fail("bad firmware " + quoted(text) + ": expected MAJOR.MINOR.PATCH, each 0..255");
  }

  double resolve_time(const Word& word) {
    if (word.has_value) fail("bad time " + quoted(word.key + "=" + word.value));
    const std::string& text = word.key;
    double at = 0;
    if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
      // Relative to the previous "at" statement in file order.
      const std::string_view offset_text = std::string_view(text).substr(1);
      if (!is_plain_decimal(offset_text)) fail("bad time " + quoted(text) + ": expected +SECONDS or -SECONDS");
      const double offset = parse_decimal(offset_text, "time offset");
      at = text[0] == '+' ? previous_time_ + offset : previous_time_ - offset;
      if (at < 0) fail("time " + text + " puts this action at " + number_text(at) + " s, before the scenario start");
    } else {
      at = parse_decimal(text, "time");
    }
    if (at > max_time_s) fail("time " + quoted(text) + " is beyond " + number_text(max_time_s) + " s");
    return at;
  }

  void at_statement(const std::vector<Word>& words) {
    if (words.size() < 2) fail("'at' needs a time, as: at 1.5 A:1 offhook");
    Action action;
    action.source_line = line_;
    action.at_s = resolve_time(words[1]);
    previous_time_ = action.at_s;
    if (words.size() < 3) fail("'at " + words[1].key + "' needs an action");

    std::size_t next = 2;
    if (words[2].has_value) fail("expected a box (A or A:1) or 'end' after the time, not " + quoted(words[2].key + "="));
    if (words[2].key == "end") {
      Keys keys(words, 3, "end", {});
      if (has_end_line_)
        fail("duplicate 'end' (the first is at line " + std::to_string(has_end_line_) + ")");
      has_end_line_ = line_;
      action.body = EndAction{};
      scenario_.actions.push_back(std::move(action));
      return;
    }
    if (words[2].key == "restart") {
      action.body = restart(words, 3);
      scenario_.actions.push_back(std::move(action));
      return;
    }
    if (words[2].key == "stall") {
      action.body = stall(words, 3);
      scenario_.actions.push_back(std::move(action));
      return;
    }
    const BoxDecl& box = target(words[2].key, action);
    ++next;
    if (next >= words.size() || words[next].has_value)
      fail("expected an action after " + quoted(words[2].key));
    const std::string& name = words[next].key;
    const std::size_t first_key = next + 1;

    static const std::set<std::string, std::less<>> line_actions = {
        "ring", "callerid", "offhook", "onhook", "dial", "polarity", "play", "voltage"};
    static const std::set<std::string, std::less<>> box_actions = {"unplug", "plug", "raw", "garbage"};
    if (line_actions.count(name)) {
      if (!action.port) fail(quoted(name) + " acts on a line: write " + box.id + ":PORT " + name);
    } else if (box_actions.count(name)) {
      if (action.port) fail(quoted(name) + " acts on the whole box: write " + box.id + " " + name + " without a port");
    } else if (name != "end" && name != "restart" && name != "stall") {
      fail("unknown action " + quoted(name));
    }

    if (name == "ring") {
      Keys keys(words, first_key, name, {"cadence", "count"});
      RingAction ring;
      if (const auto* cadence = keys.find("cadence")) std::tie(ring.on_s, ring.off_s) = parse_cadence(*cadence);
      if (const auto* count = keys.find("count"))
        ring.count = static_cast<int>(parse_integer(*count, "count", 1, max_ring_count));
      action.body = ring;
    } else if (name == "callerid") {
      action.body = caller_id(words, first_key, box);
    } else if (name == "offhook") {
      Keys keys(words, first_key, name, {});
      action.body = OffHookAction{};
    } else if (name == "onhook") {
      Keys keys(words, first_key, name, {});
      action.body = OnHookAction{};
    } else if (name == "dial") {
      action.body = dial(words, first_key);
    } else if (name == "polarity") {
      Keys keys(words, first_key, name, {"reversed"});
      PolarityAction polarity;
      if (const auto* reversed = keys.find("reversed")) polarity.reversed = parse_flag(*reversed, "reversed");
      action.body = polarity;
    } else if (name == "play") {
      action.body = play(words, first_key, box);
    } else if (name == "voltage") {
      Keys keys(words, first_key, name, {"volts"});
      const auto* volts = keys.find("volts");
      if (!volts) fail("voltage needs volts=..., as volts=-48.5");
      action.body = VoltageAction{parse_bounded(*volts, "volts", -200, 200)};
    } else if (name == "unplug") {
      Keys keys(words, first_key, name, {});
      action.body = UnplugAction{};
    } else if (name == "plug") {
      Keys keys(words, first_key, name, {});
      action.body = PlugAction{};
    } else if (name == "raw") {
      action.body = raw(words, first_key);
    } else if (name == "garbage") {
      Keys keys(words, first_key, name, {"count", "size", "seed"});
      GarbageAction garbage;
      if (const auto* count = keys.find("count"))
        garbage.count = static_cast<int>(parse_integer(*count, "count", 1, max_garbage_count));
      if (const auto* size = keys.find("size"))
        garbage.size = static_cast<int>(parse_integer(*size, "size", 1, static_cast<long>(max_transfer_size)));
      if (const auto* seed = keys.find("seed"))
        garbage.seed = static_cast<std::uint32_t>(parse_integer(*seed, "seed", 0, 0xFFFFFFFFL));
      action.body = garbage;
    } else {
      fail(quoted(name) + " takes no box: write at TIME " + name);
    }
    scenario_.actions.push_back(std::move(action));
  }

  static RestartAction restart(const std::vector<Word>& words, std::size_t first) {
    Keys keys(words, first, "restart", {"signal"});
    RestartAction restart;
    if (const auto* signal = keys.find("signal")) {
      if (*signal == "term") restart.signal = StopSignal::term;
      else if (*signal == "kill") restart.signal = StopSignal::kill;
      else fail("bad signal " + quoted(*signal) + ": expected term or kill");
    }
    return restart;
  }

  static StallAction stall(const std::vector<Word>& words, std::size_t first) {
    Keys keys(words, first, "stall", {"duration"});
    const auto* duration = keys.find("duration");
    if (!duration) fail("stall needs duration=SECONDS, as duration=3");
    const double seconds = parse_bounded(*duration, "duration", 0, max_duration_s);
    if (seconds <= 0) fail("stall duration must be above 0");
    return StallAction{seconds};
  }

  // "A" or "A:2"; fills box and port of the action.
  const BoxDecl& target(const std::string& text, Action& action) {
    const auto colon = text.find(':');
    const std::string id = text.substr(0, colon);
    auto it = boxes_.find(id);
    if (it == boxes_.end()) fail("undeclared box " + quoted(id) + " (declare it first: box " + id + " serial=...)");
    action.box = id;
    if (colon != std::string::npos) {
      const std::string port_text = text.substr(colon + 1);
      long port = 0;
      auto result = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
      if (port_text.empty() || result.ec != std::errc() || result.ptr != port_text.data() + port_text.size())
        fail("bad port " + quoted(port_text) + " in " + quoted(text) + ": ports are numbered from 1");
      if (port < 1 || port > it->second.decl.lines)
        fail("port " + port_text + " out of range for box " + quoted(id) + " (lines=" +
             std::to_string(it->second.decl.lines) + ")");
      action.port = static_cast<std::uint8_t>(port);
    }
    return it->second.decl;
  }

  static double parse_level(const Keys& keys, double fallback) {
    const auto* level = keys.find("level");
    return level ? parse_bounded(*level, "level (dBm0)", -60, 3) : fallback;
  }

  CallerIdAction caller_id(const std::vector<Word>& words, std::size_t first, const BoxDecl&) {
    Keys keys(words, first, "callerid",
              {"number", "name", "absence", "name_absence", "datetime", "via", "format", "level", "dtmf_style"});
    CallerIdAction cid;
    if (const auto* number = keys.find("number")) {
      // The characters every delivery (report, FSK, DTMF) can carry.
      const bool ok = !number->empty() && number->size() <= max_number_length &&
                      number->find_first_not_of("0123456789*#+") == std::string::npos;
      if (!ok) fail("bad number " + quoted(*number) + ": 1..20 of 0-9 * # +");
      cid.number = *number;
    }
    if (const auto* name = keys.find("name")) {
      if (name->empty() || name->size() > max_name_length || !printable_ascii(*name))
        fail("bad name " + quoted(*name) + ": 1..16 printable ASCII characters");
      cid.name = *name;
    }
    if (const auto* absence = keys.find("absence")) cid.number_absence = parse_absence(*absence, "absence");
    if (const auto* absence = keys.find("name_absence")) cid.name_absence = parse_absence(*absence, "name_absence");
    if (cid.number && cid.number_absence) fail("give either number= or absence=, not both");
    if (cid.name && cid.name_absence) fail("give either name= or name_absence=, not both");
    if (!cid.number && !cid.name && !cid.number_absence && !cid.name_absence)
      fail("callerid needs number=, name=, absence= or name_absence=");
    if (const auto* datetime = keys.find("datetime")) {
      if (!valid_datetime(*datetime)) fail("bad datetime " + quoted(*datetime) + ": expected MMDDHHMM");
      cid.datetime = *datetime;
    }
    if (const auto* via = keys.find("via")) {
      if (*via == "report") cid.via = CallerIdVia::report;
      else if (*via == "bell202") cid.via = CallerIdVia::bell202;
      else if (*via == "v23") cid.via = CallerIdVia::v23;
      else if (*via == "dtmf") cid.via = CallerIdVia::dtmf;
      else fail("bad via " + quoted(*via) + ": expected report, bell202, v23 or dtmf");
    }
    if (const auto* format = keys.find("format")) {
      if (*format == "mdmf") cid.format = CallerIdFormat::mdmf;
      else if (*format == "sdmf") cid.format = CallerIdFormat::sdmf;
      else fail("bad format " + quoted(*format) + ": expected mdmf or sdmf");
    }
    if (const auto* style = keys.find("dtmf_style")) {
      if (*style == "china") cid.dtmf_style = CallerIdDtmfStyle::china;
      else if (*style == "etsi") cid.dtmf_style = CallerIdDtmfStyle::etsi;
      else fail("bad dtmf_style " + quoted(*style) + ": expected china or etsi");
    }
    cid.level_dbm0 = parse_level(keys, cid.level_dbm0);
    const bool fsk = cid.via == CallerIdVia::bell202 || cid.via == CallerIdVia::v23;
    if (fsk && cid.format == CallerIdFormat::sdmf && (cid.name || cid.name_absence))
      fail("SDMF carries no name: use format=mdmf or drop name=/name_absence=");
    if (fsk && cid.format == CallerIdFormat::sdmf && !cid.number && !cid.number_absence)
      fail("SDMF needs number= or absence=");
    if (cid.via == CallerIdVia::dtmf && (cid.name || cid.name_absence))
      fail("DTMF caller ID carries no name: drop name=/name_absence= or use via=bell202");
    if (cid.via == CallerIdVia::dtmf && !cid.number && !cid.number_absence)
      fail("DTMF caller ID needs number= or absence=");
    if (cid.via == CallerIdVia::dtmf && cid.number &&
        !std::all_of(cid.number->begin(), cid.number->end(), [](char c) { return c >= '0' && c <= '9'; }))
      fail("DTMF caller ID numbers are digits 0-9 only");
    return cid;
  }

  static bool valid_datetime(std::string_view text) {
    if (text.size() != 8 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return false;
    auto two = [&](std::size_t at) { return (text[at] - '0') * 10 + (text[at + 1] - '0'); };
    return two(0) >= 1 && two(0) <= 12 && two(2) >= 1 && two(2) <= 31 && two(4) <= 23 && two(6) <= 59;
  }

  DialAction dial(const std::vector<Word>& words, std::size_t first) {
    Keys keys(words, first, "dial", {"digits", "via", "tone_ms", "gap_ms", "level"});
    DialAction dial;
    const auto* digits = keys.find("digits");
    if (!digits) fail("dial needs digits=...");
    if (digits->empty() || digits->size() > max_digits || !std::all_of(digits->begin(), digits->end(), is_dial_char))
      fail("bad digits " + quoted(*digits) + ": 1..64 of 0-9 * # A-D");
    dial.digits = *digits;
    if (const auto* via = keys.find("via")) {
      if (*via == "report") dial.via = DialVia::report;
      else if (*via == "dtmf") dial.via = DialVia::dtmf;
      else fail("bad via " + quoted(*via) + ": expected report or dtmf");
    }
    if (const auto* tone = keys.find("tone_ms")) dial.tone_ms = parse_bounded(*tone, "tone_ms", 1, 10000);
    if (const auto* gap = keys.find("gap_ms")) dial.gap_ms = parse_bounded(*gap, "gap_ms", 0, 10000);
    dial.level_dbm0 = parse_level(keys, dial.level_dbm0);
    return dial;
  }

  PlayAction play(const std::vector<Word>& words, std::size_t first, const BoxDecl& box) {
    Keys keys(words, first, "play", {"tone", "file", "level", "duration", "cadence"}, {"silence", "busy"});
    PlayAction play;
    const int kinds = keys.has("tone") + keys.has("file") + keys.has("silence") + keys.has("busy");
    if (kinds != 1) fail("play needs exactly one of tone=F[+F2], file=PATH, silence or busy");
    if (const auto* tone = keys.find("tone")) {
      play.kind = PlayAction::Kind::tone;
      std::string_view rest = *tone;
      while (true) {
        const auto plus = rest.find('+');
        const double nyquist = box.audio_rate_hz / 2.0;
        const double frequency =
            parse_bounded(rest.substr(0, plus), "tone frequency (Hz)", 1, nyquist - 1);
        play.frequencies_hz.push_back(frequency);
        if (plus == std::string_view::npos) break;
        rest = rest.substr(plus + 1);
      }
      if (play.frequencies_hz.size() > 2) fail("tone takes one or two frequencies, as tone=350+440");
    } else if (const auto* file = keys.find("file")) {
      play.kind = PlayAction::Kind::file;
      if (file->empty()) fail("file= needs a path");
      play.path = *file;
    } else if (keys.has("busy")) {
      play.kind = PlayAction::Kind::busy;
      play.frequencies_hz = {450};  // China busy tone: 450 Hz, 350 ms on, 350 ms off
      play.on_s = 0.35;
      play.off_s = 0.35;
    } else {
      play.kind = PlayAction::Kind::silence;
    }
    if (const auto* cadence = keys.find("cadence")) {
      if (play.kind != PlayAction::Kind::tone && play.kind != PlayAction::Kind::busy)
        fail("cadence= applies to tone= and busy only");
      std::tie(play.on_s, play.off_s) = parse_cadence(*cadence);
    }
    if (keys.has("level") && play.kind == PlayAction::Kind::silence) fail("silence has no level");
    if (keys.has("level") && play.kind == PlayAction::Kind::file)
      fail("file= plays at its recorded level; level= is for tone= and busy");
    play.level_dbm0 = parse_level(keys, play.level_dbm0);
    if (const auto* duration = keys.find("duration")) {
      play.duration_s = parse_bounded(*duration, "duration", 0, max_duration_s);
      if (play.duration_s <= 0 && play.kind != PlayAction::Kind::file)
        fail("duration must be above 0 (only file= takes 0 = whole file)");
    } else if (play.kind == PlayAction::Kind::file) {
      play.duration_s = 0;
    }
    return play;
  }

  RawAction raw(const std::vector<Word>& words, std::size_t first) {
    RawAction raw;
    for (std::size_t i = first; i < words.size(); ++i) {
      const Word& word = words[i];
      if (word.has_value) fail("raw takes hex bytes, not " + quoted(word.key + "="));
      const std::string& hex = word.key;
      if (hex.size() > 1 && hex.size() % 2 != 0)
        fail("bad hex " + quoted(hex) + ": write bytes as pairs of hex digits");
      const auto bytes = from_hex(hex.size() == 1 ? "0" + hex : hex);  // one digit is a byte too
      if (!bytes) fail("bad hex byte " + quoted(hex));
      raw.bytes.insert(raw.bytes.end(), bytes->begin(), bytes->end());
      if (raw.bytes.size() > max_transfer_size) fail("raw transfer longer than 64 bytes");
    }
    if (raw.bytes.empty()) fail("raw needs at least one hex byte, as: raw 01 02 ff");
    return raw;
  }

  // Whole-file checks that need every statement: order by time, then
  // replay plug state, stalls and the end time.
  void finish() {
    auto& actions = scenario_.actions;
    std::stable_sort(actions.begin(), actions.end(),
                     [](const Action& a, const Action& b) { return a.at_s < b.at_s; });
    std::map<std::string, bool> plugged;
    for (const auto& box : scenario_.boxes) plugged[box.id] = box.plugged_at_start;
    double end_s = 0;
    const Action* end_action = nullptr;
    const Action* last_stall = nullptr;
    for (const auto& action : actions) {
      if (std::holds_alternative<EndAction>(action.body)) end_action = &action;
    }
    for (const auto& action : actions) {
      line_ = action.source_line;
      if (end_action && action.at_s > end_action->at_s)
        fail("action at " + number_text(action.at_s) + " s comes after 'end' at " + number_text(end_action->at_s) +
             " s (line " + std::to_string(end_action->source_line) + ")");
      if (std::holds_alternative<UnplugAction>(action.body)) {
        if (!plugged[action.box]) fail("box " + quoted(action.box) + " is already unplugged at " +
                                       number_text(action.at_s) + " s");
        plugged[action.box] = false;
      } else if (std::holds_alternative<PlugAction>(action.body)) {
        if (plugged[action.box]) fail("box " + quoted(action.box) + " is already plugged at " +
                                      number_text(action.at_s) + " s");
        plugged[action.box] = true;
      } else if (const auto* stall = std::get_if<StallAction>(&action.body)) {
        if (last_stall) {
          const double over_s = last_stall->at_s + std::get<StallAction>(last_stall->body).duration_s;
          if (action.at_s < over_s)
            fail("stall at " + number_text(action.at_s) + " s starts before the stall of line " +
                 std::to_string(last_stall->source_line) + " is over at " + number_text(over_s) + " s");
        }
        last_stall = &action;
        end_s = std::max(end_s, action.at_s + stall->duration_s);
      }
      end_s = std::max(end_s, action.at_s);
    }
    line_ = 0;
    scenario_.has_end = end_action != nullptr;
    scenario_.end_s = end_action ? end_action->at_s : end_s;
  }

  Scenario scenario_;
  std::map<std::string, BoxState> boxes_;
  double previous_time_ = 0;
  int line_ = 0;
  int has_end_line_ = 0;
  bool seen_statement_ = false;
};

}  // namespace

ParseResult parse(std::string_view text) {
  Parser parser;
  try {
    return ParseResult{parser.parse_all(text), ParseError{}};
  } catch (const Failure& failure) {
    return ParseResult{std::nullopt, ParseError{parser.line(), failure.message}};
  }
}

std::string format_error(const ParseError& error, std::string_view source) {
  std::string text(source);
  if (error.line > 0) text += ":" + std::to_string(error.line);
  return text + ": " + error.message;
}

std::string_view action_name(const ActionBody& body) {
  static constexpr std::string_view names[] = {"ring",     "callerid", "offhook", "onhook", "dial",
                                               "polarity", "play",     "voltage", "unplug", "plug",
                                               "raw",      "garbage",  "end",     "restart", "stall"};
  static_assert(std::size(names) == std::variant_size_v<ActionBody>);
  return names[body.index()];
}

}  // namespace deskline::proto::scenario
