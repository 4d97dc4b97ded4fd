// The HTTP session (plain or TLS) and the WebSocket pop session, as
// templates over the stream. Included by http_session_plain.cpp and
// http_session_tls.cpp only, which compile one kind each (Beast's templates
// are most of the build: one file for both took minutes).
#pragma once

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <sstream>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <fmt/format.h>

#include "daemon/api/file_sender.hpp"
#include "daemon/api/http_server.hpp"
#include "daemon/api/http_session_start.hpp"
#include "daemon/api/pop_server.hpp"
#include "daemon/api/recording_lookup.hpp"
#include "daemon/api/recording_reader.hpp"
#include "proto/content_disposition.hpp"
#include "proto/http_range.hpp"
#include "proto/retry_after.hpp"

namespace deskline::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace http_session_detail {

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// A request's header must arrive within this of connecting or of the previous
// answer, and its body within this again: a connection that sends nothing
// holds its slot no longer. The TLS handshake gets as long.
constexpr auto request_timeout = std::chrono::seconds(10);
// A WebSocket client that neither reads nor answers pings for this long is cut.
constexpr auto websocket_idle_timeout = std::chrono::seconds(30);
// The kernel doubles it. Without a fixed size, send-buffer autotuning lets a
// stalled reader hold megabytes of events in the kernel, beyond the queue's bound.
constexpr int websocket_send_buffer_bytes = 32 * 1024;
// A download over TLS or of a WAV is read and sent in slices of this size,
// one at a time.
constexpr std::size_t download_slice_bytes = 64 * 1024;
// A download whose client takes nothing for this long is cut.
constexpr auto download_stall_timeout = FileSender::default_stall_timeout;

template <typename Stream>
constexpr bool is_tls = std::is_same_v<Stream, TlsStream>;

}  // namespace http_session_detail

using namespace http_session_detail;

// ---- WebSocket pop client ------------------------------------------------------

template <typename Stream>
class WebSocketPopSession : public PopClient {
 public:
  // desk: a desk's page, which sees its lines only (none: the admin's).
  WebSocketPopSession(Stream stream, HttpServer& server, std::string peer,
                      std::shared_ptr<const config::DeskConfig> desk)
      : PopClient(server.hub(), server.log(), std::move(peer), std::move(desk)), stream_(std::move(stream)) {}

  void start(HttpRequest request) {
    boost::system::error_code ignored;
    beast::get_lowest_layer(stream_).socket().set_option(
        asio::socket_base::send_buffer_size(websocket_send_buffer_bytes), ignored);
    stream_.set_option(websocket::stream_base::timeout{.handshake_timeout = request_timeout,
                                                       .idle_timeout = websocket_idle_timeout,
                                                       .keep_alive_pings = true});
    stream_.read_message_max(proto::pop::max_request_bytes);
    stream_.async_accept(request, [self = self()](beast::error_code error) {
      if (error) return;
      self->begin();
      self->do_read();
    });
  }

 private:
  std::shared_ptr<WebSocketPopSession> self() {
    return std::static_pointer_cast<WebSocketPopSession>(shared_from_this());
  }

  void do_read() {
    stream_.async_read(buffer_, [self = self()](beast::error_code error, std::size_t) {
      if (error == websocket::error::buffer_overflow) {
        self->close("request longer than 4096 bytes");
        return;
      }
      if (error) {
        self->close("");
        return;
      }
      const auto text = beast::buffers_to_string(self->buffer_.data());
      self->buffer_.consume(self->buffer_.size());
      self->handle_request(text);
      if (!self->closed()) self->do_read();
    });
  }

  bool start_write(const std::string& text) override {
    stream_.text(true);
    // One event per message; the trailing newline of the JSON line is not sent.
    const std::size_t length = !text.empty() && text.back() == '\n' ? text.size() - 1 : text.size();
    stream_.async_write(asio::buffer(text.data(), length), [self = self()](beast::error_code error, std::size_t) {
      if (error) {
        self->close("");
        return;
      }
      self->on_write_done();
    });
    return false;
  }

  void close_transport() override {
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream_).close();
  }

  websocket::stream<Stream> stream_;
  beast::flat_buffer buffer_;
};

// ---- HTTP (plain or TLS) -----------------------------------------------------------

template <typename Stream>
class HttpSession : public Session, public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  HttpSession(tcp::socket socket, HttpServer& server, ssl::context* tls)
      : stream_(make_stream(std::move(socket), tls)), server_(server) {
    beast::error_code ignored;
    // Every answer is written whole (or its head held for the body with
    // MSG_MORE): Nagle would only hold a download's last segment for an ACK.
    beast::get_lowest_layer(stream_).socket().set_option(tcp::no_delay(true), ignored);
    const auto endpoint = beast::get_lowest_layer(stream_).socket().remote_endpoint(ignored);
    peer_address_ = endpoint.address().to_string();
    peer_is_loopback_ = endpoint.address().is_loopback() ||
                        (endpoint.address().is_v6() && endpoint.address().to_v6().is_v4_mapped() &&
                         asio::ip::make_address_v4(asio::ip::v4_mapped, endpoint.address().to_v6()).is_loopback());
    peer_ = fmt::format("{}:{}", peer_address_, endpoint.port());
  }

  void start() {
    if constexpr (is_tls<Stream>) {
      beast::get_lowest_layer(stream_).expires_after(request_timeout);
      // A client speaking plain HTTP (or an old TLS) fails here and is closed unanswered.
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code error) {
        if (error) return self->close();
        self->do_read();
      });
    } else {
      do_read();
    }
  }
  void shutdown() override { close(); }
  bool idle() const override { return awaiting_header_ && !authenticated_; }

 private:
  static Stream make_stream(tcp::socket socket, ssl::context* tls) {
    if constexpr (is_tls<Stream>)
      return Stream(std::move(socket), *tls);
    else
      return Stream(std::move(socket));
  }

  beast::tcp_stream& transport() { return beast::get_lowest_layer(stream_); }

  void do_read() {
    parser_.emplace();
    parser_->header_limit(max_http_header_bytes);
    parser_->body_limit(max_http_body_bytes);
    awaiting_header_ = true;
    transport().expires_after(request_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code error, std::size_t) {
                              self->awaiting_header_ = false;
                              if (error) return self->on_read(error);
                              self->transport().expires_after(request_timeout);
                              http::async_read(self->stream_, self->buffer_, *self->parser_,
                                               [self](beast::error_code body_error, std::size_t) {
                                                 self->on_read(body_error);
                                               });
                            });
  }

  void on_read(beast::error_code error) {
    if (error == http::error::end_of_stream || error == beast::error::timeout ||
        error == asio::error::operation_aborted || error == ssl::error::stream_truncated)
      return close();
    if (error) {
      // Malformed or oversized: answer 400 and hang up.
      return send(error_response(http::status::bad_request, error.message(), 11), false, true);
    }
    auto request = parser_->release();
    const bool head = request.method() == http::verb::head;
    const auto decision = decide(request, server_.access());
    authenticated_ = authenticated_ || decision.authenticated;
    if (decision.scope == HttpScope::api)
      server_.log().debug("http: {} {} {} with API token {}", peer_, std::string(request.method_string()),
                          std::string(request.target().substr(0, request.target().find('?'))), decision.token_name);
    if (decision.authenticated && decision.resource != HttpResource::refused &&
        decision.resource != HttpResource::events) {
      if (const auto wait = server_.limits()->admit(decision.client(), RequestLimits::Clock::now())) {
        server_.refusals().warning("http: rate limited", "http: {} refused: token {} over its request rate", peer_,
                                   decision.client());
        auto response = error_response(http::status::too_many_requests, "too many requests: try again later",
                                       request.version());
        response.set(http::field::retry_after, std::to_string(wait->count()));
        return send(std::move(response), head, !request.keep_alive());
      }
    }
    switch (decision.resource) {
      case HttpResource::page: return send(page_response(request.version()), head, !request.keep_alive());
      case HttpResource::health: {
        const auto& reasons = server_.health();
        http::response<http::string_body> response{
            reasons.empty() ? http::status::ok : http::status::service_unavailable, request.version()};
        response.set(http::field::content_type, "application/json");
        response.set(http::field::cache_control, "no-store");
        response.body() = nlohmann::json{{"status", reasons.empty() ? "ok" : "degraded"}, {"reasons", reasons}}.dump();
        return send(std::move(response), head, !request.keep_alive());
      }
      case HttpResource::metrics: {
        if (!peer_is_loopback_)
          return send(error_response(http::status::forbidden, "metrics are for this host only (scrape over loopback)",
                                     request.version()),
                      head, !request.keep_alive());
        http::response<http::string_body> response{http::status::ok, request.version()};
        response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        response.set(http::field::cache_control, "no-store");
        response.body() = server_.metrics()();
        return send(std::move(response), head, !request.keep_alive());
      }
      case HttpResource::calls: {
        http::response<http::string_body> response{http::status::ok, request.version()};
        response.set(http::field::content_type, "application/json");
        response.set(http::field::cache_control, "no-store");
        response.body() =
            server_.calls()(decision.calls_limit, decision.desk ? std::span<const std::string>(decision.desk->lines)
                                                                : std::span<const std::string>())
                .dump();
        return send(std::move(response), head, !request.keep_alive());
      }
      case HttpResource::call_page:
      case HttpResource::call:
      case HttpResource::changes: return answer_pull(decision, request.version(), head, !request.keep_alive());
      case HttpResource::recording: return serve_recording(std::move(request), decision);
      case HttpResource::events: {
        transport().expires_never();
        handed_over_ = true;
        auto session = std::make_shared<WebSocketPopSession<Stream>>(
            std::move(stream_), server_, fmt::format("ws#{} {}", server_.next_websocket_id(), peer_), decision.desk);
        server_.adopt(session, peer_address_);
        session->start(std::move(request));
        return;
      }
      case HttpResource::refused: break;
    }
    if (decision.status == http::status::forbidden && decision.scope == HttpScope::none)
      server_.refusals().warning("http: origin refused", "http: {} refused: origin {} not allowed", peer_,
                                 std::string(request[http::field::origin]));
    else if (decision.status == http::status::unauthorized)
      server_.refusals().warning("http: token refused", "http: {} refused: missing or wrong token for {}", peer_,
                                 std::string(request.target().substr(0, request.target().find('?'))));
    send(error_response(decision.status, decision.error, request.version()), head,
         decision.close || !request.keep_alive());
  }

  // The pull API answers from its worker; the session reads no further
  // request until the answer is written.
  void answer_pull(const HttpDecision& decision, unsigned version, bool head, bool close_after) {
    server_.pull().answer(decision, [self = this->shared_from_this(), version, head, close_after](PullAnswer answer) {
      http::response<http::string_body> response{answer.status, version};
      response.set(http::field::content_type, "application/json");
      response.set(http::field::cache_control, "no-store");
      response.body() = std::move(answer.body);
      self->send(std::move(response), head, close_after);
    });
  }

  // ---- recordings ----

  void serve_recording(HttpRequest request, const HttpDecision& decision) {
    auto download = std::make_shared<Download>();
    download->client = decision.client();
    // The limits live on this thread, so the slot is taken here; it goes back
    // with the download when there is nothing to send. Without a slot the
    // worker still looks the recording up: a missing, unfinished or unchanged
    // one is answered as such (404, 409, 410, 304), never 429.
    if (server_.limits()->start_download(download->client))
      download->slot = std::make_unique<DownloadSlot>(server_.limits(), download->client);
    download->request = std::move(request);
    download->call_id = decision.call_id;
    download->format = decision.format;
    download->desk = decision.desk;
    download->zero_copy =
        !is_tls<Stream> && decision.format == RecordingFormat::ogg && download->request.method() != http::verb::head;
    // Its rows, the open (for WAV also the head and tail) and the load of a
    // file sent with no copy (most downloads are whole files) are one job of
    // the worker: one hop there and back per download, no SQLite on this thread.
    asio::post(server_.file_worker(), [self = this->shared_from_this(), download, &store = server_.file_store(),
                                       &io = server_.io()]() mutable {
      prepare_download(store, *download);
      asio::post(io, [self = std::move(self), download = std::move(download)]() mutable {
        self->on_prepared(std::move(download));
      });
    });
  }

  struct Download {
    HttpRequest request;
    std::string client, call_id;
    RecordingFormat format = RecordingFormat::ogg;
    std::shared_ptr<const config::DeskConfig> desk;  // a desk's: its lines' calls only
    std::unique_ptr<DownloadSlot> slot;  // none: the token has its downloads running
    // Found by the worker:
    RecordingLookup found;
    std::string etag;
    bool not_modified = false;  // If-None-Match names the etag
    std::error_code open_error;
    std::shared_ptr<RecordingReader> reader;
    // Sending:
    std::uint64_t remaining = 0;  // to write
    std::uint64_t to_read = 0;
    std::vector<std::uint8_t> sending, ready, spare;  // the slice being written, the one read next, a free one
    bool reading = false, writing = false;
    // Zero copy: file bytes [next, end) are to send; those before
    // loaded_end are in the page cache.
    bool zero_copy = false;
    std::uint64_t next = 0, end = 0, loaded_end = 0;
    std::string head;  // zero copy: the response's head, sent before the file
    http::response<http::buffer_body> response;
    std::optional<http::response_serializer<http::buffer_body>> serializer;
  };

  // On the file worker: what the download's answer needs, and the file
  // opened when it is to be sent.
  static void prepare_download(const Store& store, Download& download) {
    download.found = look_up_recording(
        store, download.call_id,
        download.desk ? std::span<const std::string>(download.desk->lines) : std::span<const std::string>());
    if (download.found.status != RecordingLookup::Status::found) return;
    const bool wav = download.format == RecordingFormat::wav;
    // The WAV is made from the file the same way every time: a tag of its own, as strong.
    download.etag = proto::http::strong_etag(wav ? download.found.sha256 + "-wav" : download.found.sha256);
    download.not_modified =
        proto::http::if_none_match_matches(download.request[http::field::if_none_match], download.etag);
    if (download.not_modified || !download.slot) return;
    download.reader =
        RecordingReader::open(download.found.path, download.format, download.found.bytes, download.open_error);
    if (download.reader && download.zero_copy) {
      download.loaded_end = std::min(download.found.bytes, FileSender::load_ahead_bytes);
      download.open_error = download.reader->load(0, download.loaded_end);
    }
  }

  void on_prepared(std::shared_ptr<Download> download) {
    if (closed_) return;
    auto& request = download->request;
    const bool head = request.method() == http::verb::head;
    const bool close_after = !request.keep_alive();
    const auto version = request.version();
    const auto& found = download->found;
    using Status = RecordingLookup::Status;
    switch (found.status) {
      case Status::no_call:
        return send(error_response(http::status::not_found, "no such call", version), head, close_after);
      case Status::no_recording:
        return send(error_response(http::status::not_found, "this call has no recording", version), head,
                    close_after);
      case Status::failed:
        if (!found.read_error.empty())
          server_.log().error("call={} cannot read its rows for a download: {}", download->call_id, found.read_error);
        return send(error_response(http::status::not_found, "this call's recording was not made or is unreadable",
                                   version, {{"state", found.state}}),
                    head, close_after);
      case Status::in_progress:
        return send(error_response(http::status::conflict, "the recording is still being made", version,
                                   {{"state", found.state}}),
                    head, close_after);
      case Status::deleted:
        return send(error_response(http::status::gone, "the recording was deleted", version, {{"state", found.state}}),
                    head, close_after);
      case Status::found: break;
    }
    if (download->not_modified) {
      http::response<http::string_body> response{http::status::not_modified, version};
      response.set(http::field::etag, download->etag);
      return send(std::move(response), head, close_after, false);
    }
    if (!download->slot) {
      server_.refusals().warning("http: downloads limited", "http: {} refused: token {} has its downloads running",
                                 peer_, download->client);
      auto response = error_response(http::status::too_many_requests,
                                     "too many downloads at once for this token: try again when one has finished",
                                     version);
      response.set(http::field::retry_after, "1");
      return send(std::move(response), head, close_after);
    }
    if (download->open_error) {
      server_.log().error("http: call={} recording cannot be read: {}", download->call_id,
                          download->open_error.message());
      return send(error_response(http::status::internal_server_error, "the recording cannot be read", version), head,
                  close_after);
    }
    auto& reader = *download->reader;
    const bool wav = reader.rate_hz() != 0;
    const std::uint64_t size = reader.size();
    auto& response = download->response;
    response.version(request.version());
    response.set(http::field::content_type, wav ? "audio/wav" : "audio/ogg");
    response.set(http::field::etag, download->etag);
    response.set(http::field::content_disposition,
                 proto::http::attachment_disposition(found.filename + (wav ? ".wav" : ".opus")));
    response.set(http::field::cache_control, "private");
    response.set("X-Content-Type-Options", "nosniff");
    // Ranges of the stored file only: a range of a WAV would mean decoding up to it.
    response.set(http::field::accept_ranges, wav ? "none" : "bytes");
    proto::http::ByteRange range{0, size ? size - 1 : 0};
    response.result(http::status::ok);
    if (!wav) {
      response.set(http::field::last_modified, proto::http::format_http_date(reader.modified_s()));
      const auto range_header = request[http::field::range];
      const bool honour =
          proto::http::if_range_allows(request[http::field::if_range], download->etag, reader.modified_s());
      const auto selection = proto::http::select_range(honour ? range_header : std::string_view{}, size);
      if (selection.kind == proto::http::RangeSelection::Kind::refused) {
        auto refusal = error_response(http::status::range_not_satisfiable,
                                      std::error_code(selection.error).message(), request.version(),
                                      {{"reason", proto::http::to_string(selection.error)}});
        refusal.set(http::field::content_range, proto::http::unsatisfied_content_range(size));
        return send(std::move(refusal), head, close_after);
      }
      if (selection.kind == proto::http::RangeSelection::Kind::partial) {
        range = selection.range;
        response.result(http::status::partial_content);
        response.set(http::field::content_range, proto::http::content_range(range, size));
      }
    }
    download->remaining = size == 0 ? 0 : range.length();
    download->to_read = head ? 0 : download->remaining;
    server_.log().debug("http: {} call={} recording {} bytes {}-{}/{}{}", peer_, download->call_id,
                        static_cast<unsigned>(response.result()), range.first, range.last, size, wav ? " wav" : "");
    if (!wav) reader.seek(range.first);
    if (download->zero_copy) {
      download->next = range.first;
      download->end = range.first + download->remaining;
      // What the open loaded counts from where the range starts, up to where it ends.
      download->loaded_end = std::min(std::max(download->loaded_end, range.first), download->end);
    }
    response.content_length(download->remaining);
    response.keep_alive(!close_after);
    download_ = download;
    if (download->zero_copy && download->remaining > 0) {
      // The head leaves with the start of the body (send with MSG_MORE, then
      // sendfile): a typical recording goes in the fewest segments, with no
      // write through Beast and no turn of the loop between head and body.
      std::ostringstream head;
      head << response.base();
      download->head = std::move(head).str();
      return start_zero_copy();
    }
    response.body().data = nullptr;
    response.body().more = !head && download->remaining > 0;
    download->serializer.emplace(response);
    transport().expires_after(download_stall_timeout);
    http::async_write_header(stream_, *download->serializer,
                             [self = this->shared_from_this(), head](beast::error_code write_error, std::size_t) {
                               if (write_error) return self->close();
                               if (head) return self->end_download();
                               if (self->download_->remaining == 0) return self->finish_body();
                               if (self->download_->zero_copy) return self->start_zero_copy();
                               self->next_slice();
                             });
  }

  // ---- zero copy: sendfile(2) from the page cache, on the sender's thread ----

  void start_zero_copy() {
    transport().expires_never();  // the sender watches for a stall instead
    beast::error_code error;
    transport().socket().native_non_blocking(true, error);
    if (error) return close();
    auto& download = *download_;
    FileSender::Job job{.socket = transport().socket().native_handle(),
                        .reader = download.reader,
                        .head = std::move(download.head),
                        .next = download.next,
                        .end = download.end,
                        .loaded_end = download.loaded_end};
    sending_ = true;
    auto on_sent = [self = this->shared_from_this()](FileSender::Outcome sent) {
      self->sending_ = false;
      if (self->closed_) return self->transport().close();  // close() left it open for the sender
      if (sent.file_error) return self->cut_short(sent.file_error);
      if (sent.socket_error) return self->close();
      self->end_download();
    };
    server_.file_sender().send(std::move(job), server_.io(), std::move(on_sent));
  }

  // One slice is read while the one before it is written: at most two
  // slices per download in memory, and the socket rarely waits for the disk.
  void next_slice() {
    auto& download = *download_;
    if (download.reading || download.to_read == 0) return;
    const auto count = static_cast<std::size_t>(std::min<std::uint64_t>(download_slice_bytes, download.to_read));
    download.to_read -= count;
    download.reading = true;
    asio::post(server_.file_worker(), [self = this->shared_from_this(), reader = download.reader, count,
                                       slice = std::move(download.spare), &io = server_.io()]() mutable {
      slice.clear();
      auto error = reader->read(slice, count);
      if (!error && slice.size() != count) error = RecordingReadError::changed;
      asio::post(io, [self = std::move(self), slice = std::move(slice), error]() mutable {
        self->on_slice(std::move(slice), error);
      });
    });
  }

  void on_slice(std::vector<std::uint8_t> slice, std::error_code error) {
    if (closed_ || !download_) return;
    auto& download = *download_;
    download.reading = false;
    if (error) return cut_short(error);
    download.ready = std::move(slice);
    if (!download.writing) write_ready();
  }

  void write_ready() {
    auto& download = *download_;
    std::swap(download.sending, download.ready);
    download.ready.clear();
    download.remaining -= download.sending.size();
    download.response.body().data = download.sending.data();
    download.response.body().size = download.sending.size();
    download.response.body().more = true;
    download.writing = true;
    transport().expires_after(download_stall_timeout);
    http::async_write(stream_, *download.serializer,
                      [self = this->shared_from_this()](beast::error_code write_error, std::size_t) {
                        if (write_error == http::error::need_buffer) write_error = {};
                        if (write_error) return self->close();
                        self->on_written();
                      });
    next_slice();
  }

  void on_written() {
    auto& download = *download_;
    download.writing = false;
    if (download.remaining == 0) return finish_body();
    // Keep the written slice's memory for the next read.
    download.spare = std::move(download.sending);
    if (!download.ready.empty()) return write_ready();
    next_slice();
  }

  void finish_body() {
    auto& download = *download_;
    download.response.body().data = nullptr;
    download.response.body().size = 0;
    download.response.body().more = false;
    http::async_write(stream_, *download.serializer, [self = this->shared_from_this()](beast::error_code error, std::size_t) {
      if (error) return self->close();
      self->end_download();
    });
  }

  // The head is out: all that is left is to cut the connection short.
  void cut_short(std::error_code error) {
    server_.log().error("http: call={} recording read failed mid-download: {}", download_->call_id, error.message());
    close();
  }

  void end_download() {
    const bool keep_alive = download_->response.keep_alive();
    download_.reset();
    if (!keep_alive) return close();
    do_read();
  }

  // ---- responses ----

  static http::response<http::string_body> page_response(unsigned version) {
    http::response<http::string_body> response{http::status::ok, version};
    response.set(http::field::content_type, "text/html; charset=utf-8");
    response.set(http::field::cache_control, "no-store");
    response.set("Content-Security-Policy",
                 "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
                 "img-src 'self' data:; media-src 'self'; frame-ancestors 'none'");
    response.set("X-Content-Type-Options", "nosniff");
    response.body() = pop_page_html;
    return response;
  }

  static http::response<http::string_body> error_response(http::status status, std::string_view message,
                                                          unsigned version, nlohmann::json more = nlohmann::json::object()) {
    http::response<http::string_body> response{status, version};
    response.set(http::field::content_type, "application/json");
    more["error"] = message;
    response.body() = more.dump();
    return response;
  }

  // Writes the response; for HEAD only its header, with the Content-Length
  // the body would have (RFC 9110 9.3.2), so a keep-alive client stays in step.
  // A 304 has neither body nor Content-Length (prepare = false).
  void send(http::response<http::string_body> response, bool head, bool close_after, bool prepare = true) {
    struct Outgoing {
      explicit Outgoing(http::response<http::string_body> message) : response(std::move(message)) {}
      http::response<http::string_body> response;
      http::response_serializer<http::string_body> serializer{response};
    };
    response.keep_alive(!close_after);
    if (prepare) response.prepare_payload();
    auto outgoing = std::make_shared<Outgoing>(std::move(response));
    transport().expires_after(request_timeout);
    auto on_written = [self = this->shared_from_this(), outgoing](beast::error_code error, std::size_t) {
      if (error || !outgoing->response.keep_alive()) return self->close();
      self->do_read();
    };
    if (head)
      http::async_write_header(stream_, outgoing->serializer, std::move(on_written));
    else
      http::async_write(stream_, outgoing->serializer, std::move(on_written));
  }

  void close() {
    if (handed_over_ || closed_) return;
    closed_ = true;
    download_.reset();  // gives the download slot back now
    beast::error_code ignored;
    transport().socket().shutdown(tcp::socket::shutdown_both, ignored);
    // The download sender holds the descriptor until it reports back: the
    // shutdown ends its transfer, and the number must not name another
    // connection meanwhile.
    if (!sending_) transport().close();
  }

  Stream stream_;
  HttpServer& server_;
  std::string peer_address_;  // the listener's peer: the source address
  bool peer_is_loopback_ = false;
  std::string peer_;          // for the log: address and port
  beast::flat_buffer buffer_{max_http_header_bytes + max_http_body_bytes};
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Download> download_;  // the one in progress
  bool awaiting_header_ = false;
  bool authenticated_ = false;
  bool handed_over_ = false;  // the stream went to a WebSocket session
  bool sending_ = false;      // the download sender has the connection
  bool closed_ = false;
};

}  // namespace deskline::daemon
