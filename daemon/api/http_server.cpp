#include "daemon/api/http_server.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <fmt/format.h>
#include <openssl/ssl.h>

#include "daemon/api/http_session_start.hpp"
#include "daemon/core/thread_priority.hpp"

namespace deskline::daemon {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

// TLS 1.2 suites: ECDHE key exchange and AEAD only (TLS 1.3's are all AEAD).
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

}  // namespace

// ---- server ----------------------------------------------------------------------

HttpServer::HttpServer(asio::io_context& io, const config::HttpConfig& config, std::string token,
                       std::filesystem::path api_tokens, std::filesystem::path database, PopHub& hub,
                       CallsProvider calls, HealthProvider health, MetricsProvider metrics, Logger& log)
    : io_(io), config_(config), access_{std::move(token), {}, {}, {}}, api_tokens_(std::move(api_tokens), log),
      pull_(io, database, log), hub_(hub), calls_(std::move(calls)), health_(std::move(health)), metrics_(std::move(metrics)),
      limits_(std::make_shared<RequestLimits>(config.requests_per_s, config.request_burst,
                                              static_cast<std::size_t>(config.downloads_per_token))),
      database_(std::move(database)), log_(log), refusals_(io, log),
      listener_(io, "http",
                ListenerLimits{.max_sessions = static_cast<std::size_t>(config.max_connections),
                               .max_sessions_per_peer = static_cast<std::size_t>(config.max_connections_per_address)},
                log) {
  asio::post(file_worker_, [&log] { become_bulk_thread("desklined-file", log); });
}

const std::vector<std::string>& HttpServer::health() {
  const auto now = std::chrono::steady_clock::now();
  if (!health_at_ || now - *health_at_ >= std::chrono::seconds(1)) {
    health_reasons_ = health_();
    health_at_ = now;
  }
  return health_reasons_;
}

HttpServer::~HttpServer() {
  stop();
  file_sender_.stop();  // posts no more loads
  file_worker_.join();
}

void HttpServer::set_desks(const std::vector<config::DeskConfig>& desks) {
  access_.desks.clear();
  for (const auto& desk : desks) access_.desks.push_back(std::make_shared<const config::DeskConfig>(desk));
}

void HttpServer::set_allowed_origins(std::vector<std::string> origins) {
  config_.allowed_origins = std::move(origins);
  access_.origins = config_.allowed_origins;
  // The daemon's own page may open the WebSocket from any of its addresses.
  const auto scheme = config_.tls() ? "https" : "http";
  for (const auto& host : {std::string("127.0.0.1"), std::string("localhost"), std::string("[::1]"), config_.address})
    access_.origins.push_back(fmt::format("{}://{}:{}", scheme, host, port_));
}

const HttpAccess& HttpServer::access() {
  api_tokens_.refresh();
  access_.api_tokens = api_tokens_.entries();
  return access_;
}

namespace {

// Loads the certificate chain and key into a TLS 1.2+ server context.
std::optional<ssl::context> make_tls_context(const config::HttpConfig& config, std::string& why) {
  for (const auto& [key, path] : {std::pair{"http.tls_certificate", config.tls_certificate},
                                  std::pair{"http.tls_key", config.tls_key}}) {
    std::ifstream file(path);
    if (!file) {
      why = fmt::format("{} {}: {}", key, path.string(), std::strerror(errno));
      return std::nullopt;
    }
  }
  ssl::context context(ssl::context::tls_server);
  auto* native = context.native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_cipher_list(native, tls12_ciphers);
  boost::system::error_code error;
  context.use_certificate_chain_file(config.tls_certificate.string(), error);
  if (error) {
    why = fmt::format("http.tls_certificate {}: not a PEM certificate chain ({})", config.tls_certificate.string(),
                      error.message());
    return std::nullopt;
  }
  context.use_private_key_file(config.tls_key.string(), ssl::context::pem, error);
  if (error) {
    why = fmt::format("http.tls_key {}: not a PEM private key ({})", config.tls_key.string(), error.message());
    return std::nullopt;
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    why = fmt::format("http.tls_key {} does not belong to http.tls_certificate {}", config.tls_key.string(),
                      config.tls_certificate.string());
    return std::nullopt;
  }
  return context;
}

}  // namespace

std::error_code HttpServer::start(std::string& why) {
  if (auto started = pull_.start(); !started) {
    why = "the pull API cannot read the database: " + started.error().message();
    return started.error().code;
  }
  auto file_store = Store::open(database_, /*read_only=*/true);
  if (!file_store) {
    why = "the file worker cannot read the database: " + file_store.error().message();
    return file_store.error().code;
  }
  file_store_ = std::move(*file_store);
  api_tokens_.refresh();
  if (config_.tls()) {
    tls_ = make_tls_context(config_, why);
    if (!tls_) return std::make_error_code(std::errc::invalid_argument);
  }
  boost::system::error_code error;
  const auto address = asio::ip::make_address(config_.address, error);
  if (error) return std::error_code(error.value(), std::system_category());
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(config_.port));
  auto& acceptor = listener_.acceptor();
  acceptor.open(endpoint.protocol(), error);
  if (!error) acceptor.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor.bind(endpoint, error);
  if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    why = error.message();
    return std::error_code(error.value(), std::system_category());
  }
  port_ = acceptor.local_endpoint().port();
  set_allowed_origins(config_.allowed_origins);
  listener_.start([this](tcp::socket socket) -> std::shared_ptr<Session> {
    return tls_ ? start_https_session(std::move(socket), *this, *tls_) : start_http_session(std::move(socket), *this);
  });
  return {};
}

void HttpServer::stop() {
  listener_.stop();
  pull_.stop();
  refusals_.flush();
}

std::string load_or_create_token(const std::filesystem::path& path, std::error_code& error) {
  {
    std::ifstream file(path);
    std::string token;
    if (file && std::getline(file, token) && token.size() >= 16) return token;
  }
  std::uint8_t bytes[24];
  if (getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    error = std::error_code(errno, std::system_category());
    return "";
  }
  std::string token;
  for (auto byte : bytes) token += fmt::format("{:02x}", byte);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    error = std::error_code(errno, std::system_category());
    return "";
  }
  const auto line = token + "\n";
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
    error = std::error_code(errno, std::system_category());
  ::close(fd);
  return token;
}

}  // namespace deskline::daemon
