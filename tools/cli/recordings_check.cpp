// `deskline recordings check [--reattach] [--json]`: recordings and their rows
// compared (daemon/archive/recording_scan.hpp). Lists orphan recordings (a
// file no row names: the database was deleted, replaced or restored from an
// older backup) and rows whose file is missing; with --reattach gives every
// orphan whose tags can be read its rows back. The running daemon does the
// writing (control request reattach_recording), so the database has one
// writer; without a daemon the CLI writes itself. Audio files are never
// changed, and a file that cannot be re-attached is listed with the reason
// and kept. Output is streamed: 100 000 files take no more memory than one.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "daemon/archive/recording_file.hpp"
#include "daemon/archive/recording_scan.hpp"
#include "daemon/domain/call_json.hpp"
#include "daemon/store/store.hpp"
#include "proto/customer_csv.hpp"
#include "tools/cli/command.hpp"
#include "tools/cli/language.hpp"
#include "tools/cli/tables.hpp"
#include "tools/cli/control_client.hpp"

namespace deskline::tools {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using daemon::RecordingScan;

// Exit statuses (README): all agree, something is left, config error (2, as
// every command), the check could not run.
constexpr int exit_clean = 0;
constexpr int exit_problems_left = 1;
constexpr int exit_cannot_check = 3;

struct CheckOptions {
  bool reattach = false;
  bool json = false;
};

// JSON text that survives any bytes (a file name need not be UTF-8).
std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

daemon::WallTimeUs now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// An orphan as listed: what its tags and its file say, and what became of it.
json orphan_entry(const fs::path& path, const std::string& file_call_id) {
  return {{"path", path.string()},
          {"call_id", file_call_id},
          {"line", nullptr},
          {"direction", nullptr},
          {"number", nullptr},
          {"started_at", nullptr},
          {"duration_s", nullptr},
          {"bytes", nullptr},
          {"state", nullptr},
          {"reattached", false},
          {"problem", nullptr}};
}

// Fills entry from a look at the file (no sha256: listing only); sets problem
// when the file is not a Deskline recording.
void describe_file(json& entry, const fs::path& path) {
  const auto check = daemon::inspect_recording_file(path, /*with_sha256=*/false);
  if (!check) {
    entry["problem"] = check.error().message();
    std::error_code error;
    if (const auto size = fs::file_size(path, error); !error) entry["bytes"] = size;
    return;
  }
  entry["duration_s"] = std::round(check->facts.duration_s * 1000.0) / 1000.0;
  entry["bytes"] = check->facts.bytes;
  // The state it gets (or got) when re-attached: a file never closed stays as it is.
  entry["state"] = check->facts.closed ? "complete" : "truncated";
  if (!check->tags) {
    entry["problem"] = fmt::format("{}: {}", path.string(), check->tags.reason);
    return;
  }
  const auto& tags = *check->tags.tags;
  entry["call_id"] = tags.call_id;
  entry["line"] = tags.line;
  entry["direction"] = daemon::to_string(tags.direction);
  entry["number"] = tags.number;
  entry["started_at"] = daemon::format_iso8601(tags.started_at);
}

// Fills entry from the rows a re-attach wrote.
void describe_rows(json& entry, const json& call, const json& recording) {
  entry["call_id"] = call.value("id", "");
  entry["line"] = call.value("line", "");
  entry["direction"] = call.value("direction", "");
  entry["number"] = call.value("number", "");
  entry["started_at"] = recording.value("started_at", "");
  entry["duration_s"] = recording.value("duration_s", 0.0);
  entry["bytes"] = recording.value("bytes", 0);
  entry["state"] = recording.value("state", "");
  entry["path"] = recording.value("path", "");
  entry["reattached"] = true;
}

// Who writes the rows of a re-attached recording.
class Writer {
 public:
  // The daemon when it answers; else the database directly.
  static std::unique_ptr<Writer> choose(const config::Config& config, std::string& why_not) {
    auto writer = std::make_unique<Writer>(config);
    if (control_request(config.control_socket_path(), {{"cmd", "status"}})) return writer;
    // No daemon: opening the database for writing must not create one (it
    // would belong to whoever runs this, not to the daemon's user).
    std::error_code error;
    if (!fs::exists(config.database_path(), error)) {
      why_not =
          trf("{} does not exist: start desklined once (it creates the database)", config.database_path().string());
      return nullptr;
    }
    auto store = daemon::Store::open(config.database_path());
    if (!store) {
      why_not = trf("cannot write {}: {}", config.database_path().string(), store.error().message());
      return nullptr;
    }
    writer->store_ = std::move(*store);
    return writer;
  }

  explicit Writer(const config::Config& config) : config_(config) {}

  // The store the scan reads: the writer's own when it writes directly.
  daemon::Store* store() { return store_.get(); }

  // Re-attaches path; entry says how it went.
  void reattach(json& entry, const fs::path& path) {
    if (!store_) {
      if (!proto::customers::is_valid_utf8(path.string())) {
        entry["problem"] = fmt::format("{}: the path is not UTF-8 text (rename the folder)", dump(path.string()));
        return;
      }
      const auto response =
          control_request(config_.control_socket_path(), {{"cmd", "reattach_recording"}, {"path", path.string()}});
      if (!response)
        entry["problem"] = fmt::format("desklined did not answer: {}", response.error().message());
      else if (!response->value("ok", false))
        entry["problem"] = response->value("error", "refused");
      else
        describe_rows(entry, (*response)["call"], (*response)["recording"]);
      return;
    }
    const auto records = daemon::reattach_recording_file(*store_, config_.recordings_dir(), path, now_us());
    if (!records) {
      entry["problem"] = records.error().message();
      return;
    }
    describe_rows(entry, daemon::call_to_json(records->call),
                  daemon::recording_to_json(records->recording, records->call));
  }

  bool through_daemon() const { return !store_; }

 private:
  const config::Config& config_;
  std::unique_ptr<daemon::Store> store_;
};

// Text: one line per finding, as it is found, and the reason under it when
// it is kept as it is.
void print_text(const json& entry, bool orphan) {
  auto text = [&](const char* key) {
    const auto& value = entry[key];
    return value.is_string() && !value.get<std::string>().empty() ? value.get<std::string>() : std::string("-");
  };
  const std::string path = text("path");
  if (!orphan) {
    // TRANSLATORS: a row of `recordings check` whose file is missing: its call id, the path, the row's state and
    // size. The first word and its spaces take 13 columns (a Chinese character takes 2), as the verdicts do.
    std::cout << trf("missing      {:8}  {}  (its row: {}, {} bytes)", text("call_id").substr(0, 8), path,
                     word_text(text("state")), entry.value("bytes", 0))
              << "\n";
    return;
  }
  // TRANSLATORS: what became of an orphan recording file: the first column of `recordings check` (11 columns wide).
  const std::string verdict = entry.value("reattached", false) ? tr("re-attached") : tr("orphan");
  if (!entry["line"].is_string()) {
    std::cout << fmt::format("{:<11}  {:8}  {}\n", verdict, text("call_id").substr(0, 8), path);
  } else {
    const std::string duration =
        entry["duration_s"].is_number() ? duration_text(entry["duration_s"].get<double>()) : "-";
    // TRANSLATORS: an orphan recording file: what became of it, its call id, start, line, direction, number,
    // duration, size, state and path.
    std::cout << trf("{:<11}  {:8}  {}  {}  {}  {}  {}  {} bytes  {}  {}", verdict, text("call_id").substr(0, 8),
                     started_text(text("started_at")), text("line"), text("direction"), text("number"), duration,
                     entry["bytes"].is_number() ? entry["bytes"].dump() : "-", text("state"), path)
              << "\n";
  }
  if (entry["problem"].is_string()) {
    // The path was just printed; the reason without it reads better.
    std::string problem = entry["problem"].get<std::string>();
    if (problem.starts_with(path + ": ")) problem.erase(0, path.size() + 2);
    std::cout << "             " << trf("kept as it is: {}", problem) << "\n";
  }
}

// A count and its noun: one when count is 1, else many (each a message with one {}).
int check_recordings(const config::Config& config, const CheckOptions& options) {
  std::unique_ptr<Writer> writer;
  std::unique_ptr<daemon::Store> reader;
  daemon::Store* store = nullptr;
  if (options.reattach) {
    std::string why_not;
    writer = Writer::choose(config, why_not);
    if (!writer) {
      std::cerr << "deskline: " << why_not << "\n";
      return exit_cannot_check;
    }
    store = writer->store();
  }
  if (!store) {
    auto opened = daemon::Store::open(config.database_path(), /*read_only=*/true);
    if (!opened) {
      std::cerr << "deskline: " << trf("cannot read {}: {}", config.database_path().string(), opened.error().message())
                << "\n";
      return exit_cannot_check;
    }
    reader = std::move(*opened);
    store = reader.get();
  }

  RecordingScan scan(*store, config.recordings_dir());
  std::uint64_t reattached = 0;
  std::uint64_t readable_orphans = 0;  // left, and whose tags can be read
  bool in_missing = false;
  bool first = true;
  if (options.json) std::cout << "{\"orphans\": [";
  const auto on_finding = [&](const RecordingScan::Finding& finding) {
    const bool orphan = finding.kind == RecordingScan::Finding::Kind::orphan_file;
    json entry;
    if (orphan) {
      entry = orphan_entry(finding.path, finding.call_id);
      if (writer) writer->reattach(entry, finding.path);
      if (entry["reattached"].get<bool>()) {
        ++reattached;
      } else {
        describe_file(entry, finding.path);
        if (entry["problem"].is_null()) ++readable_orphans;
      }
    } else {
      const auto& row = *finding.row;
      entry = {{"call_id", row.call_id},
               {"path", row.path},
               {"state", daemon::to_string(row.state)},
               {"started_at", daemon::format_iso8601(row.started_at)},
               {"bytes", row.bytes},
               {"sha256", row.sha256.empty() ? json() : json(row.sha256)}};
    }
    if (options.json) {
      if (!orphan && !in_missing) {
        std::cout << (first ? "" : "\n ") << "],\n \"missing_files\": [";
        in_missing = true;
        first = true;
      }
      std::cout << (first ? "\n  " : ",\n  ") << dump(entry);
      first = false;
    } else {
      print_text(entry, orphan);
    }
    std::cout.flush();
  };
  while (scan.step(256, on_finding)) {
  }

  const auto& counts = scan.counts();
  const std::uint64_t orphans_left = counts.orphans - reattached;
  const bool clean = orphans_left == 0 && counts.missing_files == 0 && scan.problem().empty();
  if (options.json) {
    if (!in_missing) std::cout << (first ? "" : "\n ") << "],\n \"missing_files\": [";
    std::cout << (first ? "" : "\n ") << "],\n";
    const json summary = {{"recordings_dir", config.recordings_dir().string()},
                          {"counts",
                           {{"files", counts.files},
                            {"rows", counts.rows},
                            {"orphans", counts.orphans},
                            {"reattached", reattached},
                            {"orphans_left", orphans_left},
                            {"missing_files", counts.missing_files}}},
                          {"problem", scan.problem().empty() ? json() : json(scan.problem())}};
    std::string fields = dump(summary);  // {"a":1,...}: spliced into the object begun above
    std::cout << " " << fields.substr(1) << "\n";
  } else {
    // TRANSLATORS: a count in the summary of `recordings check`: files in the folder.
    const auto files = trn("{} recording file", "{} recording files", counts.files, counts.files);
    // TRANSLATORS: a count in the summary of `recordings check`: rows of the database's recordings table.
    const auto rows = trn("{} row", "{} rows", counts.rows, counts.rows);
    const auto orphans = trn("{} orphan", "{} orphans", counts.orphans, counts.orphans);
    const auto missing =
        trn("{} row with a missing file", "{} rows with a missing file", counts.missing_files, counts.missing_files);
    const auto folder = config.recordings_dir().string();
    if (!options.reattach) {
      // TRANSLATORS: the summary of `recordings check`: {0} "N recording files", {1} "N rows", {2} the recordings
      // folder, {3} "N orphans", {4} "N rows with a missing file".
      std::cout << trf("{0} and {1} checked in {2}: {3}, {4}", files, rows, folder, orphans, missing) << "\n";
    } else if (writer->through_daemon()) {
      // TRANSLATORS: the summary of `recordings check --reattach` when desklined wrote the rows: {0} "N recording
      // files", {1} "N rows", {2} the folder, {3} "N orphans", {4} how many got their rows back, {5} "N rows with a
      // missing file".
      std::cout << trf("{0} and {1} checked in {2}: {3} ({4} re-attached by desklined), {5}", files, rows, folder,
                       orphans, reattached, missing)
                << "\n";
    } else {
      // TRANSLATORS: the summary of `recordings check --reattach`: {0} "N recording files", {1} "N rows", {2} the
      // folder, {3} "N orphans", {4} how many got their rows back, {5} "N rows with a missing file".
      std::cout << trf("{0} and {1} checked in {2}: {3} ({4} re-attached), {5}", files, rows, folder, orphans,
                       reattached, missing)
                << "\n";
    }
    if (!scan.problem().empty()) std::cout << trf("not everything could be checked: {}", scan.problem()) << "\n";
    if (!options.reattach && readable_orphans > 0)
      std::cout << tr("give the orphans their rows back with: deskline recordings check --reattach") << "\n";
    if (counts.missing_files > 0)
      std::cout << tr("a row with a missing file stays as it is: restore the file from a backup to the path shown")
                << "\n";
  }
  if (!scan.problem().empty() && counts.files == 0 && counts.rows == 0) return exit_cannot_check;
  return clean ? exit_clean : exit_problems_left;
}

}  // namespace

void add_check_command(CLI::App& recordings, CliContext& context) {
  auto options = std::make_shared<CheckOptions>();
  auto* command = recordings.add_subcommand(
      "check", tr("list recording files without a row (orphans) and rows whose file is missing; exit 1 if any"));
  command->add_flag("--reattach", options->reattach,
                    tr("give each orphan its call and recording rows back from its tags (the file is not changed)"));
  command->add_flag("--json", options->json, tr("JSON instead of text"));
  command->callback([&context, options] {
    context.run = [&context, options] {
      auto config = context.load_config();
      return config ? check_recordings(*config, *options) : 2;
    };
  });
}

}  // namespace deskline::tools
