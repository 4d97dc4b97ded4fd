// What any line-box driver tells the daemon. A second box family is a new
// folder next to x800/ that produces these events; the daemon never sees USB.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <variant>

namespace deskline::drivers {

// Box clock: microseconds since the box powered up, from the crystal that
// also clocks its audio. Resets when the box is re-plugged.
using BoxTimeUs = std::uint64_t;
// Host wall clock (CLOCK_REALTIME) in microseconds since the Unix epoch.
using HostTimeUs = std::int64_t;

inline HostTimeUs realtime_us() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<HostTimeUs>(now.tv_sec) * 1'000'000 + now.tv_nsec / 1000;
}

struct BoxIdentity {
  std::string serial;
  std::string model;
  std::string firmware;  // "MAJOR.MINOR.PATCH"
  int line_count = 0;
  std::uint32_t audio_rate_hz = 0;
  bool decodes_caller_id = false;
  std::string usb_path;  // "BUS-ADDRESS", for logs
};

struct CallerIdInfo {
  std::optional<std::string> number;
  std::optional<std::string> name;
  std::optional<char> number_absence;  // 'P' private, 'O' unavailable
  std::optional<char> name_absence;
  std::optional<std::string> datetime;  // MMDDHHMM
};

struct RingChanged { bool ringing = false; };
struct HookChanged { bool off_hook = false; };
struct PolarityChanged { bool reversed = false; };
struct CallerIdReceived { CallerIdInfo caller_id; };
struct DigitDetected { char digit = '0'; std::uint16_t duration_ms = 0; };
struct VoltageMeasured { double volts = 0; };
// The port's state when the driver asked, right after the box came into
// service: levels, not changes. A port off-hook or ringing here is in a call
// that began before the daemon could see it (e.g. the daemon restarted while
// the box stayed powered). Boxes that cannot tell never send it.
struct LineStateSnapshot {
  bool off_hook = false;
  bool ringing = false;
  bool reversed = false;
};

using LineSignal = std::variant<RingChanged, HookChanged, PolarityChanged, CallerIdReceived,
                                DigitDetected, VoltageMeasured, LineStateSnapshot>;

struct LineEvent {
  int port = 1;  // 1-based
  BoxTimeUs box_time_us = 0;
  HostTimeUs received_at_us = 0;  // when the host got the report
  LineSignal signal;
};

// Something went wrong on a box that the daemon counts and logs but survives.
// reports_out_of_order: a repeated or backward report sequence number (x800.md 5.1).
enum class BoxFaultKind { malformed_report, lost_reports, box_error, command_failed, no_response, reports_out_of_order };
inline constexpr std::size_t box_fault_kind_count = 6;

struct BoxFault {
  BoxFaultKind kind = BoxFaultKind::malformed_report;
  std::string detail;
  std::uint32_t count = 1;  // e.g. reports lost in one gap
};

enum class Severity { debug, info, warning, error };

// Called on the daemon's io_context thread, in the order things happened on a box.
class BoxListener {
 public:
  virtual ~BoxListener() = default;
  virtual void box_attached(const BoxIdentity& box, BoxTimeUs box_time_us, HostTimeUs received_at_us) = 0;
  virtual void line_event(const std::string& serial, const LineEvent& event) = 0;
  // The box is gone (unplugged, or its USB link failed). detected_at_us is host time.
  virtual void box_detached(const std::string& serial, const std::string& reason, HostTimeUs detected_at_us) = 0;
  // A box report or keepalive that refreshes the clock mapping without a line event.
  virtual void box_clock_sample(const std::string& serial, BoxTimeUs box_time_us, HostTimeUs received_at_us) = 0;
  virtual void box_fault(const std::string& serial, const BoxFault& fault) = 0;
  // The box dropped line audio it could not deliver in time, near box_time_us
  // (x800.md 6.8 audio_overrun); told after the box_fault for the same report.
  virtual void audio_lost(const std::string& serial, BoxTimeUs box_time_us) = 0;
  // Driver diagnostics; the daemon decides where they go.
  virtual void driver_message(Severity severity, const std::string& text) = 0;
};

std::string to_string(BoxFaultKind kind);

}  // namespace deskline::drivers
