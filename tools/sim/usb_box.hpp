// One virtual X800 box on the umockdev testbed: its sysfs device, its usbfs
// ioctl handler (URBs on the vendor interface and EP0) and its protocol state
// (report sequence, queue, event masks, caller-ID decoding, line states).
//
// Threading: umockdev runs every ioctl handler on its own worker thread (the
// testbed's GLib main context). URB bookkeeping lives on that thread only.
// The scenario runner and the audio writer call plug/unplug/report from their
// threads; those touch shared protocol state under mutex_ and then "kick" the
// worker context, which hands queued reports to pending IN URBs and answers a
// held reap at once.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <umockdev.h>

#include <nlohmann/json.hpp>

#include "proto/scenario.hpp"
#include "proto/x800.hpp"
#include "tools/sim/clock.hpp"
#include "tools/sim/trace.hpp"
#include "tools/sim/uevent.hpp"

struct usbdevfs_urb;  // <linux/usbdevice_fs.h>, included by the implementation only

namespace deskline::sim {

class UsbBox {
 public:
  // usb_port: where the box sits on the virtual bus (1-based, fixes the sysfs name).
  UsbBox(const proto::scenario::BoxDecl& declaration, int usb_port, UMockdevTestbed* testbed, Trace& trace,
         const std::atomic<Nanoseconds>& scenario_start_ns);
  ~UsbBox();
  UsbBox(const UsbBox&) = delete;
  UsbBox& operator=(const UsbBox&) = delete;

  const proto::scenario::BoxDecl& declaration() const { return declaration_; }

  // Power-up: a new USB device (new devnum), box time 0 at epoch_ns, sequence
  // 0, default settings. Returns false if umockdev refused the device.
  bool plug(Nanoseconds epoch_ns);
  // Power loss: removes the device (remove uevent) and fails pending URBs.
  void unplug();
  // The program under test exited (a restart) and the box stays powered. Like
  // the kernel, which discards a dead process's URBs, the box forgets the
  // open files of that process, which umockdev may not have noticed yet:
  // their pending reads must not swallow reports meant for the next host.
  void host_exited();
  bool plugged() const;
  Nanoseconds epoch_ns() const;
  std::uint64_t box_time_us(Nanoseconds at_ns) const;

  // Queues a report about an event at stamp_ns (its box time). Returns the
  // sequence number, or nothing when the event mask suppressed it or the box
  // is unplugged. trace_fields are merged into the delivery's trace line.
  std::optional<std::uint16_t> report(std::uint8_t line_index, proto::x800::ReportBody body, Nanoseconds stamp_ns,
                                      nlohmann::json trace_fields = nlohmann::json::object());
  // Queues bytes as one transfer, verbatim (raw / garbage actions).
  bool raw_transfer(std::vector<std::uint8_t> bytes, nlohmann::json trace_fields = nlohmann::json::object());

  // Box-side caller-ID decoding currently on for this port.
  bool decodes_caller_id(std::uint8_t line_index) const;

  // Called once per power-up, on the worker thread, when the host's first
  // valid command arrives (the scenario clock waits for it).
  void set_first_command_callback(std::function<void()> callback);
  bool has_received_command() const;

  std::uint64_t dropped_reports() const;
  // Host file descriptors still open on the box (any power-up). The testbed
  // must outlive them: umockdev complains when it drops a live connection.
  int open_clients() const { return open_clients_.load(); }

 private:
  struct ClientState;
  struct QueuedTransfer {
    std::vector<std::uint8_t> bytes;
    nlohmann::json trace;
    Nanoseconds queued_ns = 0;
  };

  static gboolean on_handle_ioctl(UMockdevIoctlBase* handler, UMockdevIoctlClient* client, gpointer self);
  static void on_client_connection_changed(GObject* client, GParamSpec* property, gpointer self);
  static gboolean on_hold_expired(gpointer context);
  static gboolean on_kick(gpointer self);

  bool handle_ioctl(UMockdevIoctlClient* client);
  ClientState& client_state(UMockdevIoctlClient* client);
  void submit_urb(ClientState& state);
  void reap_urb(ClientState& state, bool blocking);
  void discard_urb(ClientState& state);
  void answer_reap(ClientState& state);
  void hold_reap(ClientState& state, bool blocking);
  void service(ClientState& state);
  void service_all();
  void kick();
  void handle_control(usbdevfs_urb& urb);
  void handle_command(std::span<const std::uint8_t> bytes);
  void queue_locked(std::vector<std::uint8_t> bytes, nlohmann::json trace);
  std::optional<std::uint16_t> report_locked(std::uint8_t line_index, proto::x800::ReportBody body,
                                             Nanoseconds stamp_ns, nlohmann::json trace_fields, bool answer);
  void remember_line_state(std::uint8_t line_index, const proto::x800::ReportBody& body);
  void answer_line_state(std::uint8_t line_index, Nanoseconds now);
  double scenario_seconds(Nanoseconds at_ns) const;
  std::string device_record() const;  // umockdev_testbed_add_from_string() format
  Uevent hotplug_event(const std::string& action) const;
  void log_unknown_ioctl(unsigned long request);

  const proto::scenario::BoxDecl declaration_;
  const int usb_port_;
  UMockdevTestbed* const testbed_;
  Trace& trace_;
  const std::atomic<Nanoseconds>& scenario_start_ns_;
  UMockdevIoctlBase* handler_ = nullptr;
  std::string testbed_root_;
  std::string sysfs_path_;  // "/sys/devices/1-N"
  std::string device_node_;   // "/dev/bus/usb/001/DDD" of the current power-up

  // Shared between the worker and the runner/audio threads.
  mutable std::mutex mutex_;
  bool plugged_ = false;
  std::uint64_t generation_ = 0;  // bumps at every plug, unplug and host_exited()
  int device_number_ = 1;
  Nanoseconds epoch_ns_ = 0;
  std::uint16_t next_sequence_ = 0;
  std::deque<QueuedTransfer> queue_;
  std::uint64_t dropped_reports_ = 0;
  std::array<std::uint16_t, proto::x800::max_lines> event_masks_{};
  std::uint16_t box_wide_event_mask_ = proto::x800::all_events;
  std::array<bool, proto::x800::max_lines> decoding_{};
  // What the detectors say now, masked or not: the get_line_state answer.
  std::array<proto::x800::LineState, proto::x800::max_lines> line_states_{};
  bool received_command_ = false;
  std::function<void()> first_command_callback_;
  GMainContext* worker_context_ = nullptr;
  std::atomic<bool> kick_pending_{false};
  std::atomic<int> open_clients_{0};

  // Worker thread only.
  std::map<UMockdevIoctlClient*, std::unique_ptr<ClientState>> clients_;
  std::vector<unsigned long> logged_requests_;
};

}  // namespace deskline::sim
