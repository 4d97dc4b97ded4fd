// libusb driver for X800-style boxes: hotplug, one async reader per box,
// commands, keepalive. Threading: libusb runs its own event thread, which only
// timestamps completed transfers and posts them to the io_context; every box
// object is used on the io_context thread alone.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <system_error>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "drivers/line_box.hpp"

struct libusb_context;
struct libusb_device;

namespace deskline::drivers::x800 {

struct UsbId {
  std::uint16_t vendor_id = 0;
  std::uint16_t product_id = 0;
};

struct DriverOptions {
  std::vector<UsbId> match;
  // Keepalive period: refreshes the clock mapping and notices a silent box.
  std::chrono::milliseconds keepalive_interval{5000};
  bool enable_box_caller_id = true;  // ask boxes to decode caller ID themselves
  bool log_reports = false;          // every report as a debug message (log_level = "debug")
};

class Box;

class Driver {
 public:
  Driver(boost::asio::io_context& io, BoxListener& listener, DriverOptions options);
  ~Driver();
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  // Initialises libusb, registers hotplug (existing boxes are enumerated) and
  // starts the event thread. Call on the io_context thread.
  std::error_code start();
  // Releases every box and stops the event thread. Idempotent.
  void stop();

  std::size_t box_count() const { return boxes_.size(); }

 private:
  friend class Box;
  static int hotplug_callback(libusb_context* context, libusb_device* device, int event, void* self);
  void on_arrived(libusb_device* device);
  void on_left(libusb_device* device, HostTimeUs detected_at_us);
  void forget(libusb_device* device);
  bool matches(std::uint16_t vendor_id, std::uint16_t product_id) const;
  void run_events();

  boost::asio::io_context& io_;
  BoxListener& listener_;
  DriverOptions options_;
  libusb_context* context_ = nullptr;
  int hotplug_handle_ = 0;
  bool hotplug_registered_ = false;
  std::thread event_thread_;
  std::atomic<bool> stopping_{false};
  std::map<libusb_device*, std::shared_ptr<Box>> boxes_;
};

// The driver's error category: values are libusb error codes.
const std::error_category& libusb_category();

}  // namespace deskline::drivers::x800
