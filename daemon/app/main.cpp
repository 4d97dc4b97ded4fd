// desklined: drives X800-style line boxes and turns their lines into calls.
#include <csignal>
#include <sys/stat.h>

#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "config/config.hpp"
#include "daemon/app/daemon.hpp"

int main(int argc, char** argv) {
  CLI::App app{"desklined: telephony gateway daemon for X800-style USB line boxes"};
  std::string config_path(deskline::config::default_path);
  app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  std::string check_path;
  auto* check = app.add_option("--check-config", check_path,
                               "only check FILE (default: the --config file), report every error, exit 0 if it is "
                               "valid, 1 if not")
                    ->expected(0, 1);
  app.set_version_flag("--version", DESKLINE_VERSION);
  CLI11_PARSE(app, argc, argv);

  if (check->count() > 0) {
    const auto path = check_path.empty() ? config_path : check_path;
    const auto checked = deskline::config::load_file(path);
    for (const auto& error : checked.errors) std::cerr << error.to_string() << "\n";
    if (!checked) {
      std::cerr << fmt::format("desklined: {}: {} error(s)\n", path, checked.errors.size());
      return 1;
    }
    std::cout << path << ": ok\n";
    return 0;
  }
  auto loaded = deskline::config::load_file(config_path);
  if (!loaded) {
    for (const auto& error : loaded.errors) std::cerr << "desklined: " << error.to_string() << "\n";
    return 2;
  }
  ::umask(027);  // recordings and the database are not world-readable
  // A peer that hangs up is an error code, not a signal: sendfile(2) to a
  // closed socket raises SIGPIPE (socket writes pass MSG_NOSIGNAL already).
  std::signal(SIGPIPE, SIG_IGN);
  deskline::daemon::Daemon daemon(std::move(*loaded.config));
  if (!daemon.start()) return 1;
  return daemon.run();
}
