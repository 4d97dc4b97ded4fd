// Recording pipeline benchmark (issue 3): on 10 minutes of 8 kHz speech, the
// per-line pipeline (SpscRing -> OggOpusWriter -> FdSink -> file) against
// `opusenc --raw` with the same bitrate and complexity, in one run, CPU time.
//
//   deskline_recording_bench [--seconds 600] [--repeat 3] [--cache /tmp/deskline-bench]
//
// Speech comes from espeak-ng (English and Mandarin) resampled by sox to 8 kHz
// and cached; without them a synthetic voiced signal stands in.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "codec/ogg_opus.hpp"
#include "codec/ogg_opus_reader.hpp"
#include "drivers/audio/spsc_ring.hpp"
#include "tests/bench/speech_audio.hpp"
#include "tools/cli/subprocess.hpp"

namespace deskline::bench {
namespace {

constexpr std::size_t block_samples = rate_hz / 50;  // the audio callback's 20 ms

double cpu_seconds(clockid_t clock) {
  timespec now{};
  clock_gettime(clock, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

struct Run {
  double cpu_s = 0;
  std::uint64_t bytes = 0;
};

// The per-line pipeline as the daemon runs it: the audio callback pushes
// 20 ms blocks into the ring, the encoder thread pops and writes pages.
std::optional<Run> run_pipeline(const Samples& audio, int complexity, const fs::path& output) {
  const int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return std::nullopt;
  const double start = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);

  drivers::audio::SpscRing<std::int16_t> ring(rate_hz);  // 1 s, as the capture side sizes it
  std::atomic<bool> produced{false};
  std::thread callback([&] {
    for (std::size_t offset = 0; offset < audio.size(); offset += block_samples) {
      const auto block =
          std::span<const std::int16_t>(audio).subspan(offset, std::min(block_samples, audio.size() - offset));
      // Faster than real time: wait for room rather than drop (a 1 ms sleep, not a spin).
      while (ring.capacity() - ring.size() < block.size()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      ring.push(block);
    }
    produced = true;
  });

  codec::FdSink sink(fd);
  std::error_code error;
  auto writer = codec::OggOpusWriter::create({.rate_hz = rate_hz, .bitrate_bps = 16000, .complexity = complexity},
                                             {"DESKLINE_CALL_ID=bench", "LINE=1", "DIRECTION=inbound"}, sink, error);
  std::vector<std::int16_t> buffer(block_samples * 4);
  while (writer && !error) {
    const bool done = produced.load();  // read before popping: nothing is pushed after it turns true
    const std::size_t count = ring.pop(buffer);
    if (count > 0) {
      error = writer->write(std::span<const std::int16_t>(buffer).first(count));
    } else if (done) {
      break;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  callback.join();
  if (writer && !error) error = writer->finish();
  const double cpu = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - start;
  ::close(fd);
  if (!writer || error) {
    std::fprintf(stderr, "pipeline failed: %s\n", error.message().c_str());
    return std::nullopt;
  }
  return Run{cpu, writer->bytes_out()};
}

std::optional<Run> run_opusenc(const fs::path& raw, int complexity, const fs::path& output) {
  const auto cpu = run_timed({"opusenc", "--quiet", "--raw", "--raw-rate", "8000", "--raw-chan", "1", "--bitrate", "16",
                              "--comp", std::to_string(complexity), raw.string(), output.string()});
  if (!cpu) return std::nullopt;
  return Run{*cpu, static_cast<std::uint64_t>(fs::file_size(output))};
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

int run(int argc, char** argv) {
  double seconds = 600;
  int repeat = 3;
  fs::path cache = "/tmp/deskline-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string option = argv[i];
    if (option == "--seconds")
      seconds = std::atof(argv[i + 1]);
    else if (option == "--repeat")
      repeat = std::max(1, std::atoi(argv[i + 1]));
    else if (option == "--cache")
      cache = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: %s [--seconds S] [--repeat N] [--cache DIR]\n", argv[0]);
      return 2;
    }
  }
  if (seconds < 1) seconds = 1;
  fs::create_directories(cache);
  if (!have_tool("opusenc")) {
    std::fprintf(stderr, "opusenc not found (install opus-tools)\n");
    return 1;
  }
  std::string source;
  const Samples audio = speech_audio(cache, seconds, source);
  const auto raw = cache / ("speech_8k_" + std::to_string(static_cast<int>(seconds)) + "s.raw");
  const double audio_s = static_cast<double>(audio.size()) / rate_hz;
  const double minutes = audio_s / 60;
  std::printf("input: %.0f s of 8 kHz mono, %s\n", audio_s, source.c_str());
  std::printf("settings: 16 kb/s VBR, 20 ms frames; ours at 8 kHz narrowband, opusenc resamples to 48 kHz\n");
  std::printf("CPU time is the median of %d runs (user + system; ours: whole process, both threads)\n\n", repeat);
  std::printf(
      "| complexity | ours CPU s | opusenc CPU s | ratio ours/opusenc | lines per core (ours) | lines per core "
      "(opusenc) | ours bytes/min | opusenc bytes/min |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");

  bool ok = true;
  for (const int complexity : {5, 10}) {
    std::vector<double> ours_cpu, opusenc_cpu;
    std::uint64_t ours_bytes = 0, opusenc_bytes = 0;
    const auto ours_path = cache / ("ours_c" + std::to_string(complexity) + ".opus");
    const auto opusenc_path = cache / ("opusenc_c" + std::to_string(complexity) + ".opus");
    for (int attempt = 0; attempt < repeat; ++attempt) {
      // Interleaved, so that load from other processes hits both alike.
      const auto ours = run_pipeline(audio, complexity, ours_path);
      const auto reference = run_opusenc(raw, complexity, opusenc_path);
      if (!ours || !reference) {
        std::fprintf(stderr, "complexity %d: a run failed\n", complexity);
        return 1;
      }
      ours_cpu.push_back(ours->cpu_s);
      opusenc_cpu.push_back(reference->cpu_s);
      ours_bytes = ours->bytes;
      opusenc_bytes = reference->bytes;
    }
    const double ours_s = median(ours_cpu), opusenc_s = median(opusenc_cpu);
    const double ratio = ours_s / opusenc_s;
    ok = ok && ratio <= 0.4;
    std::printf("| %d | %.3f | %.3f | %.3f %s | %.0f | %.0f | %.0f | %.0f |\n", complexity, ours_s, opusenc_s, ratio,
                ratio <= 0.4 ? "(target <= 0.4 met)" : "(ABOVE 0.4 target)", audio_s / ours_s, audio_s / opusenc_s,
                static_cast<double>(ours_bytes) / minutes, static_cast<double>(opusenc_bytes) / minutes);

    // The file the pipeline wrote must be the whole input.
    std::ifstream in(ours_path, std::ios::binary);
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
    const auto decoded = codec::decode_ogg_opus(bytes);
    if (!decoded || decoded.frames() != audio.size()) {
      std::fprintf(stderr, "complexity %d: output decodes to %zu samples, expected %zu (%s)\n", complexity,
                   decoded.frames(), audio.size(), decoded.error.c_str());
      ok = false;
    }
  }
  std::printf("\nlines per core = audio seconds / CPU seconds (real-time lines one core sustains)\n");
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace deskline::bench

int main(int argc, char** argv) { return deskline::bench::run(argc, argv); }
