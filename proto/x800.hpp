// X800 vendor-interface protocol: reports (box -> host, interrupt IN) and
// commands (host -> box, interrupt OUT). Pure: bytes in, values out. No I/O,
// no clocks. The wire format is specified in proto/x800.md.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace deskline::proto::x800 {

inline constexpr std::uint8_t protocol_version = 1;
inline constexpr std::size_t header_size = 14;   // version..timestamp
inline constexpr std::size_t trailer_size = 1;   // checksum
inline constexpr std::size_t max_frame_size = 64;  // one interrupt packet
inline constexpr std::size_t max_payload_size = max_frame_size - header_size - trailer_size;
inline constexpr std::uint8_t box_wide = 0xFF;  // "line" value of reports about the whole box
inline constexpr std::size_t max_lines = 16;

// Default USB identity of an X800-style box (pid.codes test VID). Real
// deployments match VID/PID pairs from config.
inline constexpr std::uint16_t default_vendor_id = 0x1209;
inline constexpr std::uint16_t default_product_id = 0x8800;
inline constexpr std::uint8_t vendor_interface = 0;
inline constexpr std::uint8_t endpoint_events_in = 0x81;
inline constexpr std::uint8_t endpoint_commands_out = 0x02;

enum class ReportType : std::uint8_t {
  info = 0x01,
  hook = 0x02,
  ring = 0x03,
  polarity = 0x04,
  caller_id = 0x05,
  dtmf = 0x06,
  line_voltage = 0x07,
  error = 0x08,
  ack = 0x09,
  line_state = 0x0A,  // answer to get_line_state, one per port
};

enum class CommandType : std::uint8_t {
  get_info = 0x81,
  set_event_mask = 0x82,
  set_caller_id_decoding = 0x83,
  keepalive = 0x84,
  get_line_state = 0x85,
};

// Bits of the event mask (SET_EVENT_MASK); bit n enables report type n.
// Answers (info, ack, line_state) are always sent, whatever their bit says.
inline constexpr std::uint16_t event_bit(ReportType type) {
  return static_cast<std::uint16_t>(1u << static_cast<unsigned>(type));
}
inline constexpr std::uint16_t all_events = 0x03FE;

// ---- report payloads ------------------------------------------------------

struct BoxInfo {
  std::string model;
  std::string serial;
  std::uint8_t firmware_major = 0;
  std::uint8_t firmware_minor = 0;
  std::uint8_t firmware_patch = 0;
  std::uint8_t line_count = 0;
  std::uint32_t audio_rate_hz = 0;  // 8000 or 16000
  bool decodes_caller_id = false;   // box-side caller-ID decoding currently on
  friend bool operator==(const BoxInfo&, const BoxInfo&) = default;
};

struct Hook {
  bool off_hook = false;
  friend bool operator==(const Hook&, const Hook&) = default;
};

struct Ring {
  bool ringing = false;  // true: ring burst started, false: burst ended
  friend bool operator==(const Ring&, const Ring&) = default;
};

struct Polarity {
  bool reversed = false;
  friend bool operator==(const Polarity&, const Polarity&) = default;
};

// Caller ID as decoded by the box. Field tags mirror MDMF parameter types.
struct CallerId {
  std::optional<std::string> number;
  std::optional<std::string> name;
  std::optional<char> number_absence;  // 'P' private, 'O' unavailable
  std::optional<char> name_absence;    // 'P' / 'O'
  std::optional<std::string> datetime; // "MMDDHHMM" as sent by the exchange
  friend bool operator==(const CallerId&, const CallerId&) = default;
};

struct Dtmf {
  char digit = '0';  // 0-9 * # A-D
  std::uint16_t duration_ms = 0;
  friend bool operator==(const Dtmf&, const Dtmf&) = default;
};

struct LineVoltage {
  std::int16_t decivolts = 0;  // signed: sign follows polarity
  friend bool operator==(const LineVoltage&, const LineVoltage&) = default;
};

enum class BoxErrorCode : std::uint8_t {
  internal = 1,
  bad_command = 2,
  audio_overrun = 3,
  line_fault = 4,
};

struct BoxError {
  BoxErrorCode code = BoxErrorCode::internal;
  std::string message;
  friend bool operator==(const BoxError&, const BoxError&) = default;
};

enum class AckStatus : std::uint8_t { ok = 0, unsupported = 1, bad_argument = 2 };

struct Ack {
  CommandType command = CommandType::keepalive;
  std::uint16_t command_sequence = 0;
  AckStatus status = AckStatus::ok;
  std::uint32_t token = 0;  // echoes the keepalive token, 0 otherwise
  friend bool operator==(const Ack&, const Ack&) = default;
};

// One port's state when the box answered get_line_state: what a host that
// starts while the box stays powered cannot learn from change reports.
struct LineState {
  bool off_hook = false;
  bool ringing = false;   // inside a ring burst (between its start and stop reports)
  bool reversed = false;  // line polarity
  friend bool operator==(const LineState&, const LineState&) = default;
};

using ReportBody =
    std::variant<BoxInfo, Hook, Ring, Polarity, CallerId, Dtmf, LineVoltage, BoxError, Ack, LineState>;

struct Report {
  std::uint16_t sequence = 0;
  std::uint8_t line = box_wide;      // 0-based port, or box_wide
  std::uint64_t box_time_us = 0;     // box clock, microseconds since power-up
  ReportBody body;
  friend bool operator==(const Report&, const Report&) = default;
};

ReportType report_type(const ReportBody& body);
std::string_view to_string(ReportType type);

// ---- commands -------------------------------------------------------------

struct GetInfo {
  friend bool operator==(const GetInfo&, const GetInfo&) = default;
};
struct SetEventMask {
  std::uint16_t mask = all_events;
  friend bool operator==(const SetEventMask&, const SetEventMask&) = default;
};
struct SetCallerIdDecoding {
  bool enabled = true;
  friend bool operator==(const SetCallerIdDecoding&, const SetCallerIdDecoding&) = default;
};
struct Keepalive {
  std::uint32_t token = 0;
  friend bool operator==(const Keepalive&, const Keepalive&) = default;
};

struct GetLineState {
  friend bool operator==(const GetLineState&, const GetLineState&) = default;
};

using CommandBody = std::variant<GetInfo, SetEventMask, SetCallerIdDecoding, Keepalive, GetLineState>;

struct Command {
  std::uint16_t sequence = 0;
  std::uint8_t line = box_wide;
  CommandBody body;
  friend bool operator==(const Command&, const Command&) = default;
};

CommandType command_type(const CommandBody& body);

// ---- framing --------------------------------------------------------------

// Why a frame was refused. Stable names: they appear in logs and counters.
enum class FrameError : std::uint8_t {
  truncated = 1,       // shorter than header + trailer, or than its length field says
  bad_version,         // version byte is not protocol_version
  bad_length,          // payload length beyond max_payload_size
  bad_checksum,        // bytes do not sum to zero
  unknown_type,        // type byte not in the report (or command) set
  bad_payload,         // payload does not fit its type
  bad_line,            // line index neither box_wide nor < max_lines
};
std::string_view to_string(FrameError error);

// Result of decoding one frame: a value, or the reason it was refused.
template <typename T>
struct Decoded {
  std::optional<T> value;
  FrameError error = FrameError::truncated;
  explicit operator bool() const { return value.has_value(); }
};

// A frame is exactly one interrupt transfer; trailing bytes after the
// checksum are ignored (USB packets may be padded).
Decoded<Report> decode_report(std::span<const std::uint8_t> bytes);
Decoded<Command> decode_command(std::span<const std::uint8_t> bytes);

// Encoders clamp nothing: strings longer than the payload allows throw
// std::length_error, since that is a bug in the caller.
std::vector<std::uint8_t> encode_report(const Report& report);
std::vector<std::uint8_t> encode_command(const Command& command);

struct SequenceStep {
  std::uint16_t lost = 0;     // reports skipped before this one (a forward step of more than one)
  bool out_of_order = false;  // a repeat or a step back (section 5.1): resynchronised on it
};

// Detects lost or repeated reports from the 16-bit sequence number.
class SequenceTracker {
 public:
  // The first report after reset() is always in order.
  SequenceStep observe(std::uint16_t sequence);
  void reset() { last_.reset(); }
  std::optional<std::uint16_t> last() const { return last_; }

 private:
  std::optional<std::uint16_t> last_;
};

}  // namespace deskline::proto::x800
