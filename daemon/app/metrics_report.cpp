#include "daemon/app/metrics_report.hpp"

#include "proto/prometheus.hpp"

namespace deskline::daemon {
namespace {

using proto::prometheus::Exposition;
using proto::prometheus::Labels;
using proto::prometheus::Type;

double value(std::uint64_t count) { return static_cast<double>(count); }

void calls_and_lines(Exposition& out, const CallServiceStats& stats) {
  out.family("deskline_calls_ended_total", Type::counter,
             "Calls that ended since the start, by direction and outcome.");
  for (std::size_t direction = 0; direction < direction_count; ++direction)
    for (std::size_t outcome = 0; outcome < outcome_count; ++outcome)
      out.sample("deskline_calls_ended_total",
                 {{"direction", std::string(to_string(static_cast<Direction>(direction)))},
                  {"outcome", std::string(to_string(static_cast<Outcome>(outcome)))}},
                 value(stats.ended[direction][outcome]));
  std::array<int, static_cast<std::size_t>(LineState::joined) + 1> lines{};
  for (const auto& box : stats.boxes)
    for (const auto& line : box.lines) ++lines[static_cast<std::size_t>(line.state)];
  out.family("deskline_lines", Type::gauge, "Lines of the boxes seen, by state.");
  for (std::size_t state = 0; state < lines.size(); ++state)
    out.sample("deskline_lines", {{"state", std::string(to_string(static_cast<LineState>(state)))}}, lines[state]);
  out.family("deskline_pop_latency_seconds", Type::histogram,
             "From a box's report reaching the host to its pop event queued for every client.");
  const auto& latency = stats.report_to_pop_s;
  out.histogram("deskline_pop_latency_seconds", {}, latency.upper_bounds(), latency.counts(), latency.sum());
}

void boxes(Exposition& out, const CallServiceStats& stats) {
  out.family("deskline_box_attached", Type::gauge, "1 while the box is attached, 0 once it went away.");
  for (const auto& box : stats.boxes)
    out.sample("deskline_box_attached", {{"box", box.identity.serial}}, box.attached ? 1 : 0);
  out.family("deskline_box_faults_total", Type::counter,
             "Faults on the USB link and the box (malformed or lost reports, errors, unanswered commands); box "
             "\"\" before a box identified itself.");
  auto faults = [&](const std::string& serial, const FaultCounters& counters) {
    for (std::size_t kind = 0; kind < counters.by_kind.size(); ++kind)
      out.sample("deskline_box_faults_total",
                 {{"box", serial}, {"kind", drivers::to_string(static_cast<drivers::BoxFaultKind>(kind))}},
                 value(counters.by_kind[kind]));
  };
  for (const auto& box : stats.boxes) faults(box.identity.serial, box.faults);
  faults("", stats.unidentified_faults);
  out.family("deskline_callerid_messages_total", Type::counter,
             "Valid caller-ID messages, by source: decoded by the box, or from the line's audio.");
  for (const auto& box : stats.boxes) {
    out.sample("deskline_callerid_messages_total", {{"box", box.identity.serial}, {"source", "box"}},
               value(box.detections.callerid_box));
    out.sample("deskline_callerid_messages_total", {{"box", box.identity.serial}, {"source", "audio"}},
               value(box.detections.callerid_audio));
  }
  out.family("deskline_callerid_rejected_total", Type::counter,
             "Caller-ID messages from audio refused: bad checksum, truncated, bad content.");
  for (const auto& box : stats.boxes)
    out.sample("deskline_callerid_rejected_total", {{"box", box.identity.serial}},
               value(box.detections.callerid_rejected));
  out.family("deskline_callerid_disagreements_total", Type::counter,
             "Messages the box and the audio decoded differently (the first valid one is kept).");
  for (const auto& box : stats.boxes)
    out.sample("deskline_callerid_disagreements_total", {{"box", box.identity.serial}},
               value(box.detections.callerid_disagreements));
  out.family("deskline_dtmf_audio_digits_total", Type::counter, "Digits taken from the line's audio.");
  for (const auto& box : stats.boxes)
    out.sample("deskline_dtmf_audio_digits_total", {{"box", box.identity.serial}}, value(box.detections.dtmf_audio));
}

void audio(Exposition& out, const std::map<std::string, BoxAudioStats>& boxes) {
  out.family("deskline_audio_capturing", Type::gauge, "1 while the box's audio is being captured.");
  for (const auto& [serial, box] : boxes) out.sample("deskline_audio_capturing", {{"box", serial}}, box.capturing);
  struct Counter {
    const char* name;
    const char* help;
    std::uint64_t drivers::audio::CaptureStats::*field;
  };
  const Counter counters[] = {
      {"deskline_audio_frames_total", "Frames read from the box's capture (gaps included).",
       &drivers::audio::CaptureStats::frames},
      {"deskline_audio_overrun_frames_total", "Frames dropped because the daemon fell behind the capture.",
       &drivers::audio::CaptureStats::ring_overflow_frames},
      {"deskline_audio_input_overflows_total", "Input overflows reported by PortAudio/ALSA.",
       &drivers::audio::CaptureStats::input_overflows},
      {"deskline_audio_underruns_total", "Gaps: audio lost before it reached the host.",
       &drivers::audio::CaptureStats::gaps},
      {"deskline_audio_underrun_frames_total", "Frames of those gaps (filled with silence).",
       &drivers::audio::CaptureStats::gap_frames},
  };
  for (const auto& counter : counters) {
    out.family(counter.name, Type::counter, counter.help);
    for (const auto& [serial, box] : boxes)
      if (box.capture) out.sample(counter.name, {{"box", serial}}, value((*box.capture).*counter.field));
  }
}

void recordings_and_pops(Exposition& out, const MetricsFacts& facts) {
  out.family("deskline_recordings_total", Type::counter, "Recordings that ended since the start, by result.");
  out.sample("deskline_recordings_total", {{"result", "complete"}}, value(facts.recordings.complete));
  out.sample("deskline_recordings_total", {{"result", "truncated"}}, value(facts.recordings.truncated));
  out.sample("deskline_recordings_total", {{"result", "refused"}}, value(facts.recordings.refused));
  out.family("deskline_recording_bytes_total", Type::counter, "Bytes of the recordings that ended.");
  out.sample("deskline_recording_bytes_total", {}, value(facts.recordings.bytes));
  out.family("deskline_recordings_in_progress", Type::gauge, "Recordings being written now.");
  out.sample("deskline_recordings_in_progress", {}, value(facts.recordings_in_progress));

  out.family("deskline_pop_events_total", Type::counter, "Pop events published.");
  out.sample("deskline_pop_events_total", {}, value(facts.pops.published));
  out.family("deskline_pop_queued_total", Type::counter,
             "Pop events queued to clients: one per client whose line filter let the event through.");
  out.sample("deskline_pop_queued_total", {}, value(facts.pops.queued));
  out.family("deskline_pop_slow_clients_cut_total", Type::counter, "Pop clients cut because their queue was full.");
  out.sample("deskline_pop_slow_clients_cut_total", {}, value(facts.pops.slow_clients_cut));
  out.family("deskline_pop_dropped_total", Type::counter, "Messages left unsent in the queues of the clients cut.");
  out.sample("deskline_pop_dropped_total", {}, value(facts.pops.dropped));
  out.family("deskline_pop_clients", Type::gauge, "Pop clients connected now (events socket and WebSocket).");
  out.sample("deskline_pop_clients", {}, value(facts.pop_clients));
}

void directory_and_crm(Exposition& out, const MetricsFacts& facts, double now_s) {
  if (facts.directory_customers) {
    out.family("deskline_directory_customers", Type::gauge, "Customers in the directory.");
    out.sample("deskline_directory_customers", {}, static_cast<double>(*facts.directory_customers));
  }
  out.family("deskline_directory_lookup_seconds", Type::histogram, "Time to match a caller's number to customers.");
  const auto& lookups = facts.directory_lookup_s;
  out.histogram("deskline_directory_lookup_seconds", {}, lookups.upper_bounds(), lookups.counts(), lookups.sum());

  out.family("deskline_crm_enabled", Type::gauge, "1 when [crm] url is set and the sync runs.");
  out.sample("deskline_crm_enabled", {}, facts.crm && facts.crm->enabled ? 1 : 0);
  if (!facts.crm) return;
  const auto& crm = *facts.crm;
  out.family("deskline_crm_backlog_items", Type::gauge, "Outbox items waiting for the CRM (call entries, recordings).");
  out.sample("deskline_crm_backlog_items", {}, static_cast<double>(crm.outbox.pending));
  out.family("deskline_crm_parked_items", Type::gauge, "Outbox items parked until `deskline sync retry`.");
  out.sample("deskline_crm_parked_items", {}, static_cast<double>(crm.outbox.parked));
  out.family("deskline_crm_delivered_total", Type::counter,
             "Outbox items the CRM acknowledged, ever (kept in the database).");
  out.sample("deskline_crm_delivered_total", {}, static_cast<double>(crm.outbox.done));
  out.family("deskline_crm_failed_attempts_total", Type::counter,
             "Attempts that failed since the sync started (each retried later or parked).");
  out.sample("deskline_crm_failed_attempts_total", {}, value(crm.failed_attempts));
  out.family("deskline_crm_in_flight", Type::gauge, "Requests to the CRM in flight.");
  out.sample("deskline_crm_in_flight", {}, value(crm.in_flight));
  if (crm.outbox.oldest_pending_queued_at) {
    out.family("deskline_crm_oldest_pending_seconds", Type::gauge, "How long the oldest waiting item has waited.");
    out.sample("deskline_crm_oldest_pending_seconds", {},
               std::max(0.0, now_s - static_cast<double>(*crm.outbox.oldest_pending_queued_at) / 1e6));
  }
}

void connections(Exposition& out, const std::map<std::string, ListenerCounters>& listeners) {
  struct Counter {
    const char* name;
    const char* help;
    std::uint64_t ListenerCounters::*field;
  };
  const Counter counters[] = {
      {"deskline_connections_refused_total", "Connections closed unanswered: no room under the limits.",
       &ListenerCounters::refused},
      {"deskline_connections_closed_idle_total", "Idle sessions closed to make room.", &ListenerCounters::closed_idle},
      {"deskline_accept_failures_total", "Failed accepts (each followed by a back-off).",
       &ListenerCounters::failed_accepts},
  };
  for (const auto& counter : counters) {
    out.family(counter.name, Type::counter, counter.help);
    for (const auto& [server, listener] : listeners)
      out.sample(counter.name, {{"server", server}}, value(listener.*counter.field));
  }
}

}  // namespace

std::string metrics_text(const MetricsFacts& facts) {
  Exposition out;
  out.family("deskline_start_time_seconds", Type::gauge, "When the daemon started, in seconds since the epoch.");
  out.sample("deskline_start_time_seconds", {}, static_cast<double>(facts.started_at / 1'000'000));
  calls_and_lines(out, facts.calls);
  boxes(out, facts.calls);
  audio(out, facts.audio);
  recordings_and_pops(out, facts);
  directory_and_crm(out, facts, static_cast<double>(facts.now) / 1e6);
  connections(out, facts.listeners);
  return out.text();
}

}  // namespace deskline::daemon
