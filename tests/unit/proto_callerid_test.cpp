// Caller-ID messages: table-driven over raw frames (SDMF, MDMF) and DTMF strings.
#include "proto/callerid.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <set>
#include <string>
#include <vector>

namespace deskline::proto::callerid {

// Readable messages in failures. Outside the anonymous namespace so that
// gtest finds it by argument-dependent lookup; static keeps it to this file.
static void PrintTo(const Message& message, std::ostream* stream) {
  auto& out = *stream;
  out << (message.format == Format::sdmf ? "SDMF" : "MDMF");
  if (message.datetime) out << " datetime=" << *message.datetime;
  if (message.number) out << " number=" << *message.number;
  if (message.number_absence) out << " number_absence=" << *message.number_absence;
  if (message.name) out << " name='" << *message.name << "'";
  if (message.name_absence) out << " name_absence=" << *message.name_absence;
}

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes text_bytes(std::string_view text) { return Bytes(text.begin(), text.end()); }

// Type, length, body and a correct checksum, for hand-built frames.
Bytes framed(std::uint8_t type, const Bytes& body) {
  Bytes frame;
  frame.reserve(body.size() + 3);
  frame.push_back(type);
  frame.push_back(static_cast<std::uint8_t>(body.size()));
  frame.insert(frame.end(), body.begin(), body.end());
  unsigned sum = 0;
  for (const auto byte : frame) sum += byte;
  frame.push_back(static_cast<std::uint8_t>(-sum));
  return frame;
}

Bytes parameter(std::uint8_t type, std::string_view value) {
  // Built byte by byte: g++ 12 -O2 misreports insert() after a 2-element list (-Warray-bounds).
  Bytes out;
  out.reserve(value.size() + 2);
  out.push_back(type);
  out.push_back(static_cast<std::uint8_t>(value.size()));
  for (const char c : value) out.push_back(static_cast<std::uint8_t>(c));
  return out;
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

Message sdmf(std::optional<std::string> datetime, std::optional<std::string> number,
             std::optional<char> absence = std::nullopt) {
  Message message;
  message.format = Format::sdmf;
  message.datetime = std::move(datetime);
  message.number = std::move(number);
  message.number_absence = absence;
  return message;
}

Message mdmf(std::optional<std::string> datetime, std::optional<std::string> number,
             std::optional<std::string> name, std::optional<char> number_absence = std::nullopt,
             std::optional<char> name_absence = std::nullopt) {
  Message message;
  message.datetime = std::move(datetime);
  message.number = std::move(number);
  message.name = std::move(name);
  message.number_absence = number_absence;
  message.name_absence = name_absence;
  return message;
}

// ---- round trips -------------------------------------------------------------

TEST(ProtoCallerId, RoundTrips) {
  const std::vector<Message> messages{
      sdmf("03151230", "13812345678"),
      sdmf("12312359", "5551234567"),
      sdmf("01010000", std::nullopt, 'P'),
      sdmf("06301200", std::nullopt, 'O'),
      sdmf("02290001", "+862512345678"),
      mdmf("03151230", "13812345678", "ZHANG SAN"),
      mdmf(std::nullopt, "01062345678", std::nullopt),
      mdmf(std::nullopt, std::nullopt, "RECEPTION"),
      mdmf("11110911", std::nullopt, std::nullopt, 'P', 'P'),
      mdmf("11110911", std::nullopt, std::nullopt, 'O', 'O'),
      mdmf(std::nullopt, "441632960123", std::nullopt, std::nullopt, 'P'),
      mdmf("01020304", "*31#", "ABCDEFGHIJKLMNOP"),         // 16 characters, the limit
      mdmf(std::nullopt, "12345678901234567890", " A  B "),  // 20 digits, spaces kept
      mdmf(std::nullopt, "1", "~!@#$%^&*()_+{}|"),
  };
  for (const auto& message : messages) {
    SCOPED_TRACE(testing::PrintToString(message));
    const auto bytes = encode(message);
    const auto parsed = parse(bytes);
    ASSERT_TRUE(parsed) << to_string(parsed.error);
    EXPECT_EQ(*parsed.message, message);
    EXPECT_EQ(parsed.consumed, bytes.size());
    unsigned sum = 0;
    for (const auto byte : bytes) sum += byte;
    EXPECT_EQ(sum % 256, 0u);
  }
}

TEST(ProtoCallerId, WorkedExamplesFromCalleridMd) {
  // The hex in proto/callerid.md comes from these two encodings.
  const Bytes expected_mdmf{0x80, 0x22, 0x01, 0x08, 0x30, 0x33, 0x31, 0x35, 0x31, 0x32, 0x33, 0x30, 0x02,
                            0x0B, 0x31, 0x33, 0x38, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x07,
                            0x09, 0x5A, 0x48, 0x41, 0x4E, 0x47, 0x20, 0x53, 0x41, 0x4E, 0xEF};
  EXPECT_EQ(encode(mdmf("03151230", "13812345678", "ZHANG SAN")), expected_mdmf);
  const Bytes expected_sdmf{0x04, 0x13, 0x30, 0x33, 0x31, 0x35, 0x31, 0x32, 0x33, 0x30, 0x31, 0x33,
                            0x38, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x1A};
  EXPECT_EQ(encode(sdmf("03151230", "13812345678")), expected_sdmf);
  EXPECT_EQ(encode(sdmf("01010000", std::nullopt, 'P')), framed(0x04, text_bytes("01010000P")));
}

TEST(ProtoCallerId, SdmfWithoutDatetimeSendsTheDefault) {
  const auto parsed = parse(encode(sdmf(std::nullopt, "62345678")));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed.message->datetime, "01010000");
  EXPECT_EQ(parsed.message->number, "62345678");
}

TEST(ProtoCallerId, ParsesAFrameAndIgnoresWhatFollows) {
  auto bytes = encode(mdmf(std::nullopt, "123", std::nullopt));
  const auto frame_size = bytes.size();
  bytes.insert(bytes.end(), {0x55, 0x55, 0x80});
  const auto parsed = parse(bytes);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed.consumed, frame_size);
}

TEST(ProtoCallerId, EncodeRefusesWhatTheWireCannotCarry) {
  EXPECT_THROW(encode(mdmf(std::nullopt, "1", "ABCDEFGHIJKLMNOPQ")), std::length_error);  // 17
  EXPECT_THROW(encode(mdmf(std::nullopt, "123456789012345678901", std::nullopt)), std::length_error);
  EXPECT_THROW(encode(mdmf(std::nullopt, "", std::nullopt)), std::invalid_argument);
  EXPECT_THROW(encode(mdmf(std::nullopt, "12A4", std::nullopt)), std::invalid_argument);
  EXPECT_THROW(encode(mdmf(std::nullopt, "1", "")), std::invalid_argument);
  EXPECT_THROW(encode(mdmf(std::nullopt, "1", "TAB\tNAME")), std::invalid_argument);
  EXPECT_THROW(encode(mdmf("0315123", "1", std::nullopt)), std::invalid_argument);
  EXPECT_THROW(encode(mdmf("0315123X", "1", std::nullopt)), std::invalid_argument);
  EXPECT_THROW(encode(mdmf(std::nullopt, std::nullopt, std::nullopt, 'X')), std::invalid_argument);
  EXPECT_THROW(encode(mdmf(std::nullopt, "1", std::nullopt, std::nullopt, 'p')), std::invalid_argument);
  EXPECT_THROW(encode(mdmf("03151230", std::nullopt, std::nullopt)), std::invalid_argument);  // empty
  EXPECT_THROW(encode(sdmf("03151230", std::nullopt)), std::invalid_argument);
  EXPECT_THROW(encode(sdmf("03151230", "123", 'P')), std::invalid_argument);
  auto named_sdmf = sdmf("03151230", "123");
  named_sdmf.name = "NO NAMES";
  EXPECT_THROW(encode(named_sdmf), std::invalid_argument);
  auto bad_format = mdmf(std::nullopt, "1", std::nullopt);
  bad_format.format = static_cast<Format>(0x06);
  EXPECT_THROW(encode(bad_format), std::invalid_argument);
}

// ---- refusals ----------------------------------------------------------------

struct BadFrame {
  const char* name;
  Bytes bytes;
  Error error;
};

void PrintTo(const BadFrame& bad, std::ostream* out) { *out << bad.name; }

std::vector<BadFrame> bad_frames() {
  const auto number = parameter(0x02, "13812345678");
  return {
      {"empty_input", {}, Error::truncated},
      {"type_only", {0x80}, Error::truncated},
      {"body_short_of_length", {0x80, 0x05, 0x02, 0x01, 0x31}, Error::truncated},
      {"sdmf_message_waiting", framed(0x06, text_bytes("0315123012")), Error::unknown_type},
      {"mdmf_message_waiting", framed(0x82, parameter(0x0B, "\xff")), Error::unknown_type},
      {"zero_type", framed(0x00, number), Error::unknown_type},
      {"text_not_a_frame", text_bytes("RING"), Error::unknown_type},
      {"checksum_off_by_one", [&] { auto b = framed(0x80, number); ++b.back(); return b; }(), Error::bad_checksum},
      {"body_byte_flipped", [&] { auto b = framed(0x80, number); b[5] ^= 0x01; return b; }(), Error::bad_checksum},
      {"checksum_missing_sum", concat({Bytes{0x80, 0x0D}, number, Bytes{0x00}}), Error::bad_checksum},
      {"sdmf_empty_body", framed(0x04, {}), Error::empty},
      {"sdmf_datetime_only", framed(0x04, text_bytes("03151230")), Error::empty},
      {"sdmf_short_datetime", framed(0x04, text_bytes("031512")), Error::bad_field},
      {"sdmf_datetime_not_digits", framed(0x04, text_bytes("0315 2301234")), Error::bad_field},
      {"sdmf_number_letters", framed(0x04, text_bytes("03151230555CALL")), Error::bad_field},
      {"sdmf_absence_unknown", framed(0x04, text_bytes("03151230X")), Error::bad_field},
      {"sdmf_absence_lowercase", framed(0x04, text_bytes("03151230p")), Error::bad_field},
      {"sdmf_number_21_digits", framed(0x04, text_bytes("03151230123456789012345678901")), Error::bad_field},
      {"mdmf_empty_body", framed(0x80, {}), Error::empty},
      {"mdmf_datetime_only", framed(0x80, parameter(0x01, "03151230")), Error::empty},
      {"mdmf_unknown_only", framed(0x80, parameter(0x11, "\x01")), Error::empty},
      {"mdmf_datetime_7", framed(0x80, concat({parameter(0x01, "0315123"), number})), Error::bad_field},
      {"mdmf_datetime_letters", framed(0x80, concat({parameter(0x01, "0315123A"), number})), Error::bad_field},
      {"mdmf_number_empty", framed(0x80, parameter(0x02, "")), Error::bad_field},
      {"mdmf_number_letters", framed(0x80, parameter(0x02, "1380013800A")), Error::bad_field},
      {"mdmf_number_21", framed(0x80, parameter(0x02, "123456789012345678901")), Error::bad_field},
      {"mdmf_absence_two_bytes", framed(0x80, parameter(0x04, "PP")), Error::bad_field},
      {"mdmf_absence_unknown", framed(0x80, parameter(0x04, "C")), Error::bad_field},
      {"mdmf_absence_empty", framed(0x80, parameter(0x04, "")), Error::bad_field},
      {"mdmf_name_empty", framed(0x80, concat({number, parameter(0x07, "")})), Error::bad_field},
      {"mdmf_name_absence_unknown", framed(0x80, concat({number, parameter(0x08, "Z")})), Error::bad_field},
      {"mdmf_parameter_past_body", framed(0x80, concat({number, Bytes{0x07, 0x05, 'A', 'B'}})), Error::bad_field},
      {"mdmf_type_without_length", framed(0x80, concat({number, Bytes{0x07}})), Error::bad_field},
  };
}

class ProtoCallerIdRefusal : public testing::TestWithParam<BadFrame> {};

TEST_P(ProtoCallerIdRefusal, NeverReturnsAPartialMessage) {
  const auto parsed = parse(GetParam().bytes);
  EXPECT_FALSE(parsed);
  EXPECT_FALSE(parsed.message.has_value());
  EXPECT_EQ(parsed.error, GetParam().error) << to_string(parsed.error);
}

INSTANTIATE_TEST_SUITE_P(RawFrames, ProtoCallerIdRefusal, testing::ValuesIn(bad_frames()),
                         [](const testing::TestParamInfo<BadFrame>& info) { return std::string(info.param.name); });

TEST(ProtoCallerId, EveryPrefixIsTruncated) {
  for (const auto& message : {mdmf("03151230", "13812345678", "ZHANG SAN"), sdmf("03151230", "5551234567")}) {
    const auto bytes = encode(message);
    for (std::size_t length = 0; length < bytes.size(); ++length) {
      const auto parsed = parse(std::span(bytes).first(length));
      EXPECT_FALSE(parsed) << "prefix of " << length;
      EXPECT_EQ(parsed.error, Error::truncated) << "prefix of " << length;
      EXPECT_EQ(parsed.consumed, 0u);
    }
  }
}

TEST(ProtoCallerId, EveryCorruptChecksumIsRejected) {
  const auto good = encode(mdmf("03151230", "13812345678", "ZHANG SAN"));
  for (int value = 0; value < 256; ++value) {
    if (value == good.back()) continue;
    auto bad = good;
    bad.back() = static_cast<std::uint8_t>(value);
    const auto parsed = parse(bad);
    EXPECT_FALSE(parsed);
    EXPECT_EQ(parsed.error, Error::bad_checksum) << "checksum " << value;
    EXPECT_EQ(parsed.consumed, good.size());  // a framer can skip the whole frame
  }
}

TEST(ProtoCallerId, EverySingleBitErrorInTheBodyIsRejected) {
  const auto good = encode(mdmf("03151230", "13812345678", "ZHANG SAN"));
  for (std::size_t index = 2; index + 1 < good.size(); ++index) {
    for (int bit = 0; bit < 8; ++bit) {
      auto bad = good;
      bad[index] ^= static_cast<std::uint8_t>(1U << bit);
      EXPECT_EQ(parse(bad).error, Error::bad_checksum) << "byte " << index << " bit " << bit;
    }
  }
}

TEST(ProtoCallerId, UnknownMdmfParametersAreSkipped) {
  const auto bytes = framed(0x80, concat({parameter(0x11, "\x01"),  // call type: voice
                                          parameter(0x02, "13812345678"),
                                          parameter(0x03, "62345678"),  // dialable directory number
                                          parameter(0xE0, ""),          // empty unknown parameter
                                          parameter(0x07, "WANG WU")}));
  const auto parsed = parse(bytes);
  ASSERT_TRUE(parsed) << to_string(parsed.error);
  EXPECT_EQ(*parsed.message, mdmf(std::nullopt, "13812345678", "WANG WU"));
}

TEST(ProtoCallerId, LongOrNonAsciiNamesAreCutForDisplay) {
  // EN 300 659 allows names up to 50 characters; the number must survive.
  const auto long_name = framed(0x80, concat({parameter(0x02, "441632960123"),
                                              parameter(0x07, "BARTHOLOMEW FITZWILLIAM")}));
  const auto parsed = parse(long_name);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed.message->name, "BARTHOLOMEW FITZ");
  EXPECT_EQ(parse(encode(*parsed.message)).message, parsed.message);

  const auto latin1 = framed(0x80, parameter(0x07, "J\xd6RG\x01"));
  const auto cleaned = parse(latin1);
  ASSERT_TRUE(cleaned);
  EXPECT_EQ(cleaned.message->name, "J?RG?");
}

TEST(ProtoCallerId, RepeatedParameterLastWins) {
  const auto bytes = framed(0x80, concat({parameter(0x02, "111"), parameter(0x02, "222")}));
  const auto parsed = parse(bytes);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed.message->number, "222");
}

TEST(ProtoCallerId, ErrorsHaveDistinctNames) {
  std::set<std::string_view> names;
  for (const auto error :
       {Error::truncated, Error::bad_checksum, Error::unknown_type, Error::bad_field, Error::empty}) {
    EXPECT_FALSE(to_string(error).empty());
    names.insert(to_string(error));
  }
  EXPECT_EQ(names.size(), 5u);
}

// ---- DTMF caller ID ----------------------------------------------------------

TEST(ProtoCallerIdDtmf, Encode) {
  struct Case {
    Message message;
    DtmfStyle style;
    std::string digits;
  };
  const std::vector<Case> cases{
      {mdmf(std::nullopt, "13812345678", std::nullopt), DtmfStyle::china, "A13812345678C"},
      {mdmf(std::nullopt, "13812345678", std::nullopt), DtmfStyle::etsi, "A13812345678#"},
      {mdmf(std::nullopt, std::nullopt, std::nullopt, 'P'), DtmfStyle::china, "B00C"},
      {mdmf(std::nullopt, std::nullopt, std::nullopt, 'O'), DtmfStyle::china, "B10C"},
      {mdmf(std::nullopt, std::nullopt, std::nullopt, 'P'), DtmfStyle::etsi, "D1#"},
      {mdmf(std::nullopt, std::nullopt, std::nullopt, 'O'), DtmfStyle::etsi, "D3#"},
      // Only the number travels: no names or times in DTMF caller ID.
      {mdmf("03151230", "62345678", "IGNORED", 'P'), DtmfStyle::china, "A62345678C"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(encode_dtmf(c.message, c.style), c.digits);
    const auto parsed = parse_dtmf(c.digits);
    ASSERT_TRUE(parsed) << c.digits;
    EXPECT_EQ(parsed->number, c.message.number) << c.digits;
    if (!c.message.number) {
      EXPECT_EQ(parsed->number_absence, c.message.number_absence) << c.digits;
    }
  }
  EXPECT_THROW(encode_dtmf(mdmf(std::nullopt, "+8613812345678", std::nullopt), DtmfStyle::china),
               std::invalid_argument);
  EXPECT_THROW(encode_dtmf(mdmf(std::nullopt, "123456789012345678901", std::nullopt), DtmfStyle::etsi),
               std::length_error);
  EXPECT_THROW(encode_dtmf(mdmf(std::nullopt, std::nullopt, "NAME ONLY"), DtmfStyle::etsi), std::invalid_argument);
}

TEST(ProtoCallerIdDtmf, ParseAcceptedForms) {
  struct Case {
    std::string digits;
    std::optional<std::string> number;
    std::optional<char> absence;
  };
  const std::vector<Case> cases{
      {"A13812345678C", "13812345678", std::nullopt},
      {"A13812345678#", "13812345678", std::nullopt},
      {"a0106234567c", "0106234567", std::nullopt},      // lower case from some detectors
      {"13812345678C", "13812345678", std::nullopt},     // no start character
      {"62345678#", "62345678", std::nullopt},
      {"D0201234567#", "0201234567", std::nullopt},      // 'D' start for the number
      {"A5C", "5", std::nullopt},                        // short, but explicitly a number
      {"A13812345678CD01062345678C", "13812345678", std::nullopt},  // 'D' diverting number ignored
      {"D01062345678CA13812345678C", "13812345678", std::nullopt},  // calling number wins in any order
      {"B00C", std::nullopt, 'P'},
      {"B10C", std::nullopt, 'O'},
      {"D1#", std::nullopt, 'P'},
      {"D2#", std::nullopt, 'O'},  // overseas
      {"D3#", std::nullopt, 'O'},
      {"B00CA123C", "123", std::nullopt},  // a number beats an absence code
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.digits);
    const auto parsed = parse_dtmf(c.digits);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->number, c.number);
    EXPECT_EQ(parsed->number_absence, c.absence);
    EXPECT_FALSE(parsed->name);
    EXPECT_FALSE(parsed->datetime);
  }
}

TEST(ProtoCallerIdDtmf, ParseRefusals) {
  for (const std::string digits : {
           "",                          // nothing
           "A13812345678",              // no terminator: may be cut short
           "13812345678",               // no terminator either
           "AC",                        // empty number
           "12C",                       // too short to look like a number without a start character
           "C",                         // terminator alone
           "B99C",                      // unknown information code
           "B0C",
           "D5#",                       // unknown absence code
           "D#",
           "A138X2345678C",             // not a DTMF digit
           "A13*812345678C",            // '*' inside a number
           "AB00C",                     // start character inside a field
           "A123456789012345678901C",   // 21 digits
           "A123C456",                  // trailing unterminated field
       }) {
    EXPECT_FALSE(parse_dtmf(digits).has_value()) << "'" << digits << "'";
  }
}

TEST(ProtoCallerIdDtmf, EncodeParseRoundTripBothStyles) {
  for (const auto style : {DtmfStyle::china, DtmfStyle::etsi}) {
    for (const auto& message : {mdmf(std::nullopt, "13812345678", std::nullopt),
                                mdmf(std::nullopt, "12345678901234567890", std::nullopt),
                                mdmf(std::nullopt, std::nullopt, std::nullopt, 'P'),
                                mdmf(std::nullopt, std::nullopt, std::nullopt, 'O')}) {
      const auto parsed = parse_dtmf(encode_dtmf(message, style));
      ASSERT_TRUE(parsed);
      EXPECT_EQ(*parsed, message);
    }
  }
}

}  // namespace
}  // namespace deskline::proto::callerid
