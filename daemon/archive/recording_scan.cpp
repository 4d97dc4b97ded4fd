#include "daemon/archive/recording_scan.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace deskline::daemon {

namespace fs = std::filesystem;

bool is_recording_file_name(const fs::path& name) {
  const std::string text = name.filename().string();
  return text.size() > 5 && text.front() != '.' && name.extension() == ".opus";
}

RecordingScan::RecordingScan(const Store& store, fs::path recordings_dir)
    : store_(store), root_(std::move(recordings_dir)) {}

bool RecordingScan::step(std::size_t max_items, const OnFinding& on_finding) {
  for (std::size_t item = 0; item < max_items && phase_ != Phase::done; ++item) {
    switch (phase_) {
      case Phase::start: {
        std::error_code error;
        files_ = fs::recursive_directory_iterator(root_, fs::directory_options::skip_permission_denied, error);
        // No recordings folder yet: no files, and rows are still checked.
        if (error && error != std::errc::no_such_file_or_directory)
          problem_ = fmt::format("cannot list {}: {}", root_.string(), error.message());
        phase_ = error ? Phase::rows : Phase::files;
        break;
      }
      case Phase::files: next_file(on_finding); break;
      case Phase::rows: next_row(on_finding); break;
      case Phase::done: break;
    }
  }
  return phase_ != Phase::done;
}

void RecordingScan::next_file(const OnFinding& on_finding) {
  if (files_ == fs::recursive_directory_iterator()) {
    phase_ = Phase::rows;
    return;
  }
  const fs::directory_entry& entry = *files_;
  std::error_code error;
  // Links are not followed: the recorder makes none, and one could lead anywhere.
  const bool regular = entry.symlink_status(error).type() == fs::file_type::regular;
  if (regular && is_recording_file_name(entry.path())) {
    ++counts_.files;
    const std::string call_id = entry.path().stem().string();
    const auto row = store_.find_recording(call_id);
    if (!row) return give_up(row.error().message());
    // A row of this call that names another file does not vouch for this one.
    if (!*row || fs::path((*row)->path).lexically_normal() != entry.path().lexically_normal()) {
      ++counts_.orphans;
      on_finding({Finding::Kind::orphan_file, entry.path(), call_id, std::nullopt});
    }
  }
  files_.increment(error);
  if (error) {
    // The walk cannot go on past a folder it failed to read; the rows still can.
    problem_ = fmt::format("stopped listing {}: {}", root_.string(), error.message());
    phase_ = Phase::rows;
  }
}

void RecordingScan::next_row(const OnFinding& on_finding) {
  if (page_.empty()) {
    if (rows_exhausted_) {
      phase_ = Phase::done;
      return;
    }
    auto rows = store_.recordings_after(last_call_id_, rows_per_page);
    if (!rows) return give_up(rows.error().message());
    rows_exhausted_ = rows->size() < rows_per_page;
    if (!rows->empty()) last_call_id_ = rows->back().call_id;
    page_.assign(std::make_move_iterator(rows->begin()), std::make_move_iterator(rows->end()));
    if (page_.empty()) {
      phase_ = Phase::done;
      return;
    }
  }
  RecordingRecord row = std::move(page_.front());
  page_.pop_front();
  ++counts_.rows;
  // No file was made (refused), or it is being made (its file appears when
  // the recorder opens it, after the row is written).
  if (row.path.empty() || row.state == RecordingState::recording) return;
  struct stat info {};
  if (::stat(row.path.c_str(), &info) == 0 || (errno != ENOENT && errno != ENOTDIR)) return;
  ++counts_.missing_files;
  const fs::path path = row.path;
  std::string call_id = row.call_id;
  on_finding({Finding::Kind::missing_file, path, std::move(call_id), std::move(row)});
}

void RecordingScan::give_up(std::string why) {
  problem_ = std::move(why);
  phase_ = Phase::done;
}

}  // namespace deskline::daemon
