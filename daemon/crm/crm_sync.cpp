#include "daemon/crm/crm_sync.hpp"

#include <openssl/evp.h>

#include <array>
#include <fstream>

#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include "daemon/core/thread_priority.hpp"
#include "daemon/crm/call_entry.hpp"
#include "proto/bytes.hpp"
#include "proto/repr_digest.hpp"

namespace deskline::daemon {
namespace {

namespace asio = boost::asio;

WallTimeUs now_us() { return drivers::realtime_us(); }

using proto::to_hex;

// The recording row's SHA-256 as bytes; nullopt unless 64 hex digits.
std::optional<proto::digest::Sha256> stored_sha256(std::string_view hex) {
  const auto bytes = proto::from_hex(hex);
  if (!bytes || bytes->size() != proto::digest::sha256_bytes) return std::nullopt;
  proto::digest::Sha256 sha256{};
  std::copy(bytes->begin(), bytes->end(), sha256.begin());
  return sha256;
}

constexpr std::size_t slice_bytes = 64 * 1024;
// Items given to one connection at once: the one on the wire and the next,
// prepared (read, hashed, signed) meanwhile and queued in its client, which
// sends it as soon as the answer is in (BENCHMARKS.md, draining a backlog).
constexpr std::size_t items_per_slot = 2;
constexpr auto active_call_recheck = std::chrono::seconds(5);
constexpr auto outbox_retry = std::chrono::seconds(1);  // after the outbox could not be read

}  // namespace

struct CrmSync::Slot {
  std::unique_ptr<CrmClient> client;
  std::size_t items = 0;  // being prepared, queued or on the wire
};

// A recording's webhook signature (and, when asked, its SHA-256), read from
// disk one slice per turn of the sync thread's loop (the other connections'
// answers go in between); then the request streams the same file.
class CrmSync::Upload : public std::enable_shared_from_this<Upload> {
 public:
  using Sha256 = proto::digest::Sha256;
  // error empty: signed; sha256 set only if asked for.
  using Done = std::function<void(std::string error, std::optional<Sha256> sha256, std::string signature)>;

  Upload(asio::io_context& io, std::filesystem::path path, proto::webhook::Signer signer, bool hash, Done done)
      : io_(io), path_(std::move(path)), signer_(std::move(signer)), done_(std::move(done)),
        hash_(hash), digest_(hash ? EVP_MD_CTX_new() : nullptr) {}
  ~Upload() { EVP_MD_CTX_free(digest_); }
  Upload(const Upload&) = delete;
  Upload& operator=(const Upload&) = delete;

  void start() {
    file_.open(path_, std::ios::binary);
    if (!file_ || (hash_ && (!digest_ || EVP_DigestInit_ex(digest_, EVP_sha256(), nullptr) != 1)))
      return done_(fmt::format("cannot read {}", path_.string()), std::nullopt, "");
    next();
  }

 private:
  void next() {
    std::array<char, slice_bytes> buffer;
    file_.read(buffer.data(), buffer.size());
    const auto count = static_cast<std::size_t>(file_.gcount());
    if (count > 0) {
      if (digest_) EVP_DigestUpdate(digest_, buffer.data(), count);
      signer_.update(std::string_view(buffer.data(), count));
    }
    if (file_.bad()) return done_(fmt::format("cannot read {}", path_.string()), std::nullopt, "");
    if (file_.eof()) {
      std::optional<Sha256> sha256;
      if (digest_) EVP_DigestFinal_ex(digest_, sha256.emplace().data(), nullptr);
      return done_("", sha256, signer_.finish());
    }
    asio::post(io_, [self = shared_from_this()] { self->next(); });
  }

  asio::io_context& io_;
  std::filesystem::path path_;
  proto::webhook::Signer signer_;
  Done done_;
  bool hash_;
  EVP_MD_CTX* digest_;
  std::ifstream file_;
};

CrmSync::CrmSync(const config::CrmConfig& config, Store& store, StoreWriter& writer, Logger& log)
    : config_(config), store_(store), writer_(writer), log_(log), timer_(io_) {}

CrmSync::~CrmSync() {
  stop();
  writer_.flush();  // the writer's jobs write through outbox_writes_ and post to io_
}

Result<void> CrmSync::start() {
  for (auto* outbox : {&outbox_admin_, &outbox_writes_}) {
    auto opened = store_.open_crm_outbox();
    if (!opened) return opened.error();
    *outbox = std::move(*opened);
  }
  if (auto queueing = outbox_admin_->set_queueing(!config_.url.empty()); !queueing) return queueing.error();
  if (config_.url.empty()) return {};
  auto outbox = store_.open_crm_outbox();
  if (!outbox) return outbox.error();
  outbox_ = std::move(*outbox);
  auto calls = store_.open_another();
  if (!calls) return calls.error();
  calls_ = std::move(*calls);

  auto credentials = read_crm_credentials(config_);
  if (!credentials) return credentials.error();
  credentials_ = std::move(*credentials);

  auto settings = client_settings(config_);
  for (int i = 0; i < config_.max_in_flight; ++i) {
    auto client = CrmClient::create(io_, settings);
    if (!client) return Error{client.error().code, fmt::format("crm.url: {}", client.error().message())};
    slots_.push_back(std::make_unique<Slot>(Slot{std::move(*client), 0}));
  }
  // What waited out a back-off before the restart goes now: the cause was
  // often what the admin just fixed.
  if (auto due = outbox_->due_now(now_us()); !due) return due.error();
  running_ = true;
  log_.info("crm: syncing calls and recordings to {} ({} at once)", config_.url, config_.max_in_flight);
  keep_running_.emplace(io_.get_executor());
  thread_ = std::thread([this] { run(); });
  started_ = true;
  kick();
  return {};
}

void CrmSync::run() {
  become_bulk_thread("desklined-crm", log_);
  io_.run();
}

void CrmSync::stop() {
  if (!started_.exchange(false)) return;
  asio::post(io_, [this] { halt(); });
  thread_.join();
}

void CrmSync::halt() {
  running_ = false;
  timer_.cancel();
  for (auto& slot : slots_) slot->client->close();  // in flight: stays queued, sent again next time
  keep_running_.reset();
  io_.stop();  // what is posted later (the writer's follow-ups) never runs
}

void CrmSync::kick() {
  if (started_) asio::post(io_, [this] { pump_soon(); });
}

void CrmSync::pump_soon() {
  if (!running_ || pumping_) return;
  asio::post(io_, [this] { pump(); });
  pumping_ = true;
}

void CrmSync::kick_after_writes() {
  if (started_) writer_.submit([this] { kick(); });
}

void CrmSync::call_changed(CallChange change, const CallRecord&, const CallChangeDetail&) {
  if (change == CallChange::ended) kick_after_writes();
}

// Gives each free slot its next due items. The outbox is read here and
// written on the store writer thread: an item stays claimed until the write
// that settles it is stored, so a pump never starts it again meanwhile.
void CrmSync::pump() {
  pumping_ = false;
  if (!running_) return;
  std::size_t free = 0;
  for (const auto& slot : slots_) free += items_per_slot - slot->items;
  // More than free: some of the due are claimed already.
  Result<std::vector<OutboxItem>> due = std::vector<OutboxItem>();
  if (free > 0) due = outbox_->due(now_us(), free + claimed_.size());
  if (!due) return outbox_unreadable(due.error());
  for (auto& item : *due) {
    // The least loaded: an idle connection before a second item for a busy one.
    const auto slot = std::min_element(slots_.begin(), slots_.end(),
                                       [](const auto& a, const auto& b) { return a->items < b->items; });
    if ((*slot)->items == items_per_slot) break;
    if (!claimed_.insert({item.call_id, item.kind}).second) continue;
    ++(*slot)->items;
    if (item.kind == OutboxKind::call) send_entry(**slot, item);
    else send_recording(**slot, item);
  }
  const auto next = outbox_->next_due(now_us());
  if (!next) return outbox_unreadable(next.error());
  arm_timer(*next);
}

void CrmSync::write_then(std::string failure, std::function<Result<void>(CrmOutbox&)> write,
                         std::function<void()> then) {
  std::lock_guard lock(batch_mutex_);
  batch_.push_back({std::move(failure), std::move(write), std::move(then)});
  if (batch_queued_) return;
  batch_queued_ = true;
  writer_.submit([this] { write_batch(); });
}

// On the writer thread: every outbox write queued since the last batch in one
// transaction (one WAL commit, not one a write: what was queued while the
// writer was busy goes together), then their follow-ups on the io thread.
void CrmSync::write_batch() {
  std::vector<OutboxWrite> batch;
  {
    std::lock_guard lock(batch_mutex_);
    batch.swap(batch_);
    batch_queued_ = false;
  }
  auto& outbox = *outbox_writes_;
  const auto begun = outbox.begin();  // without it, each write commits alone
  for (const auto& each : batch)
    if (auto written = each.write(outbox); !written) log_.error("{}: {}", each.failure, written.error().message());
  if (begun)
    if (auto committed = outbox.commit(); !committed)
      log_.error("crm: cannot commit {} outbox writes (their items are sent again): {}", batch.size(),
                 committed.error().message());
  asio::post(io_, [batch = std::move(batch)] {
    for (const auto& each : batch)
      if (each.then) each.then();
  });
}

void CrmSync::outbox_unreadable(const Error& error) {
  log_.error("crm: cannot read the outbox: {}", error.message());
  arm_timer(now_us() + std::chrono::microseconds(outbox_retry).count());
}

// Only for items waiting out a time: an item due already waits for a slot or
// for its call's entry, and their settling pumps again (a timer for it would
// fire every millisecond while the slots are busy).
void CrmSync::arm_timer(std::optional<WallTimeUs> at) {
  timer_.cancel();
  if (!at) return;
  const auto delay = std::chrono::microseconds(std::max<WallTimeUs>(0, *at - now_us()) + 1000);
  timer_.expires_after(delay);
  timer_.async_wait([this](boost::system::error_code error) {
    if (!error) pump();
  });
}

void CrmSync::send_entry(Slot& slot, const OutboxItem& item) {
  const auto call = calls_->find_call(item.call_id);
  if (!call || !*call)
    return fail(slot, item, std::nullopt,
                call ? "the call is not in the database" : "cannot read the call: " + call.error().message(),
                std::nullopt);
  if ((*call)->state != CallState::ended)  // queued by its recording; the end queues it again
    return fail(slot, item, std::nullopt, "waiting for the call to end",
                now_us() + std::chrono::microseconds(active_call_recheck).count());
  const bool kept = item.body_revision == item.revision && !item.body.empty();
  std::string body = item.body;
  if (!kept) {
    const auto recording = calls_->find_recording(item.call_id);
    body = call_entry_json(**call, recording ? *recording : std::nullopt, item.revision);
  }
  CrmRequest request;
  request.method = CrmRequest::Method::put;
  request.target = "/v1/calls/" + item.call_id;
  request.headers =
      signed_headers(*credentials_, fmt::format("call-{}-r{}", item.call_id, item.revision), now_us() / 1'000'000, body);
  request.headers.emplace_back("Content-Type", "application/json");
  request.body = body;
  if (kept) return send_prepared(slot, item, std::move(request), "");
  // Kept before it goes, so that every attempt of this revision sends these bytes.
  write_then(
      fmt::format("crm: call={} cannot keep its entry", item.call_id),
      [item, body = std::move(body)](CrmOutbox& outbox) { return outbox.keep_body(item.call_id, item.revision, body); },
      [this, &slot, item, request = std::move(request)]() mutable {
        if (running_) send_prepared(slot, item, std::move(request), "");
      });
}

void CrmSync::send_recording(Slot& slot, const OutboxItem& item) {
  const auto recording = calls_->find_recording(item.call_id);
  if (!recording || !*recording || !uploadable((*recording)->state) || (*recording)->path.empty())
    return fail(slot, item, std::nullopt, "the call has no recording file in the database", std::nullopt);
  const auto row = **recording;
  const auto id = fmt::format("rec-{}-{}", row.call_id, row.sha256.substr(0, 16));
  const auto timestamp = now_us() / 1'000'000;
  // The first attempt sends the row's digest without hashing the file: a file
  // changed since is refused by the CRM (digest_mismatch), and the retry
  // hashes it to tell bytes damaged on the way from a changed file.
  const auto stored = stored_sha256(row.sha256);
  const bool check = item.attempts > 0 || !stored;
  auto upload = std::make_shared<Upload>(
      io_, row.path, proto::webhook::Signer(credentials_->key, id, timestamp), check,
      [this, &slot, item, row, stored, id, timestamp](std::string error, std::optional<Upload::Sha256> sha256,
                                                      std::string signature) {
        if (!running_) return;
        if (!error.empty()) return fail(slot, item, std::nullopt, error, std::nullopt);
        if (sha256 && sha256 != stored)
          return fail(slot, item, std::nullopt,
                      fmt::format("{} differs from the recording's stored SHA-256 {}: not sent", row.path, row.sha256),
                      std::nullopt);
        CrmRequest request;
        request.method = CrmRequest::Method::put;
        request.target = "/v1/calls/" + item.call_id + "/recording";
        request.headers = headers_with_signature(*credentials_, id, timestamp, std::move(signature));
        request.headers.emplace_back("Content-Type", "audio/ogg");
        request.headers.emplace_back("Repr-Digest", proto::digest::format_repr_digest(*stored));
        request.body_file = row.path;
        send_prepared(slot, item, std::move(request), row.sha256);
      });
  upload->start();
}

void CrmSync::send_prepared(Slot& slot, const OutboxItem& item, CrmRequest request, std::string expected_sha256) {
  ++in_flight_;
  slot.client->send(std::move(request),
                    [this, &slot, item, expected = std::move(expected_sha256)](Result<CrmAnswer> answer) {
                      --in_flight_;
                      if (running_) settle(slot, item, answer, expected);
                    });
}

void CrmSync::settle(Slot& slot, const OutboxItem& item, const Result<CrmAnswer>& answer,
                     std::string_view expected_sha256) {
  const auto now = now_us();
  AttemptOutcome outcome;
  if (!answer) outcome.transport_error = answer.error().code;
  else outcome = {{}, answer->status, answer->retry_after};
  auto verdict = RetryPolicy::classify(outcome);
  std::string reason = answer ? fmt::format("HTTP {}: {}", answer->status, answer->body.substr(0, 512))
                              : answer.error().message();
  if (answer && item.kind == OutboxKind::recording) {
    if (verdict == RetryVerdict::done) {
      // Synced only when the CRM says it stored these very bytes.
      const auto digest = proto::digest::parse_repr_digest(answer->repr_digest);
      if (!digest || to_hex(*digest.sha256) != expected_sha256) {
        verdict = RetryVerdict::retry;
        reason = fmt::format("HTTP {} but Repr-Digest '{}' is not the file's SHA-256 {}", answer->status,
                             answer->repr_digest, expected_sha256);
      }
    } else if (answer->status == 404 && answer->body.find("unknown_call") != std::string::npos) {
      // The CRM lost or never had the entry: it goes again, then this.
      write_then(fmt::format("crm: call={} cannot queue its entry again", item.call_id),
                 [call_id = item.call_id, now](CrmOutbox& outbox) { return outbox.resend_entry(call_id, now); });
      log_.warning("crm: call={} the CRM does not know the call; sending its entry again before the recording",
                   item.call_id);
      return fail(slot, item, 404, reason, now);
    } else if (answer->status == 400 && answer->body.find("digest_mismatch") != std::string::npos) {
      verdict = RetryVerdict::retry;  // the bytes were damaged on the way: never accepted
    }
  }
  if (verdict == RetryVerdict::done) {
    {
      std::lock_guard lock(progress_mutex_);
      last_success_at_ = now;
    }
    log_.info("crm: call={} {} revision {} delivered", item.call_id, to_string(item.kind), item.revision);
    return settle_in_outbox(slot, item, fmt::format("crm: call={} cannot mark its {} delivered", item.call_id,
                                                    to_string(item.kind)),
                            [item, sha256 = std::string(expected_sha256), now](CrmOutbox& outbox) {
                              return outbox.delivered(item, item.revision, sha256, now);
                            });
  }
  const std::optional<int> status = answer ? std::optional<int>(static_cast<int>(answer->status)) : std::nullopt;
  if (verdict == RetryVerdict::park) {
    log_.warning("crm: call={} {} parked: {}", item.call_id, to_string(item.kind), reason);
    return fail(slot, item, status, reason, std::nullopt);
  }
  const auto decision = policy_.decide(outcome, static_cast<unsigned>(item.attempts + 1), now / 1'000'000);
  const auto retry_at = now + std::chrono::duration_cast<std::chrono::microseconds>(decision.delay).count();
  log_.info("crm: call={} {} not delivered ({}); trying again in {:.1f} s", item.call_id, to_string(item.kind),
            reason, static_cast<double>(decision.delay.count()) / 1000.0);
  fail(slot, item, status, reason, retry_at);
}

void CrmSync::fail(Slot& slot, const OutboxItem& item, std::optional<int> status, const std::string& reason,
                   std::optional<WallTimeUs> retry_at) {
  {
    std::lock_guard lock(progress_mutex_);
    last_failure_at_ = now_us();
    ++failed_attempts_;
    last_failure_ = fmt::format("call {} {}: {}", item.call_id, to_string(item.kind), reason);
  }
  settle_in_outbox(slot, item, fmt::format("crm: call={} cannot record a failed attempt", item.call_id),
                   [item, status, reason, retry_at, now = now_us()](CrmOutbox& outbox) {
                     return outbox.failed(item, status, reason, now, retry_at);
                   });
}

// The slot takes its next item at once; the item itself stays claimed until
// the outbox says how its attempt ended.
void CrmSync::settle_in_outbox(Slot& slot, const OutboxItem& item, std::string failure,
                               std::function<Result<void>(CrmOutbox&)> write) {
  --slot.items;
  write_then(std::move(failure), std::move(write), [this, key = std::pair(item.call_id, item.kind)] {
    claimed_.erase(key);
    pump_soon();
  });
  pump_soon();
}

CrmSyncStatus CrmSync::status() const {
  CrmSyncStatus status;
  status.enabled = started_;
  status.url = config_.url;
  status.in_flight = in_flight_;
  {
    std::lock_guard lock(progress_mutex_);
    status.last_success_at = last_success_at_;
    status.last_failure_at = last_failure_at_;
    status.last_failure = last_failure_;
    status.failed_attempts = failed_attempts_;
  }
  if (!outbox_admin_) return status;
  if (auto summary = outbox_admin_->summary()) status.outbox = *summary;
  if (auto parked = outbox_admin_->in_state(OutboxState::parked, parked_shown)) status.parked = std::move(*parked);
  return status;
}

bool CrmSync::recording_confirmed(const RecordingRecord& recording) const {
  if (!outbox_admin_ || recording.sha256.empty()) return false;
  const auto item = outbox_admin_->find(recording.call_id, OutboxKind::recording);
  return item && *item && (*item)->state == OutboxState::done && (*item)->confirmed_sha256 == recording.sha256;
}

Result<std::size_t> CrmSync::retry(const std::optional<std::string>& call_id) {
  if (!outbox_admin_) return std::size_t{0};
  auto retried = outbox_admin_->retry(call_id, now_us());
  kick();
  return retried;
}

}  // namespace deskline::daemon
