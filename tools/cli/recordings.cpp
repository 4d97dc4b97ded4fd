// deskline recordings ...: `encode` runs the production recording writer on a
// WAV file (admins convert old archives with it; benchmarks use it).
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>

#include "codec/ogg_opus.hpp"
#include "codec/wav.hpp"
#include "tools/cli/command.hpp"

namespace deskline::tools {
namespace {

struct EncodeOptions {
  std::string input;
  std::string output;
  codec::OpusSettings settings;
  std::vector<std::string> comments;
};

// Closes the descriptor on every path out of encode_wav_file.
struct FdCloser {
  int fd = -1;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

int encode_wav_file(const EncodeOptions& options) {
  std::ifstream input(options.input, std::ios::binary);
  if (!input) {
    std::cerr << fmt::format("deskline: cannot read {}\n", options.input);
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
    std::cerr << fmt::format("deskline: {}: {} channels; recordings are mono (split the channels first)\n",
                             options.input, audio.channels);
    return 1;
  }
  if (audio.rate_hz != 8000 && audio.rate_hz != 16000) {
    // The recorder encodes at the box's native rate; resampling here would
    // measure a different pipeline than production.
    std::cerr << fmt::format(
        "deskline: {}: {} Hz; only 8000 and 16000 Hz are accepted (resample first, e.g. "
        "sox IN.wav -r 8000 OUT.wav)\n",
        options.input, audio.rate_hz);
    return 1;
  }

  // A regular file is written under a temporary name and renamed when
  // complete, so a failed run leaves no half-written archive and never
  // removes anything it did not create. Devices and FIFOs are written directly.
  struct stat existing {};
  const bool direct = ::stat(options.output.c_str(), &existing) == 0 && !S_ISREG(existing.st_mode);
  std::string temporary = options.output + ".partial-XXXXXX";
  FdCloser output{direct ? ::open(options.output.c_str(), O_WRONLY | O_CLOEXEC)
                         : ::mkostemp(temporary.data(), O_CLOEXEC)};
  if (output.fd < 0) {
    std::cerr << fmt::format("deskline: cannot create {}: {}\n", options.output, std::strerror(errno));
    return 1;
  }
  auto failed = [&](const std::error_code& error) {
    std::cerr << fmt::format("deskline: {}: {}\n", options.output, error.message());
    if (!direct) ::unlink(temporary.c_str());
    return 1;
  };
  if (!direct && ::fchmod(output.fd, 0640) != 0) return failed(std::error_code(errno, std::generic_category()));

  codec::FdSink sink(output.fd);
  auto settings = options.settings;
  settings.rate_hz = audio.rate_hz;
  auto comments = options.comments;
  comments.push_back("DESKLINE_SOURCE=" + std::filesystem::path(options.input).filename().string());
  std::error_code error;
  auto writer = codec::OggOpusWriter::create(settings, std::move(comments), sink, error);
  if (!writer) return failed(error);
  if ((error = writer->write(audio.samples))) return failed(error);
  if ((error = writer->finish())) return failed(error);
  if (!direct) {
    if (::fsync(output.fd) != 0) return failed(std::error_code(errno, std::generic_category()));
    if (::rename(temporary.c_str(), options.output.c_str()) != 0)
      return failed(std::error_code(errno, std::generic_category()));
  }

  const double seconds = writer->duration_s();
  // To stderr when the audio itself may be going to stdout.
  (direct ? std::cerr : std::cout) << fmt::format(
      "{}: {:.2f} s at {} Hz, {} bytes ({:.1f} kb/s overall), {} pages\n", options.output, seconds, audio.rate_hz,
      writer->bytes_out(), seconds > 0 ? writer->bytes_out() * 8 / seconds / 1000 : 0.0, writer->pages_out());
  return 0;
}

// The `recordings` command, created on first use, so that every recordings
// subcommand (encode here; list and export) hangs off the same object.
CLI::App* recordings_command(CLI::App& app) {
  for (auto* existing : app.get_subcommands([](CLI::App* sub) { return sub->get_name() == "recordings"; }))
    return existing;
  auto* recordings = app.add_subcommand("recordings", "call recordings");
  recordings->require_subcommand(0, 1);
  return recordings;
}

void add_encode_command(CLI::App& recordings, CliContext& context) {
  auto options = std::make_shared<EncodeOptions>();
  auto* encode =
      recordings.add_subcommand("encode", "encode a mono 8 or 16 kHz WAV file with the production recording encoder");
  encode->add_option("input", options->input, "16-bit PCM WAV, mono, 8000 or 16000 Hz")->required();
  encode->add_option("-o,--output", options->output, "Ogg Opus file to write")->required();
  encode->add_option("--bitrate", options->settings.bitrate_bps, "bits per second")
      ->capture_default_str()
      ->check(CLI::Range(6000, 510000));
  encode->add_option("--complexity", options->settings.complexity, "encoder complexity")
      ->capture_default_str()
      ->check(CLI::Range(0, 10));
  encode->add_option("--comment", options->comments, "extra KEY=value tag (repeatable)");
  encode->callback([&context, options] { context.run = [options] { return encode_wav_file(*options); }; });
}

}  // namespace

void add_recording_commands(CLI::App& app, CliContext& context) {
  auto* recordings = recordings_command(app);
  add_encode_command(*recordings, context);
}

}  // namespace deskline::tools
