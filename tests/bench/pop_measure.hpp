// Pop latency as the benchmarks measure it, end to end through the real
// binaries: from the moment the daemon reaps the box's ring report
// (deskline-sim's trace: the report's t_real is when the daemon's read
// completed) to the moment a client on the events socket has read the pop
// (CLOCK_REALTIME, stamped as each read completes). Shared by pop_latency,
// crm_drain_bench and download_bench.
#pragma once

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace deskline::bench {

inline double realtime_s() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

// Rings on every line of box A: caller ID reported 50 ms before the ring (as
// Chinese exchanges send it, so the pop carries the match), answered 0.15 s
// later and hung up 0.1 s after that. Line l's call c starts at
// first_s + c * spacing_s + l * line_offset_s.
struct RingScenario {
  std::string serial = "X800-BENCH";
  int lines = 8;
  int calls_per_line = 50;
  double first_s = 1.0;
  double spacing_s = 0.4;
  double line_offset_s = 0.037;
  double end_s = 0;  // the simulator stops then; 0: 2 s after the last call

  static std::string number(int line, int call) { return fmt::format("139{:04d}{:04d}", line, call); }
  double last_ring_s() const { return first_s + (calls_per_line - 1) * spacing_s + lines * line_offset_s + 0.3; }

  std::string text() const {
    std::string text = fmt::format("box A serial={} lines={} rate=8000 decode=yes\n", serial, lines);
    for (int line = 1; line <= lines; ++line)
      for (int call = 0; call < calls_per_line; ++call) {
        const double at = first_s + call * spacing_s + line * line_offset_s;
        text += fmt::format("at {:.3f} A:{} callerid number={}\n", at, line, number(line, call));
        text += fmt::format("at {:.3f} A:{} ring cadence=0.1/0.1 count=1\n", at + 0.05, line);
        text += fmt::format("at {:.3f} A:{} offhook\n", at + 0.2, line);
        text += fmt::format("at {:.3f} A:{} onhook\n", at + 0.3, line);
      }
    text += fmt::format("at {:.1f} end\n", end_s > 0 ? end_s : last_ring_s() + 2.0);
    return text;
  }
};

// A call.ringing a client read: its line, when it was read, whether it
// carried a customer.
struct ReceivedPop {
  std::string line;
  double at;
  bool matched;
};

inline int connect_events(const std::filesystem::path& socket_path) {
  for (int attempt = 0; attempt < 400; ++attempt) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) return fd;
    ::close(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return -1;
}

// Connects `count` clients and reads them until the daemon closes them. All
// clients in one thread on epoll, so the measurement does not add 100
// threads competing with the daemon for two cores. Each read is stamped as it
// completes; JSON is parsed only after the run. out: per client.
inline void read_pops(const std::filesystem::path& socket_path, int count,
                      std::vector<std::vector<ReceivedPop>>& out) {
  struct Client {
    int fd;
    std::string buffer;
    std::vector<std::pair<std::string, double>> lines;  // raw line, read time
  };
  std::vector<Client> open;
  const int epoll = ::epoll_create1(EPOLL_CLOEXEC);
  for (int i = 0; i < count; ++i) {
    const int fd = connect_events(socket_path);
    if (fd < 0) break;
    open.push_back({fd, {}, {}});
  }
  for (std::size_t i = 0; i < open.size(); ++i) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = i;
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, open[i].fd, &event);
  }
  std::size_t live = open.size();
  std::vector<epoll_event> ready(open.size() + 1);
  char chunk[65536];
  while (live > 0) {
    const int n = ::epoll_wait(epoll, ready.data(), static_cast<int>(ready.size()), 60'000);
    if (n <= 0) break;
    for (int r = 0; r < n; ++r) {
      auto& client = open[ready[static_cast<std::size_t>(r)].data.u64];
      const ssize_t got = ::recv(client.fd, chunk, sizeof chunk, 0);
      const double now = realtime_s();
      if (got <= 0) {
        ::epoll_ctl(epoll, EPOLL_CTL_DEL, client.fd, nullptr);
        ::close(client.fd);
        --live;
        continue;
      }
      client.buffer.append(chunk, static_cast<std::size_t>(got));
      std::size_t newline;
      while ((newline = client.buffer.find('\n')) != std::string::npos) {
        client.lines.emplace_back(client.buffer.substr(0, newline), now);
        client.buffer.erase(0, newline + 1);
      }
    }
  }
  ::close(epoll);
  out.assign(open.size(), {});
  for (std::size_t i = 0; i < open.size(); ++i)
    for (const auto& [text, at] : open[i].lines) {
      const auto event = nlohmann::json::parse(text, nullptr, false);
      if (event.is_object() && event.value("event", "") == "call.ringing" && !event.value("replay", false))
        out[i].push_back({event.value("line", ""), at, !event["customers"].empty()});
    }
}

// Ring-start reports in the simulator's trace: per line ("SERIAL:PORT"), the
// t_real of each, in order.
inline std::map<std::string, std::vector<double>> rings_reaped(const std::filesystem::path& trace_path,
                                                               const std::string& serial) {
  std::map<std::string, std::vector<double>> reaped;
  std::ifstream trace(trace_path);
  for (std::string text; std::getline(trace, text);) {
    const auto entry = nlohmann::json::parse(text, nullptr, false);
    if (entry.is_object() && entry.value("kind", "") == "report" && entry.value("type", "") == "ring" &&
        entry.value("ringing", false))
      reaped[fmt::format("{}:{}", serial, entry.value("line", 0))].push_back(entry.value("t_real", 0.0));
  }
  return reaped;
}

struct PopLatency {
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  double first_p99_ms = 0;  // the first client to read each event: the pipeline without the fan-out
  std::size_t samples = 0, matched = 0;
  std::vector<double> latencies_ms;  // every sample, to pool runs
};

inline double percentile(std::vector<double> values, int p) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, values.size() * static_cast<std::size_t>(p) / 100)];
}

// [from, to] in CLOCK_REALTIME seconds.
using Window = std::pair<double, double>;

// Pairs each client's n-th pop of a line with the n-th ring reaped on it;
// only rings reaped within one of the windows count.
inline PopLatency pop_latency(const std::vector<std::vector<ReceivedPop>>& received,
                              const std::map<std::string, std::vector<double>>& reaped,
                              const std::vector<Window>& windows) {
  std::vector<double> latencies;
  std::map<std::pair<std::string, std::size_t>, double> first;  // (line, ring index) -> earliest read
  PopLatency result;
  for (const auto& pops : received) {
    std::map<std::string, std::size_t> index;
    for (const auto& pop : pops) {
      const auto i = index[pop.line]++;
      const auto line = reaped.find(pop.line);
      if (line == reaped.end() || i >= line->second.size()) continue;
      const double at = line->second[i];
      if (std::none_of(windows.begin(), windows.end(),
                       [at](const Window& window) { return at >= window.first && at <= window.second; }))
        continue;
      const double latency = (pop.at - at) * 1000;
      latencies.push_back(latency);
      auto [slot, inserted] = first.try_emplace({pop.line, i}, latency);
      if (!inserted) slot->second = std::min(slot->second, latency);
      result.matched += pop.matched ? 1 : 0;
    }
  }
  std::vector<double> first_latencies;
  for (const auto& [key, latency] : first) first_latencies.push_back(latency);
  result.samples = latencies.size();
  result.p50_ms = percentile(latencies, 50);
  result.p99_ms = percentile(latencies, 99);
  result.max_ms = percentile(latencies, 100);
  result.first_p99_ms = percentile(first_latencies, 99);
  result.latencies_ms = std::move(latencies);
  return result;
}

// The samples of several runs as one (first_p99_ms is not pooled).
inline PopLatency pooled(const std::vector<PopLatency>& runs) {
  PopLatency result;
  for (const auto& run : runs) {
    result.latencies_ms.insert(result.latencies_ms.end(), run.latencies_ms.begin(), run.latencies_ms.end());
    result.matched += run.matched;
  }
  result.samples = result.latencies_ms.size();
  result.p50_ms = percentile(result.latencies_ms, 50);
  result.p99_ms = percentile(result.latencies_ms, 99);
  result.max_ms = percentile(result.latencies_ms, 100);
  return result;
}

inline PopLatency pop_latency(const std::vector<std::vector<ReceivedPop>>& received,
                              const std::map<std::string, std::vector<double>>& reaped, double from = 0,
                              double to = std::numeric_limits<double>::infinity()) {
  return pop_latency(received, reaped, std::vector<Window>{{from, to}});
}

}  // namespace deskline::bench
