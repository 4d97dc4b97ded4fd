// Fuzzes the caller-ID parsers: whatever parse or parse_dtmf accepts must
// re-encode without throwing and parse back to the same message.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <span>
#include <string_view>

#include "proto/callerid.hpp"

namespace callerid = deskline::proto::callerid;

namespace {

[[noreturn]] void fail(const char* why) {
  std::fprintf(stderr, "fuzz_callerid: %s\n", why);
  std::abort();
}

void check_frame(std::span<const std::uint8_t> bytes) {
  const auto parsed = callerid::parse(bytes);
  if (!parsed) {
    if (parsed.message) fail("refused frame carries a message");
    return;
  }
  if (bytes.size() < 3 || parsed.consumed != std::size_t{bytes[1]} + 3u || parsed.consumed > bytes.size())
    fail("consumed does not match the length byte");
  try {
    const auto encoded = callerid::encode(*parsed.message);
    const auto again = callerid::parse(encoded);
    if (!again) fail("re-encoded message does not parse");
    if (*again.message != *parsed.message) fail("re-encoded message parses differently");
    if (again.consumed != encoded.size()) fail("re-encoded frame not consumed whole");
  } catch (const std::exception& error) {
    std::fprintf(stderr, "fuzz_callerid: encode threw: %s\n", error.what());
    std::abort();
  }
}

void check_dtmf(std::string_view digits) {
  const auto parsed = callerid::parse_dtmf(digits);
  if (!parsed) return;
  for (const auto style : {callerid::DtmfStyle::china, callerid::DtmfStyle::etsi}) {
    try {
      const auto again = callerid::parse_dtmf(callerid::encode_dtmf(*parsed, style));
      if (!again || *again != *parsed) fail("re-encoded DTMF caller ID parses differently");
    } catch (const std::exception& error) {
      std::fprintf(stderr, "fuzz_callerid: encode_dtmf threw: %s\n", error.what());
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  check_frame(bytes);
  check_dtmf(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
