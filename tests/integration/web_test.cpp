// The built-in pop page in a real browser (headless Chromium from Debian),
// and the WebSocket's token and Origin checks against raw clients.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <regex>
#include <thread>

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
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto status = workspace.cli_json({"status", "--json"});
    if (status.is_object() && status.contains("web_page")) return status["web_page"];
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return "";
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
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the line is ringing now

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
  EXPECT_EQ(tools::wait_for(simulator, std::chrono::minutes(1)).value_or(-1), 0);
}

// Sends a WebSocket upgrade by hand; returns the HTTP status code.
int upgrade_status(unsigned short port, const std::string& target, const std::string& origin) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return -1;
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\n";
  if (!origin.empty()) request += "Origin: " + origin + "\r\n";
  request += "\r\n";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  char buffer[512] = {};
  const ssize_t count = ::recv(fd, buffer, sizeof buffer - 1, 0);
  ::close(fd);
  int status = -1;
  if (count > 12) std::sscanf(buffer, "HTTP/1.1 %d", &status);
  return status;
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
  EXPECT_EQ(tools::wait_for(simulator, std::chrono::minutes(1)).value_or(-1), 0);
  EXPECT_NE(workspace.log().find("origin https://evil.example not allowed"), std::string::npos);
}

}  // namespace
}  // namespace deskline::testing
