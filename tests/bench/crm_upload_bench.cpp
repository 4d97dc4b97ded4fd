// CRM upload benchmark: N recordings (default 200 files of 256 KB) PUT to a
// sink HTTP/1.1 server on loopback, by the daemon's CrmClient (one keep-alive
// connection, then K clients side by side) and by curl doing the same in the
// same run (one invocation: one keep-alive connection; then --parallel with
// K connections). Over http:// and over https:// (a CA made here, TLS 1.3).
// Prints the median wall time of several rounds, the throughput and the
// client's CPU time (ours: the client thread; curl: the child).
//
//   deskline_crm_upload_bench [--files N] [--kib S] [--parallel K] [--rounds R]
//
// The sink server runs in threads of this process (one per connection) and
// reads each body whole; it costs both clients the same.
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "daemon/crm/crm_client.hpp"
#include "tests/unit/crm_test_server.hpp"
#include "tools/cli/subprocess.hpp"

namespace {

namespace fs = std::filesystem;
using deskline::daemon::CrmAnswer;
using deskline::daemon::CrmClient;
using deskline::daemon::CrmClientSettings;
using deskline::daemon::CrmRequest;
using deskline::daemon::Result;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// Answers every PUT with 201 after reading its body; a thread per connection.
class SinkServer {
 public:
  explicit SinkServer(const deskline::testing_crm::TestPki* pki)
      : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    if (pki) {
      tls_.emplace(ssl::context::tls_server);
      tls_->use_certificate_chain(asio::buffer(pki->server_cert_pem));
      tls_->use_private_key(asio::buffer(pki->server_key_pem), ssl::context::pem);
    }
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~SinkServer() {
    stopping_ = true;
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    accept_thread_.join();
    std::lock_guard lock(mutex_);
    for (auto& thread : connections_) thread.join();
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  std::uint64_t bytes() const { return bytes_; }

 private:
  void accept_loop() {
    while (!stopping_) {
      tcp::socket socket(io_);
      beast::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) return;
      std::lock_guard lock(mutex_);
      connections_.emplace_back([this, socket = std::move(socket)]() mutable { serve(std::move(socket)); });
    }
  }

  template <typename Stream>
  void serve_stream(Stream& stream) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(64 << 20);
      beast::error_code ec;
      http::read(stream, buffer, parser, ec);
      if (ec) return;
      bytes_ += parser.get().body().size();
      http::response<http::string_body> response{http::status::created, 11};
      response.set(http::field::content_type, "application/json");
      response.body() = "{\"stored\":true}";
      response.keep_alive(parser.get().keep_alive());
      response.prepare_payload();
      http::write(stream, response, ec);
      if (ec || !response.keep_alive()) return;
    }
  }

  void serve(tcp::socket socket) {
    socket.set_option(tcp::no_delay(true));
    if (!tls_) return serve_stream(socket);
    ssl::stream<tcp::socket> stream(std::move(socket), *tls_);
    beast::error_code ec;
    stream.handshake(ssl::stream_base::server, ec);
    if (!ec) serve_stream(stream);
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::optional<ssl::context> tls_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> bytes_{0};
  std::thread accept_thread_;
  std::mutex mutex_;
  std::vector<std::thread> connections_;
};

double cpu_seconds(int who) {
  rusage usage{};
  getrusage(who, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

struct Sample {
  double wall_s = 0;
  double cpu_s = 0;
};

// All files by `clients` CrmClients, each sending its share one after another.
Sample run_ours(const std::string& url, const fs::path& ca_file, const std::vector<fs::path>& files, int clients) {
  asio::io_context io;
  CrmClientSettings settings;
  settings.base_url = url;
  settings.ca_file = ca_file;
  std::vector<std::unique_ptr<CrmClient>> pool;
  for (int i = 0; i < clients; ++i) {
    auto client = CrmClient::create(io, settings);
    if (!client) throw std::runtime_error(client.error().message());
    pool.push_back(std::move(*client));
  }
  std::size_t next = 0, done = 0, failed = 0;
  std::function<void(CrmClient&)> send_next = [&](CrmClient& client) {
    if (next >= files.size()) return;
    CrmRequest request;
    request.method = CrmRequest::Method::put;
    request.target = fmt::format("/v1/calls/{}/recording", next);
    request.headers = {{"Content-Type", "audio/ogg"}};
    request.body_file = files[next++];
    client.send(std::move(request), [&](Result<CrmAnswer> answer) {
      ++done;
      if (!answer || answer->status != 201) ++failed;
      send_next(client);
    });
  };
  const double cpu_before = cpu_seconds(RUSAGE_THREAD);
  const auto start = Clock::now();
  for (auto& client : pool) send_next(*client);
  while (done < files.size()) io.run_one();
  const Sample sample{std::chrono::duration<double>(Clock::now() - start).count(), cpu_seconds(RUSAGE_THREAD) - cpu_before};
  if (failed) throw std::runtime_error(fmt::format("{} uploads failed", failed));
  return sample;
}

// The same uploads by one curl invocation (its config file lists them all).
Sample run_curl(const std::string& url, const fs::path& ca_file, const std::vector<fs::path>& files, int parallel,
                const fs::path& directory) {
  const auto config = directory / "curl.conf";
  {
    std::ofstream out(config);
    for (std::size_t i = 0; i < files.size(); ++i)
      out << fmt::format("url = \"{}/v1/calls/{}/recording\"\nupload-file = \"{}\"\noutput = \"/dev/null\"\n", url, i,
                         files[i].string());
  }
  std::vector<std::string> argv = {"curl", "--silent", "--no-progress-meter", "--show-error", "--fail", "-H", "Content-Type: audio/ogg",
                                   "-H", "Expect:", "--config", config.string()};
  if (!ca_file.empty()) argv.insert(argv.end(), {"--cacert", ca_file.string()});
  if (parallel > 1) argv.insert(argv.end(), {"--parallel", "--parallel-max", std::to_string(parallel)});
  const double cpu_before = cpu_seconds(RUSAGE_CHILDREN);
  const auto start = Clock::now();
  const pid_t pid = deskline::tools::spawn(argv);
  const auto status = deskline::tools::wait_for(pid, std::chrono::minutes(5));
  const Sample sample{std::chrono::duration<double>(Clock::now() - start).count(), cpu_seconds(RUSAGE_CHILDREN) - cpu_before};
  if (!status || *status != 0) throw std::runtime_error("curl failed");
  return sample;
}

Sample median(std::vector<Sample> samples) {
  std::sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) { return a.wall_s < b.wall_s; });
  return samples[samples.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t file_count = 200, kib = 256;
  int parallel = 4, rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string option = argv[i];
    const long value = std::strtol(argv[i + 1], nullptr, 10);
    if (option == "--files") file_count = static_cast<std::size_t>(value);
    else if (option == "--kib") kib = static_cast<std::size_t>(value);
    else if (option == "--parallel") parallel = static_cast<int>(value);
    else if (option == "--rounds") rounds = static_cast<int>(value);
    else {
      std::fprintf(stderr, "usage: %s [--files N] [--kib S] [--parallel K] [--rounds R]\n", argv[0]);
      return 2;
    }
  }

  const auto directory = fs::temp_directory_path() / fmt::format("deskline-crm-bench-{}", ::getpid());
  fs::create_directories(directory);
  std::vector<fs::path> files;
  std::mt19937 random(7);
  std::string bytes(kib * 1024, '\0');
  for (std::size_t i = 0; i < file_count; ++i) {
    for (auto& byte : bytes) byte = static_cast<char>(random());
    files.push_back(directory / fmt::format("{:04}.opus", i));
    std::ofstream(files.back(), std::ios::binary) << bytes;
  }
  const double megabytes = static_cast<double>(file_count * kib) / 1024.0;
  fmt::print("{} files of {} KiB ({:.1f} MiB) over loopback, median of {} rounds\n", file_count, kib, megabytes, rounds);
  fmt::print("{:<8} {:<34} {:>9} {:>9} {:>12}\n", "scheme", "client", "wall ms", "MiB/s", "client CPU ms");

  const auto pki = deskline::testing_crm::make_test_pki("DNS:localhost,IP:127.0.0.1");
  const auto ca_file = directory / "ca.pem";
  std::ofstream(ca_file) << pki.ca_pem;

  int status = 0;
  try {
    for (const bool tls : {false, true}) {
      SinkServer server(tls ? &pki : nullptr);
      const std::string url = fmt::format("{}://127.0.0.1:{}", tls ? "https" : "http", server.port());
      const fs::path ca = tls ? ca_file : fs::path();
      const auto report = [&](const std::string& name, auto run) {
        std::vector<Sample> samples;
        run();  // warm-up: page cache, TLS session setup code paths
        for (int round = 0; round < rounds; ++round) samples.push_back(run());
        const auto m = median(samples);
        fmt::print("{:<8} {:<34} {:>9.1f} {:>9.1f} {:>12.1f}\n", tls ? "https" : "http", name, m.wall_s * 1e3,
                   megabytes / m.wall_s, m.cpu_s * 1e3);
        std::fflush(stdout);
      };
      report("CrmClient, 1 connection", [&] { return run_ours(url, ca, files, 1); });
      report("curl, 1 connection", [&] { return run_curl(url, ca, files, 1, directory); });
      report(fmt::format("CrmClient, {} clients", parallel), [&] { return run_ours(url, ca, files, parallel); });
      report(fmt::format("curl --parallel-max {}", parallel), [&] { return run_curl(url, ca, files, parallel, directory); });
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench failed: %s\n", error.what());
    status = 1;
  }
  fs::remove_all(directory);
  return status;
}
