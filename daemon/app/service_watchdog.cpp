#include "daemon/app/service_watchdog.hpp"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <system_error>

namespace deskline::daemon {

ServiceWatchdog::ServiceWatchdog(boost::asio::io_context& io, Logger& log) : timer_(io) {
  std::uint64_t timeout_us = 0;
  const int enabled = sd_watchdog_enabled(0, &timeout_us);
  if (enabled < 0) {
    log.warning("systemd watchdog: {} (no pings)", std::error_code(-enabled, std::generic_category()).message());
  } else if (enabled > 0 && timeout_us > 0) {
    interval_ = std::chrono::microseconds(timeout_us / 2);
    log.info("systemd watchdog: a ping every {} ms from the io thread (timeout {} ms)", interval_.count() / 1000,
             timeout_us / 1000);
  }
}

void ServiceWatchdog::start() {
  if (enabled()) ping();
}

void ServiceWatchdog::stop() { timer_.cancel(); }

void ServiceWatchdog::ping() {
  sd_notify(0, "WATCHDOG=1");
  timer_.expires_after(interval_);
  timer_.async_wait([this](boost::system::error_code error) {
    if (!error) ping();
  });
}

}  // namespace deskline::daemon
