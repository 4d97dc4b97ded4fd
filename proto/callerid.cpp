#include "proto/callerid.hpp"

#include <algorithm>
#include <stdexcept>

namespace deskline::proto::callerid {
namespace {

// MDMF parameter types (GR-30 / EN 300 659-3).
enum Parameter : std::uint8_t {
  parameter_datetime = 0x01,
  parameter_number = 0x02,
  parameter_number_absence = 0x04,
  parameter_name = 0x07,
  parameter_name_absence = 0x08,
};

constexpr std::size_t datetime_length = 8;
constexpr std::size_t max_number_length = 20;  // EN 300 659-3 limit for the calling number
constexpr std::size_t max_name_length = 16;
constexpr std::string_view sdmf_default_datetime = "01010000";
constexpr std::string_view number_characters = "0123456789*#+";
// The frame around a body: type, length, checksum.
constexpr std::size_t frame_overhead = 3;

bool is_datetime(std::string_view text) {
  return text.size() == datetime_length &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_number(std::string_view text) {
  return !text.empty() && text.size() <= max_number_length &&
         text.find_first_not_of(number_characters) == std::string_view::npos;
}

bool is_absence(char reason) { return reason == 'P' || reason == 'O'; }

bool is_printable(char c) { return c >= 0x20 && c <= 0x7E; }

std::uint8_t checksum_of(std::span<const std::uint8_t> bytes) {
  unsigned sum = 0;
  for (const auto byte : bytes) sum += byte;
  return static_cast<std::uint8_t>(0x100 - (sum & 0xFF));
}

std::string_view as_text(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// ---- encoder ---------------------------------------------------------------

void check_number(const std::string& number) {
  if (number.size() > max_number_length)
    throw std::length_error("caller ID number longer than 20 characters");
  if (!is_number(number)) throw std::invalid_argument("caller ID number must be digits, '*', '#' or '+'");
}

void check_absence(char reason, const char* what) {
  if (!is_absence(reason)) throw std::invalid_argument(std::string(what) + " absence must be 'P' or 'O'");
}

void append_text(std::vector<std::uint8_t>& out, std::string_view text) {
  out.insert(out.end(), text.begin(), text.end());
}

void append_parameter(std::vector<std::uint8_t>& out, Parameter type, std::string_view value) {
  out.push_back(type);
  out.push_back(static_cast<std::uint8_t>(value.size()));
  append_text(out, value);
}

std::vector<std::uint8_t> sdmf_body(const Message& message) {
  if (message.name || message.name_absence) throw std::invalid_argument("SDMF carries no name");
  if (message.number.has_value() == message.number_absence.has_value())
    throw std::invalid_argument("SDMF carries exactly one of number or absence reason");
  std::vector<std::uint8_t> body;
  append_text(body, message.datetime ? std::string_view(*message.datetime) : sdmf_default_datetime);
  if (message.number)
    append_text(body, *message.number);
  else
    body.push_back(static_cast<std::uint8_t>(*message.number_absence));
  return body;
}

std::vector<std::uint8_t> mdmf_body(const Message& message) {
  if (!message.number && !message.number_absence && !message.name && !message.name_absence)
    throw std::invalid_argument("caller ID message has no number, name or absence reason");
  std::vector<std::uint8_t> body;
  if (message.datetime) append_parameter(body, parameter_datetime, *message.datetime);
  if (message.number) append_parameter(body, parameter_number, *message.number);
  if (message.number_absence)
    append_parameter(body, parameter_number_absence, std::string_view(&*message.number_absence, 1));
  if (message.name) append_parameter(body, parameter_name, *message.name);
  if (message.name_absence)
    append_parameter(body, parameter_name_absence, std::string_view(&*message.name_absence, 1));
  return body;
}

// ---- parser ----------------------------------------------------------------

Parsed failure(Error error, std::size_t consumed) { return Parsed{std::nullopt, error, consumed}; }

// Names are display text: keep the number usable when an exchange sends a
// longer name (EN 300 659 allows 50) or non-ASCII bytes, rather than refusing
// the whole message.
std::string display_name(std::string_view wire) {
  std::string name(wire.substr(0, max_name_length));
  std::replace_if(
      name.begin(), name.end(), [](char c) { return !is_printable(c); }, '?');
  return name;
}

std::optional<Error> parse_sdmf_body(std::string_view body, Message& message) {
  if (body.empty()) return Error::empty;
  if (body.size() < datetime_length || !is_datetime(body.substr(0, datetime_length))) return Error::bad_field;
  message.datetime = std::string(body.substr(0, datetime_length));
  const auto rest = body.substr(datetime_length);
  if (rest.empty()) return Error::empty;
  if (rest.size() == 1 && is_absence(rest[0]))
    message.number_absence = rest[0];
  else if (is_number(rest))
    message.number = std::string(rest);
  else
    return Error::bad_field;
  return std::nullopt;
}

std::optional<Error> parse_mdmf_body(std::span<const std::uint8_t> body, Message& message) {
  std::size_t offset = 0;
  while (offset < body.size()) {
    if (body.size() - offset < 2) return Error::bad_field;  // a type without its length
    const std::uint8_t type = body[offset];
    const std::size_t length = body[offset + 1];
    if (length > body.size() - offset - 2) return Error::bad_field;  // runs past the body
    const auto value = as_text(body.subspan(offset + 2, length));
    offset += 2 + length;
    // Repeated parameters: the last one wins, which re-encodes to the same message.
    switch (type) {
      case parameter_datetime:
        if (!is_datetime(value)) return Error::bad_field;
        message.datetime = std::string(value);
        break;
      case parameter_number:
        if (!is_number(value)) return Error::bad_field;
        message.number = std::string(value);
        break;
      case parameter_number_absence:
        if (value.size() != 1 || !is_absence(value[0])) return Error::bad_field;
        message.number_absence = value[0];
        break;
      case parameter_name:
        if (value.empty()) return Error::bad_field;
        message.name = display_name(value);
        break;
      case parameter_name_absence:
        if (value.size() != 1 || !is_absence(value[0])) return Error::bad_field;
        message.name_absence = value[0];
        break;
      default:
        break;  // call type, redirecting number, ...: not ours to show
    }
  }
  if (!message.number && !message.number_absence && !message.name && !message.name_absence)
    return Error::empty;
  return std::nullopt;
}

// ---- DTMF ------------------------------------------------------------------

bool all_digits(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

struct DtmfField {
  char start = 0;  // 'A', 'B', 'D' or 0 when the exchange sent none
  std::string_view digits;
};

// Splits "A123CB00C..." into fields; nullopt when a field is not terminated
// by 'C' or '#' or holds anything but digits.
std::optional<std::vector<DtmfField>> split_dtmf_fields(std::string_view text) {
  std::vector<DtmfField> fields;
  std::size_t position = 0;
  while (position < text.size()) {
    DtmfField field;
    if (text[position] == 'A' || text[position] == 'B' || text[position] == 'D')
      field.start = text[position++];
    const std::size_t digits_begin = position;
    while (position < text.size() && text[position] >= '0' && text[position] <= '9') ++position;
    field.digits = text.substr(digits_begin, position - digits_begin);
    if (position == text.size() || (text[position] != 'C' && text[position] != '#')) return std::nullopt;
    ++position;  // terminator
    fields.push_back(field);
  }
  return fields;
}

}  // namespace

std::string_view to_string(Error error) {
  switch (error) {
    case Error::truncated:
      return "truncated";
    case Error::bad_checksum:
      return "bad checksum";
    case Error::unknown_type:
      return "unknown message type";
    case Error::bad_field:
      return "bad field";
    case Error::empty:
      return "no number, name or absence reason";
  }
  return "unknown error";
}

std::vector<std::uint8_t> encode(const Message& message) {
  if (message.datetime && !is_datetime(*message.datetime))
    throw std::invalid_argument("caller ID date-time must be 8 digits MMDDHHMM");
  if (message.number) check_number(*message.number);
  if (message.number_absence) check_absence(*message.number_absence, "number");
  if (message.name_absence) check_absence(*message.name_absence, "name");
  if (message.name) {
    if (message.name->size() > max_name_length)
      throw std::length_error("caller ID name longer than 16 characters");
    if (message.name->empty() || !std::all_of(message.name->begin(), message.name->end(), is_printable))
      throw std::invalid_argument("caller ID name must be 1 to 16 printable ASCII characters");
  }
  if (message.format != Format::sdmf && message.format != Format::mdmf)
    throw std::invalid_argument("unknown caller ID format");

  const auto body = message.format == Format::sdmf ? sdmf_body(message) : mdmf_body(message);
  std::vector<std::uint8_t> frame;
  frame.reserve(body.size() + frame_overhead);
  frame.push_back(static_cast<std::uint8_t>(message.format));
  frame.push_back(static_cast<std::uint8_t>(body.size()));  // bounded above: at most 56 bytes
  frame.insert(frame.end(), body.begin(), body.end());
  frame.push_back(checksum_of(frame));
  return frame;
}

Parsed parse(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return failure(Error::truncated, 0);
  const std::uint8_t type = bytes[0];
  if (type != static_cast<std::uint8_t>(Format::sdmf) && type != static_cast<std::uint8_t>(Format::mdmf))
    return failure(Error::unknown_type, 0);
  if (bytes.size() < 2) return failure(Error::truncated, 0);
  const std::size_t body_length = bytes[1];
  const std::size_t frame_length = body_length + frame_overhead;
  if (bytes.size() < frame_length) return failure(Error::truncated, 0);

  const auto frame = bytes.first(frame_length);
  // The checksum makes the byte sum of the whole frame zero.
  if (checksum_of(frame) != 0) return failure(Error::bad_checksum, frame_length);

  Message message;
  message.format = static_cast<Format>(type);
  const auto body = frame.subspan(2, body_length);
  const auto error = message.format == Format::sdmf ? parse_sdmf_body(as_text(body), message)
                                                    : parse_mdmf_body(body, message);
  if (error) return failure(*error, frame_length);
  return Parsed{std::move(message), Error::truncated, frame_length};
}

std::string encode_dtmf(const Message& message, DtmfStyle style) {
  const bool china = style == DtmfStyle::china;
  const char terminator = china ? 'C' : '#';
  if (message.number) {
    if (message.number->size() > max_number_length)
      throw std::length_error("caller ID number longer than 20 digits");
    if (message.number->empty() || !all_digits(*message.number))
      throw std::invalid_argument("DTMF caller ID number must be digits 0-9");
    return 'A' + *message.number + terminator;
  }
  if (message.number_absence) {
    check_absence(*message.number_absence, "number");
    const bool private_number = *message.number_absence == 'P';
    if (china) return private_number ? "B00C" : "B10C";
    return private_number ? "D1#" : "D3#";
  }
  throw std::invalid_argument("DTMF caller ID needs a number or an absence reason");
}

std::optional<Message> parse_dtmf(std::string_view digits) {
  std::string normalized(digits);
  for (auto& c : normalized)
    if (c >= 'a' && c <= 'd') c = static_cast<char>(c - 'a' + 'A');
  const auto fields = split_dtmf_fields(normalized);
  if (!fields || fields->empty()) return std::nullopt;

  std::optional<std::string> calling_number;  // from 'A' or an unmarked field
  std::optional<std::string> other_number;    // from 'D' (number in some ETSI variants, else diverting)
  std::optional<char> absence;
  for (const auto& field : *fields) {
    const auto text = field.digits;
    if (text.size() > max_number_length) return std::nullopt;
    switch (field.start) {
      case 'A':
        if (text.empty()) return std::nullopt;
        if (!calling_number) calling_number = std::string(text);
        break;
      case 'B':  // 'C'-terminated information codes
        if (text == "00")
          absence = 'P';
        else if (text == "10")
          absence = 'O';
        else
          return std::nullopt;
        break;
      case 'D':
        // '#'-terminated absence codes: 1 private, 2 overseas, 3 unavailable.
        if (text == "1")
          absence = 'P';
        else if (text == "2" || text == "3")
          absence = 'O';
        else if (text.size() >= 2) {
          if (!other_number) other_number = std::string(text);
        } else
          return std::nullopt;
        break;
      default:
        // No start character: accept it only when it looks like a phone number.
        if (text.size() < 3) return std::nullopt;
        if (!calling_number) calling_number = std::string(text);
        break;
    }
  }

  Message message;
  // A number beats an absence reason, as encode_dtmf sends only one of them.
  if (calling_number)
    message.number = std::move(calling_number);
  else if (other_number)
    message.number = std::move(other_number);
  else if (absence)
    message.number_absence = absence;
  else
    return std::nullopt;
  return message;
}

}  // namespace deskline::proto::callerid
