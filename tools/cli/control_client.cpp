#include "tools/cli/control_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <system_error>

#include "tools/cli/command.hpp"
#include "tools/cli/language.hpp"

namespace deskline::tools {
namespace {

// errno's text is the whole message ("Connection refused").
daemon::Error errno_error() { return {{errno, std::generic_category()}, ""}; }

}  // namespace

daemon::Result<nlohmann::json> control_request(const std::filesystem::path& socket_path,
                                               const nlohmann::json& request) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.string().size() >= sizeof address.sun_path)
    return daemon::Error{std::make_error_code(std::errc::filename_too_long), "socket path too long"};
  std::strcpy(address.sun_path, socket_path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_error();
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    const auto refused = errno_error();
    ::close(fd);
    return refused;
  }
  const std::string line = request.dump() + "\n";
  std::string response;
  // A daemon that refuses a client answers and closes at once, maybe before
  // the request is sent: its answer is read all the same.
  ::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
  bool ok = true;
  char buffer[65536];
  while (ok && response.find('\n') == std::string::npos) {
    const ssize_t count = ::recv(fd, buffer, sizeof buffer, 0);
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) ok = false;
    else response.append(buffer, static_cast<std::size_t>(count));
  }
  ::close(fd);
  if (!ok)
    return daemon::Error{std::make_error_code(std::errc::connection_aborted),
                         "daemon closed the connection without answering"};
  auto parsed = nlohmann::json::parse(response.substr(0, response.find('\n')), nullptr, false);
  if (parsed.is_discarded())
    return daemon::Error{std::make_error_code(std::errc::bad_message), "daemon sent invalid JSON"};
  return parsed;
}

std::string unreachable_message(const std::filesystem::path& socket_path, const daemon::Error& error) {
  if (error.code == std::errc::permission_denied)
    return "deskline: " + trf("cannot use {}: {}; it is for desklined's admins (root and the members of its "
                              "group); desk users run `deskline pop`",
                              socket_path.string(), error.message());
  return "deskline: " + trf("desklined is not running (no answer on {}: {})", socket_path.string(), error.message());
}

DaemonAnswer ask_daemon(const std::filesystem::path& socket_path, const nlohmann::json& request) {
  const auto response = control_request(socket_path, request);
  if (!response) {
    std::cerr << unreachable_message(socket_path, response.error()) << "\n";
    return {std::nullopt, exit_no_daemon};
  }
  if (!response->value("ok", false)) {
    const auto error = response->value("error", "");
    std::cerr << "deskline: " << trf("desklined refused: {}", error) << "\n";
    // Refused as not an admin (proto/control.md) is the socket's own
    // "permission denied" by other means: not reachable for this user.
    return {std::nullopt, error.starts_with("not allowed:") ? exit_no_daemon : exit_failure};
  }
  return {*response, exit_ok};
}

}  // namespace deskline::tools
