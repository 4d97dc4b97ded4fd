#include "config/reload.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace deskline::config {
namespace {

// The [[line]] tables that differ, as "line[N]" (0-based, as the loader's
// errors name them; a line gone from the file by its old position).
std::vector<std::string> changed_lines(const std::vector<LineConfig>& running, const std::vector<LineConfig>& next) {
  std::vector<std::string> keys;
  const auto count = std::max(running.size(), next.size());
  for (std::size_t i = 0; i < count; ++i)
    if (i >= running.size() || i >= next.size() || !(running[i] == next[i]))
      keys.push_back(fmt::format("line[{}]", i));
  return keys;
}

}  // namespace

ReloadPlan plan_reload(const Config& running, const Config& next) {
  ReloadPlan plan;
  auto compare = [&](bool same, const char* key, bool live) {
    if (!same) (live ? plan.applied : plan.need_restart).push_back(key);
    return !same;
  };
  compare(running.data_dir == next.data_dir, "daemon.data_dir", false);
  compare(running.run_dir == next.run_dir, "daemon.run_dir", false);
  plan.log_level = compare(running.log_level == next.log_level, "daemon.log_level", true);
  compare(running.desk_group == next.desk_group, "daemon.desk_group", false);
  compare(running.usb_match == next.usb_match, "usb.match", false);
  compare(running.ring_timeout_s == next.ring_timeout_s, "calls.ring_timeout_s", false);
  compare(running.inter_digit_timeout_s == next.inter_digit_timeout_s, "calls.inter_digit_timeout_s", false);
  compare(running.remote_hangup_after_s == next.remote_hangup_after_s, "calls.remote_hangup_after_s", false);
  compare(running.flash_max_ms == next.flash_max_ms, "calls.flash_max_ms", false);

  const auto& recording = running.recording;
  const auto& next_recording = next.recording;
  compare(recording.policy == next_recording.policy, "recording.policy", true);
  compare(recording.bitrate_bps == next_recording.bitrate_bps, "recording.bitrate_bps", true);
  compare(recording.complexity == next_recording.complexity, "recording.complexity", true);
  compare(recording.retention_days == next_recording.retention_days, "recording.retention_days", true);
  compare(recording.min_free_mb == next_recording.min_free_mb, "recording.min_free_mb", true);
  compare(recording.audio_device == next_recording.audio_device, "recording.audio_device", false);

  plan.caller_id = compare(running.caller_id_mode == next.caller_id_mode, "callerid.mode", true);
  plan.directory = compare(running.directory.region == next.directory.region, "directory.region", true);
  plan.directory =
      compare(running.directory.area_code == next.directory.area_code, "directory.area_code", true) || plan.directory;

  const auto& http = running.http;
  const auto& next_http = next.http;
  compare(http.address == next_http.address, "http.address", false);
  compare(http.port == next_http.port, "http.port", false);
  plan.desk_token = compare(http.token == next_http.token, "http.token", true);
  compare(http.api_tokens_file == next_http.api_tokens_file, "http.api_tokens_file", false);
  plan.allowed_origins = compare(http.allowed_origins == next_http.allowed_origins, "http.allowed_origins", true);
  compare(http.max_connections == next_http.max_connections, "http.max_connections", false);
  compare(http.max_connections_per_address == next_http.max_connections_per_address, "http.max_connections_per_address",
          false);
  compare(http.tls_certificate == next_http.tls_certificate, "http.tls_certificate", false);
  compare(http.tls_key == next_http.tls_key, "http.tls_key", false);
  compare(http.allow_plain_http_on_network == next_http.allow_plain_http_on_network, "http.allow_plain_http_on_network",
          false);
  compare(http.requests_per_s == next_http.requests_per_s, "http.requests_per_s", false);
  compare(http.request_burst == next_http.request_burst, "http.request_burst", false);
  compare(http.downloads_per_token == next_http.downloads_per_token, "http.downloads_per_token", false);
  plan.crm = compare(running.crm == next.crm, "crm", true);
  plan.desks = compare(running.desks == next.desks, "desk", true);

  const auto lines = changed_lines(running.lines, next.lines);
  plan.lines = !lines.empty();
  plan.applied.insert(plan.applied.end(), lines.begin(), lines.end());
  return plan;
}

void apply_reload(Config& running, const Config& next) {
  auto assign = [](auto& to, const auto& from) {
    if (!(to == from)) to = from;
  };
  assign(running.log_level, next.log_level);
  assign(running.recording.policy, next.recording.policy);
  assign(running.recording.bitrate_bps, next.recording.bitrate_bps);
  assign(running.recording.complexity, next.recording.complexity);
  assign(running.recording.retention_days, next.recording.retention_days);
  assign(running.recording.min_free_mb, next.recording.min_free_mb);
  assign(running.caller_id_mode, next.caller_id_mode);
  assign(running.http.allowed_origins, next.http.allowed_origins);
  assign(running.http.token, next.http.token);
  assign(running.directory, next.directory);
  assign(running.crm, next.crm);
  assign(running.lines, next.lines);
  assign(running.desks, next.desks);
}

}  // namespace deskline::config
