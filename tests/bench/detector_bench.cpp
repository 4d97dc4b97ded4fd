// Accuracy, talk-off and CPU benchmarks of the line detectors, with
// multimon-ng and minimodem decoding the same files. A bench binary, not part
// of ctest (minutes of work, external tools); tests/bench/callerid_accuracy.sh
// runs it and prints the Markdown tables of BENCHMARKS.md.
#include <gtest/gtest.h>

#include <spandsp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "codec/generators.hpp"
#include "codec/line_detectors.hpp"
#include "codec/wav.hpp"
#include "proto/callerid.hpp"
#include "tests/require_tools.hpp"

namespace deskline::codec {
namespace {

namespace fs = std::filesystem;

int messages_per_cell() {
  const char* value = std::getenv("DESKLINE_BENCH_MESSAGES");
  return value != nullptr ? std::max(1, std::atoi(value)) : 200;
}

fs::path work_dir() {
  const fs::path dir = fs::temp_directory_path() / "deskline-detector-bench";
  fs::create_directories(dir);
  return dir;
}

void write_wav(const fs::path& path, const Samples& samples, std::uint32_t rate = 8000) {
  const auto bytes = encode_wav(WavAudio{rate, 1, samples});
  std::ofstream file(path, std::ios::binary);
  file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::string run(const std::string& command) {
  std::string output;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[4096];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
    pclose(pipe);
  }
  return output;
}

bool have(const char* tool) { return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0; }

// ---- caller-ID accuracy --------------------------------------------------------------

struct Cell {
  std::string group;
  std::string label;
  FskStandard standard = FskStandard::bell202;
  double level_dbm0 = -13;
  double snr_db = 30;
  double offset = 0;
};

struct CellResult {
  int ours = 0;
  int multimon = -1;   // -1: not run
  int minimodem = -1;
};

// Every message is distinct (number and name), so a decoder's output is
// scored by the set of numbers it got right with the right name.
std::vector<proto::callerid::Message> cell_messages(int count, std::uint32_t seed) {
  std::vector<proto::callerid::Message> messages;
  std::uint32_t state = seed * 2654435761u + 1;
  for (int i = 0; i < count; ++i) {
    state = state * 1664525u + 1013904223u;
    proto::callerid::Message message;
    message.datetime = "0315" + std::to_string(10 + i % 14) + std::to_string(10 + i % 50);
    message.number = "1" + std::to_string(3000000000ULL + state % 1000000000ULL);
    message.name = "CALLER " + std::to_string(10000 + i);
    messages.push_back(message);
  }
  return messages;
}

Samples cell_audio(const Cell& cell, const std::vector<proto::callerid::Message>& messages, std::uint32_t seed) {
  FskOptions options;
  options.standard = cell.standard;
  options.level_dbm0 = cell.level_dbm0;
  options.frequency_offset = cell.offset;
  Samples audio = silence(8000, 0.3);
  for (const auto& message : messages) {
    const auto burst = fsk(8000, proto::callerid::encode(message), options);
    audio.insert(audio.end(), burst.begin(), burst.end());
    const auto gap = silence(8000, 0.25);
    audio.insert(audio.end(), gap.begin(), gap.end());
  }
  add_noise(audio, cell.level_dbm0, cell.snr_db, seed);
  return audio;
}

int count_found(const std::vector<proto::callerid::Message>& messages, const std::set<std::string>& decoded_keys) {
  int found = 0;
  for (const auto& message : messages) found += decoded_keys.count(*message.number + "|" + *message.name) > 0;
  return found;
}

int ours(const Cell& cell, const Samples& audio, const std::vector<proto::callerid::Message>& messages) {
  LineDetectorOptions options;
  options.caller_id = CallerIdDecoders::auto_detect;  // the production default
  options.dtmf = false;
  options.call_progress = false;
  LineDetectors detectors(options);
  constexpr std::size_t block = 160;
  const std::span<const std::int16_t> all(audio);
  std::set<std::string> keys;
  const auto collect = [&] {
    for (const auto& event : detectors.take_events())
      if (const auto* caller_id = std::get_if<CallerIdEvent>(&event); caller_id != nullptr && caller_id->accepted()) {
        const auto& message = *caller_id->message;
        const bool right_standard =
            caller_id->standard == (cell.standard == FskStandard::v23 ? CallerIdStandard::v23 : CallerIdStandard::bell202);
        if (message.number && message.name && right_standard) keys.insert(*message.number + "|" + *message.name);
      }
  };
  for (std::size_t offset = 0; offset < all.size(); offset += block) {
    detectors.push(all.subspan(offset, std::min(block, all.size() - offset)));
    collect();
  }
  detectors.push(Samples(8000, 0));
  collect();
  return count_found(messages, keys);
}

// multimon-ng prints "CLIPFSK: CS DATE=... CID=<number> CNT=<name>" per MDMF.
int multimon(const fs::path& wav, const std::vector<proto::callerid::Message>& messages) {
  const auto output = run("multimon-ng -q -t wav -a CLIPFSK '" + wav.string() + "' 2>/dev/null");
  std::set<std::string> keys;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    const auto cid = line.find("CID=");
    const auto cnt = line.find(" CNT=");
    if (cid == std::string::npos || cnt == std::string::npos || cnt < cid) continue;
    keys.insert(line.substr(cid + 4, cnt - cid - 4) + "|" + line.substr(cnt + 5));
  }
  return count_found(messages, keys);
}

// minimodem prints a block per message: "Phone: <number>" then "Name:  <name>".
int minimodem(const fs::path& wav, const std::vector<proto::callerid::Message>& messages) {
  const auto output = run("minimodem --rx callerid -q -f '" + wav.string() + "' 2>/dev/null");
  std::set<std::string> keys;
  std::istringstream lines(output);
  std::string number;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("Phone: ", 0) == 0) number = line.substr(7);
    if (line.rfind("Name:  ", 0) == 0 && !number.empty()) {
      keys.insert(number + "|" + line.substr(7));
      number.clear();
    }
    if (line.rfind("CALLER-ID", 0) == 0) number.clear();
  }
  return count_found(messages, keys);
}

std::string percent(int found, int total) {
  if (found < 0) return "n/a";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %%", 100.0 * found / total);
  return text;
}

TEST(DetectorBenchmark, CallerIdAccuracy) {
  const int count = messages_per_cell();
  std::vector<Cell> cells;
  for (const double snr : {30.0, 20.0, 15.0, 10.0, 6.0})
    cells.push_back({"SNR (-13 dBm0)", std::to_string(static_cast<int>(snr)) + " dB", FskStandard::bell202, -13, snr, 0});
  for (const double level : {-10.0, -20.0, -30.0, -35.0, -40.0, -45.0})
    cells.push_back({"level (20 dB SNR)", std::to_string(static_cast<int>(level)) + " dBm0", FskStandard::bell202, level,
                     20, 0});
  for (const double offset : {0.015, -0.015, 0.03, -0.03})
    cells.push_back({"offset (-13 dBm0, 20 dB SNR)", (offset > 0 ? "+" : "") + std::to_string(offset * 100).substr(0, offset > 0 ? 3 : 4) + " %",
                     FskStandard::bell202, -13, 20, offset});
  cells.push_back({"combined", "-40 dBm0, 10 dB", FskStandard::bell202, -40, 10, 0});
  cells.push_back({"combined", "+3 %, 10 dB", FskStandard::bell202, -13, 10, 0.03});
  cells.push_back({"combined", "-3 %, 10 dB", FskStandard::bell202, -13, 10, -0.03});
  for (const double snr : {30.0, 20.0, 15.0, 10.0, 6.0})
    cells.push_back({"V.23 SNR (-13 dBm0)", std::to_string(static_cast<int>(snr)) + " dB", FskStandard::v23, -13, snr, 0});
  cells.push_back({"V.23", "-40 dBm0, 20 dB", FskStandard::v23, -40, 20, 0});
  cells.push_back({"V.23", "-45 dBm0, 20 dB", FskStandard::v23, -45, 20, 0});
  for (const double offset : {0.015, -0.015, 0.03, -0.03})
    cells.push_back({"V.23 offset (20 dB SNR)", (offset > 0 ? "+" : "") + std::to_string(offset * 100).substr(0, offset > 0 ? 3 : 4) + " %",
                     FskStandard::v23, -13, 20, offset});

  const bool with_multimon = have("multimon-ng");
  const bool with_minimodem = have("minimodem");
  std::ostringstream table;
  table << "| condition | cell | deskline | multimon-ng -a CLIPFSK | minimodem --rx callerid |\n"
        << "|---|---|---|---|---|\n";
  double ours_seconds = 0;
  double audio_seconds = 0;
  std::uint32_t seed = 1;
  for (const auto& cell : cells) {
    ++seed;
    const auto messages = cell_messages(count, seed);
    const auto audio = cell_audio(cell, messages, seed);
    const auto wav = work_dir() / ("cell" + std::to_string(seed) + ".wav");
    write_wav(wav, audio);
    // The references run as child processes while we decode (2 cores: modest).
    // Both references accept V.23 tones in their Bell 202 modes, so they run on every cell.
    auto multimon_result = std::async(std::launch::async, [&] { return with_multimon ? multimon(wav, messages) : -1; });
    auto minimodem_result =
        std::async(std::launch::async, [&] { return with_minimodem ? minimodem(wav, messages) : -1; });
    const auto started = std::chrono::steady_clock::now();
    CellResult result;
    result.ours = ours(cell, audio, messages);
    ours_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    audio_seconds += static_cast<double>(audio.size()) / 8000;
    result.multimon = multimon_result.get();
    result.minimodem = minimodem_result.get();
    fs::remove(wav);
    table << "| " << cell.group << " | " << cell.label << " | " << percent(result.ours, count) << " | "
          << percent(result.multimon, count) << " | " << percent(result.minimodem, count) << " |\n";
    std::cerr << cell.group << " " << cell.label << ": " << result.ours << " " << result.multimon << " "
              << result.minimodem << "\n";
    // The targets of the issue, as assertions.
    const bool target_cell = cell.snr_db >= 10 && cell.level_dbm0 >= -40 && std::abs(cell.offset) <= 0.03;
    if (target_cell) {
      EXPECT_GE(result.ours * 100, count * 99) << cell.group << " " << cell.label;
    }
    EXPECT_GE(result.ours, std::max(result.multimon, result.minimodem)) << cell.group << " " << cell.label;
  }
  std::cout << "\nCaller ID decode rate, " << count << " MDMF messages (date, 11-digit number, name) per cell\n\n"
            << table.str() << "\n(deskline decoded " << audio_seconds << " s of audio in " << ours_seconds
            << " s wall time)\n";
}

// ---- DTMF: Q.24 and talk-off -------------------------------------------------------------

struct Q24Row {
  const char* label;
  double tone_ms;
  double level_dbm0;
  double twist_db;
  double offset;
  bool must_operate;
};

std::string spandsp_digits(const Samples& audio) {
  std::string digits;
  dtmf_rx_state_t* receiver = dtmf_rx_init(
      nullptr, [](void* user, const char* text, int length) { static_cast<std::string*>(user)->append(text, static_cast<std::size_t>(length)); },
      &digits);
  dtmf_rx(receiver, audio.data(), static_cast<int>(audio.size()));
  dtmf_rx_free(receiver);
  return digits;
}

TEST(DetectorBenchmark, DtmfQ24) {
  constexpr std::string_view keys = "1234567890*#ABCD";
  const std::vector<Q24Row> rows{
      {"nominal, 40 ms, -10 dBm0", 40, -10, 0, 0, true},
      {"0 dBm0", 40, 0, 0, 0, true},
      {"-25 dBm0", 40, -25, 0, 0, true},
      {"twist +4 dB", 40, -10, 4, 0, true},
      {"twist -8 dB", 40, -10, -8, 0, true},
      {"+1.5 %", 40, -10, 0, 0.015, true},
      {"-1.5 %", 40, -10, 0, -0.015, true},
      {"-1.5 %, twist -8, high tone -25 dBm0", 40, -17, -8, -0.015, true},
      {"+1.5 %, twist +4, high tone 0 dBm0", 40, -4, 4, 0.015, true},
      {"+3.5 % (60 ms)", 60, -10, 0, 0.035, false},
      {"-3.5 % (60 ms)", 60, -10, 0, -0.035, false},
      {"23 ms", 23, -10, 0, 0, false},
      {"20 ms", 20, -10, 0, 0, false},
  };
  std::ostringstream table;
  table << "| case | Q.24 | deskline | spandsp dtmf_rx (defaults) |\n|---|---|---|---|\n";
  for (const auto& row : rows) {
    int ours_detected = 0;
    int spandsp_detected = 0;
    int sent = 0;
    for (int alignment = 0; alignment < 8; ++alignment) {
      DtmfOptions options;
      options.tone_ms = row.tone_ms;
      options.gap_ms = 60;
      options.level_dbm0 = row.level_dbm0;
      options.twist_db = row.twist_db;
      options.frequency_offset = row.offset;
      Samples audio = silence(8000, 0.05 + alignment * 0.0013);
      const auto digits = dtmf(8000, keys, options);
      audio.insert(audio.end(), digits.begin(), digits.end());
      audio.resize(audio.size() + 800, 0);
      DtmfDetector detector;
      detector.push(audio);
      std::string ours_digits;
      for (const auto& event : detector.take_events()) ours_digits.push_back(event.digit);
      const auto theirs = spandsp_digits(audio);
      sent += static_cast<int>(keys.size());
      // Count per key position: right digit in the right order.
      for (const char key : keys) {
        ours_detected += ours_digits.find(key) != std::string::npos;
        spandsp_detected += theirs.find(key) != std::string::npos;
      }
    }
    table << "| " << row.label << " | " << (row.must_operate ? "operate" : "must not") << " | " << ours_detected << "/"
          << sent << " | " << spandsp_detected << "/" << sent << " |\n";
    EXPECT_EQ(ours_detected, row.must_operate ? sent : 0) << row.label;
  }
  std::cout << "\nDTMF Q.24 (16 keys x 8 alignments per case): digits reported\n\n" << table.str();
}

// espeak-ng speech at 8 kHz through sox, many sentences, voices and speeds.
std::optional<Samples> speak(const std::string& voice, int speed, int pitch, const std::string& text) {
  const auto dir = work_dir();
  const auto text_file = dir / ("speech_" + voice + ".txt");
  const auto raw = dir / ("speech_" + voice + ".raw.wav");
  const auto wav = dir / ("speech_" + voice + ".wav");
  std::ofstream(text_file) << text;
  const std::string command = "espeak-ng -v " + voice + " -s " + std::to_string(speed) + " -p " + std::to_string(pitch) +
                              " -f '" + text_file.string() + "' -w '" + raw.string() + "' >/dev/null 2>&1 && sox '" +
                              raw.string() + "' -r 8000 -c 1 -b 16 '" + wav.string() + "' norm -10 >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) return std::nullopt;
  std::ifstream file(wav, std::ios::binary);
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  auto parsed = parse_wav(bytes);
  if (!parsed) return std::nullopt;
  return std::move(parsed.audio->samples);
}

const char* english_text =
    "Good morning, thank you for calling the sales desk. My name is Anna and I will be looking after your order "
    "today. Could you please tell me your customer number? It should be printed on the top right corner of your "
    "invoice. Thank you. I can see the order for twelve boxes of printer paper, four toner cartridges and a "
    "replacement power supply. The paper and the toner left our warehouse yesterday afternoon, and the courier "
    "expects to deliver them on Thursday between nine and twelve. The power supply is on back order, I am afraid; "
    "our supplier has promised the next batch for the end of the month. Would you like me to send it separately "
    "as soon as it arrives, or would you rather wait and receive everything together? Of course, there is no extra "
    "shipping charge either way. While I have you on the line, may I mention that our spring catalogue is out, "
    "with a fifteen percent discount on office chairs and standing desks until the thirtieth of April. I can "
    "email you a copy if you like. Is there anything else I can help you with today? Wonderful. Have a lovely "
    "day, and thank you again for calling. Hello? Yes, I am still here. One, two, three, four, five, six, seven, "
    "eight, nine, ten. Sorry, the line is very noisy. Could you repeat the last part of the reference, please? ";
const char* mandarin_text =
    "您好，欢迎致电销售部，我是小王，很高兴为您服务。请问您的客户编号是多少？发票右上角就有。好的，谢谢。"
    "我看到您的订单一共是十二箱打印纸，四个墨盒和一个电源适配器。打印纸和墨盒昨天下午已经从仓库发出，"
    "快递预计星期四上午九点到十二点之间送到。电源适配器暂时缺货，供应商承诺月底到货。"
    "您希望到货以后单独寄给您，还是等所有东西一起发货？两种方式都不收额外运费。"
    "另外，我们春季目录已经出来了，办公椅和升降桌四月三十号之前打八五折，需要的话我可以发邮件给您。"
    "请问还有什么可以帮您的吗？好的，祝您生活愉快，再次感谢您的来电。喂？您好，我还在。"
    "一，二，三，四，五，六，七，八，九，十。不好意思，线路有点杂音，请您再说一遍订单号好吗？";

struct TalkOffCount {
  double seconds = 0;
  int digits = 0;
  int caller_ids = 0;
  std::map<std::string, int> tones;
  double cpu_seconds = 0;
};

TalkOffCount run_line(const Samples& audio) {
  TalkOffCount count;
  LineDetectors detectors;  // auto caller ID, DTMF, China tones: the production set
  const std::clock_t started = std::clock();
  constexpr std::size_t block = 160;
  const std::span<const std::int16_t> all(audio);
  for (std::size_t offset = 0; offset < all.size(); offset += block) {
    detectors.push(all.subspan(offset, std::min(block, all.size() - offset)));
    for (const auto& event : detectors.take_events()) {
      if (std::holds_alternative<DtmfDigitEvent>(event)) ++count.digits;
      if (std::holds_alternative<CallerIdEvent>(event)) ++count.caller_ids;
      if (const auto* tone_event = std::get_if<ToneEvent>(&event)) ++count.tones[std::string(to_string(tone_event->tone))];
    }
  }
  count.cpu_seconds = static_cast<double>(std::clock() - started) / CLOCKS_PER_SEC;
  count.seconds = static_cast<double>(audio.size()) / 8000;
  return count;
}

TEST(DetectorBenchmark, TalkOffAndCpu) {
  if (!have("espeak-ng") || !have("sox")) SKIP_OR_FAIL_MISSING() << "espeak-ng or sox missing";
  // Distinct renditions (voice, speed, pitch) until each language has 16 minutes.
  Samples english;
  Samples mandarin;
  int variant = 0;
  while (static_cast<double>(english.size()) < 16 * 60 * 8000.0) {
    const char* voices[] = {"en-us", "en-gb", "en-us+f3", "en-gb+m3"};
    auto speech = speak(voices[variant % 4], 130 + 15 * (variant % 5), 30 + 7 * (variant % 6), english_text);
    ASSERT_TRUE(speech.has_value());
    english.insert(english.end(), speech->begin(), speech->end());
    ++variant;
  }
  variant = 0;
  while (static_cast<double>(mandarin.size()) < 16 * 60 * 8000.0) {
    const char* voices[] = {"cmn", "cmn+f3", "cmn+m3", "cmn+f5"};
    auto speech = speak(voices[variant % 4], 130 + 15 * (variant % 5), 30 + 7 * (variant % 6), mandarin_text);
    ASSERT_TRUE(speech.has_value());
    mandarin.insert(mandarin.end(), speech->begin(), speech->end());
    ++variant;
  }
  // Music-like: triads and bass lines of pure tones moving every 150-400 ms,
  // with a melody on top, 6 minutes. Two or more strong sines at once is what a
  // DTMF receiver must not mistake for a key.
  Samples music;
  const std::vector<double> scale{262, 294, 330, 349, 392, 440, 494, 523, 587, 659, 698, 784, 880, 988, 1047, 1175, 1319, 1397, 1568};
  std::uint32_t state = 7;
  while (static_cast<double>(music.size()) < 6 * 60 * 8000.0) {
    state = state * 1664525u + 1013904223u;
    const std::size_t root = state % 8;
    const double duration = 0.15 + 0.05 * ((state >> 8) % 6);
    const std::vector<double> chord{scale[root] / 2, scale[root], scale[root + 2], scale[root + 4],
                                    scale[(state >> 16) % scale.size()]};
    const auto notes = tone(8000, chord, -20, duration);
    music.insert(music.end(), notes.begin(), notes.end());
  }

  const auto english_count = run_line(english);
  const auto mandarin_count = run_line(mandarin);
  const auto music_count = run_line(music);
  std::ostringstream table;
  table << "| material | minutes | false DTMF digits | false caller IDs | false tones | CPU / real time |\n"
        << "|---|---|---|---|---|---|\n";
  for (const auto& [name, count] : {std::pair{"English speech (espeak-ng, 4 voices)", english_count},
                                    std::pair{"Mandarin speech (espeak-ng -v cmn, 4 voices)", mandarin_count},
                                    std::pair{"music-like chords and melody", music_count}}) {
    std::string tones;
    for (const auto& [tone_name, n] : count.tones) tones += tone_name + " " + std::to_string(n) + " ";
    char ratio[32];
    std::snprintf(ratio, sizeof ratio, "%.4f", count.cpu_seconds / count.seconds);
    table << "| " << name << " | " << std::lround(count.seconds / 60) << " | " << count.digits << " | "
          << count.caller_ids << " | " << (tones.empty() ? "0" : tones) << " | " << ratio << " |\n";
    EXPECT_EQ(count.digits, 0) << name;
    EXPECT_EQ(count.caller_ids, 0) << name;
    EXPECT_TRUE(count.tones.empty()) << name;
  }
  std::cout << "\nTalk-off (all detectors of a line running: auto caller ID, DTMF, China tones)\n\n" << table.str();

  // CPU per detector on 10 minutes of speech with noise, one core.
  Samples line(english.begin(), english.begin() + 10 * 60 * 8000);
  add_noise(line, -20, 30, 5);
  const auto time_of = [&line](LineDetectorOptions options) {
    LineDetectors detectors(std::move(options));
    const std::clock_t started = std::clock();
    const std::span<const std::int16_t> all(line);
    for (std::size_t offset = 0; offset < all.size(); offset += 160) {
      detectors.push(all.subspan(offset, std::min<std::size_t>(160, all.size() - offset)));
      (void)detectors.take_events();
    }
    return static_cast<double>(std::clock() - started) / CLOCKS_PER_SEC / (static_cast<double>(line.size()) / 8000);
  };
  LineDetectorOptions all_on;
  LineDetectorOptions fsk_only{CallerIdDecoders::bell202, false, false, *tone_profile("china")};
  LineDetectorOptions dtmf_only{std::nullopt, true, false, *tone_profile("china")};
  LineDetectorOptions tones_only{std::nullopt, false, true, *tone_profile("china")};
  std::ostringstream cpu;
  cpu << "| detectors | CPU time / real time (one core) | lines per core at 50 % |\n|---|---|---|\n";
  for (const auto& [name, options] : {std::pair{"all (auto caller ID: Bell 202 + V.23 + DTMF; DTMF; tones)", all_on},
                                      std::pair{"caller ID Bell 202 only", fsk_only}, std::pair{"DTMF only", dtmf_only},
                                      std::pair{"call-progress tones only", tones_only}}) {
    const double ratio = time_of(options);
    char text[96];
    std::snprintf(text, sizeof text, "| %s | %.4f | %.0f |\n", name, ratio, 0.5 / ratio);
    cpu << text;
  }
  std::cout << "\nCPU cost of continuous detection per line (160-sample blocks)\n\n" << cpu.str();
}

}  // namespace
}  // namespace deskline::codec
