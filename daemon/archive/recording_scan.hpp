// Recordings and their rows, compared: files under the recordings folder
// that no row names (orphans: the database was deleted, replaced, or restored
// from an older backup while recordings went on), and rows whose file is gone.
// A bounded piece at a time: memory stays small whatever the number of files
// (one directory walk and one page of rows), and the caller decides how much
// each piece may do (the daemon runs it in slices on its io_context; the CLI
// runs it through). The files are only listed here, never opened.
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "daemon/domain/call.hpp"
#include "daemon/store/store.hpp"

namespace deskline::daemon {

class RecordingScan {
 public:
  struct Finding {
    enum class Kind {
      orphan_file,   // a <call id>.opus that no recording row names
      missing_file,  // a row whose file does not exist
    };
    Kind kind = Kind::orphan_file;
    std::filesystem::path path;
    std::string call_id;                 // orphan: the file name's stem
    std::optional<RecordingRecord> row;  // missing_file: the row
  };
  struct Counts {
    std::uint64_t files = 0;  // *.opus files seen
    std::uint64_t rows = 0;   // recording rows seen
    std::uint64_t orphans = 0;
    std::uint64_t missing_files = 0;
  };
  using OnFinding = std::function<void(const Finding&)>;

  // Rows are read this many at a time.
  static constexpr std::size_t rows_per_page = 256;

  // Both must outlive the scan.
  RecordingScan(const Store& store, std::filesystem::path recordings_dir);

  // Looks at up to max_items more files or rows, telling on_finding of each
  // problem; returns whether anything is left to look at. Files come first,
  // then rows, so every orphan is reported before the first missing file.
  bool step(std::size_t max_items, const OnFinding& on_finding);

  bool done() const { return phase_ == Phase::done; }
  const Counts& counts() const { return counts_; }
  // What left part of it unchecked (a folder that could not be read, the
  // store's error); "" when nothing did.
  const std::string& problem() const { return problem_; }

 private:
  enum class Phase { start, files, rows, done };
  void next_file(const OnFinding& on_finding);
  void next_row(const OnFinding& on_finding);
  void give_up(std::string why);

  const Store& store_;
  std::filesystem::path root_;
  Phase phase_ = Phase::start;
  std::filesystem::recursive_directory_iterator files_;
  std::deque<RecordingRecord> page_;
  std::string last_call_id_;  // of the rows read so far
  bool rows_exhausted_ = false;
  Counts counts_;
  std::string problem_;
};

// Whether a file in the recordings folder is one the recorder made:
// <name>.opus, not hidden. The recorder writes its files under their final
// name (no temporary files), and `recordings export` writes elsewhere.
bool is_recording_file_name(const std::filesystem::path& name);

}  // namespace deskline::daemon
