// The daemon's one HTTP listener (Boost.Beast), local by default:
//   GET /                the built-in pop page (plain HTML/JS)
//   GET /v1/events       WebSocket: the pop events of proto/pop.md
//   GET /v1/calls        recent calls as JSON (proto/control.md call objects)
//   the pull API         /v1/calls pages, /v1/calls/{id}, /v1/changes (PullApi)
// /v1/* need a bearer token: the desk page's (Authorization header, or
// ?token= for browsers, which cannot set headers on a WebSocket) or an API
// token (header only, ApiTokenFile), each opening its scope's resources
// (HttpScope); a browser's Origin must be the
// daemon's own or in [http] allowed_origins (daemon/api/http_request.hpp
// decides). Limits: 8 KiB of headers, 10 s to send one; [http]
// max_connections for HTTP and WebSocket together, a share of them per source
// address, connections without a request closed first (proto/http.md).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "daemon/api/api_token_file.hpp"
#include "daemon/api/http_request.hpp"
#include "daemon/api/listener.hpp"
#include "daemon/api/pull_api.hpp"
#include "daemon/core/rate_limited_log.hpp"
#include "daemon/core/log.hpp"
#include "daemon/api/pop_hub.hpp"

namespace deskline::daemon {

class HttpServer {
 public:
  using CallsProvider = std::function<nlohmann::json(std::size_t limit)>;

  // api_tokens: [http] api_tokens_file; database: the daemon's, read by the pull API.
  HttpServer(boost::asio::io_context& io, const config::HttpConfig& config, std::string token,
             std::filesystem::path api_tokens, std::filesystem::path database, PopHub& hub, CallsProvider calls,
             Logger& log);
  ~HttpServer();

  std::error_code start();
  // Closes the listener and every HTTP and WebSocket session. Idempotent.
  void stop();
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
  // A WebSocket session takes over an upgraded connection's slot.
  void adopt(const std::shared_ptr<Session>& session, std::string peer) {
    listener_.sessions().add(session, std::move(peer));
  }
  std::uint64_t next_websocket_id() { return next_websocket_id_++; }

 private:
  config::HttpConfig config_;
  HttpAccess access_;
  ApiTokenFile api_tokens_;
  PullApi pull_;
  PopHub& hub_;
  CallsProvider calls_;
  Logger& log_;
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
