#include "daemon/domain/recording_tags.hpp"

#include <array>
#include <cctype>
#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "daemon/domain/call_json.hpp"
#include "proto/bytes.hpp"

namespace deskline::daemon {
namespace {

// "inbound call from 13812345678", "outbound call on Sales 1", "call joined
// in progress on Sales 1".
std::string title(const CallRecord& call) {
  switch (call.direction) {
    case Direction::inbound:
      return fmt::format("inbound call from {}", call.number.empty() ? call.line : call.number);
    case Direction::outbound:
      return fmt::format("outbound call on {}", call.number.empty() ? call.line : call.number);
    case Direction::unknown: break;
  }
  return fmt::format("call joined in progress on {}", call.line);
}

bool same_key(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// The tags read, in this order; the caller name is the only optional one.
constexpr std::array<std::string_view, 8> known_tags = {tag_call_id,   tag_line,   tag_box,        tag_port,
                                                        tag_direction, tag_number, tag_start_time, tag_caller_name};

RecordingTagsParse refuse(RecordingTagError error, std::string_view what) {
  return {std::nullopt, error, fmt::format("{}: {}", to_string(error), what)};
}

}  // namespace

std::vector<std::string> recording_comments(const CallRecord& call, WallTimeUs from) {
  auto tag = [](std::string_view key, std::string_view value) { return fmt::format("{}={}", key, value); };
  std::vector<std::string> comments = {
      tag(tag_call_id, call.id),
      tag(tag_line, call.line),
      tag(tag_box, call.box),
      tag(tag_port, std::to_string(call.port)),
      tag(tag_direction, to_string(call.direction)),
      tag(tag_number, call.number),
      tag(tag_start_time, format_iso8601(from)),
      "TITLE=" + title(call),
      "DATE=" + format_iso8601(from).substr(0, 10),
  };
  if (!call.name.empty()) comments.push_back(tag(tag_caller_name, call.name));
  if (!call.user.empty()) comments.push_back(tag(tag_user, call.user));
  if (!call.match.e164.empty()) comments.push_back(tag(tag_number_e164, call.match.e164));
  for (const auto& customer : call.match.customers) {
    comments.push_back(tag(tag_customer_id, customer.id));
    comments.push_back(tag(tag_customer, customer.name));
  }
  return comments;
}

std::string_view to_string(RecordingTagError error) {
  switch (error) {
    case RecordingTagError::missing_tag: return "missing_tag";
    case RecordingTagError::duplicate_tag: return "duplicate_tag";
    case RecordingTagError::value_too_long: return "value_too_long";
    case RecordingTagError::not_utf8: return "not_utf8";
    case RecordingTagError::bad_call_id: return "bad_call_id";
    case RecordingTagError::empty_value: return "empty_value";
    case RecordingTagError::bad_port: return "bad_port";
    case RecordingTagError::bad_direction: return "bad_direction";
    case RecordingTagError::bad_start_time: return "bad_start_time";
  }
  return "";
}

RecordingTagsParse parse_recording_comments(std::span<const std::string> comments) {
  std::array<std::optional<std::string_view>, known_tags.size()> values;
  for (const auto& comment : comments) {
    const auto equals = comment.find('=');
    if (equals == std::string::npos) continue;  // not KEY=value: nobody's tag
    const std::string_view key(comment.data(), equals);
    for (std::size_t index = 0; index < known_tags.size(); ++index) {
      if (!same_key(key, known_tags[index])) continue;
      if (values[index]) return refuse(RecordingTagError::duplicate_tag, known_tags[index]);
      const std::string_view value = std::string_view(comment).substr(equals + 1);
      if (value.size() > max_tag_value_bytes)
        return refuse(RecordingTagError::value_too_long,
                      fmt::format("{} has {} bytes (at most {})", known_tags[index], value.size(), max_tag_value_bytes));
      if (!proto::is_valid_utf8(value))  // Vorbis comments are UTF-8
        return refuse(RecordingTagError::not_utf8, known_tags[index]);
      values[index] = value;
    }
  }
  // Every tag but the caller name is always written.
  for (std::size_t index = 0; index + 1 < known_tags.size(); ++index)
    if (!values[index]) return refuse(RecordingTagError::missing_tag, known_tags[index]);

  RecordingTags tags;
  tags.call_id = *values[0];
  if (!is_call_id(tags.call_id)) return refuse(RecordingTagError::bad_call_id, fmt::format("'{}'", tags.call_id));
  tags.line = *values[1];
  if (tags.line.empty()) return refuse(RecordingTagError::empty_value, tag_line);
  tags.box = *values[2];
  if (tags.box.empty()) return refuse(RecordingTagError::empty_value, tag_box);
  const std::string_view port = *values[3];
  const auto parsed_port = std::from_chars(port.data(), port.data() + port.size(), tags.port);
  if (port.empty() || parsed_port.ec != std::errc() || parsed_port.ptr != port.data() + port.size() || tags.port < 1 ||
      tags.port > max_tag_port)
    return refuse(RecordingTagError::bad_port, fmt::format("'{}'", port));
  const auto direction = parse_direction(*values[4]);
  if (!direction) return refuse(RecordingTagError::bad_direction, fmt::format("'{}'", *values[4]));
  tags.direction = *direction;
  tags.number = *values[5];
  const auto started = parse_iso8601(*values[6]);
  if (!started) return refuse(RecordingTagError::bad_start_time, fmt::format("'{}'", *values[6]));
  tags.started_at = *started;
  if (values[7]) tags.caller_name = *values[7];
  return {std::move(tags), {}, {}};
}

ReattachedRecording reattached_records(const RecordingTags& tags, const RecordingFileFacts& file, WallTimeUs now) {
  const auto duration_us = static_cast<WallTimeUs>(file.duration_s * 1e6 + 0.5);
  ReattachedRecording records;
  CallRecord& call = records.call;
  call.id = tags.call_id;
  call.line = tags.line;
  call.box = tags.box;
  call.port = tags.port;
  call.direction = tags.direction;
  call.number = tags.number;
  call.name = tags.caller_name;
  call.state = CallState::ended;
  call.started_at = tags.started_at;
  if (tags.direction == Direction::inbound) call.answered_at = tags.started_at;  // recorded from the answer
  call.ended_at = tags.started_at + duration_us;
  call.outcome = tags.direction == Direction::inbound ? Outcome::answered : Outcome::completed;

  RecordingRecord& recording = records.recording;
  recording.call_id = tags.call_id;
  recording.path = file.path;
  recording.state = file.closed ? RecordingState::complete : RecordingState::truncated;
  recording.started_at = tags.started_at;
  recording.duration_s = static_cast<double>(static_cast<std::int64_t>(file.duration_s * 1000.0 + 0.5)) / 1000.0;
  recording.bytes = file.bytes;
  recording.sha256 = file.sha256;
  if (!file.closed)
    recording.error = fmt::format("never closed ({}); re-attached as it is: it plays up to its last whole page",
                                  file.problem);

  nlohmann::json detail = {{"path", file.path}, {"lost", "the call's rows; rebuilt from the recording's tags"}};
  if (!file.closed) detail["file"] = recording.error;
  records.event = {tags.call_id, now, std::string(reattached_event), detail.dump()};
  return records;
}

}  // namespace deskline::daemon
