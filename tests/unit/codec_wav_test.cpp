#include "codec/wav.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace deskline::codec {
namespace {

using Bytes = std::vector<std::uint8_t>;
using testing::HasSubstr;

void put_u16(Bytes& out, std::uint32_t value) {
  out.push_back(static_cast<std::uint8_t>(value));
  out.push_back(static_cast<std::uint8_t>(value >> 8));
}
void put_u32(Bytes& out, std::uint32_t value) {
  put_u16(out, value & 0xFFFF);
  put_u16(out, value >> 16);
}
void put_id(Bytes& out, std::string_view id) { out.insert(out.end(), id.begin(), id.end()); }

Bytes chunk(std::string_view id, const Bytes& body, bool pad = true) {
  Bytes out;
  put_id(out, id);
  put_u32(out, static_cast<std::uint32_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
  if (pad && body.size() % 2 == 1) out.push_back(0);
  return out;
}

Bytes fmt_body(std::uint16_t tag, std::uint16_t channels, std::uint32_t rate, std::uint16_t bits,
               std::uint16_t block_align) {
  Bytes body;
  put_u16(body, tag);
  put_u16(body, channels);
  put_u32(body, rate);
  put_u32(body, rate * block_align);
  put_u16(body, block_align);
  put_u16(body, bits);
  return body;
}

Bytes pcm_fmt(std::uint16_t channels = 1, std::uint32_t rate = 8000) {
  return chunk("fmt ", fmt_body(1, channels, rate, 16, static_cast<std::uint16_t>(channels * 2)));
}

Bytes data_chunk(std::vector<std::int16_t> samples) {
  Bytes body;
  for (const auto sample : samples) put_u16(body, static_cast<std::uint16_t>(sample));
  return chunk("data", body);
}

// RIFF/WAVE header around the given chunks, with a correct RIFF length.
Bytes riff(std::vector<Bytes> chunks, std::string_view form = "WAVE") {
  Bytes inner;
  put_id(inner, form);
  for (const auto& c : chunks) inner.insert(inner.end(), c.begin(), c.end());
  Bytes out;
  put_id(out, "RIFF");
  put_u32(out, static_cast<std::uint32_t>(inner.size()));
  out.insert(out.end(), inner.begin(), inner.end());
  return out;
}

TEST(CodecWav, RoundTrip) {
  const std::vector<WavAudio> cases{
      {8000, 1, {0, 1, -1, 32767, -32768, 1234}},
      {16000, 2, {100, -100, 200, -200}},
      {48000, 4, {1, 2, 3, 4, 5, 6, 7, 8}},
      {8000, 1, {}},
  };
  for (const auto& audio : cases) {
    const auto bytes = encode_wav(audio);
    EXPECT_EQ(bytes.size(), 44 + audio.samples.size() * 2);
    const auto parsed = parse_wav(bytes);
    ASSERT_TRUE(parsed) << parsed.error;
    EXPECT_EQ(parsed.audio->rate_hz, audio.rate_hz);
    EXPECT_EQ(parsed.audio->channels, audio.channels);
    EXPECT_EQ(parsed.audio->samples, audio.samples);
    EXPECT_TRUE(parsed.error.empty());
  }
}

TEST(CodecWav, EncodedHeaderIsCanonical) {
  const auto bytes = encode_wav({16000, 2, {1, 2}});
  const Bytes expected_header{
      'R', 'I', 'F', 'F', 40, 0, 0, 0, 'W', 'A', 'V', 'E',  // RIFF length 36 + 4 data bytes
      'f', 'm', 't', ' ', 16, 0, 0, 0,                      // fmt chunk of 16 bytes
      1, 0, 2, 0,                                           // PCM, 2 channels
      0x80, 0x3E, 0, 0,                                     // 16000 Hz
      0x00, 0xFA, 0, 0,                                     // 64000 bytes per second
      4, 0, 16, 0,                                          // block align 4, 16 bits
      'd', 'a', 't', 'a', 4, 0, 0, 0,                       // data of 4 bytes
      1, 0, 2, 0};
  EXPECT_EQ(bytes, expected_header);
}

TEST(CodecWav, EncodeRefusesImpossibleAudio) {
  EXPECT_THROW(encode_wav({8000, 0, {}}), std::invalid_argument);
  EXPECT_THROW(encode_wav({0, 1, {}}), std::invalid_argument);
  EXPECT_THROW(encode_wav({8000, 2, {1, 2, 3}}), std::invalid_argument);
}

TEST(CodecWav, SkipsUnknownChunksAndOddPadding) {
  const Bytes odd_body{'a', 'b', 'c'};  // 3 bytes then a pad byte
  const auto bytes = riff({chunk("LIST", odd_body), pcm_fmt(), chunk("fact", {1, 0, 0, 0, 9}), data_chunk({5, -5})});
  const auto parsed = parse_wav(bytes);
  ASSERT_TRUE(parsed) << parsed.error;
  EXPECT_EQ(parsed.audio->samples, (std::vector<std::int16_t>{5, -5}));
}

TEST(CodecWav, DataBeforeFmtAndChunksAfterData) {
  const auto parsed = parse_wav(riff({data_chunk({7, 8, 9, 10}), pcm_fmt(2, 11025), chunk("cue ", {0, 0, 0, 0})}));
  ASSERT_TRUE(parsed) << parsed.error;
  EXPECT_EQ(parsed.audio->rate_hz, 11025u);
  EXPECT_EQ(parsed.audio->channels, 2);
  EXPECT_EQ(parsed.audio->samples, (std::vector<std::int16_t>{7, 8, 9, 10}));
}

TEST(CodecWav, MissingPadAfterLastOddChunkIsTolerated) {
  const auto parsed = parse_wav(riff({pcm_fmt(), data_chunk({3}), chunk("junk", {1}, false)}));
  ASSERT_TRUE(parsed) << parsed.error;
  EXPECT_EQ(parsed.audio->samples, (std::vector<std::int16_t>{3}));
}

TEST(CodecWav, BytesAfterTheRiffLengthAreIgnored) {
  auto bytes = riff({pcm_fmt(), data_chunk({3, 4})});
  bytes.insert(bytes.end(), {'j', 'u', 'n', 'k', 0xFF, 0xFF, 0xFF, 0xFF});
  const auto parsed = parse_wav(bytes);
  ASSERT_TRUE(parsed) << parsed.error;
  EXPECT_EQ(parsed.audio->samples, (std::vector<std::int16_t>{3, 4}));
}

TEST(CodecWav, ExtensiblePcmIsAccepted) {
  auto body = fmt_body(0xFFFE, 4, 8000, 16, 8);
  put_u16(body, 22);          // extension size
  put_u16(body, 16);          // valid bits
  put_u32(body, 0x33);        // channel mask
  put_u16(body, 1);           // sub-format GUID starts with the PCM tag...
  body.insert(body.end(), 14, 0);  // ...the rest of the GUID is not inspected
  const auto parsed = parse_wav(riff({chunk("fmt ", body), data_chunk({1, 2, 3, 4})}));
  ASSERT_TRUE(parsed) << parsed.error;
  EXPECT_EQ(parsed.audio->channels, 4);
}

// One case per way a file is refused (a test each), with the words its error must carry.
struct BadWav {
  const char* name;
  Bytes bytes;
  const char* error;
};

// Names the case in gtest output instead of dumping the struct's bytes.
void PrintTo(const BadWav& bad, std::ostream* out) { *out << bad.name; }

Bytes with_riff_length(Bytes bytes, std::uint32_t length) {
  for (int i = 0; i < 4; ++i) bytes[4 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(length >> (8 * i));
  return bytes;
}

Bytes without_last(Bytes bytes, std::size_t count) {
  bytes.resize(bytes.size() - count);
  return bytes;
}

std::vector<BadWav> bad_wavs() {
  const auto good = riff({pcm_fmt(), data_chunk({1, 2})});
  auto extensible_float = fmt_body(0xFFFE, 1, 8000, 16, 2);
  put_u16(extensible_float, 22);
  put_u16(extensible_float, 16);
  put_u32(extensible_float, 4);
  put_u16(extensible_float, 3);  // IEEE float sub-format
  extensible_float.insert(extensible_float.end(), 14, 0);
  return {
      {"empty", {}, "truncated"},
      {"shorter_than_riff_header", Bytes(good.begin(), good.begin() + 10), "truncated"},
      {"not_riff", [&] { auto b = good; b[3] = 'X'; return b; }(), "not RIFF"},
      {"not_wave", riff({pcm_fmt(), data_chunk({1})}, "AVI "), "not WAVE"},
      {"no_fmt", riff({data_chunk({1, 2})}), "no fmt"},
      {"no_data", riff({pcm_fmt()}), "no data"},
      {"float_format", riff({chunk("fmt ", fmt_body(3, 1, 8000, 32, 4)), data_chunk({1, 2})}), "not PCM"},
      {"extensible_float", riff({chunk("fmt ", extensible_float), data_chunk({1})}), "not PCM"},
      {"extensible_fmt_too_short", riff({chunk("fmt ", fmt_body(0xFFFE, 1, 8000, 16, 2)), data_chunk({1})}),
       "extensible fmt chunk shorter"},
      {"eight_bit", riff({chunk("fmt ", fmt_body(1, 1, 8000, 8, 1)), data_chunk({1})}), "not 16-bit"},
      {"twenty_four_bit", riff({chunk("fmt ", fmt_body(1, 1, 8000, 24, 3)), data_chunk({1})}), "not 16-bit"},
      {"fmt_too_short", riff({chunk("fmt ", Bytes{1, 0, 1, 0}), data_chunk({1})}), "fmt chunk shorter"},
      {"zero_channels", riff({chunk("fmt ", fmt_body(1, 0, 8000, 16, 0)), data_chunk({1})}), "zero channels"},
      {"zero_rate", riff({chunk("fmt ", fmt_body(1, 1, 0, 16, 2)), data_chunk({1})}), "zero sample rate"},
      {"block_align_mismatch", riff({chunk("fmt ", fmt_body(1, 2, 8000, 16, 2)), data_chunk({1, 2})}),
       "block align"},
      {"data_not_whole_frames", riff({pcm_fmt(2), data_chunk({1, 2, 3})}), "not a multiple of block align"},
      {"data_odd_byte_count", riff({pcm_fmt(), chunk("data", Bytes{1, 2, 3})}), "not a multiple of block align"},
      {"riff_length_past_end", with_riff_length(good, 1000), "truncated: RIFF length"},
      {"riff_length_inside_header", with_riff_length(good, 2), "RIFF length shorter"},
      {"data_runs_past_end", with_riff_length(without_last(good, 2), static_cast<std::uint32_t>(good.size() - 10)),
       "truncated: chunk runs past"},
      {"partial_chunk_header",
       [&] {
         auto b = good;
         b.insert(b.end(), {'L', 'I', 'S'});
         return with_riff_length(b, static_cast<std::uint32_t>(b.size() - 8));
       }(),
       "truncated: partial chunk header"},
  };
}

class CodecWavRefusal : public testing::TestWithParam<BadWav> {};

TEST_P(CodecWavRefusal, HasAClearError) {
  const auto parsed = parse_wav(GetParam().bytes);
  EXPECT_FALSE(parsed);
  EXPECT_FALSE(parsed.audio.has_value());
  EXPECT_THAT(parsed.error, HasSubstr(GetParam().error));
}

INSTANTIATE_TEST_SUITE_P(EachErrorPath, CodecWavRefusal, testing::ValuesIn(bad_wavs()),
                         [](const testing::TestParamInfo<BadWav>& info) { return std::string(info.param.name); });

TEST(CodecWav, EveryPrefixOfAValidFileIsRefusedNotMisread) {
  const auto good = encode_wav({8000, 1, {1, 2, 3}});
  for (std::size_t length = 0; length < good.size(); ++length) {
    const auto parsed = parse_wav(std::span(good).first(length));
    EXPECT_FALSE(parsed) << "prefix of " << length << " bytes";
    EXPECT_THAT(parsed.error, HasSubstr("truncated")) << "prefix of " << length << " bytes";
  }
}

// `deskline analyze` reads the first bytes, then the samples block by block.
TEST(CodecWavLayout, FromTheHeadOfALargerFile) {
  const auto bytes = riff({chunk("LIST", Bytes(10, 0)), pcm_fmt(2, 16000), data_chunk({1, 2, 3, 4, 5, 6}),
                           chunk("cue ", Bytes(4, 0))});
  const std::size_t data_offset = 12 + 18 + 24 + 8;  // RIFF, LIST, fmt, data chunk header
  // The head may end anywhere after the data chunk's header.
  for (std::size_t head = data_offset; head <= bytes.size(); ++head) {
    SCOPED_TRACE(head);
    const auto parsed = parse_wav_layout(std::span(bytes).first(head), bytes.size());
    ASSERT_TRUE(parsed) << parsed.error;
    EXPECT_EQ(parsed.layout->rate_hz, 16000u);
    EXPECT_EQ(parsed.layout->channels, 2);
    EXPECT_EQ(parsed.layout->data_offset, data_offset);
    EXPECT_EQ(parsed.layout->data_bytes, 12u);
    EXPECT_EQ(parsed.layout->frames(), 3u);
  }
  const auto short_head = parse_wav_layout(std::span(bytes).first(data_offset - 1), bytes.size());
  EXPECT_FALSE(short_head);
  EXPECT_EQ(short_head.error, "fmt or data chunk starts after the first 61 bytes");
  // fmt after the data must be in the head too.
  const auto late_fmt = riff({data_chunk({1, 2}), pcm_fmt()});
  EXPECT_EQ(parse_wav_layout(std::span(late_fmt).first(24), late_fmt.size()).error,
            "fmt or data chunk starts after the first 24 bytes");
  EXPECT_EQ(parse_wav_layout(std::span(late_fmt).first(36), late_fmt.size()).error,
            "fmt chunk ends after the first 36 bytes");
  EXPECT_TRUE(parse_wav_layout(late_fmt, late_fmt.size()));
}

}  // namespace
}  // namespace deskline::codec
