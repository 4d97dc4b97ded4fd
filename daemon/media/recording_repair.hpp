// Applies codec::plan_ogg_repair to a recording on disk: at startup for files
// a killed daemon left open, and after a write failed on a full disk.
#pragma once

#include <filesystem>
#include <string>

namespace deskline::daemon {

struct FileRepair {
  enum class Result { complete, repaired, refused, unreadable } result = Result::unreadable;
  double duration_s = 0;
  std::uint64_t bytes = 0;  // file size afterwards
  std::string reason;       // what was wrong, or why it was not repaired
};

// Never deletes: a file that cannot be repaired is left as it is.
FileRepair repair_recording_file(const std::filesystem::path& path);

}  // namespace deskline::daemon
