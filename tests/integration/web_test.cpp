// The built-in pop page in a real browser (headless Chromium from Debian),
// and the WebSocket's token and Origin checks against raw clients.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <regex>

#include "tests/integration/harness.hpp"

namespace deskline::testing {
namespace {

constexpr const char* long_ring = R"(
box A serial=X800-WEB lines=2
at 0.5 A:1 ring cadence=1.0/4.0 count=2
at 0.7 A:1 callerid number=13812345678 name="ZHANG WEI"
at 8.0 end
)";

// Waits for the running daemon's status and returns its pop page address.
std::string web_page(const Workspace& workspace) {
  std::string page;
  EXPECT_TRUE(wait_until(
      [&] {
        auto status = workspace.cli_json({"status", "--json"});
        if (status.is_object() && status.contains("web_page")) page = status["web_page"];
        return !page.empty();
      },
      std::chrono::seconds(30), "the daemon to answer `deskline status`"));
  return page;
}

std::vector<std::string> chromium(const std::string& url, const fs::path& profile) {
  return {"chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--user-data-dir=" + profile.string(), "--virtual-time-budget=3000", "--window-size=1000,600", url};
}

TEST(WebPage, BrowserShowsThePopCardOfARingingCall) {
  Workspace workspace("web-page");
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario(long_ring));
  ASSERT_GT(simulator, 0);
  const auto url = web_page(workspace);
  ASSERT_FALSE(url.empty()) << workspace.log();
  // The line is ringing, the caller identified.
  ASSERT_TRUE(wait_until(
      [&] {
        const auto calls = workspace.calls();  // {"exit_status", ...} until the daemon answers
        const auto* call = calls.is_array() ? find_call_by_number(calls, "13812345678") : nullptr;
        return call && call->value("state", "") == "active" && call->value("name", "") == "ZHANG WEI";
      },
      std::chrono::seconds(30), "the ringing call to be identified"))
      << workspace.log();

  auto dump = chromium(url, workspace.dir() / "chromium");
  dump.insert(dump.end() - 1, "--dump-dom");
  std::string dom;
  ASSERT_EQ(tools::run_capture(dump, dom), 0);
  EXPECT_NE(dom.find(R"(class="who">ZHANG WEI<)"), std::string::npos) << dom;
  EXPECT_NE(dom.find("X800-WEB:1"), std::string::npos);

  const auto artefacts = fs::path(DESKLINE_BIN_DIR).parent_path() / "test-artefacts";
  fs::create_directories(artefacts);
  auto shot = chromium(url, workspace.dir() / "chromium");
  shot.insert(shot.end() - 1, "--screenshot=" + (artefacts / "pop-page.png").string());
  std::string ignored;
  EXPECT_EQ(tools::run_capture(shot, ignored), 0);
  EXPECT_GT(fs::file_size(artefacts / "pop-page.png"), 1000u);
  EXPECT_EQ(workspace.wait_for_simulator(simulator), 0);
}

struct HttpAnswer {
  int status = -1;
  std::string body;
};

// One raw request (a hostile client builds its own bytes); reads until the
// server closes or a complete Content-Length body has arrived.
HttpAnswer http_exchange(unsigned short port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  HttpAnswer answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return answer;
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string data;
  char buffer[4096];
  ssize_t count;
  while (!http_response_complete(data) && (count = ::recv(fd, buffer, sizeof buffer, 0)) > 0)
    data.append(buffer, static_cast<std::size_t>(count));
  ::close(fd);
  if (data.size() > 12) std::sscanf(data.c_str(), "HTTP/1.1 %d", &answer.status);
  if (const auto head_end = data.find("\r\n\r\n"); head_end != std::string::npos) answer.body = data.substr(head_end + 4);
  return answer;
}

int get_status(unsigned short port, const std::string& target, const std::string& method = "GET") {
  return http_exchange(port, method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").status;
}

// Sends a WebSocket upgrade by hand; returns the HTTP status code.
int upgrade_status(unsigned short port, const std::string& target, const std::string& origin) {
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\n";
  if (!origin.empty()) request += "Origin: " + origin + "\r\n";
  return http_exchange(port, request + "\r\n").status;
}

TEST(WebPage, WebSocketRefusesWrongTokenAndForeignOrigin) {
  Workspace workspace("web-auth");
  const pid_t simulator = workspace.start_daemon_under_sim(workspace.write_scenario("box A serial=X800-AUTH lines=1\nat 4 end\n"));
  ASSERT_GT(simulator, 0);
  const auto url = web_page(workspace);
  std::smatch parts;
  ASSERT_TRUE(std::regex_search(url, parts, std::regex(R"(:(\d+)/\?token=([0-9a-f]+))"))) << url;
  const auto port = static_cast<unsigned short>(std::stoi(parts[1]));
  const std::string token = parts[2];
  const std::string own_origin = "http://127.0.0.1:" + std::string(parts[1]);

  EXPECT_EQ(upgrade_status(port, "/v1/events?token=" + token, own_origin), 101);
  EXPECT_EQ(upgrade_status(port, "/v1/events?token=" + token, ""), 101);  // non-browser clients send no Origin
  EXPECT_EQ(upgrade_status(port, "/v1/events?token=wrong" + token.substr(5), own_origin), 401);
  EXPECT_EQ(upgrade_status(port, "/v1/events", own_origin), 401);
  EXPECT_EQ(upgrade_status(port, "/v1/events?token=" + token, "https://evil.example"), 403);
  EXPECT_EQ(upgrade_status(port, "/v1/events?token=" + token, "http://127.0.0.1:1"), 403);
  EXPECT_EQ(upgrade_status(port, "/v1/events?token=%zz" + token, own_origin), 400);  // bad percent-escape

  // Plain HTTP on the same listener: the calls API and its refusals.
  const auto calls = http_exchange(port, "GET /v1/calls?limit=5 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                                        token + "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(calls.status, 200);
  EXPECT_TRUE(nlohmann::json::parse(calls.body, nullptr, false).is_array()) << calls.body;
  EXPECT_EQ(get_status(port, "/v1/calls?limit=2&token=" + token), 200);
  for (const char* limit : {"abc", "0", "-1", "1001", "5x"})
    EXPECT_EQ(get_status(port, "/v1/calls?token=" + token + "&limit=" + limit), 400) << limit;
  EXPECT_EQ(get_status(port, "/v1/calls"), 401);
  EXPECT_EQ(get_status(port, "/v1/nothing?token=" + token), 404);
  EXPECT_EQ(get_status(port, "/nothing"), 404);
  EXPECT_EQ(get_status(port, "/v1/calls?token=" + token, "DELETE"), 405);
  EXPECT_EQ(get_status(port, "no-slash"), 400);
  EXPECT_EQ(http_exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n").status, 400);
  EXPECT_EQ(workspace.wait_for_simulator(simulator), 0);
  EXPECT_NE(workspace.log().find("origin https://evil.example not allowed"), std::string::npos);
}

}  // namespace
}  // namespace deskline::testing
