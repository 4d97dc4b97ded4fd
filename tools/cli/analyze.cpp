// deskline analyze FILE.wav: runs the daemon's line detectors over a capture
// and prints one JSON object per line per detection (caller ID, DTMF digits,
// call-progress tones). Admins diagnose a line with it; the benchmarks use it.
#include <cmath>
#include <fstream>
#include <iostream>
#include <iterator>
#include <type_traits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "codec/line_detectors.hpp"
#include "codec/wav.hpp"
#include "tools/cli/command.hpp"

namespace deskline::tools {
namespace {

struct AnalyzeOptions {
  std::string path;
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

int analyze(const AnalyzeOptions& options) {
  std::ifstream file(options.path, std::ios::binary);
  if (!file) {
    std::cerr << fmt::format("deskline analyze: cannot open {}\n", options.path);
    return 2;
  }
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  auto parsed = codec::parse_wav(bytes);
  if (!parsed) {
    std::cerr << fmt::format("deskline analyze: {}: {}\n", options.path, parsed.error);
    return 2;
  }
  auto& audio = *parsed.audio;
  std::vector<std::int16_t> mono;
  if (audio.channels == 1) {
    mono = std::move(audio.samples);
  } else if (options.first_channel) {
    for (std::size_t i = 0; i < audio.samples.size(); i += audio.channels) mono.push_back(audio.samples[i]);
  } else {
    std::cerr << fmt::format(
        "deskline analyze: {} has {} channels; a line is one channel (use --first-channel to analyse the first)\n",
        options.path, audio.channels);
    return 2;
  }
  if (audio.rate_hz != codec::detector_rate_hz) mono = codec::resample_to_8000(mono, audio.rate_hz);

  codec::LineDetectorOptions detector_options;
  detector_options.caller_id = codec::caller_id_decoders_from_string(options.standard);
  detector_options.tones = *codec::tone_profile(options.country);
  codec::LineDetectors detectors(std::move(detector_options));

  // 20 ms blocks, as the daemon pushes them, then 1 s of silence so that events
  // waiting for their end (a digit, the quiet after DTMF caller ID) come out.
  constexpr std::size_t block = codec::detector_rate_hz / 50;
  const auto print_events = [&detectors] {
    for (const auto& event : detectors.take_events())
      std::visit([](const auto& e) { std::cout << to_json(e).dump() << "\n"; }, event);
  };
  const std::span<const std::int16_t> all(mono);
  for (std::size_t offset = 0; offset < all.size(); offset += block) {
    detectors.push(all.subspan(offset, std::min(block, all.size() - offset)));
    print_events();
  }
  const std::vector<std::int16_t> tail(codec::detector_rate_hz, 0);
  detectors.push(tail);
  print_events();
  std::cout.flush();
  return std::cout ? 0 : 1;
}

}  // namespace

void add_analyze_command(CLI::App& app, CliContext& context) {
  auto options = std::make_shared<AnalyzeOptions>();
  auto* analyze_command =
      app.add_subcommand("analyze", "decode caller ID, DTMF and call-progress tones in a line recording (WAV)");
  analyze_command->add_option("file", options->path, "WAV file, 16-bit PCM (8 kHz mono; other rates resampled)")
      ->required();
  analyze_command->add_option("--standard", options->standard, "caller-ID decoders to run")
      ->check(CLI::IsMember({"auto", "bell202", "v23", "dtmf"}))
      ->capture_default_str();
  analyze_command->add_option("--country", options->country, "call-progress tone plan")
      ->check(CLI::IsMember({"china", "north_america", "europe"}))
      ->capture_default_str();
  analyze_command->add_flag("--first-channel", options->first_channel, "analyse the first channel of a multi-channel WAV");
  analyze_command->callback([&context, options] { context.run = [options] { return analyze(*options); }; });
}

}  // namespace deskline::tools
