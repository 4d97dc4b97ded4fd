// Fuzzes the WAV parser: refusals carry a reason, and accepted audio is
// consistent and survives an encode/parse round trip unchanged.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "codec/wav.hpp"

namespace {

[[noreturn]] void fail(const char* why) {
  std::fprintf(stderr, "fuzz_wav: %s\n", why);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parsed = deskline::codec::parse_wav(std::span<const std::uint8_t>(data, size));
  if (!parsed) {
    if (parsed.error.empty()) fail("refusal without a reason");
    return 0;
  }
  const auto& audio = *parsed.audio;
  if (!parsed.error.empty()) fail("accepted file carries an error");
  if (audio.channels == 0 || audio.rate_hz == 0) fail("accepted impossible format");
  if (audio.samples.size() % audio.channels != 0) fail("partial frame accepted");
  if (audio.samples.size() * 2 > size) fail("more samples than bytes");
  const auto again = deskline::codec::parse_wav(deskline::codec::encode_wav(audio));
  if (!again) fail("re-encoded audio refused");
  if (again.audio->rate_hz != audio.rate_hz || again.audio->channels != audio.channels ||
      again.audio->samples != audio.samples)
    fail("re-encoded audio differs");
  return 0;
}
