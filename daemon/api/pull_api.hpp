// The pull API's reads (proto/http.md "Pull API"): pages of calls, one call,
// the change feed. They run off the io_context, on one worker thread with its
// own read-only connection to the database (WAL: a reader never waits for
// the daemon's writes, nor they for it), which also renders the JSON; the
// answer is posted back to the io_context. So a page of 1,000 calls never
// holds up a pop.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/http/status.hpp>
#include <nlohmann/json.hpp>

#include "daemon/api/http_request.hpp"
#include "daemon/core/log.hpp"
#include "daemon/core/result.hpp"
#include "daemon/store/store.hpp"

namespace deskline::daemon {

struct PullAnswer {
  boost::beast::http::status status = boost::beast::http::status::ok;
  std::string body;  // JSON
};

// A call as the pull API shows it: call_to_json, with "recording": {state,
// duration_s, bytes, sha256} or null, and "recording_url" (null when no file
// was ever made).
nlohmann::json pull_call_json(const StoredCall& stored);

class PullApi {
 public:
  PullApi(boost::asio::io_context& io, std::filesystem::path database, Logger& log);
  ~PullApi();

  // Opens the worker's connection (the daemon has migrated the database).
  Result<void> start();
  // Ends the worker; queries not yet run are dropped. Idempotent.
  void stop();

  // Answers decision (a call_page, call or changes resource) on the worker;
  // done runs on the io_context.
  void answer(const HttpDecision& decision, std::function<void(PullAnswer)> done);

 private:
  PullAnswer run(const HttpDecision& decision) const;
  PullAnswer call_page(const HttpDecision& decision) const;
  PullAnswer call(const HttpDecision& decision) const;
  PullAnswer changes(const HttpDecision& decision) const;
  PullAnswer failed(const Error& error) const;

  boost::asio::io_context& io_;
  std::filesystem::path database_;
  Logger& log_;
  std::unique_ptr<Store> store_;  // the worker's alone once started
  boost::asio::thread_pool worker_{1};
  bool stopped_ = false;
};

}  // namespace deskline::daemon
