// The boxes' audio: one FIFO per box behind an ALSA "file" PCM named
// deskline_<SERIAL> (docs/architecture.md §7), fed by one writer thread.
//
// Like a sound card, every box streams all its lines continuously: every
// 20 ms the writer renders one interleaved S16LE chunk per box (silence plus
// whatever clips play on each line) at real-time pace. Frame k of a power-up
// is the sample at box time k / rate (x800.md section 3): the stream is paced
// from the box's epoch, so clips scheduled at a box time land on that sample.
//
// The FIFO is opened O_WRONLY|O_NONBLOCK: with no reader the open fails and
// the chunk is discarded (nobody is capturing); when the reader falls behind
// and the pipe is full the chunk is dropped and counted, like an overrunning
// sound card. The writer never blocks and never holds up the scenario clock.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "codec/generators.hpp"
#include "proto/scenario.hpp"
#include "tools/sim/clock.hpp"

namespace deskline::sim {

struct AudioClip {
  std::uint8_t line_index = 0;  // channel
  Nanoseconds start_ns = 0;     // monotonic time of the first sample
  std::shared_ptr<const codec::Samples> samples;
};

struct AudioStats {
  std::uint64_t chunks_written = 0;
  std::uint64_t chunks_dropped = 0;    // reader present but the pipe was full
  std::uint64_t chunks_unread = 0;     // no reader had the PCM open
};

class AudioWriter {
 public:
  AudioWriter();
  ~AudioWriter();
  AudioWriter(const AudioWriter&) = delete;
  AudioWriter& operator=(const AudioWriter&) = delete;

  // "deskline_" + serial with every non-alphanumeric character as '_'.
  static std::string pcm_name(const std::string& serial);

  // Creates one FIFO per box and the ALSA configuration in directory.
  // Returns false (after logging) on failure.
  bool prepare(const std::string& directory, const std::vector<proto::scenario::BoxDecl>& boxes);
  const std::string& config_path() const { return config_path_; }

  // Called with (box index, monotonic time of the first dropped frame) when
  // chunks are dropped while a reader is connected; at most once a second per box.
  void set_overrun_callback(std::function<void(std::size_t, Nanoseconds)> callback);

  void start();
  void stop();

  // Power-up restarts the box's frame count at epoch_ns; while powered down
  // the box's channels carry silence.
  void power(std::size_t box_index, bool on, Nanoseconds epoch_ns);
  void add_clip(std::size_t box_index, AudioClip clip);
  AudioStats stats(std::size_t box_index) const;

 private:
  struct Stream;
  void run();
  void write_due_chunks(Stream& stream, std::size_t stream_index, Nanoseconds now);
  void write_chunk(Stream& stream, std::size_t stream_index, Nanoseconds now);

  std::string config_path_;
  std::vector<std::unique_ptr<Stream>> streams_;
  std::function<void(std::size_t, Nanoseconds)> overrun_callback_;
  mutable std::mutex mutex_;  // guards each stream's "incoming" side and stats
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace deskline::sim
