#include "daemon/crm/crm_client.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace deskline::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

class CrmClientCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "crm_client"; }
  std::string message(int code) const override {
    switch (static_cast<CrmClientError>(code)) {
      case CrmClientError::url_invalid: return "CRM URL is invalid";
      case CrmClientError::ca_file_unreadable: return "CA file cannot be read";
      case CrmClientError::resolve_failed: return "CRM host name does not resolve";
      case CrmClientError::connect_failed: return "cannot connect to the CRM";
      case CrmClientError::tls_handshake_failed: return "TLS handshake with the CRM failed";
      case CrmClientError::certificate_untrusted: return "CRM certificate is not trusted";
      case CrmClientError::host_name_mismatch: return "CRM certificate is not for the URL's host";
      case CrmClientError::timeout: return "CRM request timed out";
      case CrmClientError::connection_reset: return "CRM reset the connection";
      case CrmClientError::connection_closed: return "CRM closed the connection before answering";
      case CrmClientError::answer_too_large: return "CRM answer is too large";
      case CrmClientError::bad_answer: return "CRM answer is not valid HTTP/1.1";
      case CrmClientError::body_file_error: return "request body file cannot be read";
      case CrmClientError::cancelled: return "CRM request cancelled";
      case CrmClientError::invalid_request: return "request cannot be sent as it is";
    }
    return "unknown CRM client error";
  }
};

constexpr std::size_t chunk_bytes = 64 * 1024;       // a file body goes out in reads of this size
constexpr std::uint32_t max_answer_header_bytes = 16 * 1024;

// A file descriptor closed with its owner.
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~FileDescriptor() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// What the TLS verify callback saw, for naming the failure afterwards.
struct VerifyOutcome {
  int chain_error = X509_V_OK;  // the first error OpenSSL reported for the chain
  int chain_depth = 0;
  bool host_mismatch = false;
};

// One TCP connection, plain or TLS, and what it has carried.
struct Connection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  std::shared_ptr<VerifyOutcome> verify;
  unsigned answers = 0;

  beast::tcp_stream& tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  template <typename Operation>
  void visit(Operation&& operation) {
    if (tls)
      operation(*tls);
    else
      operation(*plain);
  }
  void close() {
    error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp().close();
  }
  // Whether a kept connection can carry the next request: the server has
  // neither closed it (a pending EOF) nor sent anything unasked (a TLS alert,
  // a stray answer). A peek that would block means it is quiet and open.
  bool quiet() {
    auto& socket = tcp().socket();
    if (!socket.is_open()) return false;
    char byte = 0;
    const auto peeked = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
};

std::string_view method_name(CrmRequest::Method method) {
  return method == CrmRequest::Method::put ? "PUT" : "GET";
}

Error make_error(CrmClientError code, std::string detail) { return Error{make_error_code(code), std::move(detail)}; }

// What an error of a write or read means for the caller.
CrmClientError classify_transfer_error(const error_code& ec) {
  if (ec == http::error::body_limit || ec == http::error::header_limit || ec == http::error::buffer_overflow)
    return CrmClientError::answer_too_large;
  if (ec == asio::error::eof || ec == http::error::end_of_stream || ec == http::error::partial_message ||
      ec == ssl::error::stream_truncated)
    return CrmClientError::connection_closed;
  if (ec.category() == http::make_error_code(http::error::bad_version).category()) return CrmClientError::bad_answer;
  return CrmClientError::connection_reset;  // RST, EPIPE, and whatever else broke the connection
}

// RFC 9110 token characters (header names).
bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos))
      return false;
  return true;
}

// Why a request cannot go on the wire as given, or "" when it can.
std::string invalid_part(const CrmRequest& request) {
  if (request.target.empty() || request.target.front() != '/') return "target must start with '/'";
  for (const char c : request.target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) return "target holds a space or control character";
  for (const auto& [name, value] : request.headers) {
    if (!is_token(name)) return "header name \"" + name + "\" is not a token";
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
      return "header " + name + " holds a line break or NUL";
  }
  return {};
}

bool is_connection_drop(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted || ec == asio::error::not_connected ||
         ec == http::error::end_of_stream || ec == http::error::partial_message || ec == ssl::error::stream_truncated;
}

}  // namespace

std::string_view to_string(CrmClientError error) {
  switch (error) {
    case CrmClientError::url_invalid: return "url_invalid";
    case CrmClientError::ca_file_unreadable: return "ca_file_unreadable";
    case CrmClientError::resolve_failed: return "resolve_failed";
    case CrmClientError::connect_failed: return "connect_failed";
    case CrmClientError::tls_handshake_failed: return "tls_handshake_failed";
    case CrmClientError::certificate_untrusted: return "certificate_untrusted";
    case CrmClientError::host_name_mismatch: return "host_name_mismatch";
    case CrmClientError::timeout: return "timeout";
    case CrmClientError::connection_reset: return "connection_reset";
    case CrmClientError::connection_closed: return "connection_closed";
    case CrmClientError::answer_too_large: return "answer_too_large";
    case CrmClientError::bad_answer: return "bad_answer";
    case CrmClientError::body_file_error: return "body_file_error";
    case CrmClientError::cancelled: return "cancelled";
    case CrmClientError::invalid_request: return "invalid_request";
  }
  return "unknown";
}

const std::error_category& crm_client_category() {
  static const CrmClientCategory category;
  return category;
}

std::error_code make_error_code(CrmClientError error) { return {static_cast<int>(error), crm_client_category()}; }

// ---------------------------------------------------------------------------

// Everything lives here, owned by shared pointers that the pending
// operations hold, so a CrmClient can be destroyed with an operation in
// flight: the operation then completes into an abandoned Impl and stops.
// One request is in flight at a time, and it has exactly one asynchronous
// operation pending (resolve, connect, handshake, write or read); the timers
// close the connection to end that operation and say why in timeout_.
class CrmClient::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::io_context& io, CrmClientSettings settings, proto::http::Url url)
      : io_(io),
        settings_(std::move(settings)),
        url_(std::move(url)),
        tls_context_(ssl::context::tls_client),
        resolver_(io),
        step_timer_(io),
        total_timer_(io) {}

  Result<void> load_trust() {
    if (!url_.tls) return {};
    SSL_CTX_set_min_proto_version(tls_context_.native_handle(), TLS1_2_VERSION);
    tls_context_.set_verify_mode(ssl::verify_peer);
    error_code ec;
    if (settings_.ca_file.empty()) {
      tls_context_.set_default_verify_paths(ec);
      if (ec) return make_error(CrmClientError::ca_file_unreadable, "system CA certificates: " + ec.message());
      return {};
    }
    std::error_code exists_error;
    if (!std::filesystem::is_regular_file(settings_.ca_file, exists_error))
      return make_error(CrmClientError::ca_file_unreadable, settings_.ca_file.string() + ": not a readable file");
    tls_context_.load_verify_file(settings_.ca_file.string(), ec);
    if (ec)
      return make_error(CrmClientError::ca_file_unreadable,
                        settings_.ca_file.string() + ": no PEM certificate (" + ec.message() + ")");
    return {};
  }

  const proto::http::Url& url() const { return url_; }
  std::size_t queued() const { return queue_.size(); }
  bool busy() const { return current_.has_value(); }
  std::uint64_t connections_opened() const { return connections_opened_; }

  void send(CrmRequest request, Completion done) {
    queue_.push_back({std::move(request), std::move(done)});
    maybe_start_next();
  }

  void close() {
    for (auto& waiting : queue_)
      asio::post(io_, [self = shared_from_this(), done = std::move(waiting.done),
                       detail = describe(waiting.request) + ": client closed"] {
        if (!self->abandoned_) done(make_error(CrmClientError::cancelled, detail));
      });
    queue_.clear();
    if (current_) {
      cancelled_ = true;
      interrupt();  // the pending operation completes and finishes the request as cancelled
    } else {
      drop_connection();
    }
  }

  void abandon() {
    abandoned_ = true;
    queue_.clear();
    current_.reset();
    interrupt();
    drop_connection();
    step_timer_.cancel();
    total_timer_.cancel();
  }

 private:
  struct Pending {
    CrmRequest request;
    Completion done;
  };
  enum class Timeout { none, connect, inactivity, total };
  enum class Phase { connecting, writing, reading };

  // ---- the queue ------------------------------------------------------------

  void maybe_start_next() {
    if (current_ || queue_.empty() || start_posted_ || abandoned_) return;
    start_posted_ = true;
    asio::post(io_, [self = shared_from_this()] { self->start_next(); });
  }

  void start_next() {
    start_posted_ = false;
    if (abandoned_ || current_ || queue_.empty()) return;
    current_ = std::move(queue_.front());
    queue_.pop_front();
    if (const auto invalid = invalid_part(current_->request); !invalid.empty())
      return finish(make_error(CrmClientError::invalid_request, describe(current_->request) + ": " + invalid));
    retried_ = false;
    cancelled_ = false;
    timeout_ = Timeout::none;
    total_timer_.expires_after(settings_.total_timeout);
    total_timer_.async_wait([self = shared_from_this(), generation = ++total_generation_](error_code ec) {
      if (!ec && !self->abandoned_ && generation == self->total_generation_) self->time_out(Timeout::total);
    });
    begin_attempt();
  }

  void begin_attempt() {
    serializer_.reset();
    parser_.reset();
    if (auto prepared = prepare_body(); !prepared) return finish(prepared.error());
    build_request();
    answer_started_ = false;
    if (connection_ && connection_->answers > 0 && connection_->quiet()) {
      reused_ = true;
      write_request();
      return;
    }
    drop_connection();
    reused_ = false;
    connect();
  }

  // ---- connecting -----------------------------------------------------------

  void connect() {
    phase_ = Phase::connecting;
    arm_step(settings_.connect_timeout, Timeout::connect);
    connection_ = std::make_shared<Connection>();
    if (url_.tls) {
      connection_->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(io_, tls_context_);
    } else {
      connection_->plain = std::make_unique<beast::tcp_stream>(io_);
    }
    if (url_.host_is_ip) {
      // An address needs no lookup (and no resolver thread).
      error_code ec;
      const auto address = asio::ip::make_address(url_.host, ec);
      tcp::endpoint endpoint(address, url_.port);
      connection_->tcp().async_connect(endpoint, [self = shared_from_this(), keep = connection_](error_code ec) {
        if (self->abandoned_) return;
        self->on_connect(ec);
      });
      return;
    }
    // getaddrinfo blocks, so Asio runs it on a private thread of its own and
    // completes here on the io_context.
    resolver_.async_resolve(url_.host, std::to_string(url_.port),
                            [self = shared_from_this()](error_code ec, tcp::resolver::results_type results) {
                              if (self->abandoned_) return;
                              self->on_resolve(ec, std::move(results));
                            });
  }

  void on_resolve(const error_code& ec, tcp::resolver::results_type results) {
    if (ec) return fail(ec, CrmClientError::resolve_failed, url_.host + ": " + ec.message());
    if (!connection_) return fail(asio::error::operation_aborted, CrmClientError::cancelled, "");
    connection_->tcp().async_connect(results, [self = shared_from_this(), keep = connection_](error_code ec,
                                                                                            const tcp::endpoint&) {
      if (self->abandoned_) return;
      self->on_connect(ec);
    });
  }

  void on_connect(const error_code& ec) {
    if (ec) return fail(ec, CrmClientError::connect_failed, url_.authority() + ": " + ec.message());
    error_code ignored;
    connection_->tcp().socket().set_option(tcp::no_delay(true), ignored);
    if (!connection_->tls) return connected();
    auto& stream = *connection_->tls;
    // SNI for names only (RFC 6066 section 3: never for an IP address).
    if (!url_.host_is_ip && SSL_set_tlsext_host_name(stream.native_handle(), url_.host.c_str()) != 1)
      return fail({}, CrmClientError::tls_handshake_failed, "cannot set SNI for " + url_.host);
    auto outcome = std::make_shared<VerifyOutcome>();
    connection_->verify = outcome;
    stream.set_verify_mode(ssl::verify_peer);
    stream.set_verify_callback([outcome, check = ssl::host_name_verification(url_.host)](
                                   bool preverified, ssl::verify_context& context) {
      if (!preverified) {
        if (outcome->chain_error == X509_V_OK) {
          outcome->chain_error = X509_STORE_CTX_get_error(context.native_handle());
          outcome->chain_depth = X509_STORE_CTX_get_error_depth(context.native_handle());
        }
        return false;
      }
      if (!check(preverified, context)) {
        outcome->host_mismatch = true;
        return false;
      }
      return true;
    });
    stream.async_handshake(ssl::stream_base::client, [self = shared_from_this(), keep = connection_](error_code ec) {
      if (self->abandoned_) return;
      self->on_handshake(ec);
    });
  }

  void on_handshake(const error_code& ec) {
    if (!ec) return connected();
    if (cancelled_ || timeout_ != Timeout::none) return fail(ec, CrmClientError::tls_handshake_failed, "");
    const auto& outcome = *connection_->verify;
    if (outcome.chain_error != X509_V_OK)
      return fail(ec, CrmClientError::certificate_untrusted,
                  url_.authority() + ": " + X509_verify_cert_error_string(outcome.chain_error) +
                      " (certificate at depth " + std::to_string(outcome.chain_depth) + ")");
    if (outcome.host_mismatch)
      return fail(ec, CrmClientError::host_name_mismatch, "the certificate does not name " + url_.host);
    fail(ec, CrmClientError::tls_handshake_failed, url_.authority() + ": " + ec.message());
  }

  void connected() {
    ++connections_opened_;
    write_request();
  }

  // ---- sending --------------------------------------------------------------

  Result<void> prepare_body() {
    const auto& request = current_->request;
    file_.reset();
    file_remaining_ = 0;
    if (request.body_file.empty()) return {};
    const auto path = request.body_file.string();
    FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat status {};
    if (file.get() < 0 || ::fstat(file.get(), &status) != 0)
      return make_error(CrmClientError::body_file_error, path + ": " + std::strerror(errno));
    if (!S_ISREG(status.st_mode)) return make_error(CrmClientError::body_file_error, path + ": not a regular file");
    file_ = std::move(file);
    file_remaining_ = static_cast<std::uint64_t>(status.st_size);
    return {};
  }

  void build_request() {
    const auto& request = current_->request;
    request_ = {};
    request_.method(request.method == CrmRequest::Method::put ? http::verb::put : http::verb::get);
    request_.target(url_.target(request.target));
    request_.version(11);
    for (const auto& [name, value] : request.headers) request_.set(name, value);
    request_.erase(http::field::transfer_encoding);  // the body is always sized
    request_.set(http::field::host, url_.authority());
    request_.set(http::field::user_agent, settings_.user_agent);
    const bool from_file = !request.body_file.empty();
    if (from_file || !request.body.empty() || request.method == CrmRequest::Method::put)
      request_.content_length(from_file ? file_remaining_ : request.body.size());
    auto& body = request_.body();
    if (from_file) {
      body.data = nullptr;  // the first chunk is read when the serializer asks
      body.size = 0;
      body.more = file_remaining_ > 0;
    } else {
      body.data = request.body.empty() ? nullptr : const_cast<char*>(request.body.data());
      body.size = request.body.size();
      body.more = false;
    }
  }

  void write_request() {
    phase_ = Phase::writing;
    arm_step(settings_.inactivity_timeout, Timeout::inactivity);
    serializer_.emplace(request_);
    write_some();
  }

  void write_some() {
    connection_->visit([this](auto& stream) {
      http::async_write_some(stream, *serializer_, [self = shared_from_this(), keep = connection_](error_code ec,
                                                                                                   std::size_t bytes) {
        if (self->abandoned_) return;
        self->on_write(ec, bytes);
      });
    });
  }

  void on_write(error_code ec, std::size_t bytes) {
    if (bytes > 0) last_progress_ = std::chrono::steady_clock::now();
    if (ec == http::error::need_buffer) {
      if (auto loaded = load_chunk(); !loaded) return finish(loaded.error());
      ec = {};
    }
    if (ec) return fail(ec, CrmClientError::connection_reset, "");
    if (cancelled_ || timeout_ != Timeout::none) return fail(asio::error::operation_aborted, CrmClientError::cancelled, "");
    if (serializer_->is_done()) return read_answer();
    write_some();
  }

  // The next piece of the body file into the chunk buffer.
  Result<void> load_chunk() {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(file_remaining_, chunk_bytes));
    std::size_t got = 0;
    while (got < want) {
      const auto count = ::read(file_.get(), chunk_.data() + got, want - got);
      if (count < 0 && errno == EINTR) continue;
      if (count < 0)
        return make_error(CrmClientError::body_file_error,
                          current_->request.body_file.string() + ": " + std::strerror(errno));
      if (count == 0)
        return make_error(CrmClientError::body_file_error,
                          current_->request.body_file.string() + ": shrank while being sent");
      got += static_cast<std::size_t>(count);
    }
    file_remaining_ -= want;
    auto& body = request_.body();
    body.data = chunk_.data();
    body.size = want;
    body.more = file_remaining_ > 0;
    return {};
  }

  // ---- the answer -----------------------------------------------------------

  void read_answer() {
    phase_ = Phase::reading;
    serializer_.reset();
    file_.reset();
    read_buffer_.clear();
    start_parser();
    read_some();
  }

  void start_parser() {
    parser_.emplace();
    parser_->body_limit(settings_.max_answer_bytes);
    parser_->header_limit(max_answer_header_bytes);
  }

  void read_some() {
    connection_->visit([this](auto& stream) {
      http::async_read_some(stream, read_buffer_, *parser_,
                            [self = shared_from_this(), keep = connection_](error_code ec, std::size_t) {
        if (self->abandoned_) return;
        self->on_read(ec);
      });
    });
  }

  void on_read(const error_code& ec) {
    if (read_buffer_.size() > 0 || parser_->got_some()) {
      answer_started_ = true;
      last_progress_ = std::chrono::steady_clock::now();
    }
    if (ec) return fail(ec, CrmClientError::connection_closed, "");
    if (cancelled_ || timeout_ != Timeout::none) return fail(asio::error::operation_aborted, CrmClientError::cancelled, "");
    if (!parser_->is_done()) return read_some();
    const auto status = parser_->get().result_int();
    if (status >= 100 && status < 200) {  // an interim answer (100 Continue unasked): the real one follows
      start_parser();
      return read_some();
    }
    finish_answer();
  }

  void finish_answer() {
    auto& message = parser_->get();
    CrmAnswer answer;
    answer.status = message.result_int();
    answer.content_type = std::string(message[http::field::content_type]);
    answer.retry_after = std::string(message[http::field::retry_after]);
    answer.repr_digest = std::string(message["Repr-Digest"]);
    answer.body = std::move(message.body());
    answer.reused_connection = reused_;
    ++connection_->answers;
    // Kept only when both sides want it and nothing unasked followed the answer.
    if (!message.keep_alive() || read_buffer_.size() > 0) drop_connection();
    parser_.reset();
    finish(std::move(answer));
  }

  // ---- failures and the end of a request -------------------------------------

  // ec ended the pending operation; code is what it means in this phase
  // unless a timeout, close() or the error itself says otherwise.
  void fail(const error_code& ec, CrmClientError code, std::string detail) {
    const bool reused = reused_;
    drop_connection();
    if (cancelled_) return finish(make_error(CrmClientError::cancelled, describe(current_->request) + ": client closed"));
    if (timeout_ != Timeout::none) return finish(timeout_error());
    if (phase_ != Phase::connecting) {
      code = classify_transfer_error(ec);
      if (ec == http::error::body_limit)
        detail = "answer body over " + std::to_string(settings_.max_answer_bytes) + " bytes";
      else if (code == CrmClientError::answer_too_large)
        detail = "answer headers over " + std::to_string(max_answer_header_bytes) + " bytes";
      else if (code == CrmClientError::connection_closed && phase_ == Phase::writing)
        detail = "closed while the request was being sent (" + ec.message() + ")";
      // A kept connection the server had given up on: the request never
      // reached it, or never got an answer. Once more on a fresh one.
      if (reused && !retried_ && !answer_started_ && current_->request.idempotent && is_connection_drop(ec)) {
        retried_ = true;
        return begin_attempt();
      }
    }
    if (detail.empty()) detail = ec.message();
    finish(make_error(code, describe(current_->request) + ": " + detail));
  }

  Error timeout_error() const {
    std::string what;
    switch (timeout_) {
      case Timeout::connect:
        what = "no connection within " + std::to_string(settings_.connect_timeout.count()) + " ms";
        break;
      case Timeout::inactivity:
        what = std::string(phase_ == Phase::writing ? "the server stopped reading" : "the server stopped answering") +
               " for " + std::to_string(settings_.inactivity_timeout.count()) + " ms";
        break;
      case Timeout::total:
      case Timeout::none:
        what = "no answer within " + std::to_string(settings_.total_timeout.count()) + " ms";
        break;
    }
    return make_error(CrmClientError::timeout, describe(current_->request) + ": " + what);
  }

  void finish(Result<CrmAnswer> result) {
    disarm_step();
    ++total_generation_;
    total_timer_.cancel();
    serializer_.reset();
    parser_.reset();
    file_.reset();
    auto done = std::move(current_->done);
    current_.reset();
    timeout_ = Timeout::none;
    cancelled_ = false;
    auto self = shared_from_this();  // the completion may destroy the CrmClient
    // A queued request goes out before this one's completion runs, so the
    // completion's work (a commit, preparing the next item) overlaps its round trip.
    if (!abandoned_ && !queue_.empty()) start_next();
    done(std::move(result));
    if (!abandoned_) maybe_start_next();
  }

  void finish(Error error) { finish(Result<CrmAnswer>(std::move(error))); }

  // ---- timers ---------------------------------------------------------------

  // A step (connecting, or writing and reading) ends when nothing moved for
  // `after`: each write or read that moved bytes stamps last_progress_, and
  // the timer, when it fires, waits again for the rest if there was progress.
  void arm_step(std::chrono::milliseconds after, Timeout kind) {
    step_length_ = after;
    last_progress_ = std::chrono::steady_clock::now();
    wait_step(last_progress_ + after, kind);
  }

  void wait_step(std::chrono::steady_clock::time_point deadline, Timeout kind) {
    step_timer_.expires_at(deadline);
    step_timer_.async_wait([self = shared_from_this(), generation = ++step_generation_, kind](error_code ec) {
      if (ec || self->abandoned_ || generation != self->step_generation_ || !self->current_) return;
      const auto deadline = self->last_progress_ + self->step_length_;
      if (kind == Timeout::inactivity && deadline > std::chrono::steady_clock::now())
        return self->wait_step(deadline, kind);
      self->time_out(kind);
    });
  }

  void disarm_step() {
    ++step_generation_;
    step_timer_.cancel();
  }

  void time_out(Timeout kind) {
    if (!current_ || timeout_ != Timeout::none) return;
    timeout_ = kind;
    interrupt();
  }

  // Ends the pending operation (it completes with an error and reads why in
  // timeout_ or cancelled_).
  void interrupt() {
    resolver_.cancel();
    if (connection_) connection_->close();
  }

  void drop_connection() {
    if (!connection_) return;
    connection_->close();
    connection_.reset();
  }

  std::string describe(const CrmRequest& request) const {
    return std::string(method_name(request.method)) + " " + url_.text() + request.target;
  }

  asio::io_context& io_;
  const CrmClientSettings settings_;
  const proto::http::Url url_;
  ssl::context tls_context_;
  tcp::resolver resolver_;
  asio::steady_timer step_timer_;
  asio::steady_timer total_timer_;
  std::uint64_t step_generation_ = 0;
  std::uint64_t total_generation_ = 0;
  std::chrono::steady_clock::time_point last_progress_{};
  std::chrono::milliseconds step_length_{0};

  std::deque<Pending> queue_;
  std::optional<Pending> current_;
  bool start_posted_ = false;
  bool abandoned_ = false;
  // Shared with the pending operation's handler, which keeps the streams
  // alive until it has run even when the connection is dropped meanwhile.
  std::shared_ptr<Connection> connection_;
  std::uint64_t connections_opened_ = 0;

  // The request in flight.
  Phase phase_ = Phase::connecting;
  Timeout timeout_ = Timeout::none;
  bool cancelled_ = false;
  bool reused_ = false;
  bool retried_ = false;
  bool answer_started_ = false;
  http::request<http::buffer_body> request_;
  std::optional<http::request_serializer<http::buffer_body>> serializer_;
  FileDescriptor file_;
  std::uint64_t file_remaining_ = 0;
  std::array<char, chunk_bytes> chunk_{};
  beast::flat_buffer read_buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
};

// ---------------------------------------------------------------------------

Result<std::unique_ptr<CrmClient>> CrmClient::create(asio::io_context& io, CrmClientSettings settings) {
  auto parsed = proto::http::parse_url(settings.base_url);
  if (!parsed)
    return make_error(CrmClientError::url_invalid,
                      "\"" + settings.base_url + "\": " + make_error_code(parsed.error).message() + " (" +
                          std::string(proto::http::to_string(parsed.error)) + ")");
  auto impl = std::make_shared<Impl>(io, std::move(settings), std::move(*parsed.url));
  if (auto trusted = impl->load_trust(); !trusted) return trusted.error();
  return std::unique_ptr<CrmClient>(new CrmClient(std::move(impl)));
}

CrmClient::CrmClient(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
CrmClient::~CrmClient() { impl_->abandon(); }
void CrmClient::send(CrmRequest request, Completion done) { impl_->send(std::move(request), std::move(done)); }
void CrmClient::close() { impl_->close(); }
const proto::http::Url& CrmClient::url() const { return impl_->url(); }
std::size_t CrmClient::queued() const { return impl_->queued(); }
bool CrmClient::busy() const { return impl_->busy(); }
std::uint64_t CrmClient::connections_opened() const { return impl_->connections_opened(); }

}  // namespace deskline::daemon
