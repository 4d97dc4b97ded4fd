// The tags a recording carries (Ogg Opus comments, RFC 7845 §5.2) and the way
// back from them: a recording file whose rows were lost (the database deleted,
// replaced or restored from an older backup) is re-attached from its tags by
// `deskline recordings check --reattach`. Pure: strings in, records out.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/domain/call.hpp"

namespace deskline::daemon {

// The tags written into every recording (besides TITLE and DATE, for players).
inline constexpr std::string_view tag_call_id = "DESKLINE_CALL_ID";
inline constexpr std::string_view tag_line = "DESKLINE_LINE";
inline constexpr std::string_view tag_box = "DESKLINE_BOX";
inline constexpr std::string_view tag_port = "DESKLINE_PORT";
inline constexpr std::string_view tag_direction = "DESKLINE_DIRECTION";
inline constexpr std::string_view tag_number = "DESKLINE_NUMBER";
inline constexpr std::string_view tag_start_time = "DESKLINE_START_TIME";
inline constexpr std::string_view tag_caller_name = "DESKLINE_CALLER_NAME";  // only when caller ID named the caller
// What the pop showed, as known when the recording starts (the call row has
// the final word: an outbound call's number comes after its recording began).
inline constexpr std::string_view tag_user = "DESKLINE_USER";                // the line's desk user, when configured
inline constexpr std::string_view tag_number_e164 = "DESKLINE_NUMBER_E164";  // when the number could be normalised
inline constexpr std::string_view tag_customer_id = "DESKLINE_CUSTOMER_ID";  // per matched customer, best first
inline constexpr std::string_view tag_customer = "DESKLINE_CUSTOMER";        // its name, after its id

// The comments of the recording of call that starts at from (the answer, or
// the start of an outbound or joined call).
std::vector<std::string> recording_comments(const CallRecord& call, WallTimeUs from);

// Why a file's comments do not describe a Deskline call. Stable names: they
// appear in `deskline recordings check` output.
enum class RecordingTagError {
  missing_tag = 1,  // a tag Deskline always writes is absent (not a Deskline call recording)
  duplicate_tag,    // a Deskline tag appears twice: which one is true cannot be told
  value_too_long,   // longer than max_tag_value_bytes
  not_utf8,         // not UTF-8 (or holds a NUL), as Vorbis comments must be
  bad_call_id,      // not a call id (UUID)
  empty_value,      // line or box empty
  bad_port,         // not a number from 1 to max_tag_port
  bad_direction,    // not inbound, outbound or unknown
  bad_start_time,   // not an ISO 8601 time with its UTC offset
};
std::string_view to_string(RecordingTagError error);

// Far beyond any line name, number or caller name Deskline writes; a longer
// value is not one of its tags.
inline constexpr std::size_t max_tag_value_bytes = 1024;
inline constexpr int max_tag_port = 255;

// What a recording's tags say about its call.
struct RecordingTags {
  std::string call_id;
  std::string line;
  std::string box;
  int port = 0;
  Direction direction = Direction::unknown;
  std::string number;       // "" when the call had none
  std::string caller_name;  // "" when none
  WallTimeUs started_at = 0;  // the recording's first sample, millisecond precision
  friend bool operator==(const RecordingTags&, const RecordingTags&) = default;
};

struct RecordingTagsParse {
  std::optional<RecordingTags> tags;
  RecordingTagError error = RecordingTagError::missing_tag;  // when !tags
  std::string reason;                                        // when !tags: "missing_tag: DESKLINE_LINE"
  explicit operator bool() const { return tags.has_value(); }
};

// Reads the Deskline tags among comments (KEY=value, keys case-insensitive as
// Vorbis comments are); other comments are ignored.
RecordingTagsParse parse_recording_comments(std::span<const std::string> comments);

// What a check of the file on disk found (the caller reads it; nothing here does).
struct RecordingFileFacts {
  std::string path;
  bool closed = true;     // ends with its end-of-stream page
  std::string problem;    // when not closed: what is wrong (codec::RepairPlan::reason)
  double duration_s = 0;  // playable audio, up to the last whole page when not closed
  std::uint64_t bytes = 0;
  std::string sha256;
};

// The rows an orphan recording gets back. The call ends when its recording
// does; an inbound call's recording starts at the answer, so it counts as
// answered (started and answered then); an outbound or joined call's at its
// start, so it counts as completed (whether the far end answered is not
// known). What ended it is not known either: end_reason stays empty. A file
// that was never closed is re-attached as it is (truncated: it plays up to its
// last whole page), never repaired. The event ("reattached", at now) says
// where the rows came from.
struct ReattachedRecording {
  CallRecord call;
  RecordingRecord recording;
  CallEventRecord event;
};
ReattachedRecording reattached_records(const RecordingTags& tags, const RecordingFileFacts& file, WallTimeUs now);

// The call event type of a re-attached recording.
inline constexpr std::string_view reattached_event = "reattached";

}  // namespace deskline::daemon
