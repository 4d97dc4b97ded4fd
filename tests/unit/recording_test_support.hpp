// Helpers shared by the recording codec tests: encoding to memory, temporary
// files, running the reference tools (opusinfo, opusdec, ffprobe) and a
// Goertzel tone analyser independent of the codec.
#pragma once

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numbers>
#include <span>
#include <string>
#include <vector>

#include "codec/ogg_format.hpp"
#include "codec/ogg_opus.hpp"

namespace deskline::codec::testing_support {

using Bytes = std::vector<std::uint8_t>;

// Encodes with the production writer into memory (finish() included).
inline Bytes encode_to_bytes(std::span<const std::int16_t> samples, OpusSettings settings = {},
                             std::vector<std::string> comments = {}) {
  MemorySink sink;
  std::error_code error;
  auto writer = OggOpusWriter::create(settings, std::move(comments), sink, error);
  EXPECT_TRUE(writer) << error.message();
  if (!writer) return {};
  EXPECT_FALSE(writer->write(samples));
  EXPECT_FALSE(writer->finish());
  return sink.bytes();
}

inline std::vector<OggPageAt> pages_of(std::span<const std::uint8_t> bytes) { return walk_ogg_stream(bytes).pages; }

// A folder under /tmp removed with the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "deskline-rec-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline Bytes read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), {});
}

inline bool have_tool(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

// Runs a shell command, returning its exit status and stdout+stderr.
inline int run_command(const std::string& command, std::string& output) {
  output.clear();
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  std::size_t read = 0;
  while ((read = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, read);
  const int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// opusinfo prints "WARNING:" or "ERROR:" lines (and "Warning" on hole/gap
// checks) for anything it finds wrong; a clean file has none.
inline bool opusinfo_clean(const std::string& output) {
  for (const char* marker : {"WARNING", "Warning", "ERROR", "Error", "error"})
    if (output.find(marker) != std::string::npos) return false;
  return true;
}

// Amplitude of the frequency component (Goertzel, any frequency), 2|X(f)|/N.
inline double tone_amplitude(std::span<const std::int16_t> samples, std::uint32_t rate_hz, double frequency_hz) {
  const double coefficient = 2.0 * std::cos(2.0 * std::numbers::pi * frequency_hz / rate_hz);
  double previous = 0, before_previous = 0;
  for (const auto sample : samples) {
    const double current = sample + coefficient * previous - before_previous;
    before_previous = previous;
    previous = current;
  }
  const double power =
      previous * previous + before_previous * before_previous - coefficient * previous * before_previous;
  return 2.0 * std::sqrt(std::max(power, 0.0)) / static_cast<double>(samples.size());
}

// Frequency of the strongest component in [low, high], scanned in 0.1 Hz steps.
inline double peak_frequency(std::span<const std::int16_t> samples, std::uint32_t rate_hz, double low_hz,
                             double high_hz) {
  double best_frequency = low_hz, best_amplitude = -1;
  for (double frequency = low_hz; frequency <= high_hz; frequency += 0.1) {
    const double amplitude = tone_amplitude(samples, rate_hz, frequency);
    if (amplitude > best_amplitude) {
      best_amplitude = amplitude;
      best_frequency = frequency;
    }
  }
  return best_frequency;
}

}  // namespace deskline::codec::testing_support
