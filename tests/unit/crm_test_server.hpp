// The far side of the CRM client's tests: an HTTP/1.1 server on 127.0.0.1
// in its own thread (blocking Beast, one connection at a time), plain or TLS,
// whose per-connection handler each test writes (answer, close, reset, stop
// reading, ...), and a throw-away PKI made with OpenSSL's API (a CA and a
// server certificate for the names a test asks for).
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace deskline::testing_crm {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// ---- a throw-away PKI --------------------------------------------------------

struct TestPki {
  std::string ca_pem;           // the CA's certificate: what a client trusts
  std::string server_cert_pem;  // the server's certificate, signed by the CA
  std::string server_key_pem;
};

namespace detail {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Certificate = std::unique_ptr<X509, Deleter<X509, X509_free>>;

inline void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test PKI: ") + what);
}

inline Key new_key() {
  Key key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EC key");
  return key;
}

inline void add_extension(X509* certificate, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  check(extension != nullptr, "extension");
  X509_add_ext(certificate, extension, -1);
  X509_EXTENSION_free(extension);
}

// issuer == nullptr: self-signed.
inline Certificate new_certificate(EVP_PKEY* key, const std::string& common_name, X509* issuer, long serial) {
  Certificate certificate(X509_new());
  check(certificate != nullptr, "X509_new");
  X509_set_version(certificate.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(certificate.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(certificate.get()), 24 * 3600);
  X509_set_pubkey(certificate.get(), key);
  X509_NAME* name = X509_get_subject_name(certificate.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(certificate.get(), issuer ? X509_get_subject_name(issuer) : name);
  return certificate;
}

inline std::string pem_of(X509* certificate) {
  std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>> bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_X509(bio.get(), certificate) == 1, "PEM certificate");
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

inline std::string pem_of(EVP_PKEY* key) {
  std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>> bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1, "PEM key");
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

}  // namespace detail

// subject_alt_names in OpenSSL's syntax: "DNS:localhost,IP:127.0.0.1".
inline TestPki make_test_pki(const std::string& subject_alt_names) {
  using namespace detail;
  const Key ca_key = new_key();
  const Certificate ca = new_certificate(ca_key.get(), "Deskline Test CA", nullptr, 1);
  add_extension(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  check(X509_sign(ca.get(), ca_key.get(), EVP_sha256()) > 0, "sign CA");

  const Key server_key = new_key();
  const Certificate server = new_certificate(server_key.get(), "Deskline Test CRM", ca.get(), 2);
  add_extension(server.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(server.get(), ca.get(), NID_ext_key_usage, "serverAuth");
  add_extension(server.get(), ca.get(), NID_subject_alt_name, subject_alt_names);
  add_extension(server.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
  check(X509_sign(server.get(), ca_key.get(), EVP_sha256()) > 0, "sign server");
  return {pem_of(ca.get()), pem_of(server.get()), pem_of(server_key.get())};
}

// ---- the server --------------------------------------------------------------

using Request = http::request<http::string_body>;

class TestServer;

// One accepted connection, as a handler sees it. Every call blocks; errors
// (the client went away) come back as false / nullopt, never as exceptions.
class ServerConnection {
 public:
  ServerConnection(TestServer& server, tcp::socket socket, ssl::context* tls);

  bool handshake_ok() const { return handshake_ok_; }

  // The next whole request, or nullopt when the client closed or broke off.
  std::optional<Request> read_request(std::size_t body_limit = 64 << 20) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(body_limit);
    beast::error_code ec;
    if (tls_)
      http::read(*tls_, buffer_, parser, ec);
    else
      http::read(socket_, buffer_, parser, ec);
    if (ec) return std::nullopt;
    return parser.release();
  }

  // An answer; keep_alive false adds "Connection: close".
  bool respond(unsigned status, std::string body = "", std::vector<std::pair<std::string, std::string>> headers = {},
               bool keep_alive = true) {
    http::response<http::string_body> response{static_cast<http::status>(status), 11};
    for (const auto& [name, value] : headers) response.set(name, value);
    response.body() = std::move(body);
    response.keep_alive(keep_alive);
    response.prepare_payload();
    beast::error_code ec;
    if (tls_)
      http::write(*tls_, response, ec);
    else
      http::write(socket_, response, ec);
    return !ec;
  }

  bool write_raw(std::string_view bytes) {
    beast::error_code ec;
    if (tls_)
      asio::write(*tls_, asio::buffer(bytes), ec);
    else
      asio::write(socket_, asio::buffer(bytes), ec);
    return !ec;
  }

  // Reads at least count bytes past what the parser buffered (raw, for
  // tests that break off mid-request); returns how many arrived.
  std::size_t read_raw(std::size_t count) {
    std::size_t total = buffer_.size();
    buffer_.consume(buffer_.size());
    std::vector<char> scratch(64 * 1024);
    while (total < count) {
      beast::error_code ec;
      const auto got = tls_ ? tls_->read_some(asio::buffer(scratch), ec) : socket_.read_some(asio::buffer(scratch), ec);
      if (ec) break;
      total += got;
    }
    return total;
  }

  // RST instead of FIN: SO_LINGER with a zero timeout, then close.
  void reset() {
    beast::error_code ec;
    socket().set_option(asio::socket_base::linger(true, 0), ec);
    socket().close(ec);
  }

  void close() {
    beast::error_code ec;
    socket().shutdown(tcp::socket::shutdown_both, ec);
    socket().close(ec);
  }

  // Blocks until the server stops (for a handler that must hold a
  // connection open without answering).
  void wait_for_stop();

  tcp::socket& socket() { return tls_ ? tls_->next_layer() : socket_; }

 private:
  TestServer& server_;
  tcp::socket socket_;
  std::unique_ptr<ssl::stream<tcp::socket>> tls_;  // owns the socket when TLS
  beast::flat_buffer buffer_;
  bool handshake_ok_ = true;
};

class TestServer {
 public:
  using Handler = std::function<void(ServerConnection&, int index)>;  // index: 0 for the first connection

  explicit TestServer(Handler handler, const TestPki* pki = nullptr)
      : handler_(std::move(handler)), acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    if (pki) {
      tls_.emplace(ssl::context::tls_server);
      tls_->use_certificate_chain(asio::buffer(pki->server_cert_pem));
      tls_->use_private_key(asio::buffer(pki->server_key_pem), ssl::context::pem);
    }
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }

  ~TestServer() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    stopped_.notify_all();
    // Wake a blocked accept() or read() from this thread: shutdown(2) on the
    // descriptors; the server thread closes them itself.
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    if (const int fd = active_fd_.load(); fd >= 0) ::shutdown(fd, SHUT_RDWR);
    thread_.join();
  }

  unsigned short port() const { return port_; }
  std::string url() const { return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_.load(); }
  ssl::context* tls() { return tls_ ? &*tls_ : nullptr; }

  void wait_for_stop() {
    std::unique_lock lock(mutex_);
    stopped_.wait(lock, [this] { return stopping_; });
  }

 private:
  void serve() {
    for (int index = 0;; ++index) {
      beast::error_code ec;
      tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      {
        std::lock_guard lock(mutex_);
        if (ec || stopping_) return;
      }
      ++connections_;
      active_fd_ = socket.native_handle();
      ServerConnection connection(*this, std::move(socket), tls());
      if (connection.handshake_ok()) handler_(connection, index);
      active_fd_ = -1;
    }
  }

  Handler handler_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::optional<ssl::context> tls_;
  unsigned short port_ = 0;
  std::atomic<int> connections_{0};
  std::atomic<int> active_fd_{-1};
  std::mutex mutex_;
  std::condition_variable stopped_;
  bool stopping_ = false;
  std::thread thread_;
};

inline ServerConnection::ServerConnection(TestServer& server, tcp::socket socket, ssl::context* tls)
    : server_(server), socket_(std::move(socket)) {
  if (!tls) return;
  tls_ = std::make_unique<ssl::stream<tcp::socket>>(std::move(socket_), *tls);
  beast::error_code ec;
  tls_->handshake(ssl::stream_base::server, ec);
  handshake_ok_ = !ec;
}

inline void ServerConnection::wait_for_stop() { server_.wait_for_stop(); }

}  // namespace deskline::testing_crm
