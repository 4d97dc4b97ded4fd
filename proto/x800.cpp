#include "proto/x800.hpp"

#include <algorithm>
#include <iterator>
#include <stdexcept>

#include "proto/bytes.hpp"

namespace deskline::proto::x800 {
namespace {

// A length byte, then up to 255 bytes of text (model, serial, caller-ID fields).
void write_short_text(ByteWriter& writer, std::string_view value) {
  if (value.size() > 255) throw std::length_error("x800: string longer than 255 bytes");
  writer.u8(static_cast<std::uint8_t>(value.size())).text(value);
}

bool printable(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7F; });
}

bool valid_dial_char(char c) {
  return (c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D');
}

bool valid_number(std::string_view number) {
  if (number.empty() || number.size() > 32) return false;
  return std::all_of(number.begin(), number.end(),
                     [](char c) { return valid_dial_char(c) || c == '+' || c == '-' || c == ' '; });
}

bool valid_absence(std::uint8_t value) { return value == 'P' || value == 'O'; }

// A yes/no byte: 0 or 1, anything else refuses the payload.
bool read_flag(ByteReader& reader, bool& out) {
  std::uint8_t value = 0;
  if (!reader.u8(value) || value > 1) return false;
  out = value == 1;
  return true;
}

bool per_line(ReportType type) {
  switch (type) {
    case ReportType::hook:
    case ReportType::ring:
    case ReportType::polarity:
    case ReportType::caller_id:
    case ReportType::dtmf:
    case ReportType::line_voltage:
    case ReportType::line_state:
      return true;
    default:
      return false;
  }
}

// Caller-ID TLV tags (same numbers as MDMF parameter types).
enum CallerIdTag : std::uint8_t {
  tag_datetime = 0x01,
  tag_number = 0x02,
  tag_number_absence = 0x04,
  tag_name = 0x07,
  tag_name_absence = 0x08,
};

std::optional<ReportBody> decode_caller_id(ByteReader& reader) {
  CallerId caller_id;
  bool any = false;
  while (reader.remaining() > 0) {
    std::uint8_t tag = 0, length = 0;
    if (!reader.u8(tag) || !reader.u8(length)) return std::nullopt;
    std::string value;
    if (!reader.text(length, value)) return std::nullopt;
    auto duplicate = [&](const auto& field) { return field.has_value(); };
    switch (tag) {
      case tag_datetime:
        if (duplicate(caller_id.datetime) || value.size() != 8 ||
            !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
          return std::nullopt;
        caller_id.datetime = value;
        break;
      case tag_number:
        if (duplicate(caller_id.number) || !valid_number(value)) return std::nullopt;
        caller_id.number = value;
        break;
      case tag_number_absence:
        if (duplicate(caller_id.number_absence) || value.size() != 1 ||
            !valid_absence(static_cast<std::uint8_t>(value[0])))
          return std::nullopt;
        caller_id.number_absence = value[0];
        break;
      case tag_name:
        if (duplicate(caller_id.name) || value.empty() || !printable(value)) return std::nullopt;
        caller_id.name = value;
        break;
      case tag_name_absence:
        if (duplicate(caller_id.name_absence) || value.size() != 1 ||
            !valid_absence(static_cast<std::uint8_t>(value[0])))
          return std::nullopt;
        caller_id.name_absence = value[0];
        break;
      default:
        continue;  // unknown tags are skipped: newer firmware may add fields
    }
    any = true;
  }
  if (!any) return std::nullopt;
  return caller_id;
}

std::optional<ReportBody> decode_report_body(ReportType type, ByteReader& reader) {
  auto flag = [&](bool& out) { return read_flag(reader, out) && reader.remaining() == 0; };
  switch (type) {
    case ReportType::info: {
      BoxInfo info;
      std::uint16_t rate = 0;
      std::uint8_t flags = 0, model_length = 0, serial_length = 0;
      if (!reader.u8(info.line_count) || !reader.u16(rate) || !reader.u8(info.firmware_major) ||
          !reader.u8(info.firmware_minor) || !reader.u8(info.firmware_patch) || !reader.u8(flags) ||
          !reader.u8(model_length) || !reader.text(model_length, info.model) ||
          !reader.u8(serial_length) || !reader.text(serial_length, info.serial) ||
          reader.remaining() != 0)
        return std::nullopt;
      if (info.line_count == 0 || info.line_count > max_lines) return std::nullopt;
      if (rate != 8000 && rate != 16000) return std::nullopt;
      if (info.serial.empty() || !printable(info.serial) || !printable(info.model)) return std::nullopt;
      info.audio_rate_hz = rate;
      info.decodes_caller_id = (flags & 0x01) != 0;
      return info;
    }
    case ReportType::hook: {
      Hook hook;
      if (!flag(hook.off_hook)) return std::nullopt;
      return hook;
    }
    case ReportType::ring: {
      Ring ring;
      if (!flag(ring.ringing)) return std::nullopt;
      return ring;
    }
    case ReportType::polarity: {
      Polarity polarity;
      if (!flag(polarity.reversed)) return std::nullopt;
      return polarity;
    }
    case ReportType::caller_id:
      return decode_caller_id(reader);
    case ReportType::dtmf: {
      Dtmf dtmf;
      std::uint8_t digit = 0;
      if (!reader.u8(digit) || !reader.u16(dtmf.duration_ms) || reader.remaining() != 0 ||
          !valid_dial_char(static_cast<char>(digit)))
        return std::nullopt;
      dtmf.digit = static_cast<char>(digit);
      return dtmf;
    }
    case ReportType::line_voltage: {
      std::uint16_t raw = 0;
      if (!reader.u16(raw) || reader.remaining() != 0) return std::nullopt;
      return LineVoltage{static_cast<std::int16_t>(raw)};
    }
    case ReportType::error: {
      BoxError error;
      std::uint8_t code = 0;
      if (!reader.u8(code) || code < 1 || code > 4 || !reader.text(reader.remaining(), error.message) ||
          !printable(error.message))
        return std::nullopt;
      error.code = static_cast<BoxErrorCode>(code);
      return error;
    }
    case ReportType::ack: {
      Ack ack;
      std::uint8_t command = 0, status = 0;
      if (!reader.u8(command) || !reader.u16(ack.command_sequence) || !reader.u8(status) ||
          !reader.u32(ack.token) || reader.remaining() != 0)
        return std::nullopt;
      if (command < static_cast<std::uint8_t>(CommandType::get_info) ||
          command > static_cast<std::uint8_t>(CommandType::get_line_state) || status > 2)
        return std::nullopt;
      ack.command = static_cast<CommandType>(command);
      ack.status = static_cast<AckStatus>(status);
      return ack;
    }
    case ReportType::line_state: {
      LineState state;
      if (!read_flag(reader, state.off_hook) || !read_flag(reader, state.ringing) ||
          !read_flag(reader, state.reversed) || reader.remaining() != 0)
        return std::nullopt;
      return state;
    }
  }
  return std::nullopt;
}

std::optional<CommandBody> decode_command_body(std::uint8_t type, ByteReader& reader) {
  switch (static_cast<CommandType>(type)) {
    case CommandType::get_info:
      if (reader.remaining() != 0) return std::nullopt;
      return GetInfo{};
    case CommandType::set_event_mask: {
      SetEventMask command;
      if (!reader.u16(command.mask) || reader.remaining() != 0) return std::nullopt;
      return command;
    }
    case CommandType::set_caller_id_decoding: {
      std::uint8_t value = 0;
      if (!reader.u8(value) || value > 1 || reader.remaining() != 0) return std::nullopt;
      return SetCallerIdDecoding{value == 1};
    }
    case CommandType::keepalive: {
      Keepalive command;
      if (!reader.u32(command.token) || reader.remaining() != 0) return std::nullopt;
      return command;
    }
    case CommandType::get_line_state:
      if (reader.remaining() != 0) return std::nullopt;
      return GetLineState{};
  }
  return std::nullopt;
}

struct Frame {
  std::uint8_t type = 0;
  std::uint16_t sequence = 0;
  std::uint8_t line = 0;
  std::uint64_t box_time_us = 0;
  std::span<const std::uint8_t> payload;
};

// Checks version, length and checksum; leaves type and payload to the caller.
std::optional<FrameError> split_frame(std::span<const std::uint8_t> bytes, Frame& frame) {
  if (bytes.size() < header_size + trailer_size) return FrameError::truncated;
  if (bytes[0] != protocol_version) return FrameError::bad_version;
  const std::size_t payload_length = bytes[5];
  if (payload_length > max_payload_size) return FrameError::bad_length;
  const std::size_t frame_length = header_size + payload_length + trailer_size;
  if (bytes.size() < frame_length) return FrameError::truncated;
  std::uint8_t sum = 0;
  for (std::size_t i = 0; i < frame_length; ++i) sum = static_cast<std::uint8_t>(sum + bytes[i]);
  if (sum != 0) return FrameError::bad_checksum;
  ByteReader header(bytes.subspan(0, header_size));
  std::uint8_t version = 0, length = 0;
  header.u8(version);
  header.u8(frame.type);
  header.u16(frame.sequence);
  header.u8(frame.line);
  header.u8(length);
  header.u64(frame.box_time_us);
  frame.payload = bytes.subspan(header_size, payload_length);
  return std::nullopt;
}

std::vector<std::uint8_t> seal_frame(std::uint8_t type, std::uint16_t sequence, std::uint8_t line,
                                     std::uint64_t box_time_us, std::vector<std::uint8_t> payload) {
  if (payload.size() > max_payload_size) throw std::length_error("x800: payload exceeds 49 bytes");
  ByteWriter frame(header_size + payload.size() + trailer_size);
  frame.u8(protocol_version).u8(type).u16(sequence).u8(line).u8(static_cast<std::uint8_t>(payload.size()));
  frame.u64(box_time_us).append(payload);
  std::uint8_t sum = 0;
  for (auto byte : frame.bytes()) sum = static_cast<std::uint8_t>(sum + byte);
  frame.u8(static_cast<std::uint8_t>(-sum));
  return frame.take();
}

void encode_caller_id_field(ByteWriter& writer, std::uint8_t tag, std::string_view value) {
  writer.u8(tag);
  write_short_text(writer, value);
}

std::vector<std::uint8_t> encode_report_body(const ReportBody& body) {
  ByteWriter writer;
  std::visit(
      [&](const auto& value) {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, BoxInfo>) {
          writer.u8(value.line_count);
          writer.u16(static_cast<std::uint16_t>(value.audio_rate_hz));
          writer.u8(value.firmware_major);
          writer.u8(value.firmware_minor);
          writer.u8(value.firmware_patch);
          writer.u8(value.decodes_caller_id ? 0x01 : 0x00);
          write_short_text(writer, value.model);
          write_short_text(writer, value.serial);
        } else if constexpr (std::is_same_v<T, Hook>) {
          writer.u8(value.off_hook ? 1 : 0);
        } else if constexpr (std::is_same_v<T, Ring>) {
          writer.u8(value.ringing ? 1 : 0);
        } else if constexpr (std::is_same_v<T, Polarity>) {
          writer.u8(value.reversed ? 1 : 0);
        } else if constexpr (std::is_same_v<T, CallerId>) {
          if (value.datetime) encode_caller_id_field(writer, tag_datetime, *value.datetime);
          if (value.number) encode_caller_id_field(writer, tag_number, *value.number);
          if (value.number_absence)
            encode_caller_id_field(writer, tag_number_absence, std::string(1, *value.number_absence));
          if (value.name) encode_caller_id_field(writer, tag_name, *value.name);
          if (value.name_absence)
            encode_caller_id_field(writer, tag_name_absence, std::string(1, *value.name_absence));
        } else if constexpr (std::is_same_v<T, Dtmf>) {
          writer.u8(static_cast<std::uint8_t>(value.digit));
          writer.u16(value.duration_ms);
        } else if constexpr (std::is_same_v<T, LineVoltage>) {
          writer.u16(static_cast<std::uint16_t>(value.decivolts));
        } else if constexpr (std::is_same_v<T, BoxError>) {
          writer.u8(static_cast<std::uint8_t>(value.code));
          writer.text(value.message);
        } else if constexpr (std::is_same_v<T, Ack>) {
          writer.u8(static_cast<std::uint8_t>(value.command));
          writer.u16(value.command_sequence);
          writer.u8(static_cast<std::uint8_t>(value.status));
          writer.u32(value.token);
        } else if constexpr (std::is_same_v<T, LineState>) {
          writer.u8(value.off_hook ? 1 : 0);
          writer.u8(value.ringing ? 1 : 0);
          writer.u8(value.reversed ? 1 : 0);
        }
      },
      body);
  return writer.take();
}

std::vector<std::uint8_t> encode_command_body(const CommandBody& body) {
  ByteWriter writer;
  std::visit(
      [&](const auto& value) {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, SetEventMask>) {
          writer.u16(value.mask);
        } else if constexpr (std::is_same_v<T, SetCallerIdDecoding>) {
          writer.u8(value.enabled ? 1 : 0);
        } else if constexpr (std::is_same_v<T, Keepalive>) {
          writer.u32(value.token);
        }
      },
      body);
  return writer.take();
}

}  // namespace

ReportType report_type(const ReportBody& body) {
  static constexpr ReportType types[] = {
      ReportType::info,      ReportType::hook, ReportType::ring,         ReportType::polarity,
      ReportType::caller_id, ReportType::dtmf, ReportType::line_voltage, ReportType::error,
      ReportType::ack,       ReportType::line_state};
  static_assert(std::size(types) == std::variant_size_v<ReportBody>);
  return types[body.index()];
}

CommandType command_type(const CommandBody& body) {
  static constexpr CommandType types[] = {CommandType::get_info, CommandType::set_event_mask,
                                          CommandType::set_caller_id_decoding,
                                          CommandType::keepalive, CommandType::get_line_state};
  static_assert(std::size(types) == std::variant_size_v<CommandBody>);
  return types[body.index()];
}

std::string_view to_string(ReportType type) {
  switch (type) {
    case ReportType::info: return "info";
    case ReportType::hook: return "hook";
    case ReportType::ring: return "ring";
    case ReportType::polarity: return "polarity";
    case ReportType::caller_id: return "caller_id";
    case ReportType::dtmf: return "dtmf";
    case ReportType::line_voltage: return "line_voltage";
    case ReportType::error: return "error";
    case ReportType::ack: return "ack";
    case ReportType::line_state: return "line_state";
  }
  return "unknown";
}

std::string_view to_string(FrameError error) {
  switch (error) {
    case FrameError::truncated: return "truncated";
    case FrameError::bad_version: return "bad_version";
    case FrameError::bad_length: return "bad_length";
    case FrameError::bad_checksum: return "bad_checksum";
    case FrameError::unknown_type: return "unknown_type";
    case FrameError::bad_payload: return "bad_payload";
    case FrameError::bad_line: return "bad_line";
  }
  return "unknown";
}

Decoded<Report> decode_report(std::span<const std::uint8_t> bytes) {
  Frame frame;
  if (auto error = split_frame(bytes, frame)) return {std::nullopt, *error};
  if (frame.type < static_cast<std::uint8_t>(ReportType::info) ||
      frame.type > static_cast<std::uint8_t>(ReportType::line_state))
    return {std::nullopt, FrameError::unknown_type};
  const auto type = static_cast<ReportType>(frame.type);
  const bool line_valid = frame.line < max_lines;
  if (per_line(type) ? !line_valid
                     : (type == ReportType::error ? !(line_valid || frame.line == box_wide)
                                                  : frame.line != box_wide))
    return {std::nullopt, FrameError::bad_line};
  ByteReader reader(frame.payload);
  auto body = decode_report_body(type, reader);
  if (!body) return {std::nullopt, FrameError::bad_payload};
  return {Report{frame.sequence, frame.line, frame.box_time_us, std::move(*body)}, FrameError{}};
}

Decoded<Command> decode_command(std::span<const std::uint8_t> bytes) {
  Frame frame;
  if (auto error = split_frame(bytes, frame)) return {std::nullopt, *error};
  if (frame.type < static_cast<std::uint8_t>(CommandType::get_info) ||
      frame.type > static_cast<std::uint8_t>(CommandType::get_line_state))
    return {std::nullopt, FrameError::unknown_type};
  // get_info and keepalive are about the box itself; the two settings and
  // get_line_state may address one port or the whole box (x800.md, "Line index").
  const auto type = static_cast<CommandType>(frame.type);
  const bool box_only = type == CommandType::get_info || type == CommandType::keepalive;
  const bool line_valid = frame.line == box_wide || (!box_only && frame.line < max_lines);
  if (!line_valid) return {std::nullopt, FrameError::bad_line};
  ByteReader reader(frame.payload);
  auto body = decode_command_body(frame.type, reader);
  if (!body) return {std::nullopt, FrameError::bad_payload};
  return {Command{frame.sequence, frame.line, std::move(*body)}, FrameError{}};
}

std::vector<std::uint8_t> encode_report(const Report& report) {
  return seal_frame(static_cast<std::uint8_t>(report_type(report.body)), report.sequence,
                    report.line, report.box_time_us, encode_report_body(report.body));
}

std::vector<std::uint8_t> encode_command(const Command& command) {
  return seal_frame(static_cast<std::uint8_t>(command_type(command.body)), command.sequence,
                    command.line, 0, encode_command_body(command.body));
}

SequenceStep SequenceTracker::observe(std::uint16_t sequence) {
  SequenceStep step;
  if (last_) step.lost = static_cast<std::uint16_t>(sequence - *last_ - 1);
  // A repeat or a step backwards is a box restart or a replay, not 65k lost reports.
  if (step.lost >= 0x8001) step = {0, true};
  last_ = sequence;
  return step;
}

}  // namespace deskline::proto::x800
