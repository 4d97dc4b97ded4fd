#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "daemon/app/metrics_report.hpp"
#include "daemon/core/histogram.hpp"
#include "proto/prometheus.hpp"

namespace deskline {
namespace {

using proto::prometheus::Exposition;
using proto::prometheus::Type;

TEST(Prometheus, ValuesAreWrittenAsTheFormatSpellsThem) {
  EXPECT_EQ(proto::prometheus::format_value(0), "0");
  EXPECT_EQ(proto::prometheus::format_value(42), "42");
  EXPECT_EQ(proto::prometheus::format_value(-3), "-3");
  EXPECT_EQ(proto::prometheus::format_value(0.25), "0.25");
  EXPECT_EQ(proto::prometheus::format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(proto::prometheus::format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(proto::prometheus::format_value(std::nan("")), "NaN");
  EXPECT_EQ(std::stod(proto::prometheus::format_value(0.00005)), 0.00005);
}

TEST(Prometheus, LabelValuesAreEscaped) {
  EXPECT_EQ(proto::prometheus::escape_label_value(R"(Sales "1" \ desk)" "\n"), R"(Sales \"1\" \\ desk\n)");
  Exposition out;
  out.family("deskline_x_total", Type::counter, "Help with a \\ and\na newline.");
  out.sample("deskline_x_total", {{"line", "a\"b"}, {"box", "X800"}}, 3);
  EXPECT_EQ(out.text(),
            "# HELP deskline_x_total Help with a \\\\ and\\na newline.\n"
            "# TYPE deskline_x_total counter\n"
            "deskline_x_total{line=\"a\\\"b\",box=\"X800\"} 3\n");
}

TEST(Prometheus, AHistogramIsCumulativeWithInfSumAndCount) {
  daemon::Histogram histogram({0.001, 0.01});
  for (const double value : {0.0005, 0.001, 0.005, 0.5}) histogram.observe(value);
  EXPECT_EQ(histogram.counts(), (std::vector<std::uint64_t>{2, 1, 1}));  // a value on a bound is in its bucket
  Exposition out;
  out.family("deskline_t_seconds", Type::histogram, "T.");
  out.histogram("deskline_t_seconds", {{"box", "A"}}, histogram.upper_bounds(), histogram.counts(), histogram.sum());
  EXPECT_EQ(out.text(),
            "# HELP deskline_t_seconds T.\n"
            "# TYPE deskline_t_seconds histogram\n"
            "deskline_t_seconds_bucket{box=\"A\",le=\"0.001\"} 2\n"
            "deskline_t_seconds_bucket{box=\"A\",le=\"0.01\"} 3\n"
            "deskline_t_seconds_bucket{box=\"A\",le=\"+Inf\"} 4\n"
            "deskline_t_seconds_sum{box=\"A\"} 0.5065\n"
            "deskline_t_seconds_count{box=\"A\"} 4\n");
}

// Every Direction and Outcome value has its column in CallServiceStats::ended.
TEST(MetricsReport, TheCallTableCoversEveryDirectionAndOutcome) {
  using daemon::direction_count;
  using daemon::outcome_count;
  EXPECT_FALSE(daemon::to_string(static_cast<daemon::Direction>(direction_count - 1)).empty());
  EXPECT_TRUE(daemon::to_string(static_cast<daemon::Direction>(direction_count)).empty());
  EXPECT_FALSE(daemon::to_string(static_cast<daemon::Outcome>(outcome_count - 1)).empty());
  EXPECT_TRUE(daemon::to_string(static_cast<daemon::Outcome>(outcome_count)).empty());
}

TEST(MetricsReport, SaysWhatTheFactsSay) {
  daemon::MetricsFacts facts;
  facts.now = 1'700'000'100'000'000;
  facts.started_at = 1'700'000'000'000'000;
  facts.calls.ended[static_cast<std::size_t>(daemon::Direction::inbound)]
                   [static_cast<std::size_t>(daemon::Outcome::missed)] = 3;
  auto& box = facts.calls.boxes.emplace_back();
  box.identity.serial = "X800-1";
  box.attached = true;
  box.detections.callerid_box = 5;
  box.lines.push_back({1, "Sales 1", daemon::LineState::ringing, "call-1"});
  box.lines.push_back({2, "Sales 2", daemon::LineState::idle, std::nullopt});
  facts.recordings.complete = 2;
  facts.recordings.bytes = 12345;
  facts.pops.published = 9;
  facts.directory_customers = 100;
  daemon::CrmSyncStatus crm;
  crm.enabled = true;
  crm.outbox.pending = 4;
  crm.outbox.oldest_pending_queued_at = 1'700'000'040'000'000;
  facts.crm = crm;
  const auto text = daemon::metrics_text(facts);
  for (const auto* line : {
           "deskline_start_time_seconds 1700000000\n",
           "deskline_calls_ended_total{direction=\"inbound\",outcome=\"missed\"} 3\n",
           "deskline_calls_ended_total{direction=\"unknown\",outcome=\"remote_hangup\"} 0\n",
           "deskline_lines{state=\"ringing\"} 1\n",
           "deskline_lines{state=\"joined\"} 0\n",
           "deskline_box_attached{box=\"X800-1\"} 1\n",
           "deskline_box_faults_total{box=\"\",kind=\"malformed_report\"} 0\n",
           "deskline_callerid_messages_total{box=\"X800-1\",source=\"box\"} 5\n",
           "deskline_recordings_total{result=\"complete\"} 2\n",
           "deskline_recording_bytes_total 12345\n",
           "deskline_pop_events_total 9\n",
           "deskline_directory_customers 100\n",
           "deskline_crm_enabled 1\n",
           "deskline_crm_backlog_items 4\n",
           "deskline_crm_oldest_pending_seconds 60\n",
       })
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
}

}  // namespace
}  // namespace deskline
