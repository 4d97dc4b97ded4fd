// Recovery of an Ogg Opus recording cut short by a crash (SIGKILL, power loss,
// full disk). Pure: bytes in, plan out; the caller applies the plan to the
// file. A plan only ever keeps a prefix of the file and writes a short tail
// after it, so applying it twice, or crashing while applying it, is harmless:
// planning the result again says `complete` or repeats the same plan.
//
// Applying a plan to a file on disk (what the daemon does at startup):
//   1. read the file; plan = plan_ogg_repair(bytes);
//   2. refused: keep the file untouched, report plan.reason;
//      complete: nothing to do;
//      repairable: pwrite(fd, plan.tail, plan.keep_bytes), then
//      ftruncate(fd, plan.repaired_size()), then fsync(fd).
// The tail usually replaces the last valid page with the same page flagged
// end-of-stream (the same size or smaller), so a repair needs no new disk
// space, which matters after ENOSPC.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace deskline::codec {

enum class RepairVerdict {
  complete,    // valid Ogg Opus ending with its EOS page: leave it alone
  repairable,  // apply the plan
  refused,     // not Ogg Opus, or its headers are incomplete: keep it, report reason
};

struct RepairPlan {
  RepairVerdict verdict = RepairVerdict::refused;
  std::string reason;  // refused: why; repairable: what was wrong

  // The repaired file is the first keep_bytes of the original followed by tail.
  std::size_t keep_bytes = 0;
  std::vector<std::uint8_t> tail;
  std::size_t dropped_bytes = 0;  // original bytes past the last usable page

  // The (repaired) stream: known unless refused.
  std::uint32_t input_rate_hz = 0;  // from OpusHead; 48000 when it says 0 (unknown)
  std::uint16_t pre_skip = 0;
  std::int64_t final_granule = 0;      // of the EOS page
  std::uint64_t duration_48k = 0;      // playable samples at 48 kHz: final granule - pre-skip
  std::uint64_t duration_samples = 0;  // the same at input_rate_hz
  std::vector<std::string> comments;   // the OpusTags comments (KEY=value), as written

  std::size_t repaired_size() const { return keep_bytes + tail.size(); }
  double duration_s() const { return static_cast<double>(duration_48k) / 48000.0; }
};

RepairPlan plan_ogg_repair(std::span<const std::uint8_t> bytes);

// The repaired bytes (for tests and in-memory callers): the original itself
// when complete, empty when refused.
std::vector<std::uint8_t> apply_ogg_repair(std::span<const std::uint8_t> bytes, const RepairPlan& plan);

}  // namespace deskline::codec
