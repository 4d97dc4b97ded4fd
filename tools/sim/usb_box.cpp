#include "tools/sim/usb_box.hpp"

// <linux/ioctl.h> first: <linux/usbdevice_fs.h> uses its _IOR/_IOW macros.
#include <linux/ioctl.h>
#include <linux/usbdevice_fs.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include <fmt/format.h>

#include "proto/bytes.hpp"
#include "proto/x800_usb.hpp"
#include "tools/sim/log.hpp"
#include "proto/x800_json.hpp"


namespace deskline::sim {
namespace x800 = proto::x800;
namespace usb = proto::x800::usb;

namespace {

// The emulated node is always poll-ready, so libusb reaps in a loop: an
// immediate EAGAIN would spin it at full CPU (docs/architecture.md §7). A reap
// with nothing to return is held this long, or until an URB completes.
constexpr guint reap_hold_ms = 20;
// Spec x800.md 8.6: the box queues at least 64 reports, then drops the oldest.
constexpr std::size_t max_queued_transfers = 256;
constexpr int usb_bus = 1;
constexpr int usb_device_major = 189;

// USB addresses are handed out bus-wide, like the kernel does: every plug of
// every box gets the next one (2..127; 1 would be the root hub).
int next_device_number() {
  static std::atomic<int> counter{0};
  const int value = counter.fetch_add(1) % 126;
  return value + 2;
}

struct FirmwareVersion {
  std::uint8_t major = 0, minor = 0, patch = 0;
};

FirmwareVersion parse_firmware(const std::string& text) {
  FirmwareVersion version;
  unsigned major = 0, minor = 0, patch = 0;
  if (std::sscanf(text.c_str(), "%u.%u.%u", &major, &minor, &patch) == 3) {
    version.major = static_cast<std::uint8_t>(major);
    version.minor = static_cast<std::uint8_t>(minor);
    version.patch = static_cast<std::uint8_t>(patch);
  }
  return version;
}

// umockdev "A:" values take backslash escapes; sysfs text ends in a newline.
std::string attribute_line(std::string_view name, std::string_view value, bool newline = true) {
  std::string escaped;
  for (char c : value) {
    if (c == '\\') escaped += "\\\\";
    else escaped.push_back(c);
  }
  return fmt::format("A: {}={}{}\n", name, escaped, newline ? "\\n" : "");
}

void complete(UMockdevIoctlClient* client, long result, int error_number) {
  umockdev_ioctl_client_complete(client, result, error_number);
}

usbdevfs_urb& urb_of(UMockdevIoctlData* urb_data) { return *reinterpret_cast<usbdevfs_urb*>(urb_data->data); }

}  // namespace

struct UsbBox::ClientState {
  UsbBox* box = nullptr;
  UMockdevIoctlClient* client = nullptr;  // one open file descriptor of the host
  std::uint64_t generation = 0;           // power-up (and host run) it opened; stale ones only see ENODEV
  std::deque<UMockdevIoctlData*> pending_in;  // IN URBs on 0x81 waiting for a report
  // URBs the host may reap, each with the trace of the report it carries
  // (null for other URBs), written when the host actually reaps it.
  std::deque<std::pair<UMockdevIoctlData*, nlohmann::json>> completed;
  bool holding_reap = false;
  GSource* hold_timer = nullptr;
  gulong connection_handler = 0;
};

UsbBox::UsbBox(const proto::scenario::BoxDecl& declaration, int usb_port, UMockdevTestbed* testbed, Trace& trace,
               const std::atomic<Nanoseconds>& scenario_start_ns)
    : declaration_(declaration),
      usb_port_(usb_port),
      testbed_(testbed),
      trace_(trace),
      scenario_start_ns_(scenario_start_ns),
      handler_(umockdev_ioctl_base_new()),
      sysfs_path_(fmt::format("/sys/devices/{}-{}", usb_bus, usb_port)) {
  gchar* root = umockdev_testbed_get_root_dir(testbed);
  testbed_root_ = root;
  g_free(root);
  g_signal_connect(handler_, "handle-ioctl", G_CALLBACK(on_handle_ioctl), this);
}

UsbBox::~UsbBox() {
  g_signal_handlers_disconnect_by_data(handler_, this);
  for (auto& [client, state] : clients_) {
    if (state->hold_timer) {
      g_source_destroy(state->hold_timer);
      g_source_unref(state->hold_timer);
    }
    for (auto* urb : state->pending_in) umockdev_ioctl_data_unref(urb);
    for (auto& [urb, trace] : state->completed) umockdev_ioctl_data_unref(urb);
    g_signal_handler_disconnect(client, state->connection_handler);
    // A client whose connection is still open is left to the process exit:
    // finalizing it now would make umockdev report a live stream.
    if (!umockdev_ioctl_client_get_connected(client)) g_object_unref(client);
  }
  g_object_unref(handler_);
  if (worker_context_) g_main_context_unref(worker_context_);
}

// ---- power ------------------------------------------------------------------

bool UsbBox::plug(Nanoseconds epoch_ns) {
  std::string node;
  {
    std::lock_guard lock(mutex_);
    if (plugged_) return true;
    plugged_ = true;
    ++generation_;
    device_number_ = next_device_number();
    device_node_ = fmt::format("/dev/bus/usb/{:03}/{:03}", usb_bus, device_number_);
    epoch_ns_ = epoch_ns;
    next_sequence_ = 0;
    queue_.clear();
    event_masks_.fill(x800::all_events);
    box_wide_event_mask_ = x800::all_events;
    decoding_.fill(declaration_.decodes_caller_id);
    line_states_.fill(x800::LineState{});  // x800.md 8.2: the power-up reports say otherwise
    received_command_ = false;
    node = device_node_;
  }
  // The handler must be in place before the device appears: the host may open
  // it as soon as the add uevent arrives.
  GError* error = nullptr;
  if (!umockdev_testbed_attach_ioctl(testbed_, node.c_str(), handler_, &error)) {
    log("box {}: cannot attach ioctl handler to {}: {}", declaration_.id, node, error ? error->message : "?");
    g_clear_error(&error);
    return false;
  }
  if (!umockdev_testbed_add_from_string(testbed_, device_record().c_str(), &error)) {
    log("box {}: umockdev refused the device: {}", declaration_.id, error ? error->message : "?");
    g_clear_error(&error);
    return false;
  }
  const int monitors = send_uevent(testbed_root_, hotplug_event("add"));
  log("box {} (serial {}) plugged in as {} ({} udev monitors told)", declaration_.id, declaration_.serial, node,
      monitors);
  return true;
}

void UsbBox::unplug() {
  std::string node;
  {
    std::lock_guard lock(mutex_);
    if (!plugged_) return;
    plugged_ = false;
    ++generation_;
    queue_.clear();
    node = device_node_;
  }
  kick();  // the worker fails the host's pending URBs with ENODEV
  const int monitors = send_uevent(testbed_root_, hotplug_event("remove"));
  umockdev_testbed_remove_device(testbed_, sysfs_path_.c_str());
  GError* error = nullptr;
  if (!umockdev_testbed_detach_ioctl(testbed_, node.c_str(), &error)) {
    log("box {}: detaching ioctl handler from {}: {}", declaration_.id, node, error ? error->message : "?");
    g_clear_error(&error);
  }
  log("box {} unplugged ({} removed, {} udev monitors told)", declaration_.id, node, monitors);
}

void UsbBox::host_exited() {
  {
    std::lock_guard lock(mutex_);
    if (!plugged_) return;
    ++generation_;  // clients opened before now only see ENODEV; queued reports wait for the next host
  }
  kick();  // the worker fails the old clients' pending URBs and held reaps
}

bool UsbBox::plugged() const {
  std::lock_guard lock(mutex_);
  return plugged_;
}

Nanoseconds UsbBox::epoch_ns() const {
  std::lock_guard lock(mutex_);
  return epoch_ns_;
}

std::uint64_t UsbBox::box_time_us(Nanoseconds at_ns) const {
  std::lock_guard lock(mutex_);
  return at_ns > epoch_ns_ ? static_cast<std::uint64_t>((at_ns - epoch_ns_) / 1000) : 0;
}

Uevent UsbBox::hotplug_event(const std::string& action) const {
  std::lock_guard lock(mutex_);
  Uevent event;
  event.action = action;
  event.devpath = sysfs_path_.substr(std::string_view("/sys").size());
  event.subsystem = "usb";
  event.devtype = "usb_device";
  event.properties = {{"DEVNAME", device_node_},
                      {"BUSNUM", fmt::format("{:03}", usb_bus)},
                      {"DEVNUM", fmt::format("{:03}", device_number_)},
                      {"MAJOR", std::to_string(usb_device_major)},
                      {"MINOR", std::to_string((usb_bus - 1) * 128 + (device_number_ - 1))},
                      {"PRODUCT", fmt::format("{:x}/{:x}/100", x800::default_vendor_id, x800::default_product_id)}};
  return event;
}

std::string UsbBox::device_record() const {
  const auto firmware = parse_firmware(declaration_.firmware);
  usb::DeviceIdentity identity;
  identity.firmware_major = firmware.major;
  identity.firmware_minor = firmware.minor;
  identity.line_count = declaration_.lines;
  identity.sample_rates_hz = {declaration_.audio_rate_hz};
  const int minor = (usb_bus - 1) * 128 + (device_number_ - 1);
  const std::string bcd_device = fmt::format("{:x}{:x}{:02x}", firmware.major / 10 % 10, firmware.major % 10,
                                             (firmware.minor / 10 % 10) << 4 | (firmware.minor % 10));
  std::string record;
  record += fmt::format("P: /devices/{}-{}\n", usb_bus, usb_port_);
  record += fmt::format("N: bus/usb/{:03}/{:03}\n", usb_bus, device_number_);
  record += "E: SUBSYSTEM=usb\nE: DEVTYPE=usb_device\nE: DRIVER=usb\n";
  record += fmt::format("E: DEVNAME=/dev/bus/usb/{:03}/{:03}\n", usb_bus, device_number_);
  record += fmt::format("E: BUSNUM={:03}\nE: DEVNUM={:03}\n", usb_bus, device_number_);
  record += fmt::format("E: MAJOR={}\nE: MINOR={}\n", usb_device_major, minor);
  record += fmt::format("E: PRODUCT={:x}/{:x}/{}\n", x800::default_vendor_id, x800::default_product_id, bcd_device);
  record += fmt::format("E: ID_VENDOR_ID={:04x}\nE: ID_MODEL_ID={:04x}\n", x800::default_vendor_id,
                        x800::default_product_id);
  record += fmt::format("E: ID_SERIAL_SHORT={}\n", declaration_.serial);
  record += attribute_line("idVendor", fmt::format("{:04x}", x800::default_vendor_id));
  record += attribute_line("idProduct", fmt::format("{:04x}", x800::default_product_id));
  record += attribute_line("bcdDevice", bcd_device);
  record += attribute_line("busnum", std::to_string(usb_bus));
  record += attribute_line("devnum", std::to_string(device_number_));
  record += attribute_line("speed", "12");
  record += attribute_line("version", " 2.00");
  record += attribute_line("bConfigurationValue", "1");
  record += attribute_line("bNumConfigurations", "1");
  record += attribute_line("bNumInterfaces", " 3");
  record += attribute_line("bDeviceClass", "00");
  record += attribute_line("bMaxPacketSize0", "64");
  record += attribute_line("manufacturer", "Deskline Simulator");
  record += attribute_line("product", declaration_.model);
  record += attribute_line("serial", declaration_.serial);
  record += attribute_line("dev", fmt::format("{}:{}", usb_device_major, minor), false);
  record += "H: descriptors=" + proto::to_hex(usb::sysfs_descriptors(identity)) + "\n";
  return record;
}

// ---- reports ----------------------------------------------------------------

double UsbBox::scenario_seconds(Nanoseconds at_ns) const {
  const Nanoseconds start = scenario_start_ns_.load();
  return start == 0 ? 0.0 : static_cast<double>(at_ns - start) / 1e9;
}

void UsbBox::queue_locked(std::vector<std::uint8_t> bytes, nlohmann::json trace) {
  if (queue_.size() >= max_queued_transfers) {
    queue_.pop_front();
    if (dropped_reports_++ % 64 == 0)
      log("box {}: host is not reading, dropped the oldest queued report ({} so far)", declaration_.id,
          dropped_reports_);
  }
  queue_.push_back(QueuedTransfer{std::move(bytes), std::move(trace), monotonic_ns()});
}

std::optional<std::uint16_t> UsbBox::report_locked(std::uint8_t line_index, x800::ReportBody body,
                                                   Nanoseconds stamp_ns, nlohmann::json trace_fields,
                                                   bool answer) {
  if (!plugged_) return std::nullopt;
  const auto type = x800::report_type(body);
  if (!answer) {
    remember_line_state(line_index, body);
    // A masked report is never generated and takes no sequence number (x800.md 7.2).
    const std::uint16_t mask = line_index == x800::box_wide ? box_wide_event_mask_ : event_masks_.at(line_index);
    if ((mask & x800::event_bit(type)) == 0) {
      nlohmann::json masked = std::move(trace_fields);
      masked["kind"] = "report_masked";
      masked["box"] = declaration_.id;
      if (line_index != x800::box_wide) masked["line"] = line_index + 1;
      masked["type"] = std::string(x800::to_string(type));
      trace_.write(std::move(masked));
      return std::nullopt;
    }
  }
  const std::uint64_t box_time = stamp_ns > epoch_ns_ ? static_cast<std::uint64_t>((stamp_ns - epoch_ns_) / 1000) : 0;
  x800::Report report{next_sequence_, line_index, box_time, std::move(body)};
  std::vector<std::uint8_t> bytes;
  try {
    bytes = x800::encode_report(report);
  } catch (const std::exception& error) {
    log("box {}: cannot encode {} report: {}", declaration_.id, x800::to_string(type), error.what());
    return std::nullopt;
  }
  ++next_sequence_;
  nlohmann::json trace = std::move(trace_fields);
  trace["kind"] = "report";
  trace["box"] = declaration_.id;
  if (line_index != x800::box_wide) trace["line"] = line_index + 1;
  trace["type"] = std::string(x800::to_string(type));
  trace["seq"] = report.sequence;
  trace["box_time_us"] = box_time;
  if (!trace.contains("scenario_s") && scenario_start_ns_.load() != 0) trace["scenario_s"] = scenario_seconds(stamp_ns);
  x800::add_report_fields(trace, report.body);
  queue_locked(std::move(bytes), std::move(trace));
  return report.sequence;
}

void UsbBox::remember_line_state(std::uint8_t line_index, const x800::ReportBody& body) {
  if (line_index >= line_states_.size()) return;
  auto& state = line_states_[line_index];
  if (const auto* hook = std::get_if<x800::Hook>(&body)) state.off_hook = hook->off_hook;
  else if (const auto* ring = std::get_if<x800::Ring>(&body)) state.ringing = ring->ringing;
  else if (const auto* polarity = std::get_if<x800::Polarity>(&body)) state.reversed = polarity->reversed;
}

// x800.md 7.5: one line_state per port asked for, all stamped now.
void UsbBox::answer_line_state(std::uint8_t line_index, Nanoseconds now) {
  if (line_index != x800::box_wide) {
    report_locked(line_index, line_states_.at(line_index), now, {}, true);
    return;
  }
  for (std::uint8_t port = 0; port < declaration_.lines; ++port)
    report_locked(port, line_states_.at(port), now, {}, true);
}

std::optional<std::uint16_t> UsbBox::report(std::uint8_t line_index, x800::ReportBody body, Nanoseconds stamp_ns,
                                            nlohmann::json trace_fields) {
  std::optional<std::uint16_t> sequence;
  {
    std::lock_guard lock(mutex_);
    sequence = report_locked(line_index, std::move(body), stamp_ns, std::move(trace_fields), false);
  }
  if (sequence) kick();
  return sequence;
}

bool UsbBox::raw_transfer(std::vector<std::uint8_t> bytes, nlohmann::json trace_fields) {
  {
    std::lock_guard lock(mutex_);
    if (!plugged_) return false;
    trace_fields["kind"] = "report";
    trace_fields["box"] = declaration_.id;
    trace_fields["type"] = "raw";
    trace_fields["bytes"] = proto::to_hex(bytes);
    queue_locked(std::move(bytes), std::move(trace_fields));
  }
  kick();
  return true;
}

bool UsbBox::decodes_caller_id(std::uint8_t line_index) const {
  std::lock_guard lock(mutex_);
  return declaration_.decodes_caller_id && decoding_.at(line_index);
}

void UsbBox::set_first_command_callback(std::function<void()> callback) {
  std::lock_guard lock(mutex_);
  first_command_callback_ = std::move(callback);
}

bool UsbBox::has_received_command() const {
  std::lock_guard lock(mutex_);
  return received_command_;
}

std::uint64_t UsbBox::dropped_reports() const {
  std::lock_guard lock(mutex_);
  return dropped_reports_;
}

// ---- commands (worker thread) -------------------------------------------------

void UsbBox::handle_command(std::span<const std::uint8_t> bytes) {
  const auto decoded = x800::decode_command(bytes);
  std::function<void()> first_command;
  {
    std::lock_guard lock(mutex_);
    const Nanoseconds now = monotonic_ns();
    const std::uint64_t box_time = now > epoch_ns_ ? static_cast<std::uint64_t>((now - epoch_ns_) / 1000) : 0;
    nlohmann::json trace{{"kind", "command"}, {"box", declaration_.id}, {"box_time_us", box_time}};
    if (scenario_start_ns_.load() != 0) trace["scenario_s"] = scenario_seconds(now);
    auto refuse = [&](std::string_view reason) {
      trace["error"] = std::string(reason);
      trace["bytes"] = proto::to_hex(bytes);
      trace_.write(trace);
      report_locked(x800::box_wide, x800::BoxError{x800::BoxErrorCode::bad_command, std::string(reason)}, now, {},
                    false);
    };
    const bool too_new_for_this_box = decoded && !declaration_.answers_line_state &&
                                      x800::command_type(decoded.value->body) == x800::CommandType::get_line_state;
    if (!decoded) {
      refuse(x800::to_string(decoded.error));
    } else if (too_new_for_this_box) {
      // Firmware from before get_line_state: the type is unknown to it (x800.md 7.6).
      refuse(x800::to_string(x800::FrameError::unknown_type));
    } else {
      const x800::Command& command = *decoded.value;
      const auto type = x800::command_type(command.body);
      trace["seq"] = command.sequence;
      if (command.line != x800::box_wide) trace["line"] = command.line + 1;
      x800::add_command_fields(trace, command.body);
      const bool box_wide_only = type == x800::CommandType::get_info || type == x800::CommandType::keepalive;
      if (box_wide_only && command.line != x800::box_wide) {
        refuse(x800::to_string(x800::FrameError::bad_line));
      } else {
        trace_.write(trace);
        x800::Ack ack{type, command.sequence, x800::AckStatus::ok, 0};
        const bool port_exists = command.line == x800::box_wide || command.line < declaration_.lines;
        std::visit(
            [&](const auto& body) {
              using T = std::decay_t<decltype(body)>;
              if constexpr (std::is_same_v<T, x800::GetInfo>) {
                const auto firmware = parse_firmware(declaration_.firmware);
                const bool all_decoding =
                    declaration_.decodes_caller_id &&
                    std::all_of(decoding_.begin(), decoding_.begin() + declaration_.lines, [](bool on) { return on; });
                x800::BoxInfo info{declaration_.model,   declaration_.serial,     firmware.major,
                                   firmware.minor,       firmware.patch,          declaration_.lines,
                                   declaration_.audio_rate_hz, all_decoding};
                report_locked(x800::box_wide, info, now, {}, true);
              } else if constexpr (std::is_same_v<T, x800::SetEventMask>) {
                if (!port_exists) {
                  ack.status = x800::AckStatus::bad_argument;
                } else if (command.line == x800::box_wide) {
                  event_masks_.fill(body.mask);
                  box_wide_event_mask_ = body.mask;
                } else {
                  event_masks_.at(command.line) = body.mask;
                }
              } else if constexpr (std::is_same_v<T, x800::SetCallerIdDecoding>) {
                if (!port_exists) {
                  ack.status = x800::AckStatus::bad_argument;
                } else if (body.enabled && !declaration_.decodes_caller_id) {
                  ack.status = x800::AckStatus::unsupported;
                } else if (command.line == x800::box_wide) {
                  decoding_.fill(body.enabled);
                } else {
                  decoding_.at(command.line) = body.enabled;
                }
              } else if constexpr (std::is_same_v<T, x800::Keepalive>) {
                ack.token = body.token;
              } else if constexpr (std::is_same_v<T, x800::GetLineState>) {
                if (!port_exists) ack.status = x800::AckStatus::bad_argument;
                else answer_line_state(command.line, now);
              }
            },
            command.body);
        // get_info and get_line_state answer with their own reports; the latter
        // with an ack only to refuse a port the box does not have.
        const bool answered_by_report =
            type == x800::CommandType::get_info ||
            (type == x800::CommandType::get_line_state && ack.status == x800::AckStatus::ok);
        if (!answered_by_report) report_locked(x800::box_wide, ack, now, {}, true);
        if (!received_command_) {
          received_command_ = true;
          first_command = first_command_callback_;
        }
      }
    }
  }
  if (first_command) first_command();
}

// ---- usbfs (worker thread) ------------------------------------------------------

gboolean UsbBox::on_handle_ioctl(UMockdevIoctlBase*, UMockdevIoctlClient* client, gpointer self) {
  return static_cast<UsbBox*>(self)->handle_ioctl(client) ? TRUE : FALSE;
}

UsbBox::ClientState& UsbBox::client_state(UMockdevIoctlClient* client) {
  auto it = clients_.find(client);
  if (it != clients_.end()) return *it->second;
  auto state = std::make_unique<ClientState>();
  state->box = this;
  state->client = static_cast<UMockdevIoctlClient*>(g_object_ref(client));
  {
    std::lock_guard lock(mutex_);
    const char* node = umockdev_ioctl_client_get_devnode(client);
    state->generation = plugged_ && node && device_node_ == node ? generation_ : 0;
  }
  state->connection_handler =
      g_signal_connect(client, "notify::connected", G_CALLBACK(on_client_connection_changed), this);
  ++open_clients_;
  return *clients_.emplace(client, std::move(state)).first->second;
}

void UsbBox::on_client_connection_changed(GObject* object, GParamSpec*, gpointer self) {
  auto* box = static_cast<UsbBox*>(self);
  auto* client = reinterpret_cast<UMockdevIoctlClient*>(object);
  if (umockdev_ioctl_client_get_connected(client)) return;
  auto it = box->clients_.find(client);
  if (it == box->clients_.end()) return;
  auto state = std::move(it->second);
  box->clients_.erase(it);
  if (state->hold_timer) {
    g_source_destroy(state->hold_timer);
    g_source_unref(state->hold_timer);
  }
  for (auto* urb : state->pending_in) umockdev_ioctl_data_unref(urb);
  for (auto& [urb, trace] : state->completed) umockdev_ioctl_data_unref(urb);
  g_signal_handler_disconnect(client, state->connection_handler);
  g_object_unref(client);
  --box->open_clients_;
}

void UsbBox::log_unknown_ioctl(unsigned long request) {
  if (std::find(logged_requests_.begin(), logged_requests_.end(), request) != logged_requests_.end()) return;
  logged_requests_.push_back(request);
  log("box {}: unhandled usbfs ioctl 0x{:08x} (answered ENOTTY; logged once)", declaration_.id, request);
}

bool UsbBox::handle_ioctl(UMockdevIoctlClient* client) {
  {
    std::lock_guard lock(mutex_);
    if (!worker_context_) worker_context_ = g_main_context_ref_thread_default();
  }
  ClientState& state = client_state(client);
  bool alive = false;
  {
    std::lock_guard lock(mutex_);
    alive = plugged_ && state.generation == generation_;
  }
  UMockdevIoctlData* argument = umockdev_ioctl_client_get_arg(client);
  const unsigned long request = umockdev_ioctl_client_get_request(client);
  auto resolve = [&](std::size_t size) -> UMockdevIoctlData* {
    GError* error = nullptr;
    UMockdevIoctlData* data = umockdev_ioctl_data_resolve(argument, 0, size, &error);
    g_clear_error(&error);
    return data;
  };

  switch (request) {
    case USBDEVFS_GET_CAPABILITIES: {
      UMockdevIoctlData* data = resolve(sizeof(std::uint32_t));
      if (!data) {
        complete(client, -1, EFAULT);
        break;
      }
      const std::uint32_t capabilities = USBDEVFS_CAP_ZERO_PACKET | USBDEVFS_CAP_BULK_CONTINUATION |
                                         USBDEVFS_CAP_NO_PACKET_SIZE_LIM | USBDEVFS_CAP_REAP_AFTER_DISCONNECT;
      std::memcpy(data->data, &capabilities, sizeof capabilities);
      umockdev_ioctl_data_unref(data);
      complete(client, 0, 0);
      break;
    }
    case USBDEVFS_CLAIMINTERFACE:
    case USBDEVFS_RELEASEINTERFACE:
    case USBDEVFS_DISCONNECT_CLAIM: {
      UMockdevIoctlData* data = resolve(sizeof(unsigned int));  // the interface number comes first in both
      unsigned int interface_number = 0;
      if (data) {
        std::memcpy(&interface_number, data->data, sizeof interface_number);
        umockdev_ioctl_data_unref(data);
      }
      if (!alive) complete(client, -1, ENODEV);
      else if (!data) complete(client, -1, EFAULT);
      else if (interface_number > usb::audio_streaming_interface) complete(client, -1, EINVAL);
      else complete(client, 0, 0);
      break;
    }
    case USBDEVFS_GETDRIVER:
    case USBDEVFS_IOCTL:
      // No kernel driver is bound to any interface, so there is none to detach.
      complete(client, -1, alive ? ENODATA : ENODEV);
      break;
    case USBDEVFS_SETINTERFACE:
    case USBDEVFS_SETCONFIGURATION:
    case USBDEVFS_CLEAR_HALT:
    case USBDEVFS_RESETEP:
    case USBDEVFS_RESET:
      complete(client, alive ? 0 : -1, alive ? 0 : ENODEV);
      break;
    case USBDEVFS_SUBMITURB:
      submit_urb(state);
      break;
    case USBDEVFS_REAPURB:
      reap_urb(state, true);
      break;
    case USBDEVFS_REAPURBNDELAY:
      reap_urb(state, false);
      break;
    case USBDEVFS_DISCARDURB:
      discard_urb(state);
      break;
    default:
      log_unknown_ioctl(request);
      complete(client, -1, ENOTTY);
      break;
  }
  return true;
}

void UsbBox::submit_urb(ClientState& state) {
  UMockdevIoctlClient* client = state.client;
  GError* error = nullptr;
  UMockdevIoctlData* urb_data =
      umockdev_ioctl_data_resolve(umockdev_ioctl_client_get_arg(client), 0, sizeof(usbdevfs_urb), &error);
  g_clear_error(&error);
  if (!urb_data) {
    complete(client, -1, EFAULT);
    return;
  }
  usbdevfs_urb& urb = urb_of(urb_data);
  if (urb.buffer_length > 0 && urb.buffer) {
    UMockdevIoctlData* buffer =
        umockdev_ioctl_data_resolve(urb_data, offsetof(usbdevfs_urb, buffer), static_cast<gsize>(urb.buffer_length), &error);
    g_clear_error(&error);
    if (!buffer) {
      umockdev_ioctl_data_unref(urb_data);
      complete(client, -1, EFAULT);
      return;
    }
    umockdev_ioctl_data_unref(buffer);  // the URB holds it as a child from now on
  }
  bool alive = false;
  {
    std::lock_guard lock(mutex_);
    alive = plugged_ && state.generation == generation_;
  }
  if (!alive) {
    umockdev_ioctl_data_unref(urb_data);
    complete(client, -1, ENODEV);
    return;
  }

  const bool interrupt_or_bulk = urb.type == USBDEVFS_URB_TYPE_INTERRUPT || urb.type == USBDEVFS_URB_TYPE_BULK;
  urb.status = 0;
  urb.actual_length = 0;
  if (urb.type == USBDEVFS_URB_TYPE_CONTROL) {
    handle_control(urb);
    state.completed.emplace_back(urb_data, nullptr);
  } else if (interrupt_or_bulk && urb.endpoint == x800::endpoint_events_in) {
    state.pending_in.push_back(urb_data);
  } else if (interrupt_or_bulk && urb.endpoint == x800::endpoint_commands_out) {
    urb.actual_length = urb.buffer_length;
    const auto* bytes = static_cast<const std::uint8_t*>(urb.buffer);
    handle_command(std::span<const std::uint8_t>(bytes, bytes ? static_cast<std::size_t>(urb.buffer_length) : 0));
    state.completed.emplace_back(urb_data, nullptr);
  } else {
    umockdev_ioctl_data_unref(urb_data);
    complete(client, -1, EINVAL);
    return;
  }
  complete(client, 0, 0);
  service(state);
}

void UsbBox::handle_control(usbdevfs_urb& urb) {
  // Buffer: the 8-byte setup packet, then the data stage.
  auto* buffer = static_cast<std::uint8_t*>(urb.buffer);
  if (!buffer || urb.buffer_length < 8) {
    urb.status = -EPIPE;
    return;
  }
  const std::uint8_t request_type = buffer[0];
  const std::uint8_t request = buffer[1];
  const std::span<const std::uint8_t> setup(buffer, 8);
  const std::uint16_t value = proto::load_le16(setup, 2);   // wValue
  const std::uint16_t length = proto::load_le16(setup, 6);  // wLength
  std::vector<std::uint8_t> answer;
  bool stall = false;
  constexpr std::uint8_t get_status = 0, get_descriptor = 6, get_configuration = 8, set_configuration = 9,
                         set_interface = 11;
  if ((request_type & 0x80) != 0) {
    usb::DeviceIdentity identity;
    {
      std::lock_guard lock(mutex_);
      const auto firmware = parse_firmware(declaration_.firmware);
      identity.firmware_major = firmware.major;
      identity.firmware_minor = firmware.minor;
      identity.line_count = declaration_.lines;
      identity.sample_rates_hz = {declaration_.audio_rate_hz};
    }
    if (request == get_descriptor) {
      const std::uint8_t descriptor_type = static_cast<std::uint8_t>(value >> 8);
      const std::uint8_t index = static_cast<std::uint8_t>(value);
      if (descriptor_type == usb::descriptor_device) answer = usb::device_descriptor(identity);
      else if (descriptor_type == usb::descriptor_configuration && index == 0)
        answer = usb::configuration_descriptor(identity);
      else if (descriptor_type == usb::descriptor_string && index == 0) answer = usb::string_descriptor(0, {});
      else if (descriptor_type == usb::descriptor_string && index == usb::string_manufacturer)
        answer = usb::string_descriptor(index, "Deskline Simulator");
      else if (descriptor_type == usb::descriptor_string && index == usb::string_product)
        answer = usb::string_descriptor(index, declaration_.model);
      else if (descriptor_type == usb::descriptor_string && index == usb::string_serial)
        answer = usb::string_descriptor(index, declaration_.serial);
      else stall = true;
    } else if (request == get_status) {
      answer = {0, 0};
    } else if (request == get_configuration) {
      answer = {1};
    } else {
      stall = true;
    }
  } else if (request != set_configuration && request != set_interface) {
    stall = true;
  }
  if (stall) {
    urb.status = -EPIPE;
    return;
  }
  const std::size_t room = std::min<std::size_t>(length, static_cast<std::size_t>(urb.buffer_length) - 8);
  const std::size_t copied = std::min(room, answer.size());
  std::memcpy(buffer + 8, answer.data(), copied);
  urb.actual_length = static_cast<int>(copied);
}

void UsbBox::reap_urb(ClientState& state, bool blocking) {
  if (!state.completed.empty()) {
    answer_reap(state);
    return;
  }
  hold_reap(state, blocking);
}

void UsbBox::hold_reap(ClientState& state, bool blocking) {
  state.holding_reap = true;
  bool alive = false;
  {
    std::lock_guard lock(mutex_);
    alive = plugged_ && state.generation == generation_;
  }
  // A blocking reap on a live box waits for an URB; everything else is
  // answered after the hold (EAGAIN, or ENODEV once unplugged).
  if (blocking && alive) return;
  state.hold_timer = g_timeout_source_new(reap_hold_ms);
  g_source_set_callback(state.hold_timer, on_hold_expired, &state, nullptr);
  g_source_attach(state.hold_timer, g_main_context_get_thread_default());
}

gboolean UsbBox::on_hold_expired(gpointer context) {
  auto& state = *static_cast<ClientState*>(context);
  UsbBox& box = *state.box;
  g_source_unref(state.hold_timer);
  state.hold_timer = nullptr;
  if (!state.holding_reap) return G_SOURCE_REMOVE;
  if (!state.completed.empty()) {
    box.answer_reap(state);
    return G_SOURCE_REMOVE;
  }
  bool alive = false;
  {
    std::lock_guard lock(box.mutex_);
    alive = box.plugged_ && state.generation == box.generation_;
  }
  state.holding_reap = false;
  complete(state.client, -1, alive ? EAGAIN : ENODEV);
  return G_SOURCE_REMOVE;
}

void UsbBox::answer_reap(ClientState& state) {
  if (state.hold_timer) {
    g_source_destroy(state.hold_timer);
    g_source_unref(state.hold_timer);
    state.hold_timer = nullptr;
  }
  state.holding_reap = false;
  auto [urb_data, trace] = std::move(state.completed.front());
  state.completed.pop_front();
  GError* error = nullptr;
  UMockdevIoctlData* urb_pointer =
      umockdev_ioctl_data_resolve(umockdev_ioctl_client_get_arg(state.client), 0, sizeof(void*), &error);
  g_clear_error(&error);
  if (!urb_pointer) {
    umockdev_ioctl_data_unref(urb_data);
    complete(state.client, -1, EFAULT);
    return;
  }
  // Points the host's "struct usbdevfs_urb *" at its own URB, written back
  // with the status, length and (for IN) data we filled in.
  umockdev_ioctl_data_set_ptr(urb_pointer, 0, urb_data);
  umockdev_ioctl_data_unref(urb_pointer);
  umockdev_ioctl_data_unref(urb_data);
  complete(state.client, 0, 0);
  // Stamped now: the report has left the box, as when the kernel hands a
  // completed URB to the host's reap (latency is measured from here).
  if (!trace.is_null()) trace_.write(std::move(trace));
}

void UsbBox::discard_urb(ClientState& state) {
  // DISCARDURB's argument is the URB's address in the host process.
  unsigned long address = 0;
  UMockdevIoctlData* argument = umockdev_ioctl_client_get_arg(state.client);
  std::memcpy(&address, argument->data, std::min<std::size_t>(sizeof address, static_cast<std::size_t>(argument->data_len)));
  auto it = std::find_if(state.pending_in.begin(), state.pending_in.end(),
                         [&](UMockdevIoctlData* urb) { return urb->client_addr == address; });
  if (it == state.pending_in.end()) {
    complete(state.client, -1, EINVAL);  // already completed: the host reaps it normally
    return;
  }
  UMockdevIoctlData* urb_data = *it;
  state.pending_in.erase(it);
  urb_of(urb_data).status = -ENOENT;
  urb_of(urb_data).actual_length = 0;
  state.completed.emplace_back(urb_data, nullptr);
  complete(state.client, 0, 0);
}

void UsbBox::service(ClientState& state) {
  {
    std::lock_guard lock(mutex_);
    const bool alive = plugged_ && state.generation == generation_;
    while (!state.pending_in.empty() && (!alive || !queue_.empty())) {
      UMockdevIoctlData* urb_data = state.pending_in.front();
      state.pending_in.pop_front();
      usbdevfs_urb& urb = urb_of(urb_data);
      nlohmann::json trace;
      if (!alive) {
        urb.status = -ENODEV;  // libusb reports LIBUSB_TRANSFER_NO_DEVICE
        urb.actual_length = 0;
      } else {
        QueuedTransfer transfer = std::move(queue_.front());
        queue_.pop_front();
        const std::size_t length = std::min<std::size_t>(transfer.bytes.size(), static_cast<std::size_t>(urb.buffer_length));
        if (urb.buffer) std::memcpy(urb.buffer, transfer.bytes.data(), length);
        urb.actual_length = static_cast<int>(length);
        urb.status = 0;
        transfer.trace["queued_ms"] = static_cast<double>(monotonic_ns() - transfer.queued_ns) / 1e6;
        trace = std::move(transfer.trace);
      }
      state.completed.emplace_back(urb_data, std::move(trace));
    }
  }
  if (state.holding_reap && !state.completed.empty()) answer_reap(state);
}

void UsbBox::service_all() {
  for (auto& [client, state] : clients_) service(*state);
}

void UsbBox::kick() {
  if (kick_pending_.exchange(true)) return;
  GMainContext* context = nullptr;
  {
    std::lock_guard lock(mutex_);
    context = worker_context_;
  }
  if (!context) {
    kick_pending_ = false;  // no host has opened the box yet: nothing waits
    return;
  }
  g_main_context_invoke_full(context, G_PRIORITY_DEFAULT, on_kick, this, nullptr);
}

gboolean UsbBox::on_kick(gpointer self) {
  auto* box = static_cast<UsbBox*>(self);
  box->kick_pending_ = false;
  box->service_all();
  return G_SOURCE_REMOVE;
}

}  // namespace deskline::sim
