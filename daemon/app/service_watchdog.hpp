// The systemd watchdog (WatchdogSec= in systemd/desklined.service): pings
// WATCHDOG=1 (sd_notify(3)) from a timer on the io_context, at half the
// timeout systemd gave. Every box event, pop and request runs on that loop,
// so a loop that is stuck (a handler blocked on a busy disk, a deadlock)
// stops the pings and systemd restarts the service.
#pragma once

#include <chrono>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "daemon/core/log.hpp"

namespace deskline::daemon {

class ServiceWatchdog {
 public:
  // Off unless systemd asked for it: WATCHDOG_USEC set (and WATCHDOG_PID, if
  // set, naming this process; sd_watchdog_enabled(3)).
  ServiceWatchdog(boost::asio::io_context& io, Logger& log);

  bool enabled() const { return interval_.count() > 0; }
  void start();
  void stop();

 private:
  void ping();

  boost::asio::steady_timer timer_;
  std::chrono::microseconds interval_{0};
};

}  // namespace deskline::daemon
