// Pure translation of X800 reports into the driver-neutral line events.
#pragma once

#include <optional>
#include <string>

#include "drivers/line_box.hpp"
#include "proto/x800.hpp"

namespace deskline::drivers::x800 {

BoxIdentity to_identity(const proto::x800::BoxInfo& info, const std::string& usb_path);

// Line events for per-line reports (line_state becomes a LineStateSnapshot);
// nullopt for box-wide ones (info, ack, error).
std::optional<LineEvent> to_line_event(const proto::x800::Report& report, HostTimeUs received_at_us);

}  // namespace deskline::drivers::x800
