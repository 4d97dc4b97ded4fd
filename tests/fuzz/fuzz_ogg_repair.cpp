// Fuzzes the crash-repair planner and the Ogg Opus reader: refusals carry a
// reason, plans stay inside the input, a repaired stream plans as complete
// with the same duration, and the reader never yields more audio than the
// plan promises.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "codec/ogg_format.hpp"
#include "codec/ogg_opus_reader.hpp"
#include "codec/ogg_repair.hpp"

namespace {

[[noreturn]] void fail(const char* why) {
  std::fprintf(stderr, "fuzz_ogg_repair: %s\n", why);
  std::abort();
}

// Mutated pages almost never keep a valid CRC; recomputing the CRCs of the
// page chain lets mutations reach the planner's logic behind the page check.
std::vector<std::uint8_t> with_valid_crcs(std::span<const std::uint8_t> bytes) {
  std::vector<std::uint8_t> fixed(bytes.begin(), bytes.end());
  std::size_t offset = 0;
  while (fixed.size() - offset >= deskline::codec::ogg_page_header_size && fixed[offset] == 'O' &&
         fixed[offset + 1] == 'g' && fixed[offset + 2] == 'g' && fixed[offset + 3] == 'S') {
    const std::size_t segments = fixed[offset + 26];
    if (fixed.size() - offset < deskline::codec::ogg_page_header_size + segments) break;
    std::size_t page_size = deskline::codec::ogg_page_header_size + segments;
    for (std::size_t i = 0; i < segments; ++i) page_size += fixed[offset + deskline::codec::ogg_page_header_size + i];
    if (fixed.size() - offset < page_size) break;
    deskline::codec::set_ogg_page_crc(std::span<std::uint8_t>(fixed).subspan(offset, page_size));
    offset += page_size;
  }
  return fixed;
}

void check(std::span<const std::uint8_t> bytes) {
  using namespace deskline::codec;
  const std::size_t size = bytes.size();
  const auto plan = plan_ogg_repair(bytes);
  // The reader must survive anything, repaired or not.
  (void)decode_ogg_opus(bytes);
  if (plan.verdict == RepairVerdict::refused) {
    if (plan.reason.empty()) fail("refusal without a reason");
    return;
  }
  if (plan.keep_bytes > size) fail("plan keeps more than the input");
  if (plan.keep_bytes + plan.dropped_bytes != size && plan.verdict == RepairVerdict::repairable)
    fail("kept and dropped bytes do not add up");
  if (plan.verdict == RepairVerdict::complete && (!plan.tail.empty() || plan.keep_bytes != size))
    fail("complete file would be changed");
  if (plan.verdict == RepairVerdict::repairable && plan.reason.empty()) fail("repair without a reason");

  const auto repaired = apply_ogg_repair(bytes, plan);
  const auto again = plan_ogg_repair(repaired);
  if (again.verdict != RepairVerdict::complete) fail("repaired file is not complete");
  if (again.duration_48k != plan.duration_48k) fail("repair changed the duration");

  const auto decoded = decode_ogg_opus(repaired);
  if (!decoded) fail("repaired file does not decode");
  if (!decoded.complete) fail("repaired file has no end-of-stream page");
  // Damaged packets may decode shorter than the granules say, never longer.
  if (decoded.rate_hz == plan.input_rate_hz && decoded.frames() > plan.duration_samples)
    fail("decoded more audio than the final granule allows");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  check(bytes);
  check(with_valid_crcs(bytes));
  return 0;
}
