// X800 frames, tested on raw bytes built here by hand (not by the encoder), so
// a mistake shared by encoder and decoder still shows up.
#include "proto/x800.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "proto/bytes.hpp"

namespace deskline::proto::x800 {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes text_bytes(std::string_view text) { return Bytes(text.begin(), text.end()); }

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

// Header as the spec's byte table lays it out, then payload and checksum.
Bytes raw_frame(std::uint8_t type, std::uint16_t sequence, std::uint8_t line, std::uint64_t box_time_us,
                const Bytes& payload, std::uint8_t version = protocol_version) {
  Bytes frame{version, type, static_cast<std::uint8_t>(sequence & 0xFF),
              static_cast<std::uint8_t>(sequence >> 8), line,
              static_cast<std::uint8_t>(payload.size())};
  for (int i = 0; i < 8; ++i) frame.push_back(static_cast<std::uint8_t>(box_time_us >> (8 * i)));
  frame.insert(frame.end(), payload.begin(), payload.end());
  unsigned sum = 0;
  for (auto byte : frame) sum += byte;
  frame.push_back(static_cast<std::uint8_t>(256 - (sum % 256)));
  return frame;
}

// Rewrites the checksum after a test has changed a byte on purpose.
void reseal(Bytes& frame) {
  const std::size_t length = header_size + frame[5];
  unsigned sum = 0;
  for (std::size_t i = 0; i < length; ++i) sum += frame[i];
  frame[length] = static_cast<std::uint8_t>(256 - (sum % 256));
}

// Bytes apart, so a failing comparison shows which one differs.
std::string hex(const Bytes& bytes) { return to_hex(bytes, " "); }

constexpr std::uint8_t type_byte(ReportType type) { return static_cast<std::uint8_t>(type); }
constexpr std::uint8_t type_byte(CommandType type) { return static_cast<std::uint8_t>(type); }

// ---- round trips -----------------------------------------------------------

struct ReportCase {
  std::string name;
  Bytes wire;
  Report value;
};

std::vector<ReportCase> report_cases() {
  const std::uint64_t t = 0x0102030405060708ULL;  // every timestamp byte distinct
  return {
      {"info",
       raw_frame(0x01, 1, 0xFF, t,
                 concat({{4, 0x40, 0x1F, 1, 2, 3, 0x01, 4}, text_bytes("X800"), {9},
                         text_bytes("X800-0001")})),
       Report{1, 0xFF, t, BoxInfo{"X800", "X800-0001", 1, 2, 3, 4, 8000, true}}},
      {"info 16 kHz, 16 lines, no decoder, empty model",
       raw_frame(0x01, 2, 0xFF, t, concat({{16, 0x80, 0x3E, 0, 0, 0, 0x00, 0, 1}, text_bytes("S")})),
       Report{2, 0xFF, t, BoxInfo{"", "S", 0, 0, 0, 16, 16000, false}}},
      {"hook off", raw_frame(0x02, 3, 0, t, {1}), Report{3, 0, t, Hook{true}}},
      {"hook on", raw_frame(0x02, 4, 15, t, {0}), Report{4, 15, t, Hook{false}}},
      {"ring start", raw_frame(0x03, 5, 1, t, {1}), Report{5, 1, t, Ring{true}}},
      {"ring stop", raw_frame(0x03, 6, 1, t, {0}), Report{6, 1, t, Ring{false}}},
      {"polarity reversed", raw_frame(0x04, 7, 2, t, {1}), Report{7, 2, t, Polarity{true}}},
      {"polarity normal", raw_frame(0x04, 8, 2, t, {0}), Report{8, 2, t, Polarity{false}}},
      {"caller id full",
       raw_frame(0x05, 9, 3, t,
                 concat({{0x01, 8}, text_bytes("11271345"), {0x02, 11}, text_bytes("13812345678"),
                         {0x07, 5}, text_bytes("LI NA")})),
       Report{9, 3, t, CallerId{"13812345678", "LI NA", std::nullopt, std::nullopt, "11271345"}}},
      {"caller id private",
       raw_frame(0x05, 10, 0, t, {0x04, 1, 'P', 0x08, 1, 'P'}),
       Report{10, 0, t, CallerId{std::nullopt, std::nullopt, 'P', 'P', std::nullopt}}},
      {"caller id unavailable number only",
       raw_frame(0x05, 11, 0, t, {0x04, 1, 'O'}),
       Report{11, 0, t, CallerId{std::nullopt, std::nullopt, 'O', std::nullopt, std::nullopt}}},
      {"dtmf", raw_frame(0x06, 12, 4, t, {'#', 0x50, 0x00}), Report{12, 4, t, Dtmf{'#', 80}}},
      {"dtmf D long", raw_frame(0x06, 13, 4, t, {'D', 0xE8, 0x03}), Report{13, 4, t, Dtmf{'D', 1000}}},
      {"line voltage -48.0 V", raw_frame(0x07, 14, 5, t, {0x20, 0xFE}),
       Report{14, 5, t, LineVoltage{-480}}},
      {"line voltage +52.3 V", raw_frame(0x07, 15, 5, t, {0x0B, 0x02}),
       Report{15, 5, t, LineVoltage{523}}},
      {"error box-wide", raw_frame(0x08, 16, 0xFF, t, concat({{3}, text_bytes("overrun")})),
       Report{16, 0xFF, t, BoxError{BoxErrorCode::audio_overrun, "overrun"}}},
      {"error on a line, empty message", raw_frame(0x08, 17, 6, t, {4}),
       Report{17, 6, t, BoxError{BoxErrorCode::line_fault, ""}}},
      {"ack keepalive", raw_frame(0x09, 18, 0xFF, t, {0x84, 0x34, 0x12, 0, 0xEF, 0xBE, 0xAD, 0xDE}),
       Report{18, 0xFF, t, Ack{CommandType::keepalive, 0x1234, AckStatus::ok, 0xDEADBEEF}}},
      {"ack unsupported", raw_frame(0x09, 0xFFFF, 0xFF, 0, {0x83, 0x01, 0, 1, 0, 0, 0, 0}),
       Report{0xFFFF, 0xFF, 0, Ack{CommandType::set_caller_id_decoding, 1, AckStatus::unsupported, 0}}},
      {"ack get_line_state for a missing port", raw_frame(0x09, 19, 0xFF, t, {0x85, 0x07, 0, 2, 0, 0, 0, 0}),
       Report{19, 0xFF, t, Ack{CommandType::get_line_state, 7, AckStatus::bad_argument, 0}}},
      {"line state idle", raw_frame(0x0A, 20, 0, t, {0, 0, 0}), Report{20, 0, t, LineState{false, false, false}}},
      {"line state off-hook", raw_frame(0x0A, 21, 15, t, {1, 0, 0}), Report{21, 15, t, LineState{true, false, false}}},
      {"line state ringing", raw_frame(0x0A, 22, 1, t, {0, 1, 0}), Report{22, 1, t, LineState{false, true, false}}},
      {"line state reversed", raw_frame(0x0A, 23, 2, t, {0, 0, 1}), Report{23, 2, t, LineState{false, false, true}}},
      // Answered in the middle of a burst: off-hook before the exchange trips the ringing (x800.md 6.3).
      {"line state all set", raw_frame(0x0A, 24, 3, t, {1, 1, 1}), Report{24, 3, t, LineState{true, true, true}}},
  };
}

TEST(X800Report, EveryTypeDecodesFromRawBytes) {
  for (const auto& test : report_cases()) {
    SCOPED_TRACE(test.name);
    const auto decoded = decode_report(test.wire);
    ASSERT_TRUE(decoded) << to_string(decoded.error);
    EXPECT_EQ(*decoded.value, test.value);
  }
}

TEST(X800Report, EveryTypeEncodesToTheSameRawBytes) {
  for (const auto& test : report_cases()) {
    SCOPED_TRACE(test.name);
    EXPECT_EQ(hex(encode_report(test.value)), hex(test.wire));
  }
}

TEST(X800Report, TableCoversEveryReportType) {
  std::map<ReportType, int> seen;
  for (const auto& test : report_cases()) ++seen[report_type(test.value.body)];
  for (std::uint8_t type = 0x01; type <= 0x0A; ++type)
    EXPECT_GT(seen[static_cast<ReportType>(type)], 0) << to_string(static_cast<ReportType>(type));
}

TEST(X800Report, PaddingAfterTheChecksumIsIgnored) {
  for (const auto& test : report_cases()) {
    SCOPED_TRACE(test.name);
    Bytes padded = test.wire;
    padded.resize(max_frame_size, 0x00);
    auto decoded = decode_report(padded);
    ASSERT_TRUE(decoded) << to_string(decoded.error);
    EXPECT_EQ(*decoded.value, test.value);
    padded.resize(max_frame_size + 16, 0xA5);  // junk padding, even past one packet
    decoded = decode_report(padded);
    ASSERT_TRUE(decoded) << to_string(decoded.error);
    EXPECT_EQ(*decoded.value, test.value);
  }
}

TEST(X800Report, UnknownCallerIdTagsAreSkipped) {
  const auto decoded =
      decode_report(raw_frame(0x05, 1, 0, 0, concat({{0x10, 2, 0xAA, 0xBB, 0x02, 3}, text_bytes("123")})));
  ASSERT_TRUE(decoded) << to_string(decoded.error);
  EXPECT_EQ(std::get<CallerId>(decoded.value->body).number, "123");
}

TEST(X800Report, ToStringNamesEveryType) {
  EXPECT_EQ(to_string(ReportType::caller_id), "caller_id");
  EXPECT_EQ(to_string(ReportType::line_voltage), "line_voltage");
  EXPECT_EQ(to_string(ReportType::line_state), "line_state");
  EXPECT_EQ(to_string(FrameError::bad_checksum), "bad_checksum");
  EXPECT_EQ(to_string(FrameError::bad_line), "bad_line");
}

struct CommandCase {
  std::string name;
  Bytes wire;
  Command value;
};

std::vector<CommandCase> command_cases() {
  return {
      {"get_info", raw_frame(0x81, 1, 0xFF, 0, {}), Command{1, 0xFF, GetInfo{}}},
      {"set_event_mask all", raw_frame(0x82, 2, 0xFF, 0, {0xFE, 0x03}),
       Command{2, 0xFF, SetEventMask{all_events}}},
      {"set_event_mask hook+ring on line 3", raw_frame(0x82, 3, 3, 0, {0x0C, 0x00}),
       Command{3, 3, SetEventMask{static_cast<std::uint16_t>(event_bit(ReportType::hook) |
                                                             event_bit(ReportType::ring))}}},
      {"caller id decoding on", raw_frame(0x83, 4, 0xFF, 0, {1}), Command{4, 0xFF, SetCallerIdDecoding{true}}},
      {"caller id decoding off, port 1", raw_frame(0x83, 5, 0, 0, {0}), Command{5, 0, SetCallerIdDecoding{false}}},
      {"keepalive", raw_frame(0x84, 0xFFFF, 0xFF, 0, {0x78, 0x56, 0x34, 0x12}),
       Command{0xFFFF, 0xFF, Keepalive{0x12345678}}},
      {"get_line_state every port", raw_frame(0x85, 6, 0xFF, 0, {}), Command{6, 0xFF, GetLineState{}}},
      {"get_line_state port 16", raw_frame(0x85, 7, 15, 0, {}), Command{7, 15, GetLineState{}}},
  };
}

TEST(X800Command, EveryTypeRoundTrips) {
  for (const auto& test : command_cases()) {
    SCOPED_TRACE(test.name);
    const auto decoded = decode_command(test.wire);
    ASSERT_TRUE(decoded) << to_string(decoded.error);
    EXPECT_EQ(*decoded.value, test.value);
    EXPECT_EQ(hex(encode_command(test.value)), hex(test.wire));
    Bytes padded = test.wire;
    padded.resize(max_frame_size, 0);
    EXPECT_TRUE(decode_command(padded));
  }
}

TEST(X800Command, TableCoversEveryCommandType) {
  std::map<CommandType, int> seen;
  for (const auto& test : command_cases()) ++seen[command_type(test.value.body)];
  for (std::uint8_t type = 0x81; type <= 0x85; ++type) EXPECT_GT(seen[static_cast<CommandType>(type)], 0) << int{type};
}

TEST(X800Command, BoxIgnoresTheTimestampOfACommand) {
  const auto decoded = decode_command(raw_frame(0x81, 9, 0xFF, 123456, {}));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded.value, (Command{9, 0xFF, GetInfo{}}));
}

TEST(X800Command, EventBitsFollowTheReportTypeNumbers) {
  EXPECT_EQ(event_bit(ReportType::info), 0x0002);
  EXPECT_EQ(event_bit(ReportType::hook), 0x0004);
  EXPECT_EQ(event_bit(ReportType::ack), 0x0200);
  std::uint16_t all = 0;
  for (std::uint8_t type = 0x01; type <= 0x09; ++type) all |= event_bit(static_cast<ReportType>(type));
  EXPECT_EQ(all, all_events);
}

// ---- FrameError paths --------------------------------------------------------

TEST(X800FrameError, EveryPrefixOfAFrameIsTruncated) {
  for (const auto& test : report_cases()) {
    SCOPED_TRACE(test.name);
    for (std::size_t length = 0; length < test.wire.size(); ++length) {
      const auto decoded = decode_report(std::span(test.wire).first(length));
      ASSERT_FALSE(decoded) << "prefix " << length;
      EXPECT_EQ(decoded.error, FrameError::truncated) << "prefix " << length;
    }
  }
  for (const auto& test : command_cases()) {
    SCOPED_TRACE(test.name);
    for (std::size_t length = 0; length < test.wire.size(); ++length)
      EXPECT_EQ(decode_command(std::span(test.wire).first(length)).error, FrameError::truncated);
  }
}

TEST(X800FrameError, BadVersion) {
  for (std::uint8_t version : {0x00, 0x02, 0xFF}) {
    const Bytes report = raw_frame(0x02, 1, 0, 0, {1}, version);
    EXPECT_EQ(decode_report(report).error, FrameError::bad_version);
    const Bytes command = raw_frame(0x81, 1, 0xFF, 0, {}, version);
    EXPECT_EQ(decode_command(command).error, FrameError::bad_version);
  }
}

TEST(X800FrameError, LengthBeyond49IsBadLength) {
  Bytes frame = raw_frame(0x08, 1, 0xFF, 0, Bytes(49, 'a'));  // 49: the largest legal payload
  frame[header_size] = 1;  // error code 1, then 48 bytes of message
  reseal(frame);
  ASSERT_TRUE(decode_report(frame)) << to_string(decode_report(frame).error);
  for (std::uint8_t length : {50, 51, 0x80, 0xFF}) {
    Bytes bad = frame;
    bad.resize(300, 0);  // enough bytes behind it: the length itself is the fault
    bad[5] = length;
    EXPECT_EQ(decode_report(bad).error, FrameError::bad_length) << int{length};
    bad[1] = 0x81;
    EXPECT_EQ(decode_command(bad).error, FrameError::bad_length) << int{length};
  }
}

TEST(X800FrameError, BadChecksum) {
  for (const auto& test : report_cases()) {
    SCOPED_TRACE(test.name);
    for (std::size_t position = 0; position < test.wire.size(); ++position) {
      if (position == 0 || position == 5) continue;  // version and length fail earlier
      Bytes broken = test.wire;
      broken[position] ^= 0x01;
      EXPECT_EQ(decode_report(broken).error, FrameError::bad_checksum) << "byte " << position;
    }
  }
  Bytes command = raw_frame(0x84, 1, 0xFF, 0, {1, 2, 3, 4});
  command.back() ^= 0x80;
  EXPECT_EQ(decode_command(command).error, FrameError::bad_checksum);
}

TEST(X800FrameError, UnknownReportType) {
  for (std::uint8_t type : {0x00, 0x0B, 0x7F, 0x80, 0x81, 0x84, 0x85, 0xFF})
    EXPECT_EQ(decode_report(raw_frame(type, 1, 0xFF, 0, {})).error, FrameError::unknown_type)
        << int{type};
}

TEST(X800FrameError, UnknownCommandType) {
  for (std::uint8_t type : {0x00, 0x01, 0x09, 0x0A, 0x80, 0x86, 0xFF})
    EXPECT_EQ(decode_command(raw_frame(type, 1, 0xFF, 0, {})).error, FrameError::unknown_type)
        << int{type};
}

struct BadPayloadCase {
  std::string name;
  ReportType type;
  std::uint8_t line;
  Bytes payload;
};

TEST(X800FrameError, BadReportPayload) {
  const Bytes info_tail = concat({{1, 2, 3, 0x01, 4}, text_bytes("X800"), {4}, text_bytes("S001")});
  const std::vector<BadPayloadCase> cases = {
      {"info empty", ReportType::info, 0xFF, {}},
      {"info 0 lines", ReportType::info, 0xFF, concat({{0, 0x40, 0x1F}, info_tail})},
      {"info 17 lines", ReportType::info, 0xFF, concat({{17, 0x40, 0x1F}, info_tail})},
      {"info rate 11025", ReportType::info, 0xFF, concat({{4, 0x11, 0x2B}, info_tail})},
      {"info rate 0", ReportType::info, 0xFF, concat({{4, 0, 0}, info_tail})},
      {"info empty serial", ReportType::info, 0xFF,
       concat({{4, 0x40, 0x1F, 1, 2, 3, 0, 4}, text_bytes("X800"), {0}})},
      {"info serial with control char", ReportType::info, 0xFF,
       concat({{4, 0x40, 0x1F, 1, 2, 3, 0, 4}, text_bytes("X800"), {2, 'S', '\n'}})},
      {"info model not printable", ReportType::info, 0xFF,
       concat({{4, 0x40, 0x1F, 1, 2, 3, 0, 2, 0xC3, 0xA9, 4}, text_bytes("S001")})},
      {"info serial length past payload", ReportType::info, 0xFF,
       concat({{4, 0x40, 0x1F, 1, 2, 3, 0, 4}, text_bytes("X800"), {9}, text_bytes("S001")})},
      {"info trailing byte", ReportType::info, 0xFF, concat({{4, 0x40, 0x1F}, info_tail, {0}})},
      {"hook value 2", ReportType::hook, 0, {2}},
      {"hook empty", ReportType::hook, 0, {}},
      {"hook two bytes", ReportType::hook, 0, {1, 0}},
      {"ring value 0xFF", ReportType::ring, 0, {0xFF}},
      {"ring empty", ReportType::ring, 0, {}},
      {"polarity value 2", ReportType::polarity, 0, {2}},
      {"polarity two bytes", ReportType::polarity, 0, {0, 0}},
      {"caller id empty", ReportType::caller_id, 0, {}},
      {"caller id only unknown tags", ReportType::caller_id, 0, {0x10, 1, 'x'}},
      {"caller id duplicate number", ReportType::caller_id, 0,
       {0x02, 3, '1', '2', '3', 0x02, 3, '4', '5', '6'}},
      {"caller id duplicate name", ReportType::caller_id, 0, {0x07, 1, 'A', 0x07, 1, 'B'}},
      {"caller id duplicate datetime", ReportType::caller_id, 0,
       concat({{0x01, 8}, text_bytes("11271345"), {0x01, 8}, text_bytes("11271345")})},
      {"caller id duplicate absence", ReportType::caller_id, 0, {0x04, 1, 'P', 0x04, 1, 'P'}},
      {"caller id absence 'X'", ReportType::caller_id, 0, {0x04, 1, 'X'}},
      {"caller id absence two chars", ReportType::caller_id, 0, {0x04, 2, 'P', 'P'}},
      {"caller id absence empty", ReportType::caller_id, 0, {0x04, 0}},
      {"caller id name absence 'p'", ReportType::caller_id, 0, {0x08, 1, 'p'}},
      {"caller id empty number", ReportType::caller_id, 0, {0x02, 0}},
      {"caller id number with letter", ReportType::caller_id, 0, {0x02, 3, '1', 'x', '3'}},
      {"caller id number of 33 digits", ReportType::caller_id, 0, concat({{0x02, 33}, Bytes(33, '5')})},
      {"caller id empty name", ReportType::caller_id, 0, {0x07, 0}},
      {"caller id name with control char", ReportType::caller_id, 0, {0x07, 2, 'A', 0x07}},
      {"caller id datetime 7 digits", ReportType::caller_id, 0,
       concat({{0x01, 7}, text_bytes("1127134")})},
      {"caller id datetime not digits", ReportType::caller_id, 0,
       concat({{0x01, 8}, text_bytes("1127134a")})},
      {"caller id tag without length", ReportType::caller_id, 0, {0x02}},
      {"caller id length past payload", ReportType::caller_id, 0, {0x02, 5, '1', '2'}},
      {"dtmf digit x", ReportType::dtmf, 0, {'x', 80, 0}},
      {"dtmf digit a (lower case)", ReportType::dtmf, 0, {'a', 80, 0}},
      {"dtmf digit E", ReportType::dtmf, 0, {'E', 80, 0}},
      {"dtmf digit NUL", ReportType::dtmf, 0, {0, 80, 0}},
      {"dtmf short", ReportType::dtmf, 0, {'1', 80}},
      {"dtmf long", ReportType::dtmf, 0, {'1', 80, 0, 0}},
      {"line voltage short", ReportType::line_voltage, 0, {0x20}},
      {"line voltage long", ReportType::line_voltage, 0, {0x20, 0xFE, 0}},
      {"error empty", ReportType::error, 0xFF, {}},
      {"error code 0", ReportType::error, 0xFF, {0}},
      {"error code 5", ReportType::error, 0xFF, {5}},
      {"error message not printable", ReportType::error, 0xFF, {1, 'o', 0x00, 'k'}},
      {"ack short", ReportType::ack, 0xFF, {0x84, 1, 0, 0, 0, 0, 0}},
      {"ack long", ReportType::ack, 0xFF, {0x84, 1, 0, 0, 0, 0, 0, 0, 0}},
      {"ack of a report type", ReportType::ack, 0xFF, {0x02, 1, 0, 0, 0, 0, 0, 0}},
      {"ack of command 0x86", ReportType::ack, 0xFF, {0x86, 1, 0, 0, 0, 0, 0, 0}},
      {"ack status 3", ReportType::ack, 0xFF, {0x84, 1, 0, 3, 0, 0, 0, 0}},
      {"line state empty", ReportType::line_state, 0, {}},
      {"line state without ringing and polarity", ReportType::line_state, 0, {1}},
      {"line state without polarity", ReportType::line_state, 0, {1, 0}},
      {"line state trailing byte", ReportType::line_state, 0, {1, 0, 0, 0}},
      {"line state off_hook 2", ReportType::line_state, 0, {2, 0, 0}},
      {"line state ringing 2", ReportType::line_state, 0, {0, 2, 0}},
      {"line state reversed 0xFF", ReportType::line_state, 0, {0, 0, 0xFF}},
  };
  for (const auto& test : cases) {
    SCOPED_TRACE(test.name);
    const auto decoded = decode_report(raw_frame(type_byte(test.type), 1, test.line, 0, test.payload));
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.error, FrameError::bad_payload);
  }
}

TEST(X800FrameError, BadCommandPayload) {
  const std::vector<std::pair<CommandType, Bytes>> cases = {
      {CommandType::get_info, {0}},
      {CommandType::set_event_mask, {}},
      {CommandType::set_event_mask, {0xFE}},
      {CommandType::set_event_mask, {0xFE, 0x03, 0}},
      {CommandType::set_caller_id_decoding, {}},
      {CommandType::set_caller_id_decoding, {2}},
      {CommandType::set_caller_id_decoding, {1, 0}},
      {CommandType::keepalive, {}},
      {CommandType::keepalive, {1, 2, 3}},
      {CommandType::keepalive, {1, 2, 3, 4, 5}},
      {CommandType::get_line_state, {0}},
  };
  for (const auto& [type, payload] : cases) {
    SCOPED_TRACE(hex(payload));
    const auto decoded = decode_command(raw_frame(type_byte(type), 1, 0xFF, 0, payload));
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.error, FrameError::bad_payload);
  }
}

TEST(X800FrameError, PerLineReportsNeedALineBelow16) {
  const std::vector<std::pair<ReportType, Bytes>> per_line = {
      {ReportType::hook, {1}},          {ReportType::ring, {1}},
      {ReportType::polarity, {1}},      {ReportType::caller_id, {0x04, 1, 'P'}},
      {ReportType::dtmf, {'5', 80, 0}}, {ReportType::line_voltage, {0x20, 0xFE}},
      {ReportType::line_state, {1, 0, 0}},
  };
  for (const auto& [type, payload] : per_line) {
    SCOPED_TRACE(to_string(type));
    EXPECT_TRUE(decode_report(raw_frame(type_byte(type), 1, 0, 0, payload)));
    EXPECT_TRUE(decode_report(raw_frame(type_byte(type), 1, 15, 0, payload)));
    for (std::uint8_t line : {16, 0x80, 0xFE, 0xFF})
      EXPECT_EQ(decode_report(raw_frame(type_byte(type), 1, line, 0, payload)).error, FrameError::bad_line)
          << int{line};
  }
}

TEST(X800FrameError, BoxWideReportsNeedLineFF) {
  const Bytes info = concat({{4, 0x40, 0x1F, 1, 0, 0, 0, 4}, text_bytes("X800"), {4}, text_bytes("S001")});
  const Bytes ack = {0x84, 1, 0, 0, 0, 0, 0, 0};
  for (std::uint8_t line : {0, 1, 15, 16, 0xFE}) {
    EXPECT_EQ(decode_report(raw_frame(0x01, 1, line, 0, info)).error, FrameError::bad_line) << int{line};
    EXPECT_EQ(decode_report(raw_frame(0x09, 1, line, 0, ack)).error, FrameError::bad_line) << int{line};
  }
}

TEST(X800FrameError, ErrorReportsAreBoxWideOrPerLine) {
  for (std::uint8_t line : {0, 15, 0xFF})
    EXPECT_TRUE(decode_report(raw_frame(0x08, 1, line, 0, {1}))) << int{line};
  for (std::uint8_t line : {16, 0xFE})
    EXPECT_EQ(decode_report(raw_frame(0x08, 1, line, 0, {1})).error, FrameError::bad_line) << int{line};
}

TEST(X800FrameError, CommandLines) {
  // Box-wide only.
  for (std::uint8_t line : {0, 15, 16, 0xFE}) {
    EXPECT_EQ(decode_command(raw_frame(0x81, 1, line, 0, {})).error, FrameError::bad_line) << int{line};
    EXPECT_EQ(decode_command(raw_frame(0x84, 1, line, 0, {0, 0, 0, 0})).error, FrameError::bad_line)
        << int{line};
  }
  // One port or the whole box.
  for (std::uint8_t line : {0, 15, 0xFF}) {
    EXPECT_TRUE(decode_command(raw_frame(0x82, 1, line, 0, {0xFE, 0x03}))) << int{line};
    EXPECT_TRUE(decode_command(raw_frame(0x83, 1, line, 0, {1}))) << int{line};
    EXPECT_TRUE(decode_command(raw_frame(0x85, 1, line, 0, {}))) << int{line};
  }
  for (std::uint8_t line : {16, 0xFE}) {
    EXPECT_EQ(decode_command(raw_frame(0x82, 1, line, 0, {0xFE, 0x03})).error, FrameError::bad_line);
    EXPECT_EQ(decode_command(raw_frame(0x83, 1, line, 0, {1})).error, FrameError::bad_line);
    EXPECT_EQ(decode_command(raw_frame(0x85, 1, line, 0, {})).error, FrameError::bad_line);
  }
}

TEST(X800FrameError, ReportAndCommandDecodersRefuseEachOther) {
  EXPECT_EQ(decode_report(raw_frame(0x84, 1, 0xFF, 0, {1, 2, 3, 4})).error, FrameError::unknown_type);
  EXPECT_EQ(decode_command(raw_frame(0x02, 1, 0, 0, {1})).error, FrameError::unknown_type);
}

// ---- encoder limits ----------------------------------------------------------

TEST(X800Encode, OversizedPayloadThrows) {
  Report report{1, 0xFF, 0, BoxError{BoxErrorCode::internal, std::string(48, 'm')}};
  EXPECT_EQ(encode_report(report).size(), max_frame_size);
  std::get<BoxError>(report.body).message += 'm';
  EXPECT_THROW(encode_report(report), std::length_error);
  Report caller{1, 0, 0, CallerId{std::string(300, '1'), std::nullopt, std::nullopt, std::nullopt, std::nullopt}};
  EXPECT_THROW(encode_report(caller), std::length_error);
}

TEST(X800Encode, ChecksumMakesTheFrameSumToZero) {
  for (const auto& test : report_cases()) {
    unsigned sum = 0;
    for (auto byte : encode_report(test.value)) sum += byte;
    EXPECT_EQ(sum % 256, 0u) << test.name;
  }
}

// ---- sequence numbers --------------------------------------------------------

TEST(X800Sequence, InOrderHasNoGaps) {
  SequenceTracker tracker;
  EXPECT_EQ(tracker.observe(500).lost, 0);  // first report never counts as a gap
  for (std::uint16_t sequence = 501; sequence < 600; ++sequence) EXPECT_EQ(tracker.observe(sequence).lost, 0);
}

TEST(X800Sequence, GapsCountTheMissingReports) {
  SequenceTracker tracker;
  tracker.observe(10);
  EXPECT_EQ(tracker.observe(12).lost, 1);
  EXPECT_EQ(tracker.observe(13).lost, 0);
  EXPECT_EQ(tracker.observe(20).lost, 6);
  EXPECT_EQ(tracker.observe(20 + 0x8001).lost, 0x8000);  // largest gap still told from a step back
}

TEST(X800Sequence, WrapsFrom65535To0) {
  SequenceTracker tracker;
  tracker.observe(65534);
  EXPECT_EQ(tracker.observe(65535).lost, 0);
  EXPECT_EQ(tracker.observe(0).lost, 0);
  EXPECT_EQ(tracker.observe(1).lost, 0);
  tracker.observe(65535);
  EXPECT_EQ(tracker.observe(2).lost, 2);  // 0 and 1 lost across the wrap
}

TEST(X800Sequence, RepeatsAndStepsBackAreNotGapsButAreTold) {
  SequenceTracker tracker;
  EXPECT_FALSE(tracker.observe(100).out_of_order);
  EXPECT_EQ(tracker.observe(100).lost, 0);
  EXPECT_TRUE(tracker.observe(100).out_of_order);  // a repeat
  const auto back = tracker.observe(99);
  EXPECT_EQ(back.lost, 0);
  EXPECT_TRUE(back.out_of_order);
  EXPECT_TRUE(tracker.observe(0).out_of_order);  // box restarted
  EXPECT_FALSE(tracker.observe(1).out_of_order);  // and counting continues from there
  EXPECT_EQ(tracker.observe(3).lost, 1);
  EXPECT_FALSE(tracker.observe(4).out_of_order);
}

TEST(X800Sequence, ResetForgetsThePreviousNumber) {
  SequenceTracker tracker;
  tracker.observe(7);
  tracker.reset();
  EXPECT_EQ(tracker.observe(4000).lost, 0);
  EXPECT_EQ(tracker.observe(4002).lost, 1);
}

// ---- worked examples in proto/x800.md ------------------------------------------

// Hex dump that follows "<!-- example: NAME -->" in the spec, in its ```text block.
Bytes example_from_spec(const std::string& name) {
  std::ifstream file(std::string(DESKLINE_SOURCE_DIR) + "/proto/x800.md");
  EXPECT_TRUE(file) << "cannot read proto/x800.md";
  std::stringstream buffer;
  buffer << file.rdbuf();
  const std::string spec = buffer.str();
  const std::string marker = "<!-- example: " + name + " -->";
  auto start = spec.find(marker);
  EXPECT_NE(start, std::string::npos) << marker;
  if (start == std::string::npos) return {};
  start = spec.find("```text\n", start);
  const auto end = spec.find("```", start + 8);
  std::istringstream dump(spec.substr(start + 8, end - start - 8));
  Bytes bytes;
  std::string line;
  while (std::getline(dump, line)) {
    // "0000  01 03 ..." : offset, then up to 16 bytes
    std::istringstream fields(line.substr(0, line.find('|')));
    std::string field;
    fields >> field;  // offset
    while (fields >> field) bytes.push_back(static_cast<std::uint8_t>(std::stoul(field, nullptr, 16)));
  }
  return bytes;
}

struct SpecExample {
  std::string name;
  std::variant<Report, Command> value;
};

std::vector<SpecExample> spec_examples() {
  return {
      {"ring_start_port1", Report{0x002A, 0, 12'500'000, Ring{true}}},
      {"caller_id_port2",
       Report{0x002B, 1, 14'250'000, CallerId{"13812345678", "LI NA", std::nullopt, std::nullopt, "11271345"}}},
      {"get_info", Command{0x0001, 0xFF, GetInfo{}}},
      {"info", Report{0x0000, 0xFF, 1'520'000, BoxInfo{"X800", "X800-0001", 1, 4, 2, 4, 8000, true}}},
      {"keepalive", Command{0x0007, 0xFF, Keepalive{0x5EED0007}}},
      {"ack_keepalive", Report{0x0031, 0xFF, 30'000'125, Ack{CommandType::keepalive, 0x0007, AckStatus::ok, 0x5EED0007}}},
      {"get_line_state", Command{0x0002, 0xFF, GetLineState{}}},
      {"line_state_port1", Report{0x0002, 0, 1'530'000, LineState{true, false, false}}},
      {"line_state_port2", Report{0x0003, 1, 1'530'000, LineState{false, true, true}}},
  };
}

TEST(X800SpecExamples, HexDumpsMatchTheEncoder) {
  for (const auto& example : spec_examples()) {
    SCOPED_TRACE(example.name);
    const Bytes encoded = std::holds_alternative<Report>(example.value)
                              ? encode_report(std::get<Report>(example.value))
                              : encode_command(std::get<Command>(example.value));
    const Bytes documented = example_from_spec(example.name);
    EXPECT_EQ(hex(documented), hex(encoded));
    if (std::holds_alternative<Report>(example.value)) {
      const auto decoded = decode_report(documented);
      ASSERT_TRUE(decoded) << to_string(decoded.error);
      EXPECT_EQ(*decoded.value, std::get<Report>(example.value));
    } else {
      const auto decoded = decode_command(documented);
      ASSERT_TRUE(decoded) << to_string(decoded.error);
      EXPECT_EQ(*decoded.value, std::get<Command>(example.value));
    }
  }
}

}  // namespace
}  // namespace deskline::proto::x800
