// GET /metrics under deskline-sim: Prometheus's own checker reads it, and
// the counters follow calls, pops and recordings.
#include <ifaddrs.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include <optional>
#include <regex>
#include <string>

#include <fmt/format.h>

#include "tests/integration/harness.hpp"
#include "tests/integration/pop_client.hpp"

namespace deskline::testing {
namespace {

// An inbound call answered (1 to 8 s), an outbound call (4 to 7 s), both
// recorded, and a missed call (10 s).
constexpr const char* calls = R"(
box A serial=X800-MET lines=2
at 1.0 A:1 ring cadence=1.0/2.0 count=1
at 1.2 A:1 callerid number=13812345678
at 2.0 A:1 offhook
at 2.2 A:1 play tone=440 level=-15 duration=5
at 8.0 A:1 onhook
at 4.0 A:2 offhook
at 4.3 A:2 dial digits=13900000001
at 7.0 A:2 onhook
at 10.0 A:2 ring cadence=1.0/2.0 count=1
at 10.2 A:2 callerid number=13700000002
at 120 end
)";  // the test stops it once the calls are over

// GET /metrics from address; the body, "" when it failed.
std::string scrape(const std::string& address, unsigned short port, int* status = nullptr) {
  std::string output;
  tools::run_capture({"curl", "-s", "-w", "\n%{http_code}", fmt::format("http://{}:{}/metrics", address, port)},
                     output);
  const auto last = output.rfind('\n');
  if (status) *status = last == std::string::npos ? 0 : std::atoi(output.c_str() + last + 1);
  return last == std::string::npos ? "" : output.substr(0, last);
}

// The value of one series ("name" or "name{labels}" exactly as exposed).
std::optional<double> series(const std::string& text, const std::string& name) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (line.size() > name.size() && line.compare(0, name.size(), name) == 0 && line[name.size()] == ' ')
      return std::stod(line.substr(name.size() + 1));
  return std::nullopt;
}

// This host's first IPv4 address that is not loopback, if it has one.
std::optional<std::string> non_loopback_address() {
  ifaddrs* addresses = nullptr;
  if (::getifaddrs(&addresses) != 0) return std::nullopt;
  std::optional<std::string> found;
  for (auto* entry = addresses; entry && !found; entry = entry->ifa_next) {
    if (!entry->ifa_addr || entry->ifa_addr->sa_family != AF_INET) continue;
    const auto address = ntohl(reinterpret_cast<sockaddr_in*>(entry->ifa_addr)->sin_addr.s_addr);
    if ((address >> 24) != 127)
      found = fmt::format("{}.{}.{}.{}", address >> 24, (address >> 16) & 255, (address >> 8) & 255, address & 255);
  }
  ::freeifaddrs(addresses);
  return found;
}

TEST(Metrics, PromtoolReadsThemAndTheCountersFollowCallsPopsAndRecordings) {
  // Listening on every address, so that a scrape from another one can be tried.
  Workspace workspace("metrics", "address = \"0.0.0.0\"\nallow_plain_http_on_network = true\n");
  const auto daemon = workspace.start_web_daemon(calls);
  ASSERT_GT(daemon.port, 0) << workspace.log();
  PopTestClient pops;
  ASSERT_TRUE(pops.connect(workspace.dir() / "run" / "events.sock"));

  // While the inbound call rings: nothing has ended yet.
  ASSERT_TRUE(pops.until("call.ringing").has_value()) << workspace.log();
  const auto during = scrape("127.0.0.1", daemon.port);
  const std::string answered = R"(deskline_calls_ended_total{direction="inbound",outcome="answered"})";
  EXPECT_EQ(series(during, answered), 0) << during;
  EXPECT_EQ(series(during, "deskline_pop_clients"), 1) << during;

  ASSERT_TRUE(wait_until(
      [&] {
        const auto text = scrape("127.0.0.1", daemon.port);
        return series(text, R"(deskline_calls_ended_total{direction="inbound",outcome="missed"})") == 1 &&
               series(text, R"(deskline_recordings_total{result="complete"})") == 2;
      },
      std::chrono::seconds(60), "the three calls and the two recordings to end"))
      << workspace.log();
  const auto after = scrape("127.0.0.1", daemon.port);
  const auto metrics_file = workspace.dir() / "metrics.txt";
  std::ofstream(metrics_file) << after;
  std::string promtool;
  EXPECT_EQ(run_with_stderr({"sh", "-c", "exec promtool check metrics < \"$0\"", metrics_file.string()}, promtool), 0)
      << promtool << "\n"
      << after;

  EXPECT_EQ(series(after, answered), 1) << after;
  EXPECT_EQ(series(after, R"(deskline_calls_ended_total{direction="outbound",outcome="completed"})"), 1) << after;
  EXPECT_EQ(series(after, R"(deskline_lines{state="idle"})"), 2) << after;
  EXPECT_EQ(series(after, R"(deskline_box_attached{box="X800-MET"})"), 1) << after;
  EXPECT_GE(series(after, R"(deskline_callerid_messages_total{box="X800-MET",source="box"})").value_or(0), 2) << after;
  EXPECT_EQ(series(after, "deskline_recordings_in_progress"), 0) << after;
  const auto bytes = series(after, "deskline_recording_bytes_total").value_or(0);
  EXPECT_GT(bytes, 2000) << after;
  const auto published = series(after, "deskline_pop_events_total").value_or(0);
  EXPECT_GT(published, series(during, "deskline_pop_events_total").value_or(0)) << after;
  // The one client took every event since then, none cut.
  EXPECT_EQ(
      series(after, "deskline_pop_queued_total").value_or(0) - series(during, "deskline_pop_queued_total").value_or(0),
      published - series(during, "deskline_pop_events_total").value_or(0))
      << after;
  EXPECT_EQ(series(after, "deskline_pop_slow_clients_cut_total"), 0) << after;
  EXPECT_GT(series(after, "deskline_pop_latency_seconds_count").value_or(0), 0) << after;
  EXPECT_GE(series(after, "deskline_directory_lookup_seconds_count").value_or(0), 2) << after;
  EXPECT_GT(series(after, R"(deskline_audio_frames_total{box="X800-MET"})").value_or(0), 8000 * 8) << after;
  EXPECT_EQ(series(after, "deskline_crm_enabled"), 0) << after;

  // The recordings' bytes are their files'.
  const auto recordings = workspace.cli_json({"recordings", "--json"});
  ASSERT_TRUE(recordings.is_array() && recordings.size() == 2) << recordings.dump();
  EXPECT_EQ(bytes, recordings[0].value("bytes", 0.0) + recordings[1].value("bytes", 0.0));

  // From any other address of this host: refused, with nothing of the metrics.
  if (const auto address = non_loopback_address()) {
    int status = 0;
    const auto refused = scrape(*address, daemon.port, &status);
    EXPECT_EQ(status, 403) << *address;
    EXPECT_EQ(refused.find("deskline_"), std::string::npos) << refused;
  } else {
    std::printf("[ note     ] no address but loopback here: the refusal of other peers is not tried\n");
  }
  workspace.stop_web_daemon(daemon);
}

}  // namespace
}  // namespace deskline::testing
