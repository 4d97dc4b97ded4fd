// The reference CRM (deskline-crm-ref) for integration tests: started on
// a loopback port with a workspace's token and signing secret, asked over
// curl for what it stored, told which faults to inject.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "tests/integration/harness.hpp"

namespace deskline::testing {

// A loopback port nothing listens on (yet).
inline int unused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

// The reference CRM on a port, with the workspace's token and secret.
class ReferenceCrm {
 public:
  // With tls_folder (make_certificates), it serves HTTPS.
  ReferenceCrm(const Workspace& workspace, int port, const fs::path& tls_folder = {})
      : port_(port), tls_folder_(tls_folder) {
    tools::SpawnOptions options;
    options.stdout_path = workspace.dir() / "crm-ref.out";
    options.stderr_path = workspace.dir() / "crm-ref.err";
    std::vector<std::string> argv{bin("deskline-crm-ref").string(),
                                  "--data",
                                  (workspace.dir() / "crm").string(),
                                  "--token-file",
                                  (workspace.dir() / "crm-token").string(),
                                  "--signing-secret-file",
                                  (workspace.dir() / "crm-secret").string(),
                                  "--port",
                                  std::to_string(port)};
    if (!tls_folder.empty())
      argv.insert(argv.end(), {"--tls-cert", (tls_folder / "server.pem").string(), "--tls-key",
                               (tls_folder / "server.key").string()});
    pid_ = tools::spawn(argv, options);
    const auto out = workspace.dir() / "crm-ref.out";
    EXPECT_TRUE(wait_until(
        [&] {
          std::ifstream file(out);
          std::string line;
          return std::getline(file, line) && line.starts_with("listening on");
        },
        std::chrono::seconds(20), "the reference CRM to listen"));
  }
  ~ReferenceCrm() {
    ::kill(pid_, SIGTERM);
    tools::wait_for(pid_, std::chrono::seconds(10));
  }

  // A request to the reference CRM (method, path, JSON body); its exit
  // status, the answer in output.
  int request(const std::string& method, const std::string& path, const nlohmann::json& body,
              std::string& output) const {
    std::vector<std::string> argv{"curl", "-sf", "-X", method};
    if (!tls_folder_.empty()) argv.insert(argv.end(), {"--cacert", (tls_folder_ / "ca.pem").string()});
    argv.push_back(fmt::format("{}://127.0.0.1:{}{}", tls_folder_.empty() ? "http" : "https", port_, path));
    if (!body.is_null()) argv.insert(argv.end(), {"-d", body.dump()});
    return tools::run_capture(argv, output);
  }
  // An admin request (POST /_ref/customers, DELETE /_ref/customers/ID); its exit status.
  int send(const std::string& method, const std::string& path, const nlohmann::json& body = nullptr) const {
    std::string output;
    return request(method, path, body, output);
  }
  // Queues faults (an object or a list, tools/crm-ref/README.md).
  void inject(const nlohmann::json& faults) const { EXPECT_EQ(send("POST", "/_ref/faults", faults), 0); }
  nlohmann::json get(const std::string& path) const {
    std::string output;
    request("GET", path, nullptr, output);
    const auto json = nlohmann::json::parse(output, nullptr, false);
    return json.is_discarded() ? nlohmann::json::object() : json;  // no answer: nothing known
  }
  // Stored calls by id.
  std::map<std::string, nlohmann::json> calls() const {
    std::map<std::string, nlohmann::json> calls;
    const auto listed = get("/_ref/calls");
    const auto& array = listed.is_object() && listed.contains("calls") ? listed["calls"] : listed;
    if (array.is_array())
      for (const auto& call : array) calls[call.value("id", "")] = call;
    return calls;
  }

 private:
  int port_;
  fs::path tls_folder_;
  pid_t pid_ = -1;
};

inline std::string crm_config(int port) {
  return fmt::format(
      "[crm]\nurl = \"http://127.0.0.1:{}\"\ntoken_file = \"crm-token\"\n"
      "signing_secret_file = \"crm-secret\"\n",
      port);
}

// Puts section in place of the workspace configuration's [crm] section (its last).
inline void set_crm_section(const Workspace& workspace, const std::string& section) {
  const auto config = read_file(workspace.config_path());
  std::ofstream(workspace.config_path()) << config.substr(0, config.find("[crm]")) << section;
}

inline void write_credentials(const Workspace& workspace) {
  std::ofstream(workspace.dir() / "crm-token") << "test-token-0123456789abcdef\n";
  std::ofstream(workspace.dir() / "crm-secret") << "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n";
}

}  // namespace deskline::testing
