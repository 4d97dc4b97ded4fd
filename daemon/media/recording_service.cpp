#include "daemon/media/recording_service.hpp"

#include <ctime>
#include <optional>

#include <fmt/format.h>

#include "daemon/domain/recording_tags.hpp"
#include "daemon/media/recording_repair.hpp"

namespace deskline::daemon {
namespace {

using drivers::realtime_us;

// <recordings>/YYYY/MM/DD/<call id>.opus, by the call's local start date.
std::filesystem::path recording_path(const std::filesystem::path& root, const CallRecord& call) {
  const std::time_t seconds = call.started_at / 1'000'000;
  std::tm local{};
  localtime_r(&seconds, &local);
  return root / fmt::format("{:04}", local.tm_year + 1900) / fmt::format("{:02}", local.tm_mon + 1) /
         fmt::format("{:02}", local.tm_mday) / (call.id + ".opus");
}

// The one direction a policy records, for the policies that record one.
std::optional<Direction> recorded_direction(config::RecordPolicy policy) {
  switch (policy) {
    case config::RecordPolicy::inbound: return Direction::inbound;
    case config::RecordPolicy::outbound: return Direction::outbound;
    case config::RecordPolicy::always:
    case config::RecordPolicy::never: break;
  }
  return std::nullopt;
}

}  // namespace

RecordingService::RecordingService(boost::asio::io_context& io, const config::Config& config, Store& store,
                                   StoreWriter& writer, MediaWorker& media, SavedHandler on_saved, Logger& log)
    : config_(config),
      store_(store),
      writer_(writer),
      media_(media),
      on_saved_(std::move(on_saved)),
      log_(log),
      retention_timer_(io) {}

bool RecordingService::wanted(const CallRecord& call) const {
  const auto policy = config_.record_policy(call.box, call.port);
  if (policy == config::RecordPolicy::always) return true;
  const auto wanted_direction = recorded_direction(policy);
  if (!wanted_direction) return false;  // never
  // A call joined in progress may be of either direction: a policy that
  // records one direction only cannot vouch for it.
  if (call.direction == Direction::unknown)
    log_.info("line={} call={} not recorded: joined in progress, so its direction is unknown and policy \"{}\" "
              "records {} calls only",
              call.line, call.id, config::to_string(policy), to_string(*wanted_direction));
  return call.direction == *wanted_direction;
}

void RecordingService::call_changed(CallChange change, const CallRecord& call, const CallChangeDetail& detail) {
  const bool inbound = call.direction == Direction::inbound;
  if ((change == CallChange::on_hook || change == CallChange::flash) && recording_.contains(call.id)) {
    // Handset down: the call ends there unless it is a flash, so nothing
    // after it goes into the file until that is known.
    media_.hold_recording(call.id, change == CallChange::on_hook ? std::optional(detail.at) : std::nullopt);
  } else if (change == CallChange::answered && inbound && call.answered_at) {
    start(call, *call.answered_at);
  } else if (change == CallChange::started && !inbound) {
    start(call, call.started_at);
  } else if (change == CallChange::ended) {
    media_.call_ended_on(call.box, call.port);
    auto found = recording_.find(call.id);
    if (found == recording_.end()) return;
    found->second = call;
    media_.stop_recording(call.id, call.ended_at.value_or(realtime_us()));
  }
}

void RecordingService::call_audio_ends(const CallRecord& call, drivers::HostTimeUs at_us) {
  // Held there at once; the ended change that follows, once stored, stops it there.
  if (recording_.contains(call.id)) media_.hold_recording(call.id, at_us);
}

void RecordingService::start(const CallRecord& call, WallTimeUs from) {
  if (!wanted(call) || recording_.contains(call.id)) return;
  RecordingRequest request;
  request.call_id = call.id;
  request.box_serial = call.box;
  request.port = call.port;
  request.start_host_us = from;
  request.path = recording_path(config_.recordings_dir(), call);
  request.bitrate_bps = config_.recording.bitrate_bps;
  request.complexity = config_.recording.complexity;
  request.min_free_bytes = config_.recording.min_free_mb << 20;
  request.comments = recording_comments(call, from);
  RecordingRecord row;
  row.call_id = call.id;
  row.path = request.path.string();
  row.state = RecordingState::recording;
  row.started_at = from;
  writer_.write(fmt::format("call={} cannot store the recording row", call.id),
                [row](Store& store) { return store.insert_recording(row); });
  recording_[call.id] = call;
  log_.info("line={} call={} recording to {}", call.line, call.id, request.path.string());
  media_.start_recording(std::move(request));
}

void RecordingService::box_changed(const drivers::BoxIdentity& box, bool attached) {
  if (attached)
    media_.box_attached(box.serial, box.line_count, box.audio_rate_hz);
  else
    media_.box_detached(box.serial);
}

void RecordingService::on_result(const RecordingResult& result) {
  auto found = recording_.find(result.call_id);
  const CallRecord call = found != recording_.end() ? found->second : CallRecord{};
  if (found != recording_.end()) recording_.erase(found);
  RecordingRecord row;
  row.call_id = result.call_id;
  row.path = result.path.string();
  row.state = result.state;
  row.duration_s = result.duration_s;
  row.bytes = result.bytes;
  row.sha256 = result.sha256;
  row.error = result.error;
  counters_.bytes += result.bytes;
  if (result.state == RecordingState::refused) {
    ++counters_.refused;
    row.path.clear();  // no file was made
    log_.error("line={} call={} not recorded: {}", call.line, result.call_id, result.error);
  } else if (result.state == RecordingState::complete) {
    ++counters_.complete;
    log_.info("line={} call={} recording saved: {} ({:.2f} s, {} bytes)", call.line, result.call_id,
              row.path, result.duration_s, result.bytes);
  } else {
    ++counters_.truncated;
    log_.error("line={} call={} recording {}: {} ({:.2f} s kept in {})", call.line, result.call_id,
               to_string(result.state), result.error, result.duration_s, row.path);
  }
  // The row keeps the start time it was inserted with.
  writer_.write(fmt::format("call={} cannot store the recording result", result.call_id),
                [row](Store& store) mutable -> Result<void> {
                  if (const auto existing = store.find_recording(row.call_id); existing && *existing)
                    row.started_at = (*existing)->started_at;
                  return store.update_recording(row);
                });
  if (result.state != RecordingState::refused && !call.id.empty()) on_saved_(call, result);
}

void RecordingService::recover() {
  auto rows = store_.recordings_in_state(RecordingState::recording);
  if (!rows) {
    log_.error("cannot list unfinished recordings: {}", rows.error().message());
    return;
  }
  for (auto& row : *rows) {
    const auto repair = repair_recording_file(row.path);
    switch (repair.result) {
      case FileRepair::Result::repaired:
      case FileRepair::Result::complete:
        row.state = RecordingState::repaired;
        row.duration_s = repair.duration_s;
        row.bytes = repair.bytes;
        row.error = repair.reason;
        log_.warning("call={} recording {} repaired after an interruption: {:.2f} s kept ({})", row.call_id, row.path,
                     repair.duration_s, repair.reason.empty() ? "was complete" : repair.reason);
        break;
      case FileRepair::Result::refused:
      case FileRepair::Result::unreadable:
        row.state = RecordingState::damaged;
        row.error = repair.reason;
        log_.error("call={} recording {} could not be repaired ({}); it is kept as it is", row.call_id, row.path,
                   repair.reason);
        break;
    }
    writer_.write(fmt::format("call={} cannot store the repaired recording", row.call_id),
                  [row](Store& store) { return store.update_recording(row); });
  }
}

void RecordingService::check_retention(SyncedCheck synced) {
  if (config_.recording.retention_days > 0) {
    const auto cutoff = realtime_us() - std::int64_t{config_.recording.retention_days} * 86'400'000'000;
    std::size_t deleted = 0, kept = 0;
    std::uint64_t freed = 0;
    const auto rows = store_.list_recordings(0);
    if (!rows) log_.error("retention: cannot list recordings: {}", rows.error().message());
    for (const auto& row : rows ? *rows : std::vector<RecordingRecord>{}) {
      if (row.started_at >= cutoff || row.path.empty() || row.state == RecordingState::recording) continue;
      if (!synced || !synced(row)) {
        ++kept;
        continue;
      }
      std::error_code error;
      if (!std::filesystem::remove(row.path, error) && error) {
        log_.error("retention: call={} cannot delete {}: {}", row.call_id, row.path, error.message());
        continue;
      }
      auto gone = row;
      gone.state = RecordingState::deleted;
      gone.path.clear();
      writer_.write(fmt::format("retention: call={} deleted {} but cannot say so in its row", row.call_id, row.path),
                    [gone](Store& store) { return store.update_recording(gone); });
      ++deleted;
      freed += row.bytes;
    }
    if (deleted > 0)
      log_.info("retention: deleted {} recordings ({} KiB) older than {} days, each confirmed by the CRM", deleted,
                freed >> 10, config_.recording.retention_days);
    if (kept > 0)
      log_.info("retention: kept {} recordings older than {} days that the CRM has not confirmed{}", kept,
                config_.recording.retention_days, synced ? "" : " (no CRM is configured: nothing is deleted)");
  }
  retention_timer_.expires_after(std::chrono::hours(24));
  retention_timer_.async_wait([this, synced = std::move(synced)](boost::system::error_code error) {
    if (!error) check_retention(synced);
  });
}

}  // namespace deskline::daemon
