// On-line caller-ID messages: the bytes an exchange sends by FSK (SDMF/MDMF,
// Bellcore GR-30 / ETSI EN 300 659 / YD/T 1277.1) and the digit strings of
// DTMF caller ID. Pure encoders and a validating parser.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace deskline::proto::callerid {

enum class Format : std::uint8_t { sdmf = 0x04, mdmf = 0x80 };

struct Message {
  Format format = Format::mdmf;
  std::optional<std::string> datetime;  // "MMDDHHMM"
  std::optional<std::string> number;
  std::optional<char> number_absence;  // 'P' private, 'O' unavailable
  std::optional<std::string> name;     // MDMF only, at most 16 characters on the wire
                                       // (parse keeps the first 16 of a longer name)
  std::optional<char> name_absence;
  friend bool operator==(const Message&, const Message&) = default;
};

enum class Error : std::uint8_t {
  truncated = 1,   // fewer bytes than the length byte promises
  bad_checksum,    // two's complement checksum mismatch: never half-used
  unknown_type,    // first byte neither 0x04 (SDMF) nor 0x80 (MDMF)
  bad_field,       // a parameter with an impossible length or content
  empty,           // no number, name or absence reason at all
};
std::string_view to_string(Error error);

struct Parsed {
  std::optional<Message> message;
  Error error = Error::truncated;
  std::size_t consumed = 0;  // bytes used (type + length + body + checksum); 0 when
                             // truncated or of unknown type, the whole frame otherwise
  explicit operator bool() const { return message.has_value(); }
};

// Message type, length, body, checksum. SDMF: datetime (required by the
// format; "01010000" when absent) then number or one absence character.
std::vector<std::uint8_t> encode(const Message& message);
Parsed parse(std::span<const std::uint8_t> bytes);

// DTMF caller ID. China: A<digits>C, private B00C, unavailable B10C. ETSI:
// A<digits>#, private D1#, unavailable D3#. encode_dtmf gives the digit
// string to send; parse_dtmf accepts the forms in proto/callerid.md.
enum class DtmfStyle { china, etsi };
std::string encode_dtmf(const Message& message, DtmfStyle style);
std::optional<Message> parse_dtmf(std::string_view digits);

}  // namespace deskline::proto::callerid
