// The directory pull against a scripted CRM (tests/unit/crm_test_server.hpp)
// on the test's own io_context: pages followed while `more`, the cursor
// stored, a retried page keeping its webhook-id, a refused cursor kept.
#include "daemon/crm/customer_pull.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "proto/webhook_signature.hpp"
#include "tests/unit/crm_test_server.hpp"

namespace deskline::daemon {
namespace {

namespace fs = std::filesystem;
using namespace deskline::testing_crm;
using namespace std::chrono_literals;

constexpr const char* secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

std::string header(const Request& request, const char* name) { return std::string(request[name]); }

struct Answer {
  unsigned status;
  std::string body;
};

class CustomerPullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = fs::temp_directory_path() / ("deskline-customer-pull-" + std::to_string(::getpid()) + "-" +
                                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(folder_);
    fs::create_directories(folder_);
    std::ofstream(folder_ / "token") << "the-token\n";
    std::ofstream(folder_ / "secret") << secret << "\n";
    config::DirectoryConfig directory_config;
    auto directory = Directory::open(folder_ / "directory.db", directory_config);
    ASSERT_TRUE(directory) << directory.error().message();
    directory_ = std::move(*directory);
    server_.emplace([this](ServerConnection& connection, int) {
      while (auto request = connection.read_request()) {
        Answer answer{500, "{\"error\":\"script_ran_out\"}"};
        {
          std::lock_guard lock(mutex_);
          requests_.push_back(*request);
          if (!script_.empty()) {
            answer = script_.front();
            script_.pop_front();
          }
        }
        connection.respond(answer.status, answer.body, {{"Content-Type", "application/json"}});
      }
    });
    config_.url = server_->url();
    config_.token_file = folder_ / "token";
    config_.signing_secret_file = folder_ / "secret";
    config_.customers_poll_s = 0;  // the test asks
  }
  void TearDown() override {
    pull_.reset();
    server_.reset();
    directory_.reset();
    fs::remove_all(folder_);
  }

  void script(std::vector<Answer> answers) {
    std::lock_guard lock(mutex_);
    for (auto& answer : answers) script_.push_back(std::move(answer));
  }
  std::vector<Request> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

  template <typename Predicate>
  bool run_until(Predicate done) {
    io_.restart();
    while (!done())
      if (io_.run_one_for(60s) == 0) return false;
    return true;
  }
  // Starts the pull (its first pull begins) and runs until pull number has ended.
  void start() {
    pull_.emplace(io_, config_, *directory_, log_);
    auto started = pull_->start();
    ASSERT_TRUE(started) << started.error().message();
  }
  CustomerPullStatus wait_for_pull(std::uint64_t number) {
    EXPECT_TRUE(run_until([&] {
      const auto status = pull_->status();
      return status.last && status.last->number >= number;
    }));
    return pull_->status();
  }

  static std::string page(const std::string& customers, const std::string& deleted, const std::string& cursor,
                          bool more) {
    return R"({"customers": [)" + customers + R"(], "deleted": [)" + deleted + R"(], "next_cursor": ")" + cursor +
           R"(", "more": )" + (more ? "true" : "false") + "}";
  }

  fs::path folder_;
  boost::asio::io_context io_;
  Logger log_{LogLevel::error};
  std::unique_ptr<Directory> directory_;
  config::CrmConfig config_;
  std::mutex mutex_;
  std::deque<Answer> script_;
  std::vector<Request> requests_;
  std::optional<TestServer> server_;
  std::optional<CustomerPull> pull_;
};

TEST_F(CustomerPullTest, FollowsMorePageByPageSignsEachAndStoresTheCursor) {
  script({{200, page(R"({"id": "c-1", "name": "Zhang Wei", "numbers": ["138 1234 5678"]})", "", "c1", true)},
          {200, page(R"({"id": "c-2", "name": "Wang Fang", "numbers": ["+86 21 6123 4567", "ask reception"]})",
                     R"("c-0")", "c2 /x", false)}});
  start();
  const auto status = wait_for_pull(1);
  ASSERT_TRUE(status.last);
  EXPECT_TRUE(status.last->ok) << status.last->error;
  EXPECT_EQ(status.last->pages, 2u);
  EXPECT_EQ(status.last->inserted, 2u);
  EXPECT_EQ(status.last->numbers_left_out, 1u);
  ASSERT_EQ(status.last->problems.size(), 1u);
  EXPECT_EQ(status.cursor, "c2 /x");
  EXPECT_EQ(directory_->crm_cursor(config_.url).value(), "c2 /x");
  EXPECT_EQ(directory_->lookup("13812345678").value().candidates.at(0).id, "c-1");

  const auto seen = requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].target(), "/v1/customers?limit=500");
  EXPECT_EQ(seen[1].target(), "/v1/customers?cursor=c1&limit=500");
  const auto key = proto::webhook::parse_secret(secret);
  for (const auto& request : seen) {
    EXPECT_EQ(request.method(), http::verb::get);
    EXPECT_EQ(header(request, "Authorization"), "Bearer the-token");
    EXPECT_TRUE(header(request, "webhook-id").starts_with("customers-")) << header(request, "webhook-id");
    EXPECT_FALSE(proto::webhook::verify(*key.key, header(request, "webhook-id"), header(request, "webhook-timestamp"),
                                        header(request, "webhook-signature"), "",
                                        std::stoll(header(request, "webhook-timestamp"))));
  }
  EXPECT_NE(header(seen[0], "webhook-id"), header(seen[1], "webhook-id"));  // each page is its own delivery

  // Asked again: from the stored cursor, percent-encoded.
  script({{200, page("", "", "c2 /x", false)}});
  EXPECT_EQ(pull_->pull_now(), 2u);
  wait_for_pull(2);
  EXPECT_EQ(requests().back().target(), "/v1/customers?cursor=c2%20%2Fx&limit=500");
}

TEST_F(CustomerPullTest, ARetriedPageKeepsItsWebhookId) {
  script({{503, R"({"error": "busy"})"}, {200, page(R"({"id": "c-1"})", "", "c1", false)}});
  start();
  auto status = wait_for_pull(1);
  ASSERT_TRUE(status.last);
  EXPECT_FALSE(status.last->ok);
  EXPECT_NE(status.last_error.find("HTTP 503"), std::string::npos) << status.last_error;
  EXPECT_TRUE(status.next_pull_at);  // backoff, although customers_poll_s is 0
  status = wait_for_pull(2);
  EXPECT_TRUE(status.last->ok) << status.last->error;
  const auto seen = requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(header(seen[0], "webhook-id"), header(seen[1], "webhook-id"));
  EXPECT_EQ(seen[0].target(), seen[1].target());
  EXPECT_EQ(status.cursor, "c1");
}

TEST_F(CustomerPullTest, ARefusedCursorIsKeptAndSaidInTheStatus) {
  ASSERT_TRUE(directory_->apply_crm_page({{}, {}, {}, "c9", false}, config_.url));
  script({{400, R"({"error": "bad_cursor", "message": "cursor must be a next_cursor this CRM gave"})"}});
  start();
  const auto status = wait_for_pull(1);
  EXPECT_FALSE(status.last->ok);
  EXPECT_TRUE(status.cursor_refused);
  EXPECT_EQ(status.cursor, "c9");
  EXPECT_NE(status.last_error.find("refused the stored cursor \"c9\""), std::string::npos) << status.last_error;
  EXPECT_FALSE(status.next_pull_at);  // not retried: customers_poll_s is 0
  EXPECT_EQ(directory_->crm_cursor(config_.url).value(), "c9");
  EXPECT_EQ(requests().at(0).target(), "/v1/customers?cursor=c9&limit=500");
}

TEST_F(CustomerPullTest, ARefusedPageAppliesNothing) {
  script({{200, page(R"({"id": "c-1"}, {"name": "no id"})", "", "c2", false)}});
  start();
  const auto status = wait_for_pull(1);
  EXPECT_FALSE(status.last->ok);
  EXPECT_NE(status.last_error.find("customers[1]: id is missing"), std::string::npos) << status.last_error;
  EXPECT_EQ(directory_->customer_count().value(), 0);
  EXPECT_EQ(directory_->crm_cursor(config_.url).value(), "");
}

TEST_F(CustomerPullTest, ASyncAskedDuringAPullGetsAPullOfItsOwn) {
  script({{200, page(R"({"id": "c-1"})", "", "c1", false)}, {200, page(R"({"id": "c-2"})", "", "c2", false)}});
  start();  // pull 1 is under way
  EXPECT_EQ(pull_->pull_now(), 2u);
  EXPECT_EQ(pull_->pull_now(), 2u);  // one more is enough for both
  const auto status = wait_for_pull(2);
  EXPECT_TRUE(status.last->ok);
  EXPECT_EQ(directory_->customer_count().value(), 2);
  EXPECT_EQ(requests().size(), 2u);
}

TEST_F(CustomerPullTest, OffWithoutAUrl) {
  config_.url.clear();
  start();
  EXPECT_FALSE(pull_->pull_now());
  EXPECT_FALSE(pull_->status().enabled);
}

}  // namespace
}  // namespace deskline::daemon
