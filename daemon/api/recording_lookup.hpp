// What a download of a call's recording gets from the store (proto/http.md
// "Recordings"): the file to send, or why there is none. Read on the HTTP
// server's file worker, with its own read-only connection, in the same job
// that then opens the file: the io_context thread reads no row for a download.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>

#include "daemon/store/store.hpp"

namespace deskline::daemon {

struct RecordingLookup {
  enum class Status { found, no_call, no_recording, in_progress, deleted, failed };
  Status status = Status::no_call;
  std::string state;  // the row's state ("recording", "complete", ...)
  std::filesystem::path path;
  std::uint64_t bytes = 0;
  std::string sha256;
  std::string filename;    // readable, without extension: "2026-11-27_0900_front-desk_13812345678"
  std::string read_error;  // failed: why the rows could not be read ("" when they were)
};

// Pure: the answer rows give (nullopt: there is no such call). With lines
// (a desk's), a call on any other line is no call either: a desk does not
// learn that another desk's call exists.
RecordingLookup decide_recording_lookup(const std::optional<RecordingForDownload>& rows,
                                        std::span<const std::string> lines = {});

// Reads call_id's rows from store (one query) and decides.
RecordingLookup look_up_recording(const Store& store, const std::string& call_id,
                                  std::span<const std::string> lines = {});

}  // namespace deskline::daemon
