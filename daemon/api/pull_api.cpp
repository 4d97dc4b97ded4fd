#include "daemon/api/pull_api.hpp"

#include <boost/asio/post.hpp>

#include "daemon/core/thread_priority.hpp"
#include "daemon/domain/call_json.hpp"

namespace deskline::daemon {

namespace http = boost::beast::http;

namespace {

std::string error_body(std::string_view message) { return nlohmann::json{{"error", message}}.dump(); }

}  // namespace

nlohmann::json pull_call_json(const StoredCall& stored) {
  auto json = call_to_json(stored.call);
  const auto& recording = stored.recording;
  json["recording"] = nullptr;
  json["recording_url"] = nullptr;
  if (!recording) return json;
  json["recording"] = {{"state", to_string(recording->state)},
                       {"duration_s", recording->duration_s},
                       {"bytes", recording->bytes},
                       {"sha256", recording->sha256.empty() ? nlohmann::json() : nlohmann::json(recording->sha256)}};
  // A file was made (a deleted one answers 410 there, one in progress 409).
  if (!recording->path.empty() || recording->state == RecordingState::deleted)
    json["recording_url"] = "/v1/recordings/" + stored.call.id;
  return json;
}

PullApi::PullApi(boost::asio::io_context& io, std::filesystem::path database, Logger& log)
    : io_(io), database_(std::move(database)), log_(log) {
  boost::asio::post(worker_, [&log] { become_bulk_thread("desklined-pull", log); });
}

PullApi::~PullApi() { stop(); }

Result<void> PullApi::start() {
  auto store = Store::open(database_, /*read_only=*/true);
  if (!store) return store.error();
  store_ = std::move(*store);
  return {};
}

void PullApi::stop() {
  if (stopped_) return;
  stopped_ = true;
  worker_.stop();
  worker_.join();
}

void PullApi::answer(const HttpDecision& decision, std::function<void(PullAnswer)> done) {
  boost::asio::post(worker_, [this, decision, done = std::move(done)]() mutable {
    auto answer = run(decision);
    boost::asio::post(io_, [answer = std::move(answer), done = std::move(done)]() mutable { done(std::move(answer)); });
  });
}

PullAnswer PullApi::run(const HttpDecision& decision) const {
  if (!store_) return {http::status::service_unavailable, error_body("the pull API is not started")};
  switch (decision.resource) {
    case HttpResource::call_page: return call_page(decision);
    case HttpResource::call: return call(decision);
    case HttpResource::changes: return changes(decision);
    default: return {http::status::internal_server_error, error_body("not a pull API resource")};
  }
}

PullAnswer PullApi::failed(const Error& error) const {
  log_.error("http: pull API query failed: {}", error.message());
  return {http::status::internal_server_error, error_body("the database could not be read")};
}

PullAnswer PullApi::call_page(const HttpDecision& decision) const {
  auto query = decision.call_query;
  ++query.limit;  // one more than asked tells whether a next page exists
  const auto calls = store_->query_calls(query);
  if (!calls) return failed(calls.error());
  const bool more = calls->size() > decision.call_query.limit;
  auto list = nlohmann::json::array();
  for (std::size_t i = 0; i < calls->size() && i < decision.call_query.limit; ++i)
    list.push_back(pull_call_json((*calls)[i]));
  nlohmann::json next;
  if (more) {
    const auto& last = (*calls)[decision.call_query.limit - 1].call;
    next = "/v1/calls?" + decision.next_query + "cursor=" + call_cursor({last.started_at, last.id});
  }
  return {http::status::ok, nlohmann::json{{"calls", std::move(list)}, {"next", std::move(next)}}.dump()};
}

PullAnswer PullApi::call(const HttpDecision& decision) const {
  const auto stored = store_->find_stored_call(decision.call_id);
  if (!stored) return failed(stored.error());
  if (!*stored) return {http::status::not_found, error_body("no call with this id")};
  return {http::status::ok, pull_call_json(**stored).dump()};
}

PullAnswer PullApi::changes(const HttpDecision& decision) const {
  const auto changes = store_->changes_after(decision.changes_after, decision.changes_limit + 1);
  if (!changes) return failed(changes.error());
  if (changes->empty()) {
    const auto last = store_->last_change_seq();
    if (!last) return failed(last.error());
    if (decision.changes_after > *last)
      return {http::status::bad_request,
              error_body("cursor is ahead of this database's changes (was it restored from a backup?): start again "
                         "without a cursor")};
  }
  const bool more = changes->size() > decision.changes_limit;
  auto list = nlohmann::json::array();
  std::int64_t cursor = decision.changes_after;
  for (std::size_t i = 0; i < changes->size() && i < decision.changes_limit; ++i) {
    list.push_back(pull_call_json((*changes)[i].stored));
    cursor = (*changes)[i].seq;
  }
  return {http::status::ok,
          nlohmann::json{{"changes", std::move(list)}, {"cursor", std::to_string(cursor)}, {"more", more}}.dump()};
}

}  // namespace deskline::daemon
