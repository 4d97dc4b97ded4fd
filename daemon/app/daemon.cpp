#include "daemon/app/daemon.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include <algorithm>

#include <fmt/format.h>

#include "config/reload.hpp"
#include "daemon/api/unix_socket.hpp"
#include "daemon/app/metrics_report.hpp"
#include "daemon/app/status_report.hpp"
#include "daemon/crm/crm_credentials.hpp"
#include "daemon/domain/call_json.hpp"

namespace deskline::daemon {
namespace {

using drivers::realtime_us;

LogLevel configured_level(const config::Config& config) {
  LogLevel level = LogLevel::info;
  parse_log_level(config.log_level, level);
  return level;
}

// Descriptors the daemon keeps for itself besides its clients: stdio, the
// journal, SQLite, the io_context, libusb, and per box its USB device, its
// capture stream and a recording file per line (systemd/desklined.service).
constexpr rlim_t own_descriptors = 256;

// Raises the soft limit on open files to what every client budget needs, if
// the hard limit allows; says so when it does not, since a server out of
// descriptors refuses everyone (even `deskline status`) until some are freed.
void fit_descriptor_limit(const config::Config& config, Logger& log) {
  const rlim_t needed = PopSocketServer::max_clients + ControlServer::max_sessions +
                        static_cast<rlim_t>(config.http.max_connections) + own_descriptors;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= needed) return;
  const rlim_t wanted = std::min(needed, limit.rlim_max);
  if (wanted > limit.rlim_cur) {
    limit.rlim_cur = wanted;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  if (wanted < needed)
    log.warning("at most {} open files (RLIMIT_NOFILE), fewer than the {} the client limits need: clients may be "
                "refused early (raise LimitNOFILE)",
                wanted, needed);
}

// Handlers of cancelled operations run at once; anything still pending after
// this is a service that did not stop, and is named in the log.
constexpr auto drain_limit = std::chrono::seconds(2);
// Each checkpoint copies what a second of calls and pops wrote (hundreds of
// pages at 8 rings a second) and syncs twice, on the checkpointer's thread.
constexpr auto checkpoint_period = std::chrono::seconds(1);

}  // namespace

Daemon::Daemon(config::Config config)
    : config_(std::move(config)),
      log_(configured_level(config_)),
      signals_(io_, SIGINT, SIGTERM),
      reload_signal_(io_, SIGHUP) {}

Daemon::~Daemon() {
  stop();
  drain();
}

bool Daemon::start() {
  started_at_ = realtime_us();
  fit_descriptor_limit(config_, log_);
  std::error_code error;
  std::filesystem::create_directories(config_.data_dir, error);
  if (error) {
    log_.error("cannot create data_dir {}: {}", config_.data_dir.string(), error.message());
    return false;
  }
  // Before anything in data_dir is read or repaired.
  auto lock = InstanceLock::acquire(config_.data_dir / "desklined.lock");
  if (!lock) {
    log_.error("{}", lock.error().message());
    return false;
  }
  instance_lock_.emplace(std::move(*lock));
  auto store = Store::open(config_.database_path());
  if (!store) {
    log_.error("cannot open database {}", store.error().message());
    return false;
  }
  store_ = std::move(*store);
  auto checkpointer = store_->start_checkpointer(checkpoint_period, log_);
  if (!checkpointer) {
    log_.error("cannot open the database for its checkpoints: {}", checkpointer.error().message());
    return false;
  }
  checkpointer_ = std::move(*checkpointer);
  auto writer_store = store_->open_another();
  if (!writer_store) {
    log_.error("cannot open the database for its writer: {}", writer_store.error().message());
    return false;
  }
  writer_store_ = std::move(*writer_store);
  writer_ = std::make_unique<StoreWriter>(*writer_store_, log_);
  std::optional<gid_t> desk_group;
  if (!config_.desk_group.empty() && !(desk_group = find_group(config_.desk_group))) {
    log_.error("daemon.desk_group: this system has no group '{}' (create it, or leave desk_group empty)",
               config_.desk_group);
    return false;
  }
  warn_if_data_readable_by_others(desk_group);

  calls_.emplace(io_, config_, *store_, *writer_, log_);

  auto directory = Directory::open(Directory::path_for(config_), config_.directory);
  if (!directory) {
    log_.error("cannot open the customer directory {}: {}", Directory::path_for(config_).string(),
               directory.error().message());
    return false;
  }
  directory_ = std::move(*directory);
  for (auto* pop_log : {&pop_events_, &pop_history_}) {
    auto opened = store_->open_pop_event_log();
    if (!opened) {
      log_.error("cannot open the pop event log in {}: {}", config_.database_path().string(),
                 opened.error().message());
      return false;
    }
    *pop_log = std::move(*opened);
  }
  log_.info("pop event stream {} goes on after seq {}", pop_events_->stream_id(), pop_events_->last_seq_at_open());
  calls_->set_number_lookup([this](const std::string& raw_number) {
    const auto began = std::chrono::steady_clock::now();
    const auto found = directory_->lookup(raw_number);
    directory_lookup_s_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
    if (!found) {
      log_.error("directory lookup of {} failed: {}", raw_number, found.error().code.message());
      return CallerMatch{};  // the call keeps the number as received
    }
    CallerMatch match{found->number, found->display, {}};
    for (const auto& candidate : found->candidates)
      match.customers.push_back({candidate.id, candidate.name, candidate.company, candidate.url});
    return match;
  });
  pops_.emplace(log_, *pop_history_, *pop_events_, *writer_);
  pops_->use_config(config_);
  calls_->add_first_observer(*pops_);

  media_.emplace(io_, config_.recording.audio_device, log_,
                 [this](const RecordingResult& result) { recordings_->on_result(result); });
  recordings_.emplace(
      io_, config_, *store_, *writer_, *media_,
      [this](const CallRecord& call, const RecordingResult& recording) {
        pops_->recording_saved(call, recording.path.string(), recording.duration_s, recording.bytes);
        crm_->kick_after_writes();  // its completion queues the recording and a new revision of its call
      },
      log_);
  // Before the recoveries below, which end calls and complete recordings:
  // with [crm] url set they are queued for the CRM like any other.
  crm_.emplace(config_.crm, *store_, *writer_, log_);
  if (auto started = crm_->start(); !started) {
    log_.error("cannot start the CRM sync: {}", started.error().message());
    return false;
  }
  customer_pull_.emplace(io_, config_.crm, *directory_, log_);
  if (auto started = customer_pull_->start(); !started) {
    log_.error("cannot start the customer pull: {}", started.error().message());
    return false;
  }
  recordings_->recover();
  calls_->recover_interrupted_calls();
  writer_->flush();  // what the recoveries queued for the CRM is there for its first pump, and retention reads it
  recordings_->check_retention(config_.crm.url.empty() ? RecordingService::SyncedCheck()
                                                       : [this](const RecordingRecord& recording) {
                                                           return crm_->recording_confirmed(recording);
                                                         });
  // After recovery, so files it repaired count as what they are; in slices
  // once the io_context runs.
  recordings_check_.emplace(io_, *store_, config_.recordings_dir(), log_);
  recordings_check_->start();
  calls_->add_observer(*recordings_);
  calls_->add_observer(*crm_);
  media_->enable_line_detectors(config_,
                                [this](const AudioDetection& detection) { calls_->audio_detection(detection); });
  media_->start();

  if (!start_servers(desk_group)) return false;

  watch_database();

  drivers::x800::DriverOptions options;
  options.log_reports = log_.enabled(LogLevel::debug);
  for (const auto& match : config_.usb_match) options.match.push_back({match.vendor_id, match.product_id});
  driver_.emplace(io_, *calls_, options);
  if (auto driver_error = driver_->start()) {
    log_.error("cannot start USB: {}", driver_error.message());
    return false;
  }
  return true;
}

// A database deleted or replaced under the daemon (a clumsy cleanup, a
// restore) would swallow every later call without an error: said at once,
// in the log and in `deskline status`.
void Daemon::watch_database() {
  if (store_->file_moved() && !database_moved_reported_) {
    database_moved_reported_ = true;
    log_.error("database {} was deleted or replaced while desklined runs: new calls are written to a file no one "
               "will find; restart desklined (it opens or creates the database again)",
               config_.database_path().string());
  }
  database_watch_.expires_after(std::chrono::seconds(2));
  database_watch_.async_wait([this](boost::system::error_code error) {
    if (!error) watch_database();
  });
}

// Desks get pops and nothing else: the database, the recordings and the
// page's token stay with the daemon's user and group (the admins). Files the
// daemon makes are 0640 (umask 027); a data folder made or opened up by hand
// is said at start.
void Daemon::warn_if_data_readable_by_others(std::optional<gid_t> desk_group) {
  struct stat folder{};
  if (::stat(config_.data_dir.c_str(), &folder) != 0) return;
  const bool desks_read = desk_group && folder.st_gid == *desk_group && (folder.st_mode & S_IRWXG) != 0;
  if ((folder.st_mode & S_IRWXO) != 0 || desks_read)
    log_.warning("data_dir {} (mode {:04o}) is open to {}: recordings, calls and the page's token can be read "
                 "there; chmod 0750 it and give it the daemon's group",
                 config_.data_dir.string(), folder.st_mode & 07777, desks_read ? "the desk group" : "every user");
}

bool Daemon::start_servers(std::optional<gid_t> desk_group) {
  pop_socket_.emplace(io_, config_.events_socket_path(), *pops_, log_);
  if (auto error = pop_socket_->start(desk_group)) {
    log_.error("cannot listen on {}: {}", config_.events_socket_path().string(), error.message());
    return false;
  }

  std::string token = config_.http.token;
  if (token.empty()) {
    std::error_code token_error;
    token = load_or_create_token(config_.data_dir / "http-token", token_error);
    if (token_error) {
      log_.error("cannot keep the HTTP token in {}: {}", (config_.data_dir / "http-token").string(),
                 token_error.message());
      return false;
    }
  }
  http_.emplace(
      io_, config_.http, token, config_.api_tokens_path(), config_.database_path(), *pops_,
      [this](std::size_t limit, std::span<const std::string> lines) {
        return control_handler_->calls_json(limit, lines).value_or(nlohmann::json::array());
      },
      [this] {
        std::vector<std::string> reasons;
        for (const auto& alarm : control_handler_->alarms()) reasons.push_back(alarm.reason);
        return reasons;
      },
      [this] { return metrics(); }, log_);
  http_->set_desks(config_.desks);
  std::string why;
  if (auto error = http_->start(why)) {
    log_.error("cannot listen on {}://{}:{}: {}", config_.http.tls() ? "https" : "http", config_.http.address,
               config_.http.port, why.empty() ? error.message() : why);
    return false;
  }

  control_handler_.emplace(
      config_, started_at_, *calls_, *store_, *media_, *recordings_, *recordings_check_, *crm_, *customer_pull_,
      web_page_address(token),
      [this] {
        auto control_json = to_json(control_->counters());
        control_json["forbidden"] = control_->forbidden();
        return nlohmann::json{{"http", to_json(http_->counters())},
                              {"events", to_json(pop_socket_->counters())},
                              {"control", control_json}};
      },
      [this] { return reload(); }, log_);
  control_.emplace(
      io_, config_.control_socket_path(),
      [this](const proto::control::Request& request) { return control_handler_->handle(request); }, log_);
  if (auto error = control_->start()) {
    log_.error("cannot listen on {}: {}", config_.control_socket_path().string(), error.message());
    return false;
  }
  return true;
}

std::string Daemon::metrics() {
  MetricsFacts facts;
  facts.now = realtime_us();
  facts.started_at = started_at_;
  facts.calls = calls_->stats();
  facts.audio = media_->stats();
  facts.recordings = recordings_->counters();
  facts.recordings_in_progress = recordings_->in_progress();
  facts.pops = pops_->counters();
  facts.pop_clients = pops_->clients();
  // A count reads the whole table: at most once a minute, on this thread.
  if (!directory_counted_at_ || facts.now - *directory_counted_at_ >= 60'000'000) {
    if (auto count = directory_->customer_count()) directory_customers_ = *count;
    directory_counted_at_ = facts.now;
  }
  facts.directory_customers = directory_customers_;
  facts.directory_lookup_s = directory_lookup_s_;
  if (!config_.crm.url.empty()) facts.crm = crm_->status();
  facts.listeners = {{"control", control_->counters()}, {"events", pop_socket_->counters()}, {"http", http_->counters()}};
  return metrics_text(facts);
}

std::string Daemon::web_page_address(const std::string& token) const {
  const auto& address = config_.http.address;
  return fmt::format("{}://{}:{}/?token={}", config_.http.tls() ? "https" : "http",
                     address.find(':') == std::string::npos ? address : "[" + address + "]", http_->port(), token);
}

int Daemon::run() {
  signals_.async_wait([this](boost::system::error_code error, int signal_number) {
    if (error) return;
    log_.info("signal {}: stopping", signal_number);
    sd_notify(0, "STOPPING=1");
    stop();
    io_.stop();  // what is left is drained below, within a limit
  });
  log_.info("desklined {} ready (config {}, database {}, pop page http://{}:{}/)", DESKLINE_VERSION,
            config_.source.string(), config_.database_path().string(), config_.http.address, http_->port());
  sd_notify(0, "READY=1");
  wait_for_reload_signal();
  watchdog_.start();
  io_.run();
  drain();
  log_.info("stopped");
  return 0;
}

void Daemon::wait_for_reload_signal() {
  reload_signal_.async_wait([this](boost::system::error_code error, int) {
    if (error) return;
    log_.info("SIGHUP: reading {} again", config_.source.string());
    reload();
    wait_for_reload_signal();
  });
}

nlohmann::json Daemon::reload() {
  sd_notify(0, "RELOADING=1");
  struct Ready {
    ~Ready() { sd_notify(0, "READY=1"); }
  } ready_again;
  auto refuse = [this](std::string error, nlohmann::json errors) {
    log_.error("reload refused, the running configuration stays: {}", error);
    for (const auto& line : errors) log_.error("reload: {}", line.get<std::string>());
    return nlohmann::json{{"ok", false}, {"error", std::move(error)}, {"errors", std::move(errors)}};
  };
  auto loaded = config::load_file(config_.source);
  if (!loaded) {
    auto errors = nlohmann::json::array();
    for (const auto& error : loaded.errors) errors.push_back(error.to_string());
    return refuse(fmt::format("{}: {} error(s)", config_.source.string(), loaded.errors.size()), std::move(errors));
  }
  const auto& next = *loaded.config;
  const auto plan = config::plan_reload(config_, next);
  // A [crm] the sync could not start with is refused while the running one goes on.
  if (plan.crm && !next.crm.url.empty()) {
    auto credentials = read_crm_credentials(next.crm);
    if (!credentials) return refuse(credentials.error().message(), nlohmann::json::array());
    if (auto client = CrmClient::create(io_, client_settings(next.crm)); !client)
      return refuse("crm.url: " + client.error().message(), nlohmann::json::array());
  }
  if (plan.crm) {
    crm_->stop();
    customer_pull_->stop();
  }
  config::apply_reload(config_, next);
  if (plan.log_level) log_.set_minimum(configured_level(config_));
  if (plan.lines) calls_->rename_lines();
  if (plan.lines || plan.caller_id) media_->set_caller_id_modes(config_, lines_in_call());
  if (plan.allowed_origins) http_->set_allowed_origins(config_.http.allowed_origins);
  if (plan.directory) directory_->set_numbering(config_.directory);
  if (plan.desks) http_->set_desks(config_.desks);
  if (plan.desk_token) {
    std::error_code token_error;
    auto token = config_.http.token.empty() ? load_or_create_token(config_.data_dir / "http-token", token_error)
                                            : config_.http.token;
    if (!token_error) {
      control_handler_->set_web_page(web_page_address(token));
      http_->set_desk_token(std::move(token));
    } else {
      log_.error("reload: cannot read the HTTP token in {}: {}; the page keeps its token",
                 (config_.data_dir / "http-token").string(), token_error.message());
    }
  }
  nlohmann::json answer{{"ok", true}, {"applied", plan.applied}, {"need_restart", plan.need_restart}};
  if (plan.crm) {
    if (auto restarted = restart_crm(); !restarted) {
      log_.error("reload: the CRM sync did not start again: {}", restarted.error().message());
      answer["error"] = "the CRM sync did not start again: " + restarted.error().message();
    }
  }
  log_.info("reload: {}{}",
            plan.applied.empty() ? "nothing to apply" : "applied " + fmt::format("{}", fmt::join(plan.applied, ", ")),
            plan.need_restart.empty() ? "" : fmt::format("; needs a restart: {}", fmt::join(plan.need_restart, ", ")));
  return answer;
}

// Each is made again in place: the call service, the recordings and the
// control handler keep their references. A destroyed sync has joined its
// thread and let the writer finish what it queued; the old pull's pending
// handlers see it gone.
Result<void> Daemon::restart_crm() {
  crm_.emplace(config_.crm, *store_, *writer_, log_);
  if (auto started = crm_->start(); !started) return started.error();
  customer_pull_.emplace(io_, config_.crm, *directory_, log_);
  return customer_pull_->start();
}

std::vector<std::pair<std::string, int>> Daemon::lines_in_call() const {
  std::vector<std::pair<std::string, int>> lines;
  for (const auto& box : calls_->stats().boxes)
    for (const auto& line : box.lines)
      if (line.call_id) lines.emplace_back(box.identity.serial, line.port);
  return lines;
}

// Reverse order of start. Every step is idempotent and leaves only
// operations whose handlers complete at once (cancelled or posted).
void Daemon::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ignored;
  signals_.cancel(ignored);
  reload_signal_.cancel(ignored);
  database_watch_.cancel();
  watchdog_.stop();
  if (crm_) crm_->stop();                      // what is not acknowledged stays queued for the next start
  if (customer_pull_) customer_pull_->stop();  // the cursor of the last page applied is kept
  // The calls in progress end first, while the recorder and the pop clients
  // can still hear it; the box goes next so no new call starts.
  if (calls_) calls_->interrupt_all(realtime_us());
  if (driver_) driver_->stop();
  if (control_) control_->stop();
  if (http_) http_->stop();
  if (pop_socket_) pop_socket_->stop();
  // Finishes the recordings in progress; their results are posted to the
  // io_context and stored while it drains.
  if (media_) media_->stop();
  if (recordings_) recordings_->stop();
  if (recordings_check_) recordings_check_->stop();
}

void Daemon::drain() {
  io_.restart();
  io_.run_for(drain_limit);
  if (!io_.stopped())
    log_.error("shutdown: operations still pending {} s after every service stopped", drain_limit.count());
}

}  // namespace deskline::daemon
