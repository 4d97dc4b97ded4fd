// The daemon's one HTTP listener (Boost.Beast), local by default:
//   GET /                the built-in pop page (plain HTML/JS)
//   GET /v1/events       WebSocket: the pop events of proto/pop.md
//   GET /v1/calls        recent calls as JSON (proto/control.md call objects)
//   GET /v1/recordings/{call_id}   a recording, Ogg Opus or WAV, with ranges
//   the pull API         /v1/calls pages, /v1/calls/{id}, /v1/changes (PullApi)
// /v1/* need a bearer token: the desk page's (Authorization header, or
// ?token= for browsers, which cannot set headers on a WebSocket) or an API
// token (header only, ApiTokenFile), each opening its scope's resources
// (HttpScope); a browser's Origin must be the
// daemon's own or in [http] allowed_origins (daemon/api/http_request.hpp
// decides). Limits: 8 KiB of headers, 10 s to send one; [http]
// max_connections for HTTP and WebSocket together, a share of them per source
// address, connections without a request closed first; per token, a request
// rate and downloads at once (proto/http.md). With [http] tls_certificate
// the listener speaks TLS only (TLS 1.2+, AEAD ciphers).
//
// A download is looked up (one read-only query), opened and its first MiB
// loaded in one job of one file worker thread. A stored recording over plain
// HTTP then goes with sendfile(2) from the page cache on the download
// sender's thread (FileSender), loaded 1 MiB ahead by that worker; over TLS
// and for WAV it is read (and decoded) on that worker a slice of 64 KiB at a
// time, the next only once the socket has taken the previous one. Either way
// the io_context thread never waits for the disk, and a slow reader holds at
// most a slice, never the file. Both threads run at bulk priority.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "daemon/api/api_token_file.hpp"
#include "daemon/api/file_sender.hpp"
#include "daemon/api/http_request.hpp"
#include "daemon/api/listener.hpp"
#include "daemon/api/pull_api.hpp"
#include "daemon/store/store.hpp"
#include "daemon/core/rate_limited_log.hpp"
#include "daemon/core/log.hpp"
#include "daemon/api/pop_hub.hpp"
#include "daemon/api/request_limits.hpp"

namespace deskline::daemon {

class HttpServer {
 public:
  // The page's recent calls, newest first: of these lines (a desk's), or of
  // every line when lines is empty.
  using CallsProvider = std::function<nlohmann::json(std::size_t limit, std::span<const std::string> lines)>;
  // The reasons the daemon needs attention (short codes, HealthAlarm::reason);
  // none: healthy.
  using HealthProvider = std::function<std::vector<std::string>()>;
  // GET /metrics: the Prometheus text (daemon/app/metrics_report.hpp).
  using MetricsProvider = std::function<std::string()>;

  // api_tokens: [http] api_tokens_file; database: the daemon's, read by the
  // pull API and by the file worker for downloads.
  HttpServer(boost::asio::io_context& io, const config::HttpConfig& config, std::string token,
             std::filesystem::path api_tokens, std::filesystem::path database, PopHub& hub, CallsProvider calls,
             HealthProvider health, MetricsProvider metrics, Logger& log);
  ~HttpServer();

  // Binds the listener (and loads the certificate and key with TLS); on
  // failure why says what failed ("http.tls_key /etc/...: Permission denied").
  std::error_code start(std::string& why);
  // Closes the listener and every HTTP and WebSocket session. Idempotent.
  void stop();
  // [http] allowed_origins, read again (a reload): the next WebSocket
  // upgrade goes by them.
  void set_allowed_origins(std::vector<std::string> origins);
  // The desk page's token (a reload): new requests and WebSocket upgrades
  // need it; the sessions already open stay.
  void set_desk_token(std::string token) { access_.token = std::move(token); }
  // The [[desk]] sections (at start and on a reload), the same way: a page
  // already open keeps the lines it had until it reconnects.
  void set_desks(const std::vector<config::DeskConfig>& desks);
  // The bound port (differs from the configured one when that was 0).
  unsigned short port() const { return port_; }

  const ListenerCounters& counters() const { return listener_.counters(); }

  // Used by sessions.
  // Who may do what, with the API tokens file read again if it changed.
  const HttpAccess& access();
  PullApi& pull() { return pull_; }
  PopHub& hub() { return hub_; }
  Logger& log() { return log_; }
  RateLimitedLog& refusals() { return refusals_; }
  const CallsProvider& calls() const { return calls_; }
  // GET /healthz's reasons: asked of the daemon at most once a second, so
  // that a client polling without a token costs the io thread nothing more.
  const std::vector<std::string>& health();
  const MetricsProvider& metrics() const { return metrics_; }
  const std::shared_ptr<RequestLimits>& limits() const { return limits_; }
  boost::asio::thread_pool& file_worker() { return file_worker_; }
  FileSender& file_sender() { return file_sender_; }
  // The file worker's own read-only connection (a download's rows); only
  // jobs on file_worker() use it.
  const Store& file_store() const { return *file_store_; }
  boost::asio::io_context& io() { return io_; }
  // A WebSocket session takes over an upgraded connection's slot.
  void adopt(const std::shared_ptr<Session>& session, std::string peer) {
    listener_.sessions().add(session, std::move(peer));
  }
  std::uint64_t next_websocket_id() { return next_websocket_id_++; }

 private:
  boost::asio::io_context& io_;
  config::HttpConfig config_;
  HttpAccess access_;
  ApiTokenFile api_tokens_;
  PullApi pull_;
  PopHub& hub_;
  CallsProvider calls_;
  HealthProvider health_;
  MetricsProvider metrics_;
  std::vector<std::string> health_reasons_;
  std::optional<std::chrono::steady_clock::time_point> health_at_;
  std::shared_ptr<RequestLimits> limits_;
  std::optional<boost::asio::ssl::context> tls_;
  std::filesystem::path database_;
  std::unique_ptr<Store> file_store_;  // opened by start(); the file worker's alone
  boost::asio::thread_pool file_worker_{1};
  Logger& log_;
  FileSender file_sender_{file_worker_, log_};  // after file_worker_ and log_: destroyed before them
  RateLimitedLog refusals_;
  Listener<boost::asio::ip::tcp> listener_;
  unsigned short port_ = 0;
  std::uint64_t next_websocket_id_ = 1;
};

// Reads the token from path, or makes a random one there (mode 0640).
std::string load_or_create_token(const std::filesystem::path& path, std::error_code& error);

// The built-in page (daemon/web/index.html, embedded at build time).
extern const char* const pop_page_html;

}  // namespace deskline::daemon
