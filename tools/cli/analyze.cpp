// deskline analyze FILE.wav: runs the daemon's line detectors over a capture
// and prints one JSON object per line per detection (caller ID, DTMF digits,
// call-progress tones). Admins diagnose a line with it; the benchmarks use it.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <type_traits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "codec/line_detectors.hpp"
#include "codec/wav.hpp"
#include "proto/bytes.hpp"
#include "tools/cli/command.hpp"
#include "tools/cli/input_file.hpp"
#include "tools/cli/language.hpp"

namespace deskline::tools {
namespace {

struct AnalyzeOptions {
  std::string path;
  bool json = true;  // the only output there is: JSON lines
  std::string standard = "auto";
  std::string country = "china";
  bool first_channel = false;
};

double seconds(std::uint64_t sample) { return static_cast<double>(sample) / codec::detector_rate_hz; }

// Rounded to the millisecond: the detectors are not more precise than that.
double rounded(double value) { return std::round(value * 1000) / 1000; }

nlohmann::json to_json(const codec::CallerIdEvent& event) {
  nlohmann::json out;
  out["at_s"] = rounded(seconds(event.start_sample));
  out["standard"] = codec::to_string(event.standard);
  if (!event.accepted()) {
    out["type"] = "callerid_rejected";
    out["reason"] = codec::to_string(*event.rejection);
    return out;
  }
  const auto& message = *event.message;
  out["type"] = "callerid";
  out["format"] = event.standard == codec::CallerIdStandard::dtmf ? "dtmf"
                  : message.format == proto::callerid::Format::sdmf ? "sdmf"
                                                                     : "mdmf";
  const auto optional_text = [](const auto& value) -> nlohmann::json {
    if (!value) return nullptr;
    if constexpr (std::is_same_v<std::decay_t<decltype(*value)>, char>)
      return std::string(1, *value);
    else
      return *value;
  };
  out["number"] = optional_text(message.number);
  out["name"] = optional_text(message.name);
  // One absence field: the number's reason, else the name's.
  out["absence"] = message.number_absence ? optional_text(message.number_absence)
                                          : optional_text(message.name_absence);
  out["datetime"] = optional_text(message.datetime);
  return out;
}

nlohmann::json to_json(const codec::DtmfDigitEvent& event) {
  return {{"type", "dtmf"},
          {"at_s", rounded(seconds(event.start_sample))},
          {"digit", std::string(1, event.digit)},
          {"duration_ms", std::lround(1000.0 * event.duration_samples / codec::detector_rate_hz)}};
}

nlohmann::json to_json(const codec::ToneEvent& event) {
  return {{"type", "tone"},
          {"at_s", rounded(seconds(event.start_sample))},
          {"confirmed_s", rounded(seconds(event.sample))},
          {"name", codec::to_string(event.tone)}};
}

// RIFF sizes are 32-bit, so no WAV file is larger; the samples are read in
// blocks, so memory stays flat whatever the length.
constexpr std::uint64_t max_wav_bytes = 1ULL << 32;
// A line recording longer than a working day is a mistake, and would keep
// the detectors busy for many minutes.
constexpr std::uint64_t max_duration_s = 12 * 3600;
// Chunks before the samples (fmt, LIST, fact) fit in this.
constexpr std::size_t max_wav_head_bytes = 1 << 20;

int analyze(const AnalyzeOptions& options) {
  const auto refuse = [&](const std::string& why) {
    std::cerr << fmt::format("deskline analyze: {}: {}\n", options.path, why);
    return 2;
  };
  std::string why;
  auto file = open_input_file(options.path, max_wav_bytes, why);
  if (!file) return refuse(why);
  std::vector<std::uint8_t> head(static_cast<std::size_t>(std::min<std::uint64_t>(file->size, max_wav_head_bytes)));
  file->stream.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
  if (static_cast<std::size_t>(file->stream.gcount()) != head.size()) return refuse(tr("cannot read"));
  const auto parsed = codec::parse_wav_layout(head, file->size);
  if (!parsed) return refuse(parsed.error);
  const auto& layout = *parsed.layout;
  if (layout.channels != 1 && !options.first_channel)
    return refuse(
        trf("{} channels; a line is one channel (use --first-channel to analyse the first)", layout.channels));
  if (layout.frames() > max_duration_s * layout.rate_hz)
    return refuse(trf("{} s of audio, more than the {} h analyze reads", layout.frames() / layout.rate_hz,
                      max_duration_s / 3600));

  codec::LineDetectorOptions detector_options;
  detector_options.caller_id = codec::caller_id_decoders_from_string(options.standard);
  detector_options.tones = *codec::tone_profile(options.country);
  codec::LineDetectors detectors(std::move(detector_options));
  std::size_t printed = 0;
  const auto print_events = [&detectors, &printed] {
    for (const auto& event : detectors.take_events()) {
      std::visit([](const auto& e) { std::cout << to_json(e).dump() << "\n"; }, event);
      ++printed;
    }
  };
  // 20 ms blocks, as the daemon pushes them.
  constexpr std::size_t block = codec::detector_rate_hz / 50;
  std::vector<std::int16_t> line;  // 8 kHz samples not yet pushed
  const auto push_blocks = [&](bool all) {
    std::size_t offset = 0;
    // The last block of all may be short; offset passes the end after it.
    for (; offset < line.size() && (line.size() - offset >= block || all); offset += block) {
      detectors.push(std::span(line).subspan(offset, std::min(block, line.size() - offset)));
      print_events();
    }
    line.erase(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(std::min(offset, line.size())));
  };

  file->stream.seekg(static_cast<std::streamoff>(layout.data_offset));
  codec::ResamplerTo8000 resampler(layout.rate_hz);
  constexpr std::size_t frames_per_read = 8192;
  std::vector<std::uint8_t> bytes;
  std::vector<std::int16_t> first_channel;
  for (std::uint64_t frames_left = layout.frames(); frames_left > 0;) {
    const auto frames = static_cast<std::size_t>(std::min<std::uint64_t>(frames_left, frames_per_read));
    bytes.resize(frames * layout.channels * 2);
    file->stream.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (static_cast<std::size_t>(file->stream.gcount()) != bytes.size()) return refuse(tr("cannot read the samples"));
    first_channel.resize(frames);
    for (std::size_t i = 0; i < frames; ++i)
      first_channel[i] = static_cast<std::int16_t>(proto::load_le16(bytes, i * layout.channels * 2));
    resampler.push(first_channel, line);
    push_blocks(false);
    frames_left -= frames;
  }
  resampler.finish(line);
  push_blocks(true);
  // Then 1 s of silence so that events waiting for their end (a digit, the
  // quiet after DTMF caller ID) come out.
  const std::vector<std::int16_t> tail(codec::detector_rate_hz, 0);
  detectors.push(tail);
  print_events();
  // Said on stderr: stdout holds the events alone, one JSON line each.
  if (printed == 0)
    std::cerr << "deskline analyze: "
              << trf("{}: nothing detected (no caller ID, DTMF or call-progress tone)", options.path) << "\n";
  std::cout.flush();
  return std::cout ? 0 : 1;
}

}  // namespace

void add_analyze_command(CLI::App& app, CliContext& context) {
  auto options = std::make_shared<AnalyzeOptions>();
  auto* analyze_command =
      app.add_subcommand("analyze", tr("decode caller ID, DTMF and call-progress tones in a line recording (WAV)"));
  analyze_command->add_option("file", options->path, tr("WAV file, 16-bit PCM (8 kHz mono; other rates resampled)"))
      ->required();
  analyze_command->add_option("--standard", options->standard, tr("caller-ID decoders to run"))
      ->check(CLI::IsMember({"auto", "bell202", "v23", "dtmf"}))
      ->capture_default_str();
  analyze_command->add_option("--country", options->country, tr("call-progress tone plan"))
      ->check(CLI::IsMember({"china", "north_america", "europe"}))
      ->capture_default_str();
  analyze_command->add_flag("--first-channel", options->first_channel,
                            tr("analyse the first channel of a multi-channel WAV"));
  // Its output is JSON lines already; --json is taken like on every other command.
  analyze_command->add_flag("--json", options->json, tr("print each event as a JSON line (the default)"));
  analyze_command->callback([&context, options] { context.run = [options] { return analyze(*options); }; });
}

}  // namespace deskline::tools
