// One recording file on disk, looked at without changing it: what it holds
// (inspect_recording_file), and giving an orphan its rows back
// (reattach_recording_file). Used by the daemon (the control request
// `reattach_recording`, proto/control.md) and by the CLI (`deskline
// recordings check`), so both judge a file the same way.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <system_error>

#include "daemon/core/result.hpp"
#include "daemon/domain/recording_tags.hpp"
#include "daemon/store/store.hpp"

namespace deskline::daemon {

// Why a file cannot be re-attached (besides I/O errors, which keep errno's code).
enum class ArchiveError {
  outside_recordings = 1,  // not under the recordings folder
  not_a_recording,         // not a regular *.opus file (a folder, a symbolic link, another name)
  too_large,               // larger than the limit of whoever reads it
  not_ogg_opus,            // the codec refused it: not Ogg Opus, or its headers are incomplete
  bad_tags,                // its tags do not describe a Deskline call
  name_mismatch,           // its name is not <DESKLINE_CALL_ID>.opus
  already_attached,        // the call already has a recording row
};
const std::error_category& archive_category();
std::error_code make_error_code(ArchiveError error);

// sha256 of bytes, in lower-case hex, as the recordings table keeps it.
std::string sha256_hex(std::span<const std::uint8_t> bytes);
// sha256 of a file, read in pieces; "" when it cannot be read.
std::string sha256_of_file(const std::filesystem::path& path);

struct RecordingFileCheck {
  RecordingFileFacts facts;  // sha256 only when asked for
  RecordingTagsParse tags;   // a file whose tags are not Deskline's is still a readable file
};

// A recording is read whole to be checked; this bounds the memory it takes.
inline constexpr std::uint64_t max_recording_bytes = 4ULL << 30;

// Reads the file (at most max_bytes) and checks it with codec::plan_ogg_repair:
// closed or not, playable duration, tags. An error when it cannot be read, is
// larger than max_bytes, or is not Ogg Opus with complete headers.
Result<RecordingFileCheck> inspect_recording_file(const std::filesystem::path& path, bool with_sha256,
                                                  std::uint64_t max_bytes = max_recording_bytes);

// Gives an orphan recording its rows back from its tags (reattached_records),
// in one transaction, without touching the file: file must be a regular
// <call id>.opus under recordings_dir (its path is stored as
// recordings_dir/<relative path>, the way the recorder names files) whose
// call has no recording row yet. A call row that survived is kept as it is.
Result<ReattachedRecording> reattach_recording_file(Store& store, const std::filesystem::path& recordings_dir,
                                                    const std::filesystem::path& file, WallTimeUs now,
                                                    std::uint64_t max_bytes = max_recording_bytes);

}  // namespace deskline::daemon

template <>
struct std::is_error_code_enum<deskline::daemon::ArchiveError> : std::true_type {};
