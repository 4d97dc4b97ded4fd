// Crash recovery: a valid recording cut at every page boundary and at a
// sample of offsets inside pages must be repaired into a file opusinfo accepts
// and that decodes to the audio that was kept.
#include <gtest/gtest.h>

#include <set>

#include "codec/generators.hpp"
#include "codec/ogg_opus_reader.hpp"
#include "codec/ogg_repair.hpp"
#include "codec/wav.hpp"
#include "tests/unit/recording_test_support.hpp"

namespace deskline::codec {
namespace {

using namespace testing_support;

Bytes recording(double seconds, std::uint32_t rate_hz = 8000) {
  const double frequencies[] = {440.0, 1000.0};
  return encode_to_bytes(tone(rate_hz, frequencies, -12, seconds), {.rate_hz = rate_hz}, {"DESKLINE_CALL_ID=r-1"});
}

Bytes prefix(const Bytes& bytes, std::size_t size) {
  return Bytes(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(size));
}

// Audio (48 kHz samples after pre-skip) on the pages wholly inside the first `size` bytes.
std::int64_t audio_within(const std::vector<OggPageAt>& pages, std::size_t size, std::int64_t pre_skip) {
  std::int64_t granule = pre_skip;
  for (std::size_t index = 2; index < pages.size(); ++index)
    if (pages[index].offset + pages[index].page.size <= size) granule = pages[index].page.granule;
  return std::max<std::int64_t>(granule - pre_skip, 0);
}

TEST(OggRepair, CompleteFileIsLeftAlone) {
  const auto bytes = recording(2.0);
  const auto plan = plan_ogg_repair(bytes);
  EXPECT_EQ(plan.verdict, RepairVerdict::complete) << plan.reason;
  EXPECT_EQ(plan.keep_bytes, bytes.size());
  EXPECT_TRUE(plan.tail.empty());
  EXPECT_EQ(plan.dropped_bytes, 0u);
  EXPECT_EQ(plan.input_rate_hz, 8000u);
  EXPECT_EQ(plan.duration_samples, 16000u);
  EXPECT_DOUBLE_EQ(plan.duration_s(), 2.0);
  EXPECT_EQ(apply_ogg_repair(bytes, plan), bytes);
}

class OggRepairCutTest : public ::testing::TestWithParam<std::uint32_t> {};
INSTANTIATE_TEST_SUITE_P(NativeRates, OggRepairCutTest, ::testing::Values(8000u, 16000u),
                         [](const auto& info) { return std::to_string(info.param) + "Hz"; });

TEST_P(OggRepairCutTest, CutAtPageBoundariesAndInsidePagesIsRepaired) {
  const std::uint32_t rate = GetParam();
  const bool check_with_opusinfo = have_tool("opusinfo");
  const auto original = recording(3.1, rate);
  const auto pages = pages_of(original);
  ASSERT_GT(pages.size(), 10u);
  const std::size_t headers_end = pages[1].offset + pages[1].page.size;
  const std::int64_t pre_skip = 312;

  std::set<std::size_t> cuts;
  for (const auto& page : pages) {
    cuts.insert(page.offset);  // every page boundary
    for (const std::size_t inside : {std::size_t{1}, std::size_t{4}, std::size_t{26}, std::size_t{27}, std::size_t{28},
                                     page.page.size / 2, page.page.size - 1})
      if (inside < page.page.size) cuts.insert(page.offset + inside);
  }
  cuts.insert(original.size() - 1);
  TempDir dir;
  std::size_t opusinfo_runs = 0;
  for (const std::size_t cut : cuts) {
    SCOPED_TRACE("cut at byte " + std::to_string(cut) + " of " + std::to_string(original.size()));
    const auto damaged = prefix(original, cut);
    const auto plan = plan_ogg_repair(damaged);
    if (cut < headers_end) {
      EXPECT_EQ(plan.verdict, RepairVerdict::refused);
      EXPECT_FALSE(plan.reason.empty());
      EXPECT_TRUE(apply_ogg_repair(damaged, plan).empty());
      continue;
    }
    ASSERT_EQ(plan.verdict, RepairVerdict::repairable) << plan.reason;
    EXPECT_FALSE(plan.reason.empty());
    EXPECT_LE(plan.keep_bytes, cut);
    EXPECT_EQ(plan.keep_bytes + plan.dropped_bytes, cut);
    // A repair never needs more room than the damaged file had, except to end a headers-only file.
    if (cut >= pages[2].offset + pages[2].page.size) {
      EXPECT_LE(plan.repaired_size(), cut);
    }

    const auto repaired = apply_ogg_repair(damaged, plan);
    ASSERT_EQ(repaired.size(), plan.repaired_size());
    const auto again = plan_ogg_repair(repaired);
    EXPECT_EQ(again.verdict, RepairVerdict::complete) << again.reason;
    EXPECT_EQ(again.duration_48k, plan.duration_48k);

    // The kept audio is what the whole pages before the cut held: at most one
    // page (200 ms) less than the bytes that reached the disk.
    const std::int64_t expected_48k = audio_within(pages, cut, pre_skip);
    EXPECT_EQ(static_cast<std::int64_t>(plan.duration_48k), expected_48k);
    EXPECT_EQ(plan.duration_samples, static_cast<std::uint64_t>(expected_48k) * rate / 48000);
    const auto decoded = decode_ogg_opus(repaired);
    ASSERT_TRUE(decoded) << decoded.error;
    EXPECT_TRUE(decoded.complete);
    EXPECT_EQ(decoded.frames(), plan.duration_samples);

    // opusinfo on every boundary cut and on a third of the others.
    const bool at_boundary = plan.dropped_bytes == 0;
    if (check_with_opusinfo && (at_boundary || cut % 3 == 0)) {
      const auto path = dir / "repaired.opus";
      write_file(path, repaired);
      std::string output;
      EXPECT_EQ(run_command("opusinfo " + path.string(), output), 0) << output;
      EXPECT_TRUE(opusinfo_clean(output)) << output;
      ++opusinfo_runs;
    }
  }
  if (check_with_opusinfo) {
    EXPECT_GT(opusinfo_runs, pages.size());
  }
}

TEST(OggRepair, HeadersOnlyFileGetsAnEmptyEndOfStreamPage) {
  const auto original = recording(1.0);
  const auto pages = pages_of(original);
  const auto damaged = prefix(original, pages[2].offset + 10);
  const auto plan = plan_ogg_repair(damaged);
  ASSERT_EQ(plan.verdict, RepairVerdict::repairable) << plan.reason;
  EXPECT_EQ(plan.keep_bytes, pages[2].offset);
  EXPECT_EQ(plan.duration_samples, 0u);
  const auto repaired = apply_ogg_repair(damaged, plan);
  const auto decoded = decode_ogg_opus(repaired);
  ASSERT_TRUE(decoded) << decoded.error;
  EXPECT_TRUE(decoded.complete);
  EXPECT_EQ(decoded.frames(), 0u);
  EXPECT_EQ(find_opus_comment(decoded.tags, "DESKLINE_CALL_ID"), "r-1");
}

TEST(OggRepair, RefusesWhatIsNotOggOpus) {
  EXPECT_EQ(plan_ogg_repair({}).verdict, RepairVerdict::refused);
  WavAudio audio;
  audio.samples.assign(800, 100);
  const auto wav = encode_wav(audio);
  auto plan = plan_ogg_repair(wav);
  EXPECT_EQ(plan.verdict, RepairVerdict::refused);
  EXPECT_EQ(plan.reason, "not an Ogg file");

  // A valid Ogg page whose packet is not an OpusHead (Vorbis, say).
  const std::string vorbis = "\x01vorbis-identification-header";
  const Bytes packet(vorbis.begin(), vorbis.end());
  const std::span<const std::uint8_t> packets[] = {packet};
  auto page = build_ogg_page(1234, 0, ogg_flag_bos, 0, packets);
  plan = plan_ogg_repair(page);
  EXPECT_EQ(plan.verdict, RepairVerdict::refused);
  EXPECT_NE(plan.reason.find("OpusHead"), std::string::npos) << plan.reason;

  // A stream whose first page is not a beginning of stream.
  page = build_ogg_page(1234, 0, 0, 0, packets);
  EXPECT_EQ(plan_ogg_repair(page).verdict, RepairVerdict::refused);
}

TEST(OggRepair, RefusesFilesWhoseHeadersAreIncomplete) {
  const auto original = recording(1.0);
  const auto pages = pages_of(original);
  for (const std::size_t cut :
       {std::size_t{3}, std::size_t{30}, pages[1].offset, pages[1].offset + 40, pages[2].offset - 1}) {
    const auto plan = plan_ogg_repair(prefix(original, cut));
    EXPECT_EQ(plan.verdict, RepairVerdict::refused) << "cut at " << cut;
    EXPECT_NE(plan.reason.find("incomplete"), std::string::npos) << plan.reason;
  }
  // A CRC-damaged OpusTags page is as good as missing.
  auto damaged = original;
  damaged[pages[1].offset + 40] ^= 0x20;
  const auto plan = plan_ogg_repair(damaged);
  EXPECT_EQ(plan.verdict, RepairVerdict::refused);
  EXPECT_NE(plan.reason.find("incomplete"), std::string::npos) << plan.reason;
}

TEST(OggRepair, StrayBytesAfterTheEndOfStreamAreDropped) {
  const auto original = recording(1.0);
  auto damaged = original;
  damaged.insert(damaged.end(), 300, 0);  // a file system's zero-filled tail
  const auto plan = plan_ogg_repair(damaged);
  ASSERT_EQ(plan.verdict, RepairVerdict::repairable) << plan.reason;
  EXPECT_EQ(plan.dropped_bytes, 300u);
  EXPECT_EQ(apply_ogg_repair(damaged, plan), original);
  EXPECT_EQ(plan.duration_samples, 8000u);
}

TEST(OggRepair, ChainedStreamIsLeftAlone) {
  auto chained = recording(0.5);
  const auto second = recording(0.5);
  chained.insert(chained.end(), second.begin(), second.end());
  const auto plan = plan_ogg_repair(chained);
  EXPECT_EQ(plan.verdict, RepairVerdict::complete);
  EXPECT_EQ(plan.keep_bytes, chained.size());
}

TEST(OggRepair, DamagedMiddlePageEndsTheKeptAudio) {
  const auto original = recording(3.0);
  const auto pages = pages_of(original);
  auto damaged = original;
  damaged[pages[6].offset + 50] ^= 0x01;  // bit rot in the fifth audio page
  const auto plan = plan_ogg_repair(damaged);
  ASSERT_EQ(plan.verdict, RepairVerdict::repairable) << plan.reason;
  EXPECT_EQ(plan.keep_bytes, pages[5].offset);
  EXPECT_EQ(static_cast<std::int64_t>(plan.duration_48k), pages[5].page.granule - 312);
}

TEST(OggRepair, InterruptedRepairCanBeRepeated) {
  const auto original = recording(2.0);
  const auto damaged = prefix(original, original.size() - 150);
  const auto plan = plan_ogg_repair(damaged);
  ASSERT_EQ(plan.verdict, RepairVerdict::repairable);
  const auto repaired = apply_ogg_repair(damaged, plan);
  // Crash after writing the tail but before truncating: the old bytes remain behind it.
  Bytes interrupted = repaired;
  interrupted.insert(interrupted.end(), damaged.begin() + static_cast<std::ptrdiff_t>(repaired.size()), damaged.end());
  ASSERT_GT(interrupted.size(), repaired.size());
  const auto second = plan_ogg_repair(interrupted);
  ASSERT_EQ(second.verdict, RepairVerdict::repairable) << second.reason;
  EXPECT_EQ(apply_ogg_repair(interrupted, second), repaired);
  EXPECT_EQ(second.duration_48k, plan.duration_48k);
}

TEST(OggRepair, UnfinishedPacketSpanningPagesIsDropped) {
  // Hand-built stream: headers, one audio page ending with a packet that
  // continues on a page the crash cut off.
  const auto original = recording(0.5);
  const auto pages = pages_of(original);
  Bytes bytes = prefix(original, pages[2].offset);
  const Bytes audio_packet(40, 0x08);
  const Bytes long_packet(600, 0x08);  // lacing 255, 255, 90: split after two segments
  const std::span<const std::uint8_t> packets[] = {audio_packet, long_packet};
  auto page = build_ogg_page(pages[0].page.serial, 2, 0, 960, packets);
  // Keep the first packet and the first 510 bytes of the long one on this page.
  page[26] = 3;  // lacing values: 40, 255, 255
  page.erase(page.begin() + 30, page.begin() + 31);
  page.resize(27 + 3 + 40 + 510);
  set_ogg_page_crc(page);
  bytes.insert(bytes.end(), page.begin(), page.end());
  const auto plan = plan_ogg_repair(bytes);
  ASSERT_EQ(plan.verdict, RepairVerdict::repairable) << plan.reason;
  EXPECT_EQ(plan.tail.size(), 27u + 1u + 40u);
  EXPECT_EQ(plan.final_granule, 960);
  OggPage reemitted;
  ASSERT_EQ(parse_ogg_page(plan.tail, reemitted), OggParse::complete);
  EXPECT_TRUE(reemitted.eos());
  EXPECT_EQ(reemitted.packets_completed(), 1u);
}

}  // namespace
}  // namespace deskline::codec
