#pragma once

#include <cstdint>
#include <string>

#include "codec/line_detectors.hpp"

namespace deskline::daemon {

// Something the line detectors heard in a line's audio (caller ID or its
// rejection, a DTMF digit, a call-progress tone), placed on the host's wall
// clock through the capture timeline. The event's own sample positions are
// the detector's and mean nothing outside the worker.
struct AudioDetection {
  std::string box_serial;
  int port = 1;
  std::int64_t start_host_us = 0;  // where the signal began on the line
  std::int64_t end_host_us = 0;    // where it was complete or confirmed
  codec::LineEvent event;
};

}  // namespace deskline::daemon
