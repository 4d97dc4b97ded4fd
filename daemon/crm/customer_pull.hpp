// The directory pull (proto/crm.md section 5): the CRM's customers, page by
// page after the stored cursor, into the daemon's customer directory, so pops
// follow the CRM. On the io_context thread with its own keep-alive
// CrmClient: a pull at start (when [crm] url is set), then every
// [crm] customers_poll_s (0: only when asked, `deskline customers sync`).
//
// A pull asks GET /v1/customers?cursor=C&limit=500, applies the page and its
// next_cursor in one directory transaction, and asks again at once while the
// page says `more`. Each page request is signed with webhook-id
// `customers-<uuid>`, the same id on every retry of that page (same cursor).
// Failures: 408, 429, 5xx, transport errors and a directory that is busy
// are tried again with RetryPolicy's backoff (Retry-After honoured); other
// answers (4xx, a page the parser refuses) are logged and the next pull is at
// the next interval. A 400 bad_cursor keeps the cursor (nothing is skipped)
// and says so in the status; an admin decides.
//
// Pops are never held up: the only synchronous work is parsing and applying
// one page (bounded by proto/customers_page.hpp; BENCHMARKS.md "Directory
// pull"), and the directory's write lock is waited for at most 20 ms.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/config.hpp"
#include "daemon/core/log.hpp"
#include "daemon/core/result.hpp"
#include "daemon/crm/crm_client.hpp"
#include "daemon/crm/crm_credentials.hpp"
#include "daemon/crm/retry_policy.hpp"
#include "daemon/directory/directory.hpp"
#include "daemon/domain/call.hpp"

namespace deskline::daemon {

// One pull, from its first page request to its last page or its failure.
struct CustomerPullRun {
  std::uint64_t number = 0;  // 1 for the first pull since the daemon started
  WallTimeUs started_at = 0;
  WallTimeUs finished_at = 0;
  bool ok = false;
  std::size_t pages = 0;  // applied
  std::size_t inserted = 0, updated = 0, unchanged = 0, deleted = 0, refused = 0, numbers_left_out = 0;
  std::vector<std::string> problems;  // the first few (refused customers, left-out numbers)
  std::string error;  // why it failed; "" when ok
};

struct CustomerPullStatus {
  bool enabled = false;
  int poll_s = 0;
  bool pulling = false;          // a pull runs now
  std::uint64_t started = 0;     // pulls started since the daemon started
  std::optional<CustomerPullRun> last;  // the last finished pull
  std::optional<WallTimeUs> last_success_at;
  std::optional<WallTimeUs> last_error_at;
  std::string last_error;        // "" when none since start
  std::string cursor;            // where the next pull starts ("" from the beginning)
  bool cursor_refused = false;   // the CRM answered 400 bad_cursor to it (kept)
  std::optional<WallTimeUs> next_pull_at;
};

class CustomerPull {
 public:
  static constexpr std::size_t page_limit = 500;
  static constexpr std::size_t problems_kept = 20;    // per pull, in the status
  static constexpr std::size_t problems_logged = 10;  // per page, then a count
  static constexpr std::size_t max_pages_per_pull = 10'000;  // 5 million changes

  CustomerPull(boost::asio::io_context& io, const config::CrmConfig& config, Directory& directory, Logger& log);
  ~CustomerPull();
  CustomerPull(const CustomerPull&) = delete;
  CustomerPull& operator=(const CustomerPull&) = delete;

  // Off without [crm] url. Otherwise reads the token and signing secret (an
  // error names the file) and starts the first pull.
  Result<void> start();
  // Abandons a page in flight (its cursor was not stored: asked again next time).
  void stop();

  // `deskline customers sync`: a pull now, or right after the one running
  // (which may have asked before the latest changes). Returns the number of
  // the pull that will see every change made in the CRM before this call;
  // nullopt when the pull is off.
  std::optional<std::uint64_t> pull_now();

  CustomerPullStatus status() const;

 private:
  void begin_pull();
  void request_page();
  void on_answer(const Result<CrmAnswer>& answer);
  // Ends the pull; retry_in: try again that soon (backoff), else at the next interval.
  void finish(bool ok, std::string error, std::optional<std::chrono::milliseconds> retry_in);
  void schedule(std::chrono::milliseconds delay);
  std::chrono::milliseconds backoff(const AttemptOutcome& outcome);

  boost::asio::io_context& io_;
  const config::CrmConfig& config_;
  Directory& directory_;
  Logger& log_;
  std::optional<CrmCredentials> credentials_;
  std::unique_ptr<CrmClient> client_;
  RetryPolicy policy_;
  boost::asio::steady_timer timer_;
  bool running_ = false;
  bool pulling_ = false;
  bool again_ = false;  // asked for while pulling
  unsigned failures_ = 0;  // consecutive attempts that will be retried
  std::uint64_t started_ = 0;
  CustomerPullRun run_;
  std::string cursor_;
  std::string page_cursor_, page_id_;  // the page being asked for, and its webhook-id
  std::optional<CustomerPullRun> last_;
  std::optional<WallTimeUs> last_success_at_, last_error_at_, next_pull_at_;
  std::string last_error_;
  bool cursor_refused_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace deskline::daemon
