// A backlog of answered calls, each with a complete Ogg Opus recording of
// S seconds of speech made by codec/ogg_opus at the box's 8 kHz with the
// daemon's default settings and tags, stored through daemon/store as the
// daemon stores them over a call's life (with the CRM outbox on, so
// migration 7's triggers queue them as in production). Built once, cached
// under /tmp; the CRM drain bench uploads it, the download bench serves it.
#pragma once

#include <fcntl.h>
#include <time.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "codec/ogg_opus.hpp"
#include "daemon/archive/recording_file.hpp"
#include "daemon/domain/recording_tags.hpp"
#include "daemon/store/store.hpp"
#include "tests/bench/bench_run.hpp"
#include "tests/bench/pop_measure.hpp"
#include "tests/bench/speech_audio.hpp"

namespace deskline::bench {

struct BacklogCall {
  daemon::CallRecord call;            // ended
  daemon::RecordingRecord recording;  // complete
};

struct Backlog {
  std::vector<BacklogCall> calls;
  std::uint64_t bytes = 0;
  std::string audio_source;
};

// <recordings>/YYYY/MM/DD/<call id>.opus by the call's local start date, as
// the daemon's RecordingService names them.
inline fs::path recording_path(const fs::path& root, const daemon::CallRecord& call) {
  const std::time_t seconds = call.started_at / 1'000'000;
  std::tm local{};
  localtime_r(&seconds, &local);
  return root / fmt::format("{:04}", local.tm_year + 1900) / fmt::format("{:02}", local.tm_mon + 1) /
         fmt::format("{:02}", local.tm_mday) / (call.id + ".opus");
}

// The calls of the backlog, a day ago, 70 s apart on 8 lines.
inline std::vector<BacklogCall> plan_backlog(int count, int seconds, const fs::path& data_dir) {
  const auto now = static_cast<daemon::WallTimeUs>(realtime_s() * 1e6);
  const daemon::WallTimeUs first = now - 86'400'000'000LL;
  std::vector<BacklogCall> calls;
  for (int i = 0; i < count; ++i) {
    BacklogCall entry;
    auto& call = entry.call;
    call.id = fmt::format("d1a1b0c5-0000-4000-8000-{:012x}", i);
    call.port = 1 + i % 8;
    call.line = fmt::format("Sales {}", call.port);
    call.box = "X800-DRAIN";
    call.user = fmt::format("Desk {}", call.port);
    call.direction = daemon::Direction::inbound;
    call.number = fmt::format("1380013{:04d}", i % 10000);
    call.match.e164 = "+86" + call.number;
    call.match.display = fmt::format("138 0013 {:04d}", i % 10000);
    call.started_at = first + std::int64_t{i} * 70'000'000;
    call.answered_at = call.started_at + 4'200'000;
    call.ended_at = *call.answered_at + std::int64_t{seconds} * 1'000'000;
    entry.recording.call_id = call.id;
    entry.recording.path = recording_path(data_dir / "recordings", call).string();
    entry.recording.started_at = *call.answered_at;
    calls.push_back(std::move(entry));
  }
  return calls;
}

// One call's recording, as the daemon's encoder writes it (default
// [recording] bitrate and complexity, 200 ms pages, the daemon's tags).
inline void encode_recording(BacklogCall& entry, std::span<const std::int16_t> audio) {
  auto& recording = entry.recording;
  fs::create_directories(fs::path(recording.path).parent_path());
  const int fd = ::open(recording.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) fail("cannot create " + recording.path);
  codec::FdSink sink(fd, codec::FdSink::Ownership::owned);
  std::error_code error;
  auto writer = codec::OggOpusWriter::create({}, daemon::recording_comments(entry.call, recording.started_at),
                                             sink, error);
  if (!writer) fail("encoder: " + error.message());
  if ((error = writer->write(audio)) || (error = writer->finish()) || (error = sink.close(codec::FdSink::Sync::later)))
    fail(recording.path + ": " + error.message());
  recording.state = daemon::RecordingState::complete;
  recording.duration_s = writer->duration_s();
  recording.bytes = fs::file_size(recording.path);
  recording.sha256 = daemon::sha256_of_file(recording.path);
}

// Stores the calls as the daemon does over a call's life, each write its own
// transaction: the call at answer, its recording row, the call ended
// (queues its entry), the recording complete (queues it and the entry again).
inline void store_backlog(const fs::path& database, std::vector<BacklogCall>& calls) {
  auto store = daemon::Store::open(database);
  if (!store) fail("store: " + store.error().message());
  auto outbox = (*store)->open_crm_outbox();
  if (!outbox) fail("outbox: " + outbox.error().message());
  if (auto on = (*outbox)->set_queueing(true); !on) fail("outbox: " + on.error().message());
  for (auto& [call, recording] : calls) {
    auto active = call;
    active.state = daemon::CallState::active;
    auto row = recording;
    row.state = daemon::RecordingState::recording;
    row.duration_s = 0;
    row.bytes = 0;
    row.sha256.clear();
    call.state = daemon::CallState::ended;
    call.outcome = daemon::Outcome::answered;
    call.end_reason = daemon::EndReason::on_hook;
    const auto check = [](const daemon::Result<void>& written) {
      if (!written) fail("store: " + written.error().message());
    };
    check((*store)->insert_call(active));
    check((*store)->insert_recording(row));
    check((*store)->update_call(call));
    check((*store)->update_recording(recording));
  }
  const auto summary = (*outbox)->summary();
  if (!summary || summary->pending != static_cast<std::int64_t>(2 * calls.size()))
    fail(fmt::format("the outbox holds {} pending items, not {}", summary ? summary->pending : -1, 2 * calls.size()));
}

// Reads the copied backlog's rows back (the plan's times moved on since it
// was built). The rows name their files by absolute path, those of the
// folder the cache was built in: rows elsewhere are moved to data_dir's
// files (a path change alone queues nothing for the CRM).
inline void read_backlog(const fs::path& data_dir, const fs::path& cache, Backlog& backlog) {
  auto store = daemon::Store::open(data_dir / "deskline.db");
  if (!store) fail("store: " + store.error().message());
  for (auto& [call, recording] : backlog.calls) {
    auto stored_call = (*store)->find_call(call.id);
    auto stored_recording = (*store)->find_recording(call.id);
    if (!stored_call || !*stored_call || !stored_recording || !*stored_recording)
      fail("the cached backlog in " + cache.string() + " lacks call " + call.id + ": delete it");
    call = **stored_call;
    recording = **stored_recording;
    const auto here = recording_path(data_dir / "recordings", call).string();
    if (recording.path != here) {
      recording.path = here;
      if (auto moved = (*store)->update_recording(recording); !moved) fail("store: " + moved.error().message());
    }
    backlog.bytes += recording.bytes;
  }
}

// Builds the backlog of `count` calls of `seconds` each into data_dir, or
// copies it from the cache.
inline Backlog prepare_backlog(int count, int seconds, const fs::path& data_dir) {
  const fs::path cache = fs::temp_directory_path() / fmt::format("deskline-crm-drain-{}x{}s", count, seconds);
  Backlog backlog;
  backlog.calls = plan_backlog(count, seconds, data_dir);
  fs::remove_all(data_dir);
  if (fs::exists(cache / "complete")) {
    fs::create_directories(data_dir.parent_path());
    fs::copy(cache / "data", data_dir, fs::copy_options::recursive);
    read_backlog(data_dir, cache, backlog);
    backlog.audio_source = "cached in " + cache.string();
    return backlog;
  }
  fs::create_directories(data_dir);
  const double speech_s = 600;
  const fs::path speech_cache = fs::temp_directory_path() / "deskline-bench";  // shared with the recording bench
  fs::create_directories(speech_cache);
  const Samples speech = speech_audio(speech_cache, speech_s, backlog.audio_source);
  const auto call_samples = static_cast<std::size_t>(seconds) * rate_hz;
  if (speech.size() < call_samples) fail("--seconds is longer than the speech (600 s)");
  std::fprintf(stderr, "encoding %d recordings of %d s (once; cached in %s)...\n", count, seconds, cache.c_str());
  // Two encoder threads: one per core, as two lines recording would.
  std::vector<std::thread> encoders;
  for (int part = 0; part < 2; ++part)
    encoders.emplace_back([&, part] {
      for (std::size_t i = static_cast<std::size_t>(part); i < backlog.calls.size(); i += 2) {
        // Each call starts at another place in the speech.
        const std::size_t offset = (i * 37 * rate_hz) % (speech.size() - call_samples + 1);
        encode_recording(backlog.calls[i], std::span(speech).subspan(offset, call_samples));
      }
    });
  for (auto& encoder : encoders) encoder.join();
  store_backlog(data_dir / "deskline.db", backlog.calls);
  for (const auto& entry : backlog.calls) backlog.bytes += entry.recording.bytes;
  fs::remove_all(cache);
  fs::create_directories(cache);
  fs::copy(data_dir, cache / "data", fs::copy_options::recursive);
  std::ofstream(cache / "complete") << "ok\n";
  return backlog;
}

}  // namespace deskline::bench
