// Hex text and little-endian integers (proto/bytes.hpp): tables of raw bytes
// against their values, both ways.
#include "proto/bytes.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>

namespace deskline::proto {
namespace {

using Bytes = std::vector<std::uint8_t>;

// ---- hex ------------------------------------------------------------------

struct HexCase {
  std::string name;
  Bytes bytes;
  std::string separator;
  std::string text;
};

const HexCase hex_cases[] = {
    {"empty", {}, "", ""},
    {"empty with separator", {}, " ", ""},
    {"one byte", {0x0a}, "", "0a"},
    {"leading zeros kept", {0x00, 0x0a, 0xff, 0x12}, "", "000aff12"},
    {"lowercase", {0xAB, 0xCD, 0xEF}, "", "abcdef"},
    {"space between bytes", {0x01, 0x02, 0xff}, " ", "01 02 ff"},
    {"longer separator", {0xde, 0xad}, ":", "de:ad"},
    {"every nibble", {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}, "", "0123456789abcdef"},
};

TEST(ProtoBytes, ToHexTable) {
  for (const auto& c : hex_cases) EXPECT_EQ(to_hex(c.bytes, c.separator), c.text) << c.name;
}

TEST(ProtoBytes, FromHexInvertsToHex) {
  for (const auto& c : hex_cases) {
    if (!c.separator.empty()) continue;
    EXPECT_EQ(from_hex(c.text), c.bytes) << c.name;
  }
}

struct FromHexCase {
  std::string text;
  std::optional<Bytes> bytes;
};

TEST(ProtoBytes, FromHexTable) {
  const FromHexCase cases[] = {
      {"", Bytes{}},
      {"00", Bytes{0x00}},
      {"Ff", Bytes{0xff}},
      {"DEADbeef", Bytes{0xde, 0xad, 0xbe, 0xef}},
      {"0", std::nullopt},      // odd count
      {"abc", std::nullopt},    // odd count
      {"0g", std::nullopt},     // not a digit
      {"0x10", std::nullopt},   // no prefixes
      {"01 02", std::nullopt},  // no separators
      {"-1", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(from_hex(c.text), c.bytes) << '"' << c.text << '"';
}

TEST(ProtoBytes, HexDigitValueAgreesWithIsxdigitForEveryByte) {
  for (int c = 0; c < 256; ++c) {
    const char digit = static_cast<char>(c);
    const int value = hex_digit_value(digit);
    if (!std::isxdigit(c)) {
      EXPECT_EQ(value, -1) << c;
      continue;
    }
    const char text[] = {'0', digit, 0};
    EXPECT_EQ(value, static_cast<int>(std::strtol(text, nullptr, 16))) << c;
  }
}

// ---- little-endian integers ------------------------------------------------

struct LittleEndianCase {
  std::string name;
  Bytes bytes;  // 8 bytes
  std::uint16_t le16;
  std::uint32_t le32;
  std::uint64_t le64;
};

const LittleEndianCase little_endian_cases[] = {
    {"zero", {0, 0, 0, 0, 0, 0, 0, 0}, 0, 0, 0},
    {"one", {1, 0, 0, 0, 0, 0, 0, 0}, 1, 1, 1},
    {"distinct bytes", {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01}, 0x0708, 0x05060708,
     0x0102030405060708ULL},
    {"top bits", {0, 0x80, 0, 0x80, 0, 0, 0, 0x80}, 0x8000, 0x80008000u, 0x8000000080008000ULL},
    {"all ones", {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0xffff, 0xffffffffu, ~0ULL},
};

TEST(ProtoBytes, LoadLittleEndianTable) {
  for (const auto& c : little_endian_cases) {
    EXPECT_EQ(load_le16(c.bytes), c.le16) << c.name;
    EXPECT_EQ(load_le32(c.bytes), c.le32) << c.name;
    EXPECT_EQ(load_le64(c.bytes), c.le64) << c.name;
  }
}

TEST(ProtoBytes, LoadsAtAnOffset) {
  const Bytes bytes = {0xAA, 0x34, 0x12, 0x78, 0x56, 0x34, 0x12};
  EXPECT_EQ(load_le16(bytes, 1), 0x1234);
  EXPECT_EQ(load_le32(bytes, 3), 0x12345678u);
}

TEST(ProtoBytes, StoreLittleEndianTable) {
  for (const auto& c : little_endian_cases) {
    Bytes out(10, 0xEE);  // offset 1, guard bytes either side
    store_le16(out, 1, c.le16);
    EXPECT_EQ(Bytes(out.begin() + 1, out.begin() + 3), Bytes(c.bytes.begin(), c.bytes.begin() + 2)) << c.name;
    store_le32(out, 1, c.le32);
    EXPECT_EQ(Bytes(out.begin() + 1, out.begin() + 5), Bytes(c.bytes.begin(), c.bytes.begin() + 4)) << c.name;
    store_le64(out, 1, c.le64);
    EXPECT_EQ(Bytes(out.begin() + 1, out.begin() + 9), c.bytes) << c.name;
    EXPECT_EQ(out.front(), 0xEE) << c.name;
    EXPECT_EQ(out.back(), 0xEE) << c.name;
  }
}

// ---- cursor and builder ----------------------------------------------------

TEST(ProtoBytes, ReaderReadsFieldsInOrder) {
  const Bytes bytes = {0x01, 0x34, 0x12, 0x78, 0x56, 0x34, 0x12, 0x08, 0x07, 0x06, 0x05,
                       0x04, 0x03, 0x02, 0x01, 'h',  'i'};
  ByteReader reader(bytes);
  std::uint8_t u8 = 0;
  std::uint16_t u16 = 0;
  std::uint32_t u32 = 0;
  std::uint64_t u64 = 0;
  std::string text;
  ASSERT_TRUE(reader.u8(u8) && reader.u16(u16) && reader.u32(u32) && reader.u64(u64) && reader.text(2, text));
  EXPECT_EQ(u8, 0x01);
  EXPECT_EQ(u16, 0x1234);
  EXPECT_EQ(u32, 0x12345678u);
  EXPECT_EQ(u64, 0x0102030405060708ULL);
  EXPECT_EQ(text, "hi");
  EXPECT_EQ(reader.remaining(), 0u);
  EXPECT_FALSE(reader.u8(u8));
}

TEST(ProtoBytes, ReaderRefusesAShortFieldAndStaysPut) {
  const Bytes bytes = {0x01, 0x02, 0x03};
  ByteReader reader(bytes);
  std::uint32_t u32 = 0xDEADBEEF;
  std::uint64_t u64 = 0;
  std::string text = "kept";
  EXPECT_FALSE(reader.u32(u32));
  EXPECT_FALSE(reader.u64(u64));
  EXPECT_FALSE(reader.text(4, text));
  EXPECT_EQ(u32, 0xDEADBEEFu) << "nothing written on refusal";
  EXPECT_EQ(text, "kept");
  EXPECT_EQ(reader.remaining(), 3u);
  std::uint16_t u16 = 0;
  EXPECT_TRUE(reader.u16(u16));
  EXPECT_EQ(u16, 0x0201);
  EXPECT_EQ(reader.remaining(), 1u);
  EXPECT_FALSE(reader.u16(u16));
  EXPECT_EQ(reader.remaining(), 1u);
}

TEST(ProtoBytes, WriterAppendsLittleEndianFields) {
  ByteWriter writer;
  const Bytes tail = {0xAA, 0xBB};
  writer.u8(0x01).u16(0x1234).u24(0x563412).u32(0x12345678).u64(0x0102030405060708ULL).text("hi").append(tail);
  const Bytes expected = {0x01, 0x34, 0x12, 0x12, 0x34, 0x56, 0x78, 0x56, 0x34, 0x12, 0x08, 0x07,
                          0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 'h',  'i',  0xAA, 0xBB};
  EXPECT_EQ(writer.size(), expected.size());
  EXPECT_EQ(writer.bytes(), expected);
  store_le16(writer.bytes(), 1, 0xBEEF);  // patching a field in place
  EXPECT_EQ(writer.take()[1], 0xEF);
}

TEST(ProtoBytes, WriterAndReaderRoundTrip) {
  for (const auto& c : little_endian_cases) {
    const auto bytes = ByteWriter().u16(c.le16).u32(c.le32).u64(c.le64).take();
    ByteReader reader(bytes);
    std::uint16_t u16 = 0;
    std::uint32_t u32 = 0;
    std::uint64_t u64 = 0;
    ASSERT_TRUE(reader.u16(u16) && reader.u32(u32) && reader.u64(u64)) << c.name;
    EXPECT_EQ(u16, c.le16) << c.name;
    EXPECT_EQ(u32, c.le32) << c.name;
    EXPECT_EQ(u64, c.le64) << c.name;
  }
}

// ---- base64 ------------------------------------------------------------------

Bytes text_bytes(std::string_view text) { return Bytes(text.begin(), text.end()); }

// RFC 4648 section 10's test vectors, and bytes that use "+" and "/".
const std::pair<std::string, std::string> base64_vectors[] = {
    {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}, {"\xfb\xff\xbf", "+/+/"},
};

TEST(ProtoBytes, Base64Rfc4648Vectors) {
  for (const auto& [plain, encoded] : base64_vectors) {
    EXPECT_EQ(to_base64(text_bytes(plain)), encoded) << plain;
    EXPECT_EQ(from_base64(encoded), text_bytes(plain)) << encoded;
    EXPECT_EQ(from_base64_lenient(encoded), text_bytes(plain)) << encoded;
  }
}

TEST(ProtoBytes, Base64RoundTripsEveryByteAndLength) {
  Bytes bytes;
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(from_base64(to_base64(bytes)), bytes) << i;
    bytes.push_back(static_cast<std::uint8_t>(i * 37 + 11));
  }
}

TEST(ProtoBytes, Base64StrictRefusals) {
  for (const char* text : {"Zg", "Zm8", "Z", "Zg=", "Zg===", "====", "Z===", "Zm9v=", "Zg==Zg==", "Zm 9v", "Zm9v\n",
                           "Zm-v", "Zm_v", "Zh==", "Zm9=", "Zm9vY===", "\xc3\xa9xxx"})
    EXPECT_EQ(from_base64(text), std::nullopt) << text;
}

TEST(ProtoBytes, Base64LenientTakesMissingPaddingAndOverhangingBits) {
  EXPECT_EQ(from_base64_lenient("Zg"), text_bytes("f"));
  EXPECT_EQ(from_base64_lenient("Zm8"), text_bytes("fo"));
  EXPECT_EQ(from_base64_lenient("Zh=="), text_bytes("f"));  // the low 4 bits of 'h' overhang
  EXPECT_EQ(from_base64_lenient("Zm9"), text_bytes("fo"));
  // Still refused: a lone symbol, padding that does not complete a group, foreign characters.
  for (const char* text : {"Z", "Zm9vY", "Zg=", "Zg===", "Zm9v=", "Zg==Zg==", "Zm 9v", "Zm-v"})
    EXPECT_EQ(from_base64_lenient(text), std::nullopt) << text;
}

}  // namespace
}  // namespace deskline::proto
