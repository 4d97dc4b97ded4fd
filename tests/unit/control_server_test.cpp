// The control socket against well-behaved and hostile local clients.
#include "daemon/api/control_server.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <thread>

#include "tests/require_tools.hpp"

namespace deskline::daemon {
namespace {

namespace fs = std::filesystem;

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("deskline-control-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    server_ = std::make_unique<ControlServer>(
        io_, socket_path(),
        [](const proto::control::Request& request) {
          return nlohmann::json{{"ok", true}, {"limit", request.limit}};
        },
        log_, AdminIdentity::of_this_process(), timeouts_);
    ASSERT_FALSE(server_->start());
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    io_.stop();
    thread_.join();
    server_->stop();
    fs::remove_all(dir_);
  }

  fs::path socket_path() const { return dir_ / "run" / "control.sock"; }

  int connect_client() const {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strcpy(address.sun_path, socket_path().c_str());
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0) << std::strerror(errno);
    return fd;
  }

  static void send_all(int fd, const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      const ssize_t count = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (count <= 0) return;  // the server may close on us: that is the point of some tests
      sent += static_cast<std::size_t>(count);
    }
  }

  // One response line, or "" on EOF/timeout.
  static std::string read_line(int fd) {
    std::string line;
    char c;
    while (::recv(fd, &c, 1, 0) == 1) {
      if (c == '\n') return line;
      line += c;
    }
    return line;
  }

  ControlTimeouts timeouts_;
  Logger log_{LogLevel::error};
  boost::asio::io_context io_;
  fs::path dir_;
  std::unique_ptr<ControlServer> server_;
  std::thread thread_;
};

TEST_F(ControlServerTest, AnswersRequestsInOrderOnOneConnection) {
  const int fd = connect_client();
  send_all(fd, R"({"cmd":"calls","limit":1})" "\n" R"({"cmd":"calls","limit":2})" "\n");
  EXPECT_EQ(nlohmann::json::parse(read_line(fd))["limit"], 1);
  EXPECT_EQ(nlohmann::json::parse(read_line(fd))["limit"], 2);
  ::close(fd);
}

TEST_F(ControlServerTest, SocketIsGroupAccessibleOnly) {
  struct stat info {};
  ASSERT_EQ(::stat(socket_path().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0660u);
}

TEST_F(ControlServerTest, GarbageGetsAnErrorAndTheConnectionStaysUsable) {
  const int fd = connect_client();
  send_all(fd, "this is not json\n[1,2,3]\n");
  auto first = nlohmann::json::parse(read_line(fd));
  EXPECT_FALSE(first["ok"].get<bool>());
  EXPECT_EQ(first["error"], "request is not a JSON object");
  EXPECT_FALSE(nlohmann::json::parse(read_line(fd))["ok"].get<bool>());
  send_all(fd, R"({"cmd":5})" "\n");  // a wrong type is refused, not thrown
  EXPECT_EQ(nlohmann::json::parse(read_line(fd))["error"], "request has no \"cmd\" string");
  send_all(fd, R"({"cmd":"calls","limit":3})" "\n");
  EXPECT_EQ(nlohmann::json::parse(read_line(fd))["limit"], 3);
  ::close(fd);
}

TEST_F(ControlServerTest, OverlongRequestIsRefusedAndClosed) {
  const int fd = connect_client();
  send_all(fd, std::string(ControlServer::max_request_bytes + 10, 'x'));
  auto response = nlohmann::json::parse(read_line(fd), nullptr, false);
  ASSERT_FALSE(response.is_discarded());
  EXPECT_EQ(response["error"], "request longer than 64 KiB");
  char c;
  EXPECT_LE(::recv(fd, &c, 1, 0), 0);  // closed (reset: our unread bytes were discarded)
  ::close(fd);
}

TEST_F(ControlServerTest, IdleClientsMakeRoomForANewOne) {
  std::vector<int> idle;
  for (std::size_t i = 0; i < ControlServer::max_sessions_per_uid; ++i) idle.push_back(connect_client());
  // Served: the oldest idle client of this uid was closed to make room.
  const int extra = connect_client();
  send_all(extra, R"({"cmd":"calls","limit":4})" "\n");
  EXPECT_EQ(nlohmann::json::parse(read_line(extra))["limit"], 4);
  char c;
  EXPECT_EQ(::recv(idle[0], &c, 1, 0), 0);
  send_all(idle.back(), R"({"cmd":"calls","limit":5})" "\n");
  EXPECT_EQ(nlohmann::json::parse(read_line(idle.back()))["limit"], 5);
  for (int fd : idle) ::close(fd);
  ::close(extra);
}

TEST_F(ControlServerTest, BusyClientsBeyondTheUidsShareAreRefused) {
  std::vector<int> busy;
  for (std::size_t i = 0; i < ControlServer::max_sessions_per_uid; ++i) {
    busy.push_back(connect_client());
    // Read with the answered request: the next one begun, so the session is not idle.
    send_all(busy.back(), R"({"cmd":"calls","limit":6})" "\n" R"({"cmd":)");
    EXPECT_EQ(nlohmann::json::parse(read_line(busy.back()))["limit"], 6);
  }
  const int extra = connect_client();
  char c;
  EXPECT_EQ(::recv(extra, &c, 1, 0), 0);  // closed without an answer
  ::close(extra);
  for (int fd : busy) ::close(fd);
}

TEST_F(ControlServerTest, ClientVanishingMidRequestDoesNotDisturbTheServer) {
  const int fd = connect_client();
  send_all(fd, R"({"cmd":"calls","li)");
  ::close(fd);
  const int next = connect_client();
  send_all(next, R"({"cmd":"calls","limit":5})" "\n");
  EXPECT_EQ(nlohmann::json::parse(read_line(next))["limit"], 5);
  ::close(next);
}

// The rest of a request begun after an answer must still arrive in time:
// a client that answers its own pipeline with half a request and waits is
// cut (it once held its session for ever: the answer's write had stopped the
// request timer, and a begun request did not start it again).
class ControlServerShortTimeoutsTest : public ControlServerTest {
 protected:
  ControlServerShortTimeoutsTest() {
    timeouts_ = {.idle = std::chrono::seconds(60), .request = std::chrono::milliseconds(200),
                 .write = std::chrono::seconds(60)};
  }
};

TEST_F(ControlServerShortTimeoutsTest, AHalfRequestAfterAnAnswerIsCut) {
  const int fd = connect_client();
  send_all(fd, R"({"cmd":"calls","limit":7})" "\n" R"({"cmd":"ca)");
  EXPECT_EQ(nlohmann::json::parse(read_line(fd))["limit"], 7);
  char c;
  EXPECT_EQ(::recv(fd, &c, 1, 0), 0) << "still open (the client's receive timeout is 5 s)";
  ::close(fd);
}

TEST_F(ControlServerShortTimeoutsTest, AnIdleClientBetweenRequestsIsNotCutByTheRequestTimeout) {
  const int fd = connect_client();
  send_all(fd, R"({"cmd":"calls","limit":8})" "\n");
  EXPECT_EQ(nlohmann::json::parse(read_line(fd))["limit"], 8);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // three request timeouts, well within idle
  send_all(fd, R"({"cmd":"calls","limit":9})" "\n");
  EXPECT_EQ(nlohmann::json::parse(read_line(fd))["limit"], 9);
  ::close(fd);
}

TEST(UnixSocket, SocketGetsTheGivenGroup) {
  const auto nogroup = find_group("nogroup");
  if (::geteuid() != 0 || !nogroup) SKIP_OR_FAIL_MISSING() << "needs root and the Debian group nogroup";
  ASSERT_NE(*nogroup, ::getegid());
  const auto dir = fs::temp_directory_path() / ("deskline-socket-group-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  boost::asio::io_context io;
  boost::asio::local::stream_protocol::acceptor acceptor(io);
  ASSERT_FALSE(bind_unix_socket(acceptor, dir / "events.sock", nogroup));
  struct stat info {};
  ASSERT_EQ(::stat((dir / "events.sock").c_str(), &info), 0);
  EXPECT_EQ(info.st_gid, *nogroup);
  EXPECT_EQ(info.st_mode & 0777, 0660u);
  fs::remove_all(dir);
}

TEST(ControlServerPeers, AdminsAreRootTheDaemonsUserAndItsGroup) {
  const AdminIdentity admins{1000, 990};
  struct Case {
    const char* what;
    PeerCredentials peer;
    bool admitted;
  };
  const Case cases[] = {
      {"root", {1, 0, 0, {}}, true},
      {"the daemon's user", {1, 1000, 100, {}}, true},
      {"primary group is the daemon's", {1, 2000, 990, {}}, true},
      {"supplementary group is the daemon's", {1, 2000, 100, {27, 990}}, true},
      {"a desk: other groups only", {1, 2000, 991, {100, 991}}, false},
      {"no groups at all", {1, 65534, 65534, {}}, false},
  };
  for (const auto& c : cases) EXPECT_EQ(may_administer(c.peer, admins), c.admitted) << c.what;
}

// A client process with the given identity connects and sends status; the
// line it got back.
std::string answer_as(boost::asio::io_context& io, const fs::path& socket, uid_t uid, gid_t gid,
                      std::vector<gid_t> groups) {
  int pipe_ends[2];
  if (::pipe(pipe_ends) != 0) return "pipe failed";
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(pipe_ends[0]);
    if (::setgroups(groups.size(), groups.data()) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) ::_exit(2);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strcpy(address.sun_path, socket.c_str());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) ::_exit(3);
    const std::string request = "{\"cmd\":\"status\"}\n";
    // A refused client may find the connection closed already: no SIGPIPE,
    // the answer is read all the same.
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    char byte;
    while (::read(fd, &byte, 1) == 1) {  // one line: the server keeps a served client connected
      if (::write(pipe_ends[1], &byte, 1) != 1) ::_exit(5);
      if (byte == '\n') break;
    }
    ::_exit(0);
  }
  ::close(pipe_ends[1]);
  int status = 0;
  while (::waitpid(child, &status, WNOHANG) == 0) io.run_one_for(std::chrono::milliseconds(10));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "client failed: " + std::to_string(status);
  std::string answer;
  char buffer[512];
  ssize_t count;
  while ((count = ::read(pipe_ends[0], buffer, sizeof buffer)) > 0) answer.append(buffer, static_cast<std::size_t>(count));
  ::close(pipe_ends[0]);
  return answer;
}

// Even with the socket file open to all (a mistake), only admins are served.
TEST(ControlServerPeers, ANonAdminIsRefusedWhateverTheFileSays) {
  if (::geteuid() != 0) SKIP_OR_FAIL_MISSING() << "needs root to connect as other users";
  const auto dir = fs::temp_directory_path() / ("deskline-control-peers-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  Logger log(LogLevel::error);
  boost::asio::io_context io;
  const AdminIdentity admins{0, 4242};
  ControlServer server(io, dir / "control.sock", [](const proto::control::Request&) { return nlohmann::json{{"ok", true}}; },
                       log, admins);
  ASSERT_FALSE(server.start());
  ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
  ASSERT_EQ(::chmod((dir / "control.sock").c_str(), 0666), 0);

  const auto refused = answer_as(io, dir / "control.sock", 65534, 65534, {});
  EXPECT_NE(refused.find("\"ok\":false"), std::string::npos) << refused;
  EXPECT_NE(refused.find("not allowed"), std::string::npos) << refused;
  EXPECT_EQ(server.forbidden(), 1u);
  const auto served = answer_as(io, dir / "control.sock", 65534, 65534, {4242});
  EXPECT_EQ(served, "{\"ok\":true}\n");
  EXPECT_EQ(server.forbidden(), 1u);
  server.stop();
  fs::remove_all(dir);
}

TEST(ControlServerStart, UnknownGroupIsNotFound) { EXPECT_FALSE(find_group("no-such-group-deskline")); }

TEST(ControlServerStart, RefusesASocketALiveDaemonOwns) {
  const auto dir = fs::temp_directory_path() / ("deskline-control-live-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  Logger log(LogLevel::error);
  boost::asio::io_context io;
  auto handler = [](const proto::control::Request&) { return nlohmann::json{{"ok", true}}; };
  ControlServer first(io, dir / "control.sock", handler, log);
  ASSERT_FALSE(first.start());
  ControlServer second(io, dir / "control.sock", handler, log);
  EXPECT_EQ(second.start(), std::make_error_code(std::errc::address_in_use));
  first.stop();
  // A stale file left by a killed daemon is replaced.
  ::close(::open((dir / "stale.sock").c_str(), O_CREAT | O_WRONLY, 0600));
  ControlServer third(io, dir / "stale.sock", handler, log);
  EXPECT_FALSE(third.start());
  third.stop();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace deskline::daemon
