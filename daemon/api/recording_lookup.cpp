#include "daemon/api/recording_lookup.hpp"

#include <algorithm>

#include "daemon/domain/call_json.hpp"

namespace deskline::daemon {

RecordingLookup decide_recording_lookup(const std::optional<RecordingForDownload>& rows,
                                        std::span<const std::string> lines) {
  using Status = RecordingLookup::Status;
  RecordingLookup lookup;
  if (!rows) return lookup;  // no_call
  if (!lines.empty() && std::find(lines.begin(), lines.end(), rows->line) == lines.end()) return lookup;
  if (!rows->recording) {
    lookup.status = Status::no_recording;
    return lookup;
  }
  const auto& recording = *rows->recording;
  lookup.state = std::string(to_string(recording.state));
  switch (recording.state) {
    case RecordingState::recording: lookup.status = Status::in_progress; return lookup;
    case RecordingState::deleted: lookup.status = Status::deleted; return lookup;
    case RecordingState::refused:
    case RecordingState::failed:
    case RecordingState::damaged: lookup.status = Status::failed; return lookup;
    case RecordingState::complete:
    case RecordingState::truncated:
    case RecordingState::repaired: break;
  }
  // Without a digest there is no ETag to give, so the file is not served.
  if (recording.path.empty() || recording.sha256.empty()) {
    lookup.status = Status::failed;
    return lookup;
  }
  lookup.status = Status::found;
  lookup.path = recording.path;
  lookup.bytes = recording.bytes;
  lookup.sha256 = recording.sha256;
  lookup.filename = recording_file_name(rows->started_at, rows->line, rows->direction, rows->number);
  return lookup;
}

RecordingLookup look_up_recording(const Store& store, const std::string& call_id, std::span<const std::string> lines) {
  const auto rows = store.find_recording_for_download(call_id);
  if (!rows) {
    RecordingLookup lookup;
    lookup.status = RecordingLookup::Status::failed;
    lookup.read_error = rows.error().message();
    return lookup;
  }
  return decide_recording_lookup(*rows, lines);
}

}  // namespace deskline::daemon
