#include "drivers/x800/driver.hpp"

#include <libusb.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <condition_variable>
#include <mutex>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "drivers/x800/report_mapping.hpp"
#include "proto/bytes.hpp"
#include "proto/x800.hpp"
#include "proto/x800_json.hpp"

namespace deskline::drivers::x800 {
namespace {

namespace wire = proto::x800;
using boost::asio::post;

class LibusbCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "libusb"; }
  std::string message(int code) const override { return libusb_strerror(code); }
};

constexpr int reads_in_flight = 2;  // a second read is queued while the first completes
constexpr int max_info_attempts = 5;
constexpr std::size_t max_frames_before_info = 64;
constexpr auto info_retry = std::chrono::milliseconds(500);

}  // namespace

const std::error_category& libusb_category() {
  static LibusbCategory category;
  return category;
}

// One attached box. Lives on the io_context thread; transfers in flight hold
// a shared_ptr so the box outlives them.
class Box : public std::enable_shared_from_this<Box> {
 public:
  Box(Driver& driver, libusb_device* device)
      : driver_(driver), device_(libusb_ref_device(device)), info_timer_(driver.io_), keepalive_timer_(driver.io_) {
    usb_path_ = fmt::format("{}-{}", libusb_get_bus_number(device), libusb_get_device_address(device));
  }

  ~Box() { libusb_unref_device(device_); }

  std::error_code open() {
    if (int rc = libusb_open(device_, &handle_); rc != 0) return {rc, libusb_category()};
    libusb_set_auto_detach_kernel_driver(handle_, 1);  // unsupported on some systems: harmless
    if (int rc = libusb_claim_interface(handle_, wire::vendor_interface); rc != 0) {
      libusb_close(handle_);
      handle_ = nullptr;
      return {rc, libusb_category()};
    }
    for (int i = 0; i < reads_in_flight; ++i) {
      if (auto error = submit_read()) {
        close("read failed: " + error.message(), realtime_us());
        return error;
      }
    }
    request_info();
    return {};
  }

  // Stops all I/O and tells the listener the box is gone (if it was announced).
  void close(const std::string& reason, HostTimeUs detected_at_us) {
    if (closed_) return;
    closed_ = true;
    closing_.store(true);
    info_timer_.cancel();
    keepalive_timer_.cancel();
    {
      std::unique_lock lock(transfers_mutex_);
      for (auto* transfer : in_flight_) libusb_cancel_transfer(transfer);
      // Cancellation completes on the event thread within a poll cycle.
      transfers_done_.wait_for(lock, std::chrono::seconds(2), [&] { return in_flight_.empty(); });
    }
    if (handle_) {
      libusb_release_interface(handle_, wire::vendor_interface);
      libusb_close(handle_);
      handle_ = nullptr;
    }
    if (identity_) driver_.listener_.box_detached(identity_->serial, reason, detected_at_us);
  }

  const std::string& usb_path() const { return usb_path_; }
  libusb_device* device() const { return device_; }

 private:
  // ---- transfers (callbacks run on libusb's event thread) ----

  std::error_code submit_read() {
    auto* transfer = libusb_alloc_transfer(0);
    if (!transfer) return {LIBUSB_ERROR_NO_MEM, libusb_category()};
    // libusb frees the buffer with free() (LIBUSB_TRANSFER_FREE_BUFFER).
    auto* buffer = static_cast<std::uint8_t*>(std::malloc(wire::max_frame_size));
    libusb_fill_interrupt_transfer(transfer, handle_, wire::endpoint_events_in, buffer,
                                   static_cast<int>(wire::max_frame_size), &Box::on_read_complete, this, 0);
    transfer->flags = LIBUSB_TRANSFER_FREE_BUFFER;
    return submit(transfer);
  }

  std::error_code submit(libusb_transfer* transfer) {
    std::lock_guard lock(transfers_mutex_);
    if (int rc = libusb_submit_transfer(transfer); rc != 0) {
      libusb_free_transfer(transfer);
      return {rc, libusb_category()};
    }
    in_flight_.push_back(transfer);
    if (!self_while_in_flight_) self_while_in_flight_ = shared_from_this();
    return {};
  }

  // Called with the transfer finished for good.
  void retire(libusb_transfer* transfer) {
    std::lock_guard lock(transfers_mutex_);
    in_flight_.erase(std::remove(in_flight_.begin(), in_flight_.end(), transfer), in_flight_.end());
    libusb_free_transfer(transfer);
    if (in_flight_.empty()) {
      transfers_done_.notify_all();
      // The last reference may now drop on the io thread, never here.
      post(driver_.io_, [keep = std::move(self_while_in_flight_)] {});
    }
  }

  static void LIBUSB_CALL on_read_complete(libusb_transfer* transfer) {
    auto* box = static_cast<Box*>(transfer->user_data);
    const HostTimeUs received_at = realtime_us();
    if (transfer->status == LIBUSB_TRANSFER_COMPLETED && !box->closing_.load()) {
      std::vector<std::uint8_t> frame(transfer->buffer, transfer->buffer + transfer->actual_length);
      post(box->driver_.io_, [self = box->shared_from_this(), frame = std::move(frame), received_at] {
        self->on_frame(frame, received_at);
      });
      std::lock_guard lock(box->transfers_mutex_);
      if (libusb_submit_transfer(transfer) == 0) return;
    } else if (transfer->status == LIBUSB_TRANSFER_NO_DEVICE && !box->closing_.load()) {
      post(box->driver_.io_, [self = box->shared_from_this(), received_at] {
        self->driver_.on_left(self->device_, received_at);
      });
    } else if (transfer->status != LIBUSB_TRANSFER_CANCELLED && !box->closing_.load()) {
      // Stall, overflow or a transient error: report it and keep reading.
      post(box->driver_.io_, [self = box->shared_from_this(), status = transfer->status] {
        self->fault(BoxFaultKind::malformed_report,
                    fmt::format("read failed: {}", libusb_error_name(status)));
      });
      std::lock_guard lock(box->transfers_mutex_);
      if (libusb_submit_transfer(transfer) == 0) return;
    }
    box->retire(transfer);
  }

  static void LIBUSB_CALL on_write_complete(libusb_transfer* transfer) {
    auto* box = static_cast<Box*>(transfer->user_data);
    if (transfer->status != LIBUSB_TRANSFER_COMPLETED && transfer->status != LIBUSB_TRANSFER_CANCELLED &&
        transfer->status != LIBUSB_TRANSFER_NO_DEVICE && !box->closing_.load()) {
      post(box->driver_.io_, [self = box->shared_from_this(), status = transfer->status] {
        self->fault(BoxFaultKind::command_failed, fmt::format("command write failed: status {}",
                                                              static_cast<int>(status)));
      });
    }
    box->retire(transfer);
  }

  // ---- io thread ----

  void send(wire::CommandBody body) {
    if (closed_) return;
    const auto bytes = wire::encode_command({next_command_sequence_++, wire::box_wide, std::move(body)});
    auto* transfer = libusb_alloc_transfer(0);
    if (!transfer) return;
    auto* buffer = static_cast<std::uint8_t*>(std::malloc(bytes.size()));
    std::copy(bytes.begin(), bytes.end(), buffer);
    libusb_fill_interrupt_transfer(transfer, handle_, wire::endpoint_commands_out, buffer,
                                   static_cast<int>(bytes.size()), &Box::on_write_complete, this, 1000);
    transfer->flags = LIBUSB_TRANSFER_FREE_BUFFER;
    if (auto error = submit(transfer)) fault(BoxFaultKind::command_failed, "submit: " + error.message());
  }

  void request_info() {
    if (closed_ || identity_) return;
    if (info_attempts_++ == max_info_attempts) {
      fault(BoxFaultKind::no_response, "no answer to GET_INFO");
      return;
    }
    send(wire::GetInfo{});
    info_timer_.expires_after(info_retry);
    info_timer_.async_wait([self = shared_from_this()](boost::system::error_code error) {
      if (!error) self->request_info();
    });
  }

  void schedule_keepalive() {
    keepalive_timer_.expires_after(driver_.options_.keepalive_interval);
    keepalive_timer_.async_wait([self = shared_from_this()](boost::system::error_code error) {
      if (error || self->closed_) return;
      if (self->keepalives_unanswered_++ >= 3)
        self->fault(BoxFaultKind::no_response, "three keepalives unanswered");
      self->send(wire::Keepalive{++self->keepalive_token_});
      self->schedule_keepalive();
    });
  }

  void fault(BoxFaultKind kind, std::string detail, std::uint32_t count = 1) {
    const std::string serial = identity_ ? identity_->serial : "usb:" + usb_path_;
    driver_.listener_.box_fault(serial, {kind, std::move(detail), count});
  }

  void on_frame(const std::vector<std::uint8_t>& frame, HostTimeUs received_at) {
    if (closed_) return;
    auto decoded = wire::decode_report(frame);
    if (!decoded) {
      fault(BoxFaultKind::malformed_report,
            fmt::format("{} ({} bytes: {})", wire::to_string(decoded.error), frame.size(), proto::to_hex(frame)));
      return;
    }
    const auto& report = *decoded.value;
    const auto last_sequence = sequence_.last();
    const auto step = sequence_.observe(report.sequence);
    if (step.lost)
      fault(BoxFaultKind::lost_reports, fmt::format("{} report(s) missing before sequence {}", step.lost,
                                                    report.sequence), step.lost);
    if (step.out_of_order)
      fault(BoxFaultKind::reports_out_of_order,
            fmt::format("sequence {} after {}: resynchronised", report.sequence, last_sequence.value_or(0)));
    if (driver_.options_.log_reports)
      driver_.listener_.driver_message(Severity::debug, fmt::format("box {} report {}",
                                                                    identity_ ? identity_->serial : usb_path_,
                                                                    wire::report_json(report).dump()));
    if (!identity_) {
      if (const auto* info = std::get_if<wire::BoxInfo>(&report.body)) {
        attach(*info, report.box_time_us, received_at);
      } else if (early_frames_.size() < max_frames_before_info) {
        early_frames_.push_back({report, received_at});
      }
      return;
    }
    dispatch(report, received_at);
  }

  void attach(const wire::BoxInfo& info, std::uint64_t box_time_us, HostTimeUs received_at) {
    info_timer_.cancel();
    identity_ = to_identity(info, usb_path_);
    driver_.listener_.driver_message(
        Severity::info, fmt::format("box {} attached at usb {}: {} firmware {}, {} lines, {} Hz",
                                    identity_->serial, usb_path_, identity_->model, identity_->firmware,
                                    identity_->line_count, identity_->audio_rate_hz));
    driver_.listener_.box_attached(*identity_, box_time_us, received_at);
    send(wire::SetEventMask{wire::all_events});
    if (info.decodes_caller_id != driver_.options_.enable_box_caller_id)
      send(wire::SetCallerIdDecoding{driver_.options_.enable_box_caller_id});
    // Answered after every report queued so far (x800.md 8.1): the state the
    // early reports below lead to, or a call that began before we attached.
    send(wire::GetLineState{});
    awaiting_line_state_ = true;
    schedule_keepalive();
    auto early = std::move(early_frames_);
    for (const auto& [report, at] : early) dispatch(report, at);
  }

  // Firmware from before get_line_state refuses it as an unknown command
  // (x800.md 7.5): expected, not a fault. The lines then count as on-hook
  // until their next reports, as they always did.
  bool refused_line_state(const wire::BoxError& error) {
    if (!awaiting_line_state_ || error.code != wire::BoxErrorCode::bad_command ||
        error.message != wire::to_string(wire::FrameError::unknown_type))
      return false;
    awaiting_line_state_ = false;
    driver_.listener_.driver_message(
        Severity::info, fmt::format("box {} does not report line state (firmware {}): a call already in "
                                    "progress on it is seen from its next hook or ring report",
                                    identity_->serial, identity_->firmware));
    return true;
  }

  void dispatch(const wire::Report& report, HostTimeUs received_at) {
    keepalives_unanswered_ = 0;
    const auto& serial = identity_->serial;
    if (const auto* error = std::get_if<wire::BoxError>(&report.body)) {
      if (!refused_line_state(*error))
        fault(BoxFaultKind::box_error, fmt::format("box error {}: {}", static_cast<int>(error->code), error->message));
      if (error->code == wire::BoxErrorCode::audio_overrun) driver_.listener_.audio_lost(serial, report.box_time_us);
      return;
    }
    if (std::holds_alternative<wire::LineState>(report.body)) awaiting_line_state_ = false;
    if (const auto* ack = std::get_if<wire::Ack>(&report.body); ack && ack->status != wire::AckStatus::ok) {
      if (ack->command == wire::CommandType::set_caller_id_decoding && ack->status == wire::AckStatus::unsupported)
        // A capability answer (x800.md 7.3), not a fault: the line audio is decoded instead.
        driver_.listener_.driver_message(Severity::info,
                                         fmt::format("box {} has no caller-ID decoder: caller ID and digits come "
                                                     "from the line audio",
                                                     serial));
      else
        fault(BoxFaultKind::command_failed, fmt::format("command 0x{:02x} refused with status {}",
                                                        static_cast<int>(ack->command),
                                                        static_cast<int>(ack->status)));
    }
    auto event = to_line_event(report, received_at);
    if (!event) {
      driver_.listener_.box_clock_sample(serial, report.box_time_us, received_at);
      return;
    }
    if (event->port > identity_->line_count) {
      fault(BoxFaultKind::malformed_report,
            fmt::format("report for port {} on a {}-line box", event->port, identity_->line_count));
      return;
    }
    driver_.listener_.line_event(serial, *event);
  }

  Driver& driver_;
  libusb_device* device_ = nullptr;
  libusb_device_handle* handle_ = nullptr;
  std::string usb_path_;
  std::optional<BoxIdentity> identity_;
  std::vector<std::pair<wire::Report, HostTimeUs>> early_frames_;
  wire::SequenceTracker sequence_;
  std::uint16_t next_command_sequence_ = 0;
  int info_attempts_ = 0;
  std::uint32_t keepalive_token_ = 0;
  int keepalives_unanswered_ = 0;
  bool awaiting_line_state_ = false;  // get_line_state sent, no answer yet
  boost::asio::steady_timer info_timer_;
  boost::asio::steady_timer keepalive_timer_;
  bool closed_ = false;

  // Shared with the event thread.
  std::atomic<bool> closing_{false};
  std::mutex transfers_mutex_;
  std::condition_variable transfers_done_;
  std::vector<libusb_transfer*> in_flight_;
  std::shared_ptr<Box> self_while_in_flight_;
};

Driver::Driver(boost::asio::io_context& io, BoxListener& listener, DriverOptions options)
    : io_(io), listener_(listener), options_(std::move(options)) {}

Driver::~Driver() { stop(); }

std::error_code Driver::start() {
  if (int rc = libusb_init(&context_); rc != 0) return {rc, libusb_category()};
  if (!libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG)) {
    libusb_exit(context_);
    context_ = nullptr;
    return {LIBUSB_ERROR_NOT_SUPPORTED, libusb_category()};
  }
  // Event thread first: hotplug enumeration below posts work that opens boxes.
  event_thread_ = std::thread([this] { run_events(); });
  const int rc = libusb_hotplug_register_callback(
      context_, LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT,
      LIBUSB_HOTPLUG_ENUMERATE, LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY,
      LIBUSB_HOTPLUG_MATCH_ANY,
      [](libusb_context* context, libusb_device* device, libusb_hotplug_event event, void* self) {
        return Driver::hotplug_callback(context, device, static_cast<int>(event), self);
      },
      this, &hotplug_handle_);
  if (rc != 0) {
    stop();
    return {rc, libusb_category()};
  }
  hotplug_registered_ = true;
  return {};
}

void Driver::stop() {
  if (!context_) return;
  if (hotplug_registered_) {
    libusb_hotplug_deregister_callback(context_, hotplug_handle_);
    hotplug_registered_ = false;
  }
  auto boxes = std::move(boxes_);
  for (auto& [device, box] : boxes) box->close("daemon stopping", realtime_us());
  boxes.clear();
  stopping_.store(true);
  libusb_interrupt_event_handler(context_);
  if (event_thread_.joinable()) event_thread_.join();
  libusb_exit(context_);
  context_ = nullptr;
}

int Driver::hotplug_callback(libusb_context*, libusb_device* device, int event, void* self) {
  auto* driver = static_cast<Driver*>(self);
  libusb_device_descriptor descriptor{};
  if (libusb_get_device_descriptor(device, &descriptor) != 0 ||
      !driver->matches(descriptor.idVendor, descriptor.idProduct))
    return 0;
  const HostTimeUs detected_at = realtime_us();
  // Opening from inside a hotplug callback is not allowed: do it on the io thread.
  libusb_ref_device(device);
  post(driver->io_, [driver, device, event, detected_at] {
    if (event == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED)
      driver->on_arrived(device);
    else
      driver->on_left(device, detected_at);
    libusb_unref_device(device);
  });
  return 0;
}

bool Driver::matches(std::uint16_t vendor_id, std::uint16_t product_id) const {
  return std::any_of(options_.match.begin(), options_.match.end(), [&](const UsbId& id) {
    return id.vendor_id == vendor_id && id.product_id == product_id;
  });
}

void Driver::on_arrived(libusb_device* device) {
  if (!context_ || boxes_.contains(device)) return;  // enumeration may report a box twice
  auto box = std::make_shared<Box>(*this, device);
  if (auto error = box->open()) {
    listener_.driver_message(Severity::error,
                             fmt::format("cannot open box at usb {}: {}", box->usb_path(), error.message()));
    return;
  }
  boxes_.emplace(device, std::move(box));
}

void Driver::on_left(libusb_device* device, HostTimeUs detected_at_us) {
  auto found = boxes_.find(device);
  if (found == boxes_.end()) return;
  auto box = found->second;
  boxes_.erase(found);
  box->close("unplugged", detected_at_us);
}

void Driver::run_events() {
  while (!stopping_.load()) {
    timeval timeout{1, 0};
    libusb_handle_events_timeout_completed(context_, &timeout, nullptr);
  }
}

}  // namespace deskline::drivers::x800
