// desklined: drives X800-style line boxes and turns their lines into calls.
#include <csignal>
#include <sys/stat.h>

#include <iostream>

#include <CLI/CLI.hpp>

#include "config/config.hpp"
#include "daemon/app/daemon.hpp"

int main(int argc, char** argv) {
  CLI::App app{"desklined: telephony gateway daemon for X800-style USB line boxes"};
  std::string config_path(deskline::config::default_path);
  app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  app.set_version_flag("--version", DESKLINE_VERSION);
  CLI11_PARSE(app, argc, argv);

  auto loaded = deskline::config::load_file(config_path);
  if (!loaded) {
    std::cerr << "desklined: " << loaded.error.to_string() << "\n";
    return 2;
  }
  ::umask(027);  // recordings and the database are not world-readable
  // A peer that hangs up is an error code, not a signal: sendfile(2) to a
  // closed socket raises SIGPIPE (socket writes pass MSG_NOSIGNAL already).
  std::signal(SIGPIPE, SIG_IGN);
  deskline::daemon::Daemon daemon(*loaded.config);
  if (!daemon.start()) return 1;
  return daemon.run();
}
