// The streamed Ogg Opus to PCM decoder of WAV downloads, against opusdec
// --no-dither at the recording's rate: the same samples, however the file
// is sliced, and the length known from head and tail alone.
#include "codec/ogg_opus_pcm.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "codec/generators.hpp"
#include "codec/wav.hpp"
#include "tests/require_tools.hpp"
#include "tests/unit/recording_test_support.hpp"

namespace deskline::codec {
namespace {

using namespace testing_support;

// A tone with noise, loud enough to exercise rounding, with a clipped burst.
Samples test_signal(std::uint32_t rate_hz, double seconds) {
  const double frequencies[] = {697, 1209};
  auto samples = tone(rate_hz, frequencies, -6, seconds);
  add_noise(samples, -6, 20, 7);
  for (std::size_t i = samples.size() / 2; i < samples.size() / 2 + rate_hz / 10 && i < samples.size(); ++i)
    samples[i] = static_cast<std::int16_t>(i % 2 ? 32767 : -32768);
  return samples;
}

std::vector<std::int16_t> stream_decode(std::span<const std::uint8_t> file, std::uint32_t rate_hz, std::size_t slice) {
  std::error_code error;
  const auto head = file.first(std::min<std::size_t>(file.size(), 4096));
  const auto tail = file.last(std::min<std::size_t>(file.size(), 65536));
  const auto length = read_opus_pcm_length(head, tail, error);
  EXPECT_TRUE(length) << error.message();
  if (!length) return {};
  auto stream = OggOpusPcmStream::create(*length, rate_hz, error);
  EXPECT_TRUE(stream) << error.message();
  if (!stream) return {};
  std::vector<std::int16_t> pcm;
  for (std::size_t at = 0; at < file.size(); at += slice)
    EXPECT_FALSE(stream->feed(file.subspan(at, std::min(slice, file.size() - at)), pcm));
  EXPECT_FALSE(stream->finish(pcm));
  EXPECT_EQ(pcm.size(), length->frames_at(rate_hz));
  EXPECT_EQ(stream->frames_out(), length->frames_at(rate_hz));
  return pcm;
}

class OggOpusPcmTest : public ::testing::TestWithParam<std::uint32_t> {};
INSTANTIATE_TEST_SUITE_P(NativeRates, OggOpusPcmTest, ::testing::Values(8000u, 16000u),
                         [](const auto& info) { return std::to_string(info.param) + "Hz"; });

TEST_P(OggOpusPcmTest, SameSamplesAsOpusdecInAnySlices) {
  if (!have_tool("opusdec")) SKIP_OR_FAIL_MISSING() << "opus-tools not installed";
  const std::uint32_t rate = GetParam();
  for (const std::size_t length : {std::size_t{1}, std::size_t{161}, std::size_t{rate * 3 + 7}}) {
    SCOPED_TRACE(length);
    auto samples = test_signal(rate, 4.0);
    samples.resize(length);
    const auto file = encode_to_bytes(samples, {.rate_hz = rate});
    TempDir dir;
    write_file(dir / "in.opus", file);
    std::string output;
    ASSERT_EQ(run_command("opusdec --quiet --no-dither --rate " + std::to_string(rate) + " " +
                              (dir / "in.opus").string() + " " + (dir / "out.wav").string(),
                          output),
              0)
        << output;
    const auto reference = parse_wav(read_file(dir / "out.wav"));
    ASSERT_TRUE(reference) << reference.error;
    for (const std::size_t slice : {std::size_t{1}, std::size_t{1000}, file.size()}) {
      const auto pcm = stream_decode(file, rate, slice);
      ASSERT_EQ(pcm.size(), reference.audio->samples.size()) << "slices of " << slice;
      EXPECT_TRUE(pcm == reference.audio->samples) << "slices of " << slice;
    }
  }
}

TEST(OggOpusPcm, RefusesWhatItCannotDecode) {
  std::error_code error;
  const Bytes garbage(100, 0x42);
  EXPECT_FALSE(read_opus_pcm_length(garbage, garbage, error));
  EXPECT_EQ(error, OpusPcmError::not_opus);
  const auto file = encode_to_bytes(Samples(800, 0));
  // A tail without any page of the stream.
  EXPECT_FALSE(read_opus_pcm_length(file, garbage, error));
  EXPECT_EQ(error, OpusPcmError::not_opus);
  const auto length = read_opus_pcm_length(file, file, error);
  ASSERT_TRUE(length) << error.message();
  EXPECT_EQ(length->frames_at(8000), 800u);
  EXPECT_FALSE(OggOpusPcmStream::create(*length, 44100, error));
  EXPECT_EQ(error, OpusPcmError::unsupported_rate);
}

TEST(OggOpusPcm, AWavHeaderForTheLengthAnnounced) {
  const auto header = encode_wav_header(8000, 1, 8000);
  ASSERT_EQ(header.size(), wav_header_size);
  auto file = header;
  file.resize(header.size() + 16000);
  const auto parsed = parse_wav(file);
  ASSERT_TRUE(parsed) << parsed.error;
  EXPECT_EQ(parsed.audio->samples.size(), 8000u);
}

}  // namespace
}  // namespace deskline::codec
