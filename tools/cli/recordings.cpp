// deskline recordings ...: the list (read from the database, which WAL lets
// the CLI read while the daemon writes), `export` of one call's recording as
// the original Ogg Opus file or a WAV, and `encode`, which runs the production
// recording writer on a WAV file (admins convert old archives with it;
// benchmarks use it). `check` is in recordings_check.cpp.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "codec/ogg_opus.hpp"
#include "codec/ogg_opus_reader.hpp"
#include "codec/wav.hpp"
#include "daemon/domain/call_json.hpp"
#include "daemon/store/store.hpp"
#include "tools/cli/command.hpp"
#include "tools/cli/language.hpp"
#include "tools/cli/output_file.hpp"
#include "tools/cli/tables.hpp"

namespace deskline::tools {
namespace {

struct EncodeOptions {
  std::string input;
  std::string output;
  codec::OpusSettings settings;
  std::vector<std::string> comments;
  bool json = false;
};

// Recordings are personal data: copies get the recordings' own mode.
constexpr mode_t recording_mode = 0640;

// What an export or an encode wrote.
struct Written {
  std::string call_id;  // empty when the audio is not a call's (encode)
  std::string file;
  std::string format;  // "opus" or "wav"
  double duration_s = 0;
  std::uint64_t bytes = 0;
  std::string source;  // the file the audio was read from
};

// Reports what was written, for people (text) or as JSON; on stderr when the
// file is written in place, as it may be stdout (-o /dev/stdout), so that the
// audio stays whole.
void report_written(const Written& written, bool as_json, const std::string& text) {
  auto& out = OutputFile::is_direct(written.file) ? std::cerr : std::cout;
  if (as_json)
    out << nlohmann::json{{"call_id", written.call_id.empty() ? nlohmann::json() : nlohmann::json(written.call_id)},
                          {"file", written.file},
                          {"format", written.format},
                          {"duration_s", std::round(written.duration_s * 1000) / 1000},
                          {"bytes", written.bytes},
                          {"source", written.source}}
               .dump(2)
        << "\n";
  else
    out << text << "\n";
}

int encode_wav_file(const EncodeOptions& options) {
  std::ifstream input(options.input, std::ios::binary);
  if (!input) {
    std::cerr << "deskline: " << trf("cannot read {}", options.input) << "\n";
    return 1;
  }
  const std::vector<std::uint8_t> wav_bytes((std::istreambuf_iterator<char>(input)), {});
  const auto parsed = codec::parse_wav(wav_bytes);
  if (!parsed) {
    std::cerr << fmt::format("deskline: {}: {}\n", options.input, parsed.error);
    return 1;
  }
  const auto& audio = *parsed.audio;
  if (audio.channels != 1) {
    std::cerr << "deskline: "
              << trf("{}: {} channels; recordings are mono (split the channels first)", options.input, audio.channels)
              << "\n";
    return 1;
  }
  if (audio.rate_hz != 8000 && audio.rate_hz != 16000) {
    // The recorder encodes at the box's native rate; resampling here would
    // measure a different pipeline than production.
    std::cerr << "deskline: "
              << trf("{}: {} Hz; only 8000 and 16000 Hz are accepted (resample first, e.g. "
                     "sox IN.wav -r 8000 OUT.wav)",
                     options.input, audio.rate_hz)
              << "\n";
    return 1;
  }

  std::error_code error;
  auto output = OutputFile::create(options.output, recording_mode, error);
  if (!output) {
    std::cerr << "deskline: " << trf("cannot create {}: {}", options.output, error.message()) << "\n";
    return 1;
  }
  auto failed = [&](const std::error_code& why) {
    std::cerr << fmt::format("deskline: {}: {}\n", options.output, why.message());
    return 1;
  };

  codec::FdSink sink(output->fd());
  auto settings = options.settings;
  settings.rate_hz = audio.rate_hz;
  auto comments = options.comments;
  comments.push_back("DESKLINE_SOURCE=" + std::filesystem::path(options.input).filename().string());
  auto writer = codec::OggOpusWriter::create(settings, std::move(comments), sink, error);
  if (!writer) return failed(error);
  if ((error = writer->write(audio.samples))) return failed(error);
  if ((error = writer->finish())) return failed(error);
  if ((error = output->commit(/*replace=*/true))) return failed(error);

  const double seconds = writer->duration_s();
  const auto bytes = writer->bytes_out();
  const Written written{.call_id = "",  // not a call's recording
                        .file = options.output,
                        .format = "opus",
                        .duration_s = seconds,
                        .bytes = bytes,
                        .source = options.input};
  report_written(written, options.json,
                 trf("{}: {:.2f} s at {} Hz, {} bytes ({:.1f} kb/s overall), {} pages", options.output, seconds,
                     audio.rate_hz, bytes, seconds > 0 ? bytes * 8 / seconds / 1000 : 0.0, writer->pages_out()));
  return 0;
}

// Opens the database read-only, printing why when it cannot.
std::unique_ptr<daemon::Store> open_store(const config::Config& config) {
  auto store = daemon::Store::open(config.database_path(), /*read_only=*/true);
  if (!store) {
    std::cerr << "deskline: " << trf("cannot read {}: {}", config.database_path().string(), store.error().message())
              << "\n";
    return nullptr;
  }
  return std::move(*store);
}

int list_recordings(const config::Config& config, bool as_json, int limit) {
  auto store = open_store(config);
  if (!store) return 1;
  const auto records = store->list_recordings(static_cast<std::size_t>(limit));
  if (!records) {
    std::cerr << "deskline: " << records.error().message() << "\n";
    return 1;
  }
  nlohmann::json recordings = nlohmann::json::array();
  for (const auto& record : *records) {
    // A missing or unreadable call row only blanks the call's columns: the
    // recording is still worth listing.
    recordings.push_back(
        daemon::recording_to_json(record, store->find_call(record.call_id).value_or(std::nullopt)));
  }
  if (as_json)
    std::cout << recordings.dump(2) << "\n";
  else
    std::cout << recordings_table(recordings, terminal_columns());
  return 0;
}

struct ExportOptions {
  std::string id;
  std::string format;  // "wav" or "opus"; empty: from the output's extension
  std::string output;
  bool force = false;
  bool json = false;
};

// Call ids are UUIDs; like git, a unique prefix of at least 8 characters will do.
constexpr std::size_t min_id_prefix = 8;

// The recording of the call whose id is or starts with id; prints why not.
std::optional<daemon::RecordingRecord> resolve_recording(const daemon::Store& store, const std::string& id) {
  const auto exact = store.find_recording(id);
  if (!exact) {
    std::cerr << "deskline: " << exact.error().message() << "\n";
    return std::nullopt;
  }
  if (*exact) return *exact;
  if (id.size() < min_id_prefix) {
    std::cerr << "deskline: " << trf("{}: give the call id or at least its first {} characters", id, min_id_prefix)
              << "\n";
    return std::nullopt;
  }
  auto recordings = store.list_recordings(0);
  if (!recordings) {
    std::cerr << "deskline: " << recordings.error().message() << "\n";
    return std::nullopt;
  }
  std::vector<daemon::RecordingRecord> matches;
  for (auto& recording : *recordings)
    if (recording.call_id.starts_with(id)) matches.push_back(std::move(recording));
  if (matches.size() > 1) {
    std::cerr << "deskline: " << trf("{} is ambiguous: {} recordings match; give more of the id:", id, matches.size())
              << "\n";
    for (const auto& match : matches) std::cerr << "  " << match.call_id << "\n";
    return std::nullopt;
  }
  if (matches.empty()) {
    // Say whether the call exists at all: a call without a recording is a different problem.
    const auto call = store.find_call(id).value_or(std::nullopt);
    std::cerr << "deskline: "
              << (call ? trf("call {} has no recording", id)
                       : trf("no recording of a call {} (see deskline recordings)", id))
              << "\n";
    return std::nullopt;
  }
  return std::move(matches.front());
}

// Writes bytes to output, all or nothing; without force an existing file is kept.
bool write_output(const std::string& output, std::span<const std::uint8_t> bytes, bool force) {
  std::error_code error;
  auto file = OutputFile::create(output, recording_mode, error);
  if (file && !(error = file->write_all(bytes))) error = file->commit(force);
  if (error == std::errc::file_exists) {
    std::cerr << "deskline: " << trf("{} exists (use --force to replace it)", output) << "\n";
    return false;
  }
  if (error) std::cerr << "deskline: " << trf("cannot write {}: {}", output, error.message()) << "\n";
  return !error;
}

// The format an export writes: --format, else the output's extension. An
// extension of another format is refused ("" and the reason in why): an
// x.mp3 holding Ogg Opus would not play where MP3 is expected.
std::string export_format(const std::string& output, const std::string& asked, std::string& why) {
  auto extension = std::filesystem::path(output).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const bool wav_name = extension == ".wav";
  const bool opus_name = extension == ".opus" || extension == ".ogg" || extension == ".oga";
  const bool device = output.starts_with("/dev/");
  if (extension.empty() || device) return asked.empty() ? "opus" : asked;
  if (asked.empty() && (wav_name || opus_name)) return wav_name ? "wav" : "opus";
  if ((asked == "wav" && wav_name) || (asked == "opus" && opus_name)) return asked;
  if (asked.empty())
    why = trf("{}: deskline exports Ogg Opus (.opus, .ogg) or WAV (.wav), not {}", output, extension);
  else if (asked == "wav")
    why = trf("{}: --format wav writes WAV, not {}: name the file .wav", output, extension);
  else
    why = trf("{}: --format opus writes Ogg Opus, not {}: name the file .opus or .ogg", output, extension);
  return "";
}

int export_recording(const config::Config& config, const ExportOptions& options) {
  std::string why;
  const std::string format = export_format(options.output, options.format, why);
  if (format.empty()) {
    std::cerr << "deskline: " << why << "\n";
    return exit_usage;
  }
  // Refuse early, before reading and decoding, when the answer will be no anyway.
  std::error_code exists_error;
  if (!options.force && !OutputFile::is_direct(options.output) &&
      std::filesystem::exists(options.output, exists_error)) {
    std::cerr << "deskline: " << trf("{} exists (use --force to replace it)", options.output) << "\n";
    return 1;
  }
  auto store = open_store(config);
  if (!store) return 1;
  const auto recording = resolve_recording(*store, options.id);
  if (!recording) return 1;
  if (recording->path.empty()) {
    const auto state = word_text(daemon::to_string(recording->state));
    std::cerr << "deskline: "
              << (recording->error.empty()
                      // TRANSLATORS: the recording's state (refused, failed, ...).
                      ? trf("call {} has no recording file (state {})", recording->call_id, state)
                      // TRANSLATORS: the recording's state, then the daemon's reason.
                      : trf("call {} has no recording file (state {}: {})", recording->call_id, state,
                            recording->error))
              << "\n";
    return 1;
  }
  std::ifstream input(recording->path, std::ios::binary);
  if (!input) {
    std::cerr << "deskline: " << trf("cannot read the recording {}: {}", recording->path, std::strerror(errno)) << "\n";
    return 1;
  }
  const std::vector<std::uint8_t> opus_bytes((std::istreambuf_iterator<char>(input)), {});
  if (input.bad()) {
    std::cerr << "deskline: " << trf("cannot read the recording {}", recording->path) << "\n";
    return 1;
  }
  // Decoded for both formats: an opus export is byte-identical, but handing
  // out a file that does not play without saying so would hide the damage.
  const auto decoded = codec::decode_ogg_opus(opus_bytes);
  if (!decoded) {
    std::cerr << "deskline: "
              // TRANSLATORS: the decoder's reason, then the recording's state (complete, truncated, ...).
              << trf("the recording {} is damaged: {} (state {})", recording->path, decoded.error,
                     word_text(daemon::to_string(recording->state)))
              << "\n";
    return 1;
  }
  if (decoded.bad_packets > 0)
    std::cerr << "deskline: "
              << trf("warning: {} damaged packets in {} (exported as silence in WAV)", decoded.bad_packets,
                     recording->path)
              << "\n";
  if (recording->state == daemon::RecordingState::recording)
    std::cerr << "deskline: " << tr("warning: the call is still being recorded; exporting what is written so far")
              << "\n";

  Written written{.call_id = recording->call_id, .file = options.output, .format = format, .source = recording->path};
  if (format == "opus") {
    if (!write_output(options.output, opus_bytes, options.force)) return 1;
    written.duration_s = decoded.duration_s();
    written.bytes = opus_bytes.size();
    report_written(written, options.json,
                   trf("{}: {}, {} bytes (copy of {})", options.output, duration_text(written.duration_s),
                       written.bytes, recording->path));
    return 0;
  }
  codec::WavAudio wav;
  wav.rate_hz = decoded.rate_hz;
  wav.channels = 1;
  const std::size_t channels = decoded.head.channels ? decoded.head.channels : 1;
  if (channels == 1) {
    wav.samples = decoded.samples;
  } else {
    // Recordings are mono; a stereo file from elsewhere is mixed down rather than refused.
    wav.samples.reserve(decoded.frames());
    for (std::size_t frame = 0; frame < decoded.frames(); ++frame) {
      int sum = 0;
      for (std::size_t channel = 0; channel < channels; ++channel) sum += decoded.samples[frame * channels + channel];
      wav.samples.push_back(static_cast<std::int16_t>(sum / static_cast<int>(channels)));
    }
  }
  const auto wav_bytes = codec::encode_wav(wav);
  if (!write_output(options.output, wav_bytes, options.force)) return 1;
  written.duration_s = static_cast<double>(wav.samples.size()) / wav.rate_hz;
  written.bytes = wav_bytes.size();
  report_written(
      written, options.json,
      trf("{}: {} at {} Hz, 16-bit mono WAV", options.output, duration_text(written.duration_s), wav.rate_hz));
  return 0;
}

void add_list_options(CLI::App& recordings, CliContext& context) {
  struct ListOptions {
    bool json = false;
    int limit = 0;
  };
  auto options = std::make_shared<ListOptions>();
  recordings.add_flag("--json", options->json, tr("JSON array instead of a table"));
  recordings.add_option("--limit", options->limit, tr("at most this many recordings (0: all)"))
      ->check(whole_number(0, 1'000'000));
  // Runs only when no subcommand (export, encode) was given: `deskline recordings` lists.
  recordings.callback([&context, options, &recordings] {
    if (!recordings.get_subcommands().empty()) return;
    context.run = [&context, options] {
      auto config = context.load_config();
      return config ? list_recordings(*config, options->json, options->limit) : 2;
    };
  });
}

void add_export_command(CLI::App& recordings, CliContext& context) {
  auto options = std::make_shared<ExportOptions>();
  auto* command = recordings.add_subcommand("export", tr("write one call's recording to a file"));
  command->add_option("id", options->id, tr("call id (or a unique prefix of at least 8 characters)"))->required();
  command->add_option("--format", options->format, tr("opus (the file as recorded) or wav (16-bit PCM, mono)"))
      ->check(CLI::IsMember({"wav", "opus"}));
  command->add_option("-o,--output", options->output, tr("file to write (--format defaults to its extension)"))
      ->required();
  command->add_flag("--force", options->force, tr("replace an existing output file"));
  command->add_flag("--json", options->json, tr("report what was written as JSON"));
  command->callback([&context, options] {
    context.run = [&context, options] {
      auto config = context.load_config();
      return config ? export_recording(*config, *options) : 2;
    };
  });
}

// The `recordings` command, created on first use, so that every recordings
// subcommand (encode here; list and export) hangs off the same object.
CLI::App* recordings_command(CLI::App& app) {
  for (auto* existing : app.get_subcommands([](CLI::App* sub) { return sub->get_name() == "recordings"; }))
    return existing;
  auto* recordings = app.add_subcommand(
      "recordings", tr("list call recordings, newest first; export or encode one; check them against the database"));
  recordings->require_subcommand(0, 1);
  return recordings;
}

void add_encode_command(CLI::App& recordings, CliContext& context) {
  auto options = std::make_shared<EncodeOptions>();
  auto* encode = recordings.add_subcommand(
      "encode", tr("encode a mono 8 or 16 kHz WAV file with the production recording encoder"));
  encode->add_option("input", options->input, tr("16-bit PCM WAV, mono, 8000 or 16000 Hz"))->required();
  encode->add_option("-o,--output", options->output, tr("Ogg Opus file to write"))->required();
  encode->add_option("--bitrate", options->settings.bitrate_bps, tr("bits per second"))
      ->capture_default_str()
      ->check(CLI::Range(6000, 510000));
  encode->add_option("--complexity", options->settings.complexity, tr("encoder complexity"))
      ->capture_default_str()
      ->check(CLI::Range(0, 10));
  encode->add_option("--comment", options->comments, tr("extra KEY=value tag (repeatable)"));
  encode->add_flag("--json", options->json, tr("report what was written as JSON"));
  encode->callback([&context, options] { context.run = [options] { return encode_wav_file(*options); }; });
}

}  // namespace

void add_recording_commands(CLI::App& app, CliContext& context) {
  auto* recordings = recordings_command(app);
  add_list_options(*recordings, context);
  add_export_command(*recordings, context);
  add_encode_command(*recordings, context);
  add_check_command(*recordings, context);
}

}  // namespace deskline::tools
