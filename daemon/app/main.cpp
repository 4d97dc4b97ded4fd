// desklined: drives X800-style line boxes and turns their lines into calls.
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "daemon/domain/call_json.hpp"
#include "daemon/calls/call_service.hpp"
#include "daemon/api/control_server.hpp"
#include "daemon/directory/directory.hpp"
#include "daemon/api/http_server.hpp"
#include "daemon/core/log.hpp"
#include "daemon/media/media_worker.hpp"
#include "daemon/media/recording_service.hpp"
#include "daemon/api/pop_hub.hpp"
#include "daemon/api/pop_server.hpp"
#include "daemon/store/store.hpp"
#include "drivers/x800/driver.hpp"

namespace {

using namespace deskline;
using drivers::realtime_us;

nlohmann::json calls_json(daemon::Store& store, std::size_t limit, std::string& error_text) {
  std::error_code error;
  auto records = store.list_calls(limit, error);
  if (error) {
    error_text = store.last_error_message();
    return nullptr;
  }
  nlohmann::json list = nlohmann::json::array();
  for (const auto& record : records) list.push_back(daemon::call_to_json(record));
  return list;
}

nlohmann::json handle_control(const proto::control::Request& request, daemon::CallService& calls, daemon::Store& store,
                              const daemon::MediaWorker& media, const daemon::RecordingService& recordings,
                              const std::string& web_page) {
  switch (request.command) {
    case proto::control::Command::status: {
      auto status = calls.status();
      status["audio"] = media.status();
      status["recordings_refused"] = recordings.refused_count();
      status["ok"] = true;
      status["web_page"] = web_page;
      status["pid"] = ::getpid();
      status["version"] = DESKLINE_VERSION;
      return status;
    }
    case proto::control::Command::calls: {
      std::string error;
      auto list = calls_json(store, request.limit, error);
      if (list.is_null()) return {{"ok", false}, {"error", error}};
      return {{"ok", true}, {"calls", list}};
    }
  }
  return {{"ok", false}, {"error", "unhandled command"}};
}

int run(const config::Config& config) {
  daemon::LogLevel level = daemon::LogLevel::info;
  daemon::parse_log_level(config.log_level, level);
  daemon::Logger log(level);

  std::error_code error;
  std::filesystem::create_directories(config.data_dir, error);
  if (error) {
    log.error("cannot create data_dir {}: {}", config.data_dir.string(), error.message());
    return 1;
  }
  auto store = daemon::Store::open(config.database_path(), error);
  if (!store) {
    log.error("cannot open database {}: {}", config.database_path().string(), error.message());
    return 1;
  }

  std::optional<gid_t> socket_group;
  if (!config.socket_group.empty() && !(socket_group = daemon::find_group(config.socket_group))) {
    log.error("daemon.socket_group: this system has no group '{}' (create it, or leave socket_group empty)",
              config.socket_group);
    return 1;
  }

  boost::asio::io_context io;
  daemon::CallService calls(io, config, *store, log);
  calls.recover_interrupted_calls();

  std::string directory_message;
  auto directory = daemon::Directory::open(daemon::Directory::path_for(config), config.directory, error, false,
                                           &directory_message);
  if (!directory) {
    log.error("cannot open the customer directory {}: {}", daemon::Directory::path_for(config).string(),
              directory_message.empty() ? error.message() : directory_message);
    return 1;
  }
  daemon::PopHub pops(log, [&](const std::string& raw_number) {
    std::error_code lookup_error;
    auto found = directory->lookup(raw_number, lookup_error);
    if (lookup_error) log.error("directory lookup of {} failed: {}", raw_number, lookup_error.message());
    daemon::NumberMatch match{found.number, found.display, {}};
    for (const auto& candidate : found.candidates)
      match.customers.push_back({candidate.id, candidate.name, candidate.company, candidate.url});
    return match;
  });
  calls.add_first_observer(pops);

  std::unique_ptr<daemon::RecordingService> recordings;
  daemon::MediaWorker media(io, config.recording.audio_device, log, [&](const daemon::RecordingResult& result) {
    recordings->on_result(result);
  });
  recordings = std::make_unique<daemon::RecordingService>(
      io, config, *store, media,
      [&](const daemon::CallRecord& call, const daemon::RecordingRecord& recording) {
        pops.recording_saved(call, recording.path, recording.duration_s, recording.bytes);
      },
      log);
  recordings->recover();
  recordings->check_retention();
  calls.add_observer(*recordings);
  media.enable_line_detectors(
      [&](const std::string& serial, int port) { return config.caller_id_mode_for(serial, port); },
      [&](const daemon::AudioDetection& detection) { calls.audio_detection(detection); });
  media.start();
  daemon::PopSocketServer pop_socket(io, config.events_socket_path(), pops, log);
  if (auto pop_error = pop_socket.start(socket_group)) {
    log.error("cannot listen on {}: {}", config.events_socket_path().string(), pop_error.message());
    return 1;
  }

  std::string token = config.http.token;
  if (token.empty()) {
    std::error_code token_error;
    token = daemon::load_or_create_token(config.data_dir / "http-token", token_error);
    if (token_error) {
      log.error("cannot keep the HTTP token in {}: {}", (config.data_dir / "http-token").string(),
                token_error.message());
      return 1;
    }
  }
  daemon::HttpServer http(
      io, config.http, token, pops,
      [&](std::size_t limit) {
        std::string error;
        auto list = calls_json(*store, limit, error);
        return list.is_null() ? nlohmann::json::array() : list;
      },
      log);
  if (auto http_error = http.start()) {
    log.error("cannot listen on http://{}:{}: {}", config.http.address, config.http.port, http_error.message());
    return 1;
  }
  const auto web_page = fmt::format("http://{}:{}/?token={}",
                                    config.http.address.find(':') == std::string::npos ? config.http.address
                                                                                       : "[" + config.http.address + "]",
                                    http.port(), token);

  daemon::ControlServer control(
      io, config.control_socket_path(),
      [&](const proto::control::Request& request) { return handle_control(request, calls, *store, media, *recordings, web_page); }, log);
  if (auto control_error = control.start(socket_group)) {
    log.error("cannot listen on {}: {}", config.control_socket_path().string(), control_error.message());
    return 1;
  }

  drivers::x800::DriverOptions options;
  for (const auto& match : config.usb_match) options.match.push_back({match.vendor_id, match.product_id});
  drivers::x800::Driver driver(io, calls, options);
  if (auto driver_error = driver.start()) {
    log.error("cannot start USB: {}", driver_error.message());
    return 1;
  }

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code signal_error, int signal_number) {
    if (signal_error) return;
    log.info("signal {}: stopping", signal_number);
    sd_notify(0, "STOPPING=1");
    calls.interrupt_all(realtime_us());
    driver.stop();
    media.stop();  // finishes the recordings in progress; their results are handled below
    io.poll();
    control.stop();
    pop_socket.stop();
    http.stop();
    io.stop();
  });

  log.info("desklined {} ready (config {}, database {}, pop page http://{}:{}/)", DESKLINE_VERSION,
           config.source.string(), config.database_path().string(), config.http.address, http.port());
  sd_notify(0, "READY=1");
  io.run();
  log.info("stopped");
  return 0;
}

}  // namespace

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
  return run(*loaded.config);
}
