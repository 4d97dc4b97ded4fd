// Speech-like audio for the benchmarks that encode recordings (recording
// bench, CRM drain bench): espeak-ng English and Mandarin dialogue resampled
// by sox to 8 kHz and cached as raw 16-bit little-endian; without them a
// synthetic voiced signal stands in. Also run_timed, the CPU time of a child.
#pragma once

#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numbers>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tools/cli/subprocess.hpp"

namespace deskline::bench {

namespace fs = std::filesystem;
using Samples = std::vector<std::int16_t>;

inline constexpr std::uint32_t rate_hz = 8000;

inline constexpr const char* english_text =
    "Good morning, thank you for calling. My name is Sarah, how can I help you today? "
    "Hi Sarah, I'm calling about the invoice we received last week. It looks like we were charged twice "
    "for the same delivery, once on the third and again on the fifth. I see. Could you give me the "
    "account number, please? Sure, it's four seven two, nine nine one, zero eight. Thank you. One moment "
    "while I pull that up. Right, I can see both charges here. The second one was a duplicate, and I'll "
    "raise a refund for it now. It should reach your account within five working days. That's great, "
    "thanks. Is there anything else I can help with? Actually yes, we'd like to add two more desk phones "
    "to our plan next month, probably for the new sales team. No problem at all, I'll send you a quote "
    "by email this afternoon, and you can reply whenever you're ready.";

inline constexpr const char* mandarin_text =
    "您好，欢迎致电客户服务中心，请问有什么可以帮您？你好，我想查询一下上个月的账单，好像多扣了一笔费用。"
    "好的，请您提供一下您的账户号码和预留的手机号码。账户号码是八六五三二一，手机号码是一三八零零一三八零零零。"
    "谢谢您，请稍等，我帮您查询一下。我看到了，三月五号确实有一笔重复扣款，金额是二百四十元。"
    "我现在就为您申请退款，预计三到五个工作日到账。好的，非常感谢。另外，我们公司下个月想再增加两部电话，"
    "请问需要怎么办理？没问题，我稍后把报价单发到您的邮箱，您确认以后回复我们就可以了。还有其他问题吗？没有了，谢谢，再"
    "见。";

// Runs a command to completion; returns its CPU time (user + system) or nullopt.
inline std::optional<double> run_timed(const std::vector<std::string>& argv, const tools::SpawnOptions& options = {}) {
  const pid_t pid = tools::spawn(argv, options);
  if (pid < 0) return std::nullopt;
  int status = 0;
  rusage usage{};
  while (::wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) return std::nullopt;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  auto seconds = [](const timeval& time) { return static_cast<double>(time.tv_sec) + time.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

inline bool have_tool(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

inline Samples read_raw(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  Samples samples(bytes.size() / 2);
  for (std::size_t i = 0; i < samples.size(); ++i)
    samples[i] = static_cast<std::int16_t>(static_cast<std::uint8_t>(bytes[2 * i]) |
                                           (static_cast<std::uint8_t>(bytes[2 * i + 1]) << 8));
  return samples;
}

inline void write_raw(const fs::path& path, const Samples& samples) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (const auto sample : samples) {
    const char bytes[2] = {static_cast<char>(sample & 0xFF), static_cast<char>((sample >> 8) & 0xFF)};
    out.write(bytes, 2);
  }
}

// One language's speech at 8 kHz from espeak-ng and sox, or empty.
inline Samples speak(const fs::path& folder, const std::string& voice, const std::string& text) {
  const auto wav = folder / (voice + ".wav");
  const auto raw = folder / (voice + "_8k.raw");
  if (!run_timed({"espeak-ng", "-v", voice, "-w", wav.string(), text})) return {};
  // Telephone band and rate, peaks at -6 dBFS: the level a desk phone line delivers.
  if (!run_timed({"sox", wav.string(), "-t", "raw", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer",
                  raw.string(), "sinc", "300-3400", "norm", "-6"}))
    return {};
  return read_raw(raw);
}

// Voiced stand-in: a glottal pulse train with a wandering pitch through two
// formant resonators, in 4 Hz syllables with pauses between phrases.
inline Samples synthetic_speech(double seconds) {
  const auto total = static_cast<std::size_t>(seconds * rate_hz);
  Samples out(total);
  double phase = 0, y1 = 0, y2 = 0, z1 = 0, z2 = 0;
  auto resonator = [](double frequency, double bandwidth, double& a1, double& a2) {
    const double r = std::exp(-std::numbers::pi * bandwidth / rate_hz);
    a1 = 2 * r * std::cos(2 * std::numbers::pi * frequency / rate_hz);
    a2 = -r * r;
  };
  std::uint32_t noise = 12345;
  for (std::size_t n = 0; n < total; ++n) {
    const double t = static_cast<double>(n) / rate_hz;
    const double pitch =
        140 + 40 * std::sin(2 * std::numbers::pi * 0.7 * t) + 15 * std::sin(2 * std::numbers::pi * 3.1 * t);
    phase += pitch / rate_hz;
    double excitation = 0;
    if (phase >= 1) {
      phase -= 1;
      excitation = 1;
    }
    noise = noise * 1664525u + 1013904223u;
    excitation += 0.02 * (static_cast<double>(noise >> 8) / (1 << 24) - 0.5);
    double a1, a2, b1, b2;
    resonator(500 + 300 * std::sin(2 * std::numbers::pi * 1.3 * t), 80, a1, a2);
    resonator(1500 + 600 * std::sin(2 * std::numbers::pi * 0.9 * t), 120, b1, b2);
    const double y = excitation + a1 * y1 + a2 * y2;
    y2 = y1;
    y1 = y;
    const double z = y + b1 * z1 + b2 * z2;
    z2 = z1;
    z1 = z;
    const double syllable = std::max(0.0, std::sin(2 * std::numbers::pi * 4 * t));
    const bool pause = std::fmod(t, 7.0) > 5.5;
    out[n] = static_cast<std::int16_t>(std::clamp(pause ? 0.0 : 600 * z * syllable, -32767.0, 32767.0));
  }
  return out;
}

// 10 minutes (or `seconds`) of speech, cached as raw 16-bit little-endian.
inline Samples speech_audio(const fs::path& cache, double seconds, std::string& source) {
  const auto cached = cache / ("speech_8k_" + std::to_string(static_cast<int>(seconds)) + "s.raw");
  const auto wanted = static_cast<std::size_t>(seconds * rate_hz);
  if (fs::exists(cached) && fs::file_size(cached) == wanted * 2) {
    source = "espeak-ng English + Mandarin, cached in " + cached.string();
    return read_raw(cached);
  }
  Samples dialogue;
  if (have_tool("espeak-ng") && have_tool("sox")) {
    const Samples pause(rate_hz / 2, 0);
    for (const auto& [voice, text] : {std::pair{"en-us", english_text}, std::pair{"cmn", mandarin_text}}) {
      const auto speech = speak(cache, voice, text);
      dialogue.insert(dialogue.end(), speech.begin(), speech.end());
      dialogue.insert(dialogue.end(), pause.begin(), pause.end());
    }
  }
  Samples audio;
  if (dialogue.size() > 10 * rate_hz) {  // espeak-ng and sox worked
    source = "espeak-ng English + Mandarin, looped, cached in " + cached.string();
    while (audio.size() < wanted) audio.insert(audio.end(), dialogue.begin(), dialogue.end());
    audio.resize(wanted);
  } else {
    source = "synthetic voiced signal (espeak-ng or sox missing), cached in " + cached.string();
    audio = synthetic_speech(seconds);
  }
  write_raw(cached, audio);
  return audio;
}

}  // namespace deskline::bench
