// Per-token limits of the HTTP listener (proto/http.md "Limits"): a token
// bucket of requests per client (refill requests_per_s, room for burst) and
// a count of its downloads in progress. Pure: the caller passes the time.
// io_context thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace deskline::daemon {

class RequestLimits {
 public:
  using Clock = std::chrono::steady_clock;

  RequestLimits(double requests_per_s, double burst, std::size_t downloads)
      : rate_(requests_per_s), burst_(burst), max_downloads_(downloads) {}

  // nullopt when the request may go ahead (and is counted); otherwise how
  // long until the client's next request would be admitted (at least 1 s,
  // Retry-After has whole seconds).
  std::optional<std::chrono::seconds> admit(const std::string& client, Clock::time_point now);

  // A download slot of client, or false when it has max downloads running.
  bool start_download(const std::string& client);
  void end_download(const std::string& client);
  std::size_t downloads(const std::string& client) const;

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point refilled;
  };
  double rate_;
  double burst_;
  std::size_t max_downloads_;
  std::map<std::string, Bucket, std::less<>> buckets_;  // one per token: a handful
  std::map<std::string, std::size_t, std::less<>> downloads_;
};

// Holds one download slot for as long as it lives.
class DownloadSlot {
 public:
  DownloadSlot(std::shared_ptr<RequestLimits> limits, std::string client)
      : limits_(std::move(limits)), client_(std::move(client)) {}
  ~DownloadSlot() { limits_->end_download(client_); }
  DownloadSlot(const DownloadSlot&) = delete;
  DownloadSlot& operator=(const DownloadSlot&) = delete;

 private:
  std::shared_ptr<RequestLimits> limits_;
  std::string client_;
};

}  // namespace deskline::daemon
