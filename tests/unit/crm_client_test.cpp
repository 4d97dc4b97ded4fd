// The CRM client against a real HTTP/1.1 server in the test process (its
// outer boundary): keep-alive reuse, reconnects, the retry of a dead kept
// connection, a streamed 5 MB upload, the answer cap, timeouts, a reset
// mid-upload, close() and destruction in flight, and TLS trust and host
// names with a CA made by the test. The io_context runs until the
// completion arrived; the server thread posts to it when a test must know
// that something happened there.
#include "daemon/crm/crm_client.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>

#include <boost/asio/post.hpp>

#include "tests/unit/crm_test_server.hpp"

namespace deskline::daemon {
namespace {

namespace fs = std::filesystem;
using namespace deskline::testing_crm;
using namespace std::chrono_literals;

class CrmClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = fs::temp_directory_path() /
                 ("deskline-crm-client-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(directory_);
    fs::create_directories(directory_);
  }
  void TearDown() override { fs::remove_all(directory_); }

  std::unique_ptr<CrmClient> make_client(const std::string& url, CrmClientSettings settings = {}) {
    settings.base_url = url;
    auto client = CrmClient::create(io_, std::move(settings));
    if (!client) throw std::runtime_error("client refused: " + client.error().message());
    return std::move(*client);
  }

  // Runs the io_context until done() holds (or it has nothing left to do).
  template <typename Predicate>
  void run_until(Predicate done) {
    io_.restart();
    while (!done())
      if (io_.run_one_for(60s) == 0) {
        ADD_FAILURE() << "the io_context ran dry before the test's condition held";
        return;
      }
  }

  Result<CrmAnswer> call(CrmClient& client, CrmRequest request) {
    std::optional<Result<CrmAnswer>> result;
    client.send(std::move(request), [&](Result<CrmAnswer> answer) { result.emplace(std::move(answer)); });
    run_until([&] { return result.has_value(); });
    if (!result) return Error{make_error_code(CrmClientError::cancelled), "never completed"};
    return std::move(*result);
  }

  static CrmRequest put(std::string target, std::string body) {
    CrmRequest request;
    request.method = CrmRequest::Method::put;
    request.target = std::move(target);
    request.headers = {{"Content-Type", "application/json"}};
    request.body = std::move(body);
    return request;
  }

  static CrmRequest get(std::string target) {
    CrmRequest request;
    request.target = std::move(target);
    return request;
  }

  // A file of pseudo-random bytes (a recording stand-in).
  fs::path random_file(const std::string& name, std::size_t size) {
    const auto path = directory_ / name;
    std::string bytes(size, '\0');
    std::mt19937 random(42);
    for (auto& byte : bytes) byte = static_cast<char>(random());
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  static std::string read_file(const fs::path& path) {
    std::ifstream file(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(file)), {});
  }

  fs::path write_text(const std::string& name, const std::string& text) {
    const auto path = directory_ / name;
    std::ofstream(path) << text;
    return path;
  }

  // Answers every request on every connection with 200 and its own counter.
  static TestServer::Handler answer_all(std::atomic<int>& requests) {
    return [&requests](ServerConnection& connection, int) {
      while (auto request = connection.read_request())
        connection.respond(200, "{\"n\":" + std::to_string(++requests) + "}", {{"Content-Type", "application/json"}});
    };
  }

  boost::asio::io_context io_;
  fs::path directory_;
};

// ---- keep-alive and reconnects -------------------------------------------------

TEST_F(CrmClientTest, ThreeRequestsShareOneConnection) {
  std::atomic<int> requests{0};
  std::vector<Request> seen;  // guarded by mutex
  std::mutex mutex;
  TestServer server([&](ServerConnection& connection, int) {
    while (auto request = connection.read_request()) {
      {
        std::lock_guard lock(mutex);
        seen.push_back(*request);
      }
      connection.respond(200, "{}", {{"Content-Type", "application/json"}});
      ++requests;
    }
  });
  auto client = make_client(server.url() + "/deskline/");

  auto first = call(*client, put("/v1/calls/a", R"({"revision":1})"));
  auto second = call(*client, get("/v1/customers?limit=2"));
  auto third = call(*client, put("/v1/calls/b", ""));
  ASSERT_TRUE(first) << first.error().message();
  ASSERT_TRUE(second) << second.error().message();
  ASSERT_TRUE(third) << third.error().message();
  EXPECT_EQ(first->status, 200u);
  EXPECT_EQ(first->content_type, "application/json");
  EXPECT_FALSE(first->reused_connection);
  EXPECT_TRUE(second->reused_connection);
  EXPECT_TRUE(third->reused_connection);
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(client->connections_opened(), 1u);

  std::lock_guard lock(mutex);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].method(), http::verb::put);
  EXPECT_EQ(seen[0].target(), "/deskline/v1/calls/a");
  EXPECT_EQ(seen[0][http::field::host], "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(seen[0][http::field::user_agent], "deskline/" DESKLINE_VERSION);
  EXPECT_EQ(seen[0][http::field::content_type], "application/json");
  EXPECT_EQ(seen[0][http::field::content_length], "14");
  EXPECT_EQ(seen[0].body(), R"({"revision":1})");
  EXPECT_EQ(seen[1].method(), http::verb::get);
  EXPECT_EQ(seen[1].target(), "/deskline/v1/customers?limit=2");
  EXPECT_EQ(seen[1].count(http::field::content_length), 0u);
  EXPECT_EQ(seen[2][http::field::content_length], "0");  // an empty PUT still says so
}

TEST_F(CrmClientTest, QueuedRequestsGoOutInOrderOnOneConnection) {
  std::vector<std::string> targets;
  std::mutex mutex;
  TestServer server([&](ServerConnection& connection, int) {
    while (auto request = connection.read_request()) {
      {
        std::lock_guard lock(mutex);
        targets.emplace_back(request->target());
      }
      connection.respond(204);
    }
  });
  auto client = make_client(server.url());
  std::vector<std::string> completed;
  for (const char* target : {"/1", "/2", "/3"})
    client->send(put(target, "x"), [&completed, target](Result<CrmAnswer> answer) {
      EXPECT_TRUE(answer) << answer.error().message();
      completed.emplace_back(target);
    });
  EXPECT_EQ(client->queued(), 3u);
  EXPECT_TRUE(completed.empty());  // never inside send()
  run_until([&] { return completed.size() == 3; });
  EXPECT_EQ(completed, (std::vector<std::string>{"/1", "/2", "/3"}));
  EXPECT_EQ(server.connections(), 1);
  std::lock_guard lock(mutex);
  EXPECT_EQ(targets, (std::vector<std::string>{"/1", "/2", "/3"}));
}

TEST_F(CrmClientTest, ServerClosingBetweenRequestsMeansAQuietReconnect) {
  std::atomic<int> requests{0};
  TestServer server([&](ServerConnection& connection, int) {
    if (connection.read_request()) connection.respond(200, "{}", {}, /*keep_alive=*/true);
    ++requests;
    connection.close();  // an idle timeout on the server's side, after a keep-alive answer
  });
  auto client = make_client(server.url());
  for (int i = 0; i < 3; ++i) {
    auto answer = call(*client, put("/v1/calls/c" + std::to_string(i), "{}"));
    ASSERT_TRUE(answer) << i << ": " << answer.error().message();
    EXPECT_EQ(answer->status, 200u);
  }
  EXPECT_EQ(server.connections(), 3);
  EXPECT_EQ(client->connections_opened(), 3u);
}

TEST_F(CrmClientTest, ConnectionCloseAnswerIsNotKept) {
  TestServer server([&](ServerConnection& connection, int) {
    while (auto request = connection.read_request())
      if (!connection.respond(200, "{}", {}, /*keep_alive=*/false)) break;
  });
  auto client = make_client(server.url());
  ASSERT_TRUE(call(*client, get("/a")));
  auto second = call(*client, get("/b"));
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->reused_connection);
  EXPECT_EQ(server.connections(), 2);
}

// The server read the second request on the kept connection and closed it
// without a word: an idempotent request goes once more on a fresh one.
TEST_F(CrmClientTest, DeadKeptConnectionIsRetriedOnceForIdempotentRequests) {
  std::atomic<int> second_request_seen{0};
  TestServer server([&](ServerConnection& connection, int index) {
    if (index == 0) {
      if (connection.read_request()) connection.respond(200, "first");
      if (connection.read_request()) ++second_request_seen;
      connection.close();
      return;
    }
    while (auto request = connection.read_request()) {
      if (request->target() == "/second") ++second_request_seen;
      connection.respond(200, "fresh");
    }
  });
  auto client = make_client(server.url());
  ASSERT_TRUE(call(*client, get("/first")));
  auto second = call(*client, put("/second", "{}"));
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(second->body, "fresh");
  EXPECT_FALSE(second->reused_connection);
  EXPECT_EQ(second_request_seen.load(), 2);
  EXPECT_EQ(server.connections(), 2);
}

TEST_F(CrmClientTest, DeadKeptConnectionFailsANonIdempotentRequest) {
  TestServer server([&](ServerConnection& connection, int index) {
    if (connection.read_request()) connection.respond(200);
    if (index == 0 && connection.read_request()) connection.close();
    while (connection.read_request()) connection.respond(200);
  });
  auto client = make_client(server.url());
  ASSERT_TRUE(call(*client, get("/first")));
  auto request = put("/once", "{}");
  request.idempotent = false;
  auto second = call(*client, request);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, make_error_code(CrmClientError::connection_closed)) << second.error().message();
  EXPECT_EQ(server.connections(), 1);
}

// ---- bodies and answers ----------------------------------------------------------

TEST_F(CrmClientTest, StreamedFileUploadArrivesByteIdentical) {
  const auto path = random_file("call.opus", 5 * 1000 * 1000);
  std::optional<Request> received;
  std::mutex mutex;
  TestServer server([&](ServerConnection& connection, int) {
    auto request = connection.read_request();
    if (!request) return;
    {
      std::lock_guard lock(mutex);
      received = *request;
    }
    connection.respond(201, R"({"sha256":"…","bytes":5000000})",
                       {{"Content-Type", "application/json"}, {"Repr-Digest", "sha-256=:AAAA:"}});
  });
  auto client = make_client(server.url());
  CrmRequest request;
  request.method = CrmRequest::Method::put;
  request.target = "/v1/calls/x/recording";
  request.headers = {{"Content-Type", "audio/ogg"}, {"Repr-Digest", "sha-256=:BBBB:"}};
  request.body_file = path;
  auto answer = call(*client, request);
  ASSERT_TRUE(answer) << answer.error().message();
  EXPECT_EQ(answer->status, 201u);
  EXPECT_EQ(answer->repr_digest, "sha-256=:AAAA:");
  EXPECT_EQ(answer->body, R"({"sha256":"…","bytes":5000000})");

  std::lock_guard lock(mutex);
  ASSERT_TRUE(received);
  EXPECT_EQ((*received)[http::field::content_length], "5000000");
  EXPECT_EQ((*received)[http::field::content_type], "audio/ogg");
  EXPECT_EQ((*received)["Repr-Digest"], "sha-256=:BBBB:");
  EXPECT_EQ(received->count(http::field::transfer_encoding), 0u);
  EXPECT_TRUE(received->body() == read_file(path)) << "the upload differs from the file";
}

TEST_F(CrmClientTest, EmptyFileUploadsAsContentLengthZero) {
  const auto path = random_file("empty.opus", 0);
  std::string length;
  std::mutex mutex;
  TestServer server([&](ServerConnection& connection, int) {
    if (auto request = connection.read_request()) {
      {
        std::lock_guard lock(mutex);
        length = std::string((*request)[http::field::content_length]);
      }
      connection.respond(200);
    }
  });
  auto client = make_client(server.url());
  CrmRequest request = put("/r", "");
  request.body_file = path;
  ASSERT_TRUE(call(*client, request));
  std::lock_guard lock(mutex);
  EXPECT_EQ(length, "0");
}

TEST_F(CrmClientTest, MissingBodyFileIsNamed) {
  std::atomic<int> requests{0};
  TestServer server(answer_all(requests));
  auto client = make_client(server.url());
  CrmRequest request = put("/r", "");
  request.body_file = directory_ / "gone.opus";
  auto answer = call(*client, request);
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code, make_error_code(CrmClientError::body_file_error));
  EXPECT_NE(answer.error().message().find("gone.opus"), std::string::npos) << answer.error().message();
  EXPECT_EQ(server.connections(), 0);
}

TEST_F(CrmClientTest, RequestsThatCannotBeSentAreRefusedBeforeConnecting) {
  std::atomic<int> requests{0};
  TestServer server(answer_all(requests));
  auto client = make_client(server.url());
  auto token_with_newline = get("/v1/customers");
  token_with_newline.headers = {{"Authorization", "Bearer abc\n"}};
  auto bad_name = get("/v1/customers");
  bad_name.headers = {{"Bad Name", "x"}};
  for (const auto& request : {token_with_newline, bad_name, get("v1/calls"), get("/v1/calls/a b"), get("")}) {
    auto answer = call(*client, request);
    ASSERT_FALSE(answer) << request.target;
    EXPECT_EQ(answer.error().code, make_error_code(CrmClientError::invalid_request)) << answer.error().message();
  }
  EXPECT_EQ(server.connections(), 0);
  auto fine = call(*client, get("/v1/customers"));  // the client goes on
  EXPECT_TRUE(fine) << fine.error().message();
}

TEST_F(CrmClientTest, AnswerHeadersForTheRetryPolicy) {
  TestServer server([&](ServerConnection& connection, int) {
    while (connection.read_request())
      connection.respond(503, R"({"error":"busy"})", {{"Retry-After", "7"}, {"Content-Type", "application/json"}});
  });
  auto client = make_client(server.url());
  auto answer = call(*client, get("/v1/customers"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 503u);
  EXPECT_EQ(answer->retry_after, "7");
  EXPECT_EQ(answer->repr_digest, "");
  EXPECT_EQ(answer->body, R"({"error":"busy"})");
}

TEST_F(CrmClientTest, AnswerOverTheCapIsRefused) {
  TestServer server([&](ServerConnection& connection, int) {
    while (auto request = connection.read_request())
      connection.respond(200, std::string(request->target() == "/fits" ? 1000 : 1001, 'x'));
  });
  CrmClientSettings settings;
  settings.max_answer_bytes = 1000;
  auto client = make_client(server.url(), settings);
  auto fits = call(*client, get("/fits"));
  ASSERT_TRUE(fits) << fits.error().message();
  EXPECT_EQ(fits->body.size(), 1000u);
  auto over = call(*client, get("/over"));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, make_error_code(CrmClientError::answer_too_large)) << over.error().message();
}

TEST_F(CrmClientTest, GarbageAnswerIsBadAnswer) {
  TestServer server([&](ServerConnection& connection, int) {
    if (connection.read_request()) connection.write_raw("SMTP ready\r\n\r\n");
    connection.wait_for_stop();
  });
  auto client = make_client(server.url());
  auto answer = call(*client, get("/"));
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code, make_error_code(CrmClientError::bad_answer)) << answer.error().message();
}

// ---- failures of the connection ------------------------------------------------

TEST_F(CrmClientTest, RefusedConnectionIsConnectFailed) {
  unsigned short port = 0;
  {
    tcp::acceptor closed(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = closed.local_endpoint().port();
  }
  auto client = make_client("http://127.0.0.1:" + std::to_string(port));
  auto answer = call(*client, get("/"));
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code, make_error_code(CrmClientError::connect_failed)) << answer.error().message();
}

TEST_F(CrmClientTest, ResetMidUploadIsConnectionReset) {
  const auto path = random_file("call.opus", 5 * 1000 * 1000);
  TestServer server([&](ServerConnection& connection, int) {
    connection.read_raw(100 * 1000);  // the headers and the start of the body
    connection.reset();
  });
  auto client = make_client(server.url());
  CrmRequest request = put("/v1/calls/x/recording", "");
  request.body_file = path;
  auto answer = call(*client, request);
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code, make_error_code(CrmClientError::connection_reset)) << answer.error().message();
  EXPECT_EQ(server.connections(), 1);  // a fresh connection: never sent again
}

TEST_F(CrmClientTest, ServerThatStopsAnsweringTimesOut) {
  TestServer server([&](ServerConnection& connection, int) {
    connection.read_request();
    connection.wait_for_stop();
  });
  CrmClientSettings settings;
  settings.inactivity_timeout = 200ms;
  auto client = make_client(server.url(), settings);
  auto answer = call(*client, put("/v1/calls/x", "{}"));
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code, make_error_code(CrmClientError::timeout));
  EXPECT_NE(answer.error().message().find("stopped answering"), std::string::npos) << answer.error().message();
}

TEST_F(CrmClientTest, ServerThatStopsReadingTimesOut) {
  // 64 MB, more than the socket buffers of both sides hold; sparse, so no disk.
  const auto path = directory_ / "big.opus";
  {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, 64 << 20), 0);
    ::close(fd);
  }
  TestServer server([&](ServerConnection& connection, int) { connection.wait_for_stop(); });
  CrmClientSettings settings;
  settings.inactivity_timeout = 300ms;
  auto client = make_client(server.url(), settings);
  CrmRequest request = put("/v1/calls/x/recording", "");
  request.body_file = path;
  auto answer = call(*client, request);
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code, make_error_code(CrmClientError::timeout));
  EXPECT_NE(answer.error().message().find("stopped reading"), std::string::npos) << answer.error().message();
}

TEST_F(CrmClientTest, TotalTimeoutCapsATricklingAnswer) {
  TestServer server([&](ServerConnection& connection, int) {
    if (connection.read_request()) connection.write_raw("HTTP/1.1 200 OK\r\n");
    connection.wait_for_stop();
  });
  CrmClientSettings settings;
  settings.inactivity_timeout = 60s;
  settings.total_timeout = 300ms;
  auto client = make_client(server.url(), settings);
  auto answer = call(*client, get("/"));
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code, make_error_code(CrmClientError::timeout));
  EXPECT_NE(answer.error().message().find("no answer within 300 ms"), std::string::npos) << answer.error().message();
}

// ---- close() and destruction -------------------------------------------------------

TEST_F(CrmClientTest, CloseCancelsTheRequestInFlightAndTheQueue) {
  bool server_has_request = false;
  TestServer server([&](ServerConnection& connection, int index) {
    if (index == 0) {
      if (connection.read_request()) asio::post(io_, [&] { server_has_request = true; });
      connection.read_request();  // no answer; returns when the client hangs up
      return;
    }
    while (connection.read_request()) connection.respond(200);
  });
  auto client = make_client(server.url());
  std::vector<std::error_code> outcomes;
  for (int i = 0; i < 2; ++i)
    client->send(get("/"), [&](Result<CrmAnswer> answer) {
      outcomes.push_back(answer ? std::error_code() : answer.error().code);
    });
  run_until([&] { return server_has_request; });
  client->close();
  EXPECT_TRUE(outcomes.empty());
  run_until([&] { return outcomes.size() == 2; });
  EXPECT_EQ(outcomes[0], make_error_code(CrmClientError::cancelled));
  EXPECT_EQ(outcomes[1], make_error_code(CrmClientError::cancelled));
  // Still usable: the next request connects again.
  auto after = call(*client, get("/again"));
  EXPECT_TRUE(after) << after.error().message();
}

TEST_F(CrmClientTest, DestroyedInFlightNeverCompletes) {
  bool server_has_request = false;
  TestServer server([&](ServerConnection& connection, int) {
    if (connection.read_request()) asio::post(io_, [&] { server_has_request = true; });
    connection.wait_for_stop();
  });
  auto client = make_client(server.url());
  bool completed = false;
  client->send(get("/"), [&](Result<CrmAnswer>) { completed = true; });
  client->send(get("/queued"), [&](Result<CrmAnswer>) { completed = true; });
  run_until([&] { return server_has_request; });
  client.reset();
  io_.restart();
  io_.run();  // the aborted operations finish into the abandoned client
  EXPECT_FALSE(completed);
}

TEST_F(CrmClientTest, ClosedThenDestroyedCallsNoCompletion) {
  std::atomic<int> requests{0};
  TestServer server(answer_all(requests));
  auto client = make_client(server.url());
  bool completed = false;
  client->send(get("/"), [&](Result<CrmAnswer>) { completed = true; });
  client->close();  // its cancellation is posted...
  client.reset();   // ...and dropped with the client
  io_.restart();
  io_.run();
  EXPECT_FALSE(completed);
}

// The next queued request goes out before the completion of the one before
// it runs, so the completion's own work (the sync commits and prepares its
// next item there) overlaps that request's round trip instead of adding to it.
TEST_F(CrmClientTest, TheNextQueuedRequestIsSentBeforeACompletionRuns) {
  std::atomic<int> requests{0};
  TestServer server(answer_all(requests));
  auto client = make_client(server.url());
  std::vector<std::pair<bool, std::size_t>> in_completions;  // busy(), queued()
  for (const char* target : {"/1", "/2", "/3"})
    client->send(get(target), [&](Result<CrmAnswer> answer) {
      EXPECT_TRUE(answer) << answer.error().message();
      in_completions.emplace_back(client->busy(), client->queued());
    });
  run_until([&] { return in_completions.size() == 3; });
  EXPECT_EQ(in_completions, (std::vector<std::pair<bool, std::size_t>>{{true, 1}, {true, 0}, {false, 0}}));
  EXPECT_EQ(server.connections(), 1);
}

TEST_F(CrmClientTest, CompletionMaySendTheNextRequest) {
  std::atomic<int> requests{0};
  TestServer server(answer_all(requests));
  auto client = make_client(server.url());
  int answers = 0;
  std::function<void(Result<CrmAnswer>)> next = [&](Result<CrmAnswer> answer) {
    ASSERT_TRUE(answer);
    if (++answers < 5) client->send(get("/" + std::to_string(answers)), next);
  };
  client->send(get("/0"), next);
  run_until([&] { return answers == 5; });
  EXPECT_EQ(server.connections(), 1);
}

// ---- creation -------------------------------------------------------------------------

TEST_F(CrmClientTest, BadUrlIsRefusedAtCreation) {
  CrmClientSettings settings;
  settings.base_url = "https://user:pw@crm.example.com";
  auto client = CrmClient::create(io_, settings);
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().code, make_error_code(CrmClientError::url_invalid));
  EXPECT_NE(client.error().message().find("has_user_info"), std::string::npos) << client.error().message();
}

TEST_F(CrmClientTest, UnreadableCaFileIsRefusedAtCreation) {
  CrmClientSettings settings;
  settings.base_url = "https://crm.example.com";
  settings.ca_file = directory_ / "missing.pem";
  auto missing = CrmClient::create(io_, settings);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, make_error_code(CrmClientError::ca_file_unreadable));
  settings.ca_file = write_text("not.pem", "hello\n");
  auto garbage = CrmClient::create(io_, settings);
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, make_error_code(CrmClientError::ca_file_unreadable)) << garbage.error().message();
}

// ---- TLS ----------------------------------------------------------------------------------

class CrmClientTlsTest : public CrmClientTest {
 protected:
  static const TestPki& pki_for_localhost() {
    static const TestPki pki = make_test_pki("DNS:localhost,IP:127.0.0.1");
    return pki;
  }
};

TEST_F(CrmClientTlsTest, TrustedWithTheCaFile) {
  std::atomic<int> requests{0};
  TestServer server(answer_all(requests), &pki_for_localhost());
  CrmClientSettings settings;
  settings.ca_file = write_text("ca.pem", pki_for_localhost().ca_pem);
  auto client = make_client(server.url(), settings);
  const auto path = random_file("call.opus", 300 * 1000);
  CrmRequest upload = put("/v1/calls/x/recording", "");
  upload.body_file = path;
  for (int i = 0; i < 3; ++i) {
    auto answer = call(*client, i == 1 ? upload : put("/v1/calls/x", "{}"));
    ASSERT_TRUE(answer) << answer.error().message();
    EXPECT_EQ(answer->status, 200u);
  }
  EXPECT_EQ(server.connections(), 1);
}

TEST_F(CrmClientTlsTest, TrustedByNameWithSni) {
  std::atomic<int> requests{0};
  TestServer server(answer_all(requests), &pki_for_localhost());
  CrmClientSettings settings;
  settings.ca_file = write_text("ca.pem", pki_for_localhost().ca_pem);
  auto client = make_client("https://localhost:" + std::to_string(server.port()), settings);
  auto answer = call(*client, get("/"));
  ASSERT_TRUE(answer) << answer.error().message();
}

TEST_F(CrmClientTlsTest, UntrustedWithoutTheCaFile) {
  std::atomic<int> requests{0};
  TestServer server(answer_all(requests), &pki_for_localhost());
  auto client = make_client(server.url());  // the system's CAs only
  auto answer = call(*client, get("/"));
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code, make_error_code(CrmClientError::certificate_untrusted)) << answer.error().message();
  EXPECT_NE(answer.error().message().find("unable to get local issuer certificate"), std::string::npos)
      << answer.error().message();
  EXPECT_EQ(requests.load(), 0);
}

TEST_F(CrmClientTlsTest, CertificateForAnotherHostIsAMismatch) {
  const TestPki pki = make_test_pki("DNS:crm.example");
  std::atomic<int> requests{0};
  TestServer server(answer_all(requests), &pki);
  CrmClientSettings settings;
  settings.ca_file = write_text("ca.pem", pki.ca_pem);
  auto client = make_client(server.url(), settings);  // https://127.0.0.1:port
  auto answer = call(*client, get("/"));
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code, make_error_code(CrmClientError::host_name_mismatch)) << answer.error().message();
  EXPECT_EQ(requests.load(), 0);
}

TEST_F(CrmClientTlsTest, PlainHttpServerIsAHandshakeFailure) {
  std::atomic<int> requests{0};
  TestServer server(answer_all(requests));
  CrmClientSettings settings;
  settings.ca_file = write_text("ca.pem", pki_for_localhost().ca_pem);
  auto client = make_client("https://127.0.0.1:" + std::to_string(server.port()), settings);
  auto answer = call(*client, get("/"));
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code, make_error_code(CrmClientError::tls_handshake_failed)) << answer.error().message();
}

TEST(CrmClientErrors, StableNames) {
  for (int code = 1; code <= static_cast<int>(CrmClientError::cancelled); ++code) {
    EXPECT_NE(to_string(static_cast<CrmClientError>(code)), "unknown");
    EXPECT_NE(make_error_code(static_cast<CrmClientError>(code)).message(), "unknown CRM client error");
  }
  EXPECT_EQ(to_string(CrmClientError::certificate_untrusted), "certificate_untrusted");
}

}  // namespace
}  // namespace deskline::daemon
