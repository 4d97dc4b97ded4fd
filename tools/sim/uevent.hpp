// Hotplug events for the programs under the testbed.
//
// umockdev_testbed_uevent() cannot be used from the simulator: it looks the
// device up with libudev in the calling process, which (without the preload)
// sees the real /sys, not the testbed. So the simulator sends the event
// itself, in the libudev monitor format, to every monitor socket the child
// opened in the testbed ($UMOCKDEV_DIR/event<N>, created by the preload).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace deskline::sim {

struct Uevent {
  std::string action;     // "add" or "remove"
  std::string devpath;    // "/devices/1-1" (no "/sys")
  std::string subsystem;  // "usb"
  std::string devtype;    // "usb_device"
  std::vector<std::pair<std::string, std::string>> properties;  // DEVNAME, BUSNUM, ...
};

// Returns how many monitors it reached. Never blocks.
int send_uevent(const std::string& testbed_root, const Uevent& event);

}  // namespace deskline::sim
