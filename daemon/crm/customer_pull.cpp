#include "daemon/crm/customer_pull.hpp"

#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include "daemon/calls/uuid.hpp"
#include "proto/customers_page.hpp"

namespace deskline::daemon {
namespace {

namespace asio = boost::asio;

WallTimeUs now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// RFC 3986: everything but the unreserved characters, percent-encoded (the
// cursor is opaque, and must come back as it was given).
std::string percent_encoded(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte >= 'A' && byte <= 'Z') || (byte >= 'a' && byte <= 'z') || (byte >= '0' && byte <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~')
      out += c;
    else
      out += fmt::format("%{:02X}", byte);
  }
  return out;
}

// The start of a CRM's answer for a log line or the status: at most 200 bytes, one line.
std::string answer_excerpt(std::string_view body) {
  std::string text(body.substr(0, 200));
  for (auto& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text;
}

std::string seconds_text(std::chrono::milliseconds delay) {
  return fmt::format("{:.1f} s", static_cast<double>(delay.count()) / 1000.0);
}

}  // namespace

CustomerPull::CustomerPull(asio::io_context& io, const config::CrmConfig& config, Directory& directory, Logger& log)
    : io_(io), config_(config), directory_(directory), log_(log), timer_(io) {}

CustomerPull::~CustomerPull() {
  *alive_ = false;
  stop();
}

Result<void> CustomerPull::start() {
  if (config_.url.empty()) return {};
  auto credentials = read_crm_credentials(config_);
  if (!credentials) return credentials.error();
  credentials_ = std::move(*credentials);
  auto settings = client_settings(config_);
  // One byte more than a page may have, so that a larger one is refused by name.
  settings.max_answer_bytes = proto::crm::max_page_bytes + 1;
  auto client = CrmClient::create(io_, settings);
  if (!client) return Error{client.error().code, fmt::format("crm.url: {}", client.error().message())};
  client_ = std::move(*client);
  if (auto cursor = directory_.crm_cursor(config_.url)) cursor_ = std::move(*cursor);
  running_ = true;
  log_.info("crm: pulling customers from {} {}", config_.url,
            config_.customers_poll_s > 0 ? fmt::format("every {} s", config_.customers_poll_s)
                                         : std::string("at start and on `deskline customers sync`"));
  begin_pull();
  return {};
}

void CustomerPull::stop() {
  running_ = false;
  pulling_ = false;
  timer_.cancel();
  next_pull_at_.reset();
  if (client_) client_->close();
}

std::optional<std::uint64_t> CustomerPull::pull_now() {
  if (!running_) return std::nullopt;
  if (pulling_) {
    again_ = true;
    return started_ + 1;
  }
  timer_.cancel();
  begin_pull();
  return started_;
}

void CustomerPull::begin_pull() {
  pulling_ = true;
  next_pull_at_.reset();
  run_ = {};
  run_.number = ++started_;
  run_.started_at = now_us();
  auto cursor = directory_.crm_cursor(config_.url);
  if (!cursor) {
    // Posted: finish() may start the next pull, never from inside this one.
    asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_), error = cursor.error().message()] {
      if (alive.lock() && running_) finish(false, "cannot read the stored cursor: " + error, policy_.backoff(failures_ + 1));
    });
    return;
  }
  cursor_ = std::move(*cursor);
  request_page();
}

void CustomerPull::request_page() {
  // A retry of the same page is the same delivery: the same webhook-id.
  if (page_id_.empty() || page_cursor_ != cursor_) {
    page_id_ = "customers-" + make_uuid();
    page_cursor_ = cursor_;
  }
  CrmRequest request;
  request.method = CrmRequest::Method::get;
  request.target = cursor_.empty() ? fmt::format("/v1/customers?limit={}", page_limit)
                                   : fmt::format("/v1/customers?cursor={}&limit={}", percent_encoded(cursor_), page_limit);
  request.headers = signed_headers(*credentials_, page_id_, now_us() / 1'000'000, "");
  client_->send(std::move(request), [this, alive = std::weak_ptr<bool>(alive_)](Result<CrmAnswer> answer) {
    if (alive.lock() && running_ && pulling_) on_answer(answer);
  });
}

std::chrono::milliseconds CustomerPull::backoff(const AttemptOutcome& outcome) {
  return policy_.decide(outcome, failures_ + 1, now_us() / 1'000'000).delay;
}

void CustomerPull::on_answer(const Result<CrmAnswer>& answer) {
  const auto asked = fmt::format("GET /v1/customers after cursor \"{}\"", cursor_);
  if (!answer) {
    if (answer.error().code == CrmClientError::answer_too_large) {
      page_id_.clear();
      return finish(false, fmt::format("{}: the page is larger than {} bytes", asked, proto::crm::max_page_bytes),
                    std::nullopt);
    }
    return finish(false, fmt::format("{}: {}", asked, answer.error().message()),
                  backoff({answer.error().code, 0, {}}));
  }
  const AttemptOutcome outcome{{}, answer->status, answer->retry_after};
  switch (RetryPolicy::classify(outcome)) {
    case RetryVerdict::retry:
      return finish(false, fmt::format("{}: HTTP {}: {}", asked, answer->status, answer_excerpt(answer->body)),
                    backoff(outcome));
    case RetryVerdict::park:
      page_id_.clear();
      if (answer->status == 400 && answer->body.find("bad_cursor") != std::string::npos) {
        cursor_refused_ = true;
        return finish(false,
                      fmt::format("the CRM refused the stored cursor \"{}\" (HTTP 400 bad_cursor: {}); it is kept and "
                                  "asked with again at the next pull",
                                  cursor_, answer_excerpt(answer->body)),
                      std::nullopt);
      }
      return finish(false, fmt::format("{}: HTTP {}: {}", asked, answer->status, answer_excerpt(answer->body)),
                    std::nullopt);
    case RetryVerdict::done: break;
  }
  cursor_refused_ = false;
  const auto parsed = proto::crm::parse_customers_page(answer->body);
  if (!parsed) {
    page_id_.clear();
    return finish(false,
                  fmt::format("{}: the page was refused ({}{}{}); nothing of it applied", asked,
                              make_error_code(parsed.error).message(), parsed.detail.empty() ? "" : ": ", parsed.detail),
                  std::nullopt);
  }
  const auto& page = *parsed.page;
  const auto applied = directory_.apply_crm_page(page, config_.url);
  if (!applied)  // most likely the write lock of a `deskline customers import`: soon again
    return finish(false, fmt::format("cannot store a page of customers: {}", applied.error().message()),
                  policy_.backoff(failures_ + 1));
  failures_ = 0;
  page_id_.clear();
  ++run_.pages;
  run_.inserted += applied->inserted;
  run_.updated += applied->updated;
  run_.unchanged += applied->unchanged;
  run_.deleted += applied->deleted;
  run_.refused += applied->refused;
  run_.numbers_left_out += applied->numbers_left_out;
  for (std::size_t i = 0; i < applied->problems.size(); ++i) {
    if (i < problems_logged) log_.warning("crm: customers: {}", applied->problems[i]);
    if (run_.problems.size() < problems_kept) run_.problems.push_back(applied->problems[i]);
  }
  if (applied->problems.size() > problems_logged)
    log_.warning("crm: customers: {} more problems in this page", applied->problems.size() - problems_logged);
  const bool moved = page.next_cursor != cursor_;
  cursor_ = page.next_cursor;
  if (!page.more) return finish(true, "", std::nullopt);
  if (!moved && page.customers.empty() && page.deleted.empty() && page.refused.empty())
    return finish(false, fmt::format("the CRM says more changes are ready after cursor \"{}\" but gives none", cursor_),
                  std::nullopt);
  if (run_.pages >= max_pages_per_pull)
    return finish(false, fmt::format("more than {} pages in one pull; the next pull goes on", max_pages_per_pull),
                  std::nullopt);
  request_page();
}

void CustomerPull::finish(bool ok, std::string error, std::optional<std::chrono::milliseconds> retry_in) {
  pulling_ = false;
  run_.finished_at = now_us();
  run_.ok = ok;
  run_.error = error;
  last_ = run_;
  if (ok) {
    last_success_at_ = run_.finished_at;
    failures_ = 0;
    const bool changed = run_.inserted + run_.updated + run_.deleted + run_.refused > 0;
    if (const auto level = changed ? LogLevel::info : LogLevel::debug; log_.enabled(level))
      log_.write(level,
               fmt::format("crm: customers pulled ({} page{}): {} new, {} updated, {} deleted, {} refused, {} "
                           "number{} left out; cursor \"{}\"",
                           run_.pages, run_.pages == 1 ? "" : "s", run_.inserted, run_.updated, run_.deleted,
                           run_.refused, run_.numbers_left_out, run_.numbers_left_out == 1 ? "" : "s", cursor_));
  } else {
    last_error_at_ = run_.finished_at;
    last_error_ = error;
    if (retry_in) log_.warning("crm: customer pull failed: {}; trying again in {}", error, seconds_text(*retry_in));
    else if (cursor_refused_) log_.error("crm: customer pull failed: {}", error);
    else log_.warning("crm: customer pull failed: {}; trying again at the next pull", error);
  }
  if (again_) {
    again_ = false;
    return begin_pull();
  }
  if (retry_in) {
    ++failures_;
    return schedule(*retry_in);
  }
  if (config_.customers_poll_s > 0) schedule(std::chrono::seconds(config_.customers_poll_s));
}

void CustomerPull::schedule(std::chrono::milliseconds delay) {
  next_pull_at_ = now_us() + std::chrono::duration_cast<std::chrono::microseconds>(delay).count();
  timer_.expires_after(delay);
  timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](boost::system::error_code error) {
    if (!error && alive.lock() && running_ && !pulling_) begin_pull();
  });
}

CustomerPullStatus CustomerPull::status() const {
  CustomerPullStatus status;
  status.enabled = running_;
  status.poll_s = config_.customers_poll_s;
  status.pulling = pulling_;
  status.started = started_;
  status.last = last_;
  status.last_success_at = last_success_at_;
  status.last_error_at = last_error_at_;
  status.last_error = last_error_;
  status.cursor = cursor_;
  status.cursor_refused = cursor_refused_;
  status.next_pull_at = next_pull_at_;
  return status;
}

}  // namespace deskline::daemon
