// The HTTP/1.1 transport of the CRM sync: one client object is one
// keep-alive connection to the CRM's base URL ([crm] url), http:// or
// https://, on the daemon's io_context (Boost.Beast; no thread of its own,
// but Asio resolves a host name on its internal getaddrinfo thread).
// It knows nothing of calls: the sync service gives it a method, a target,
// headers and a body (a string, or a file streamed from disk in 64 KiB
// chunks, never whole in memory) and gets back the status, the few answer
// headers it needs and a capped body, or an error of crm_client_category().
//
//   auto client = CrmClient::create(io, settings);      // url_invalid, ca_file_unreadable
//   (*client)->send({.method = CrmRequest::Method::put, .target = "/v1/calls/" + id,
//                    .headers = {{"Content-Type", "application/json"}, ...}, .body = json},
//                   [](Result<CrmAnswer> answer) { ... });
//
// Requests wait in a queue and go out one at a time on the one connection;
// concurrency is several clients. The connection is kept between requests
// and opened again when the server closed it. A request whose reused
// connection turns out dead before any byte of the answer arrived is sent
// once more on a fresh connection when it is idempotent (PUT and GET are).
//
// TLS: 1.2 or later through OpenSSL, the peer's chain verified against the
// system's CAs or ca_file, the host name (or IP address) checked against the
// certificate (boost::asio::ssl::host_name_verification), SNI sent for names.
//
// Timeouts: connect (name lookup, TCP and TLS handshake together), inactivity
// (no byte could be written or arrived for that long: a server that stops
// reading or answering), and a total cap per request including its retry.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "daemon/core/result.hpp"
#include "proto/http_url.hpp"

namespace deskline::daemon {

// Why a request got no answer. Stable names (to_string); the Error's detail
// adds the context ("PUT https://crm/v1/calls/x: …").
enum class CrmClientError {
  url_invalid = 1,        // the base URL was refused (detail: the proto::http::UrlError)
  ca_file_unreadable,     // ca_file missing or holds no PEM certificate
  resolve_failed,         // the host name did not resolve
  connect_failed,         // no address of the host accepted a TCP connection
  tls_handshake_failed,   // TLS failed before the certificate was judged (version, cipher, alert)
  certificate_untrusted,  // the certificate chain was refused (detail: OpenSSL's verify reason)
  host_name_mismatch,     // a trusted certificate, but not for the URL's host
  timeout,                // connect, inactivity or total timeout (detail: which)
  connection_reset,       // the server reset the connection (RST; writing to it: EPIPE)
  connection_closed,      // the server closed the connection before the answer was complete
  answer_too_large,       // answer body over max_answer_bytes, or headers over 16 KiB
  bad_answer,             // the answer is not HTTP/1.1 as the parser reads it
  body_file_error,        // the body file could not be opened or read, or shrank while sent
  cancelled,              // close() was called before the answer came
  invalid_request,        // a target or header that cannot be sent (a line break, a space in the target)
};
std::string_view to_string(CrmClientError error);
const std::error_category& crm_client_category();
std::error_code make_error_code(CrmClientError error);

struct CrmClientSettings {
  std::string base_url;                 // [crm] url: "https://crm.example.com/deskline"
  std::filesystem::path ca_file;        // PEM CA certificates; "" for the system's
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds inactivity_timeout{30'000};
  std::chrono::milliseconds total_timeout{10 * 60'000};
  std::size_t max_answer_bytes = 64 * 1024;  // JSON answers; more is answer_too_large
  std::string user_agent = "deskline/" DESKLINE_VERSION;
};

struct CrmRequest {
  enum class Method { get, put };
  Method method = Method::get;
  std::string target;  // after the base URL's path: "/v1/calls/<id>", "/v1/customers?limit=500"
  // Sent as given (Authorization, webhook-*, Content-Type, Repr-Digest, …);
  // a name must be a token and a value free of CR, LF and NUL (a token read
  // from a file with its newline is refused, not sent as two lines). Host,
  // User-Agent, Content-Length and Transfer-Encoding are the client's.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;                // the body when body_file is empty ("" for a GET)
  std::filesystem::path body_file; // else: streamed from disk; Content-Length is its size at the start
  bool idempotent = true;          // may be sent again after a dead keep-alive connection
};

struct CrmAnswer {
  unsigned status = 0;
  std::string content_type;
  std::string retry_after;  // "" when absent
  std::string repr_digest;  // "" when absent
  std::string body;         // at most max_answer_bytes
  bool reused_connection = false;  // went out on a connection kept from an earlier request
};

class CrmClient {
 public:
  using Completion = std::function<void(Result<CrmAnswer>)>;

  // Checks the URL and loads the CAs; connects only when the first request goes.
  static Result<std::unique_ptr<CrmClient>> create(boost::asio::io_context& io, CrmClientSettings settings);
  // Abandons whatever is queued or in flight: their completions are never called.
  ~CrmClient();
  CrmClient(const CrmClient&) = delete;
  CrmClient& operator=(const CrmClient&) = delete;

  // Queues a request. done runs on the io_context thread, never inside send().
  void send(CrmRequest request, Completion done);
  // Drops the connection; the request in flight and the queued ones complete
  // with cancelled. The client stays usable: the next send() connects again.
  void close();

  const proto::http::Url& url() const;
  std::size_t queued() const;           // waiting, besides the one in flight
  bool busy() const;                    // a request is in flight
  std::uint64_t connections_opened() const;  // TCP connections made so far (and TLS sessions)

 private:
  class Impl;
  explicit CrmClient(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace deskline::daemon

template <>
struct std::is_error_code_enum<deskline::daemon::CrmClientError> : std::true_type {};
