// Fuzz target for the X800 framer. Any input is tried as a report and as a
// command; whatever decodes must survive encode -> decode unchanged, so the
// decoder never accepts a value the encoder cannot reproduce.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "proto/x800.hpp"

namespace {

namespace x800 = deskline::proto::x800;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_x800: %s\n", what);
  std::abort();
}

template <typename Value, typename Encode, typename Decode>
void check_round_trip(const Value& value, Encode encode, Decode decode) {
  const auto bytes = encode(value);
  if (bytes.size() > x800::max_frame_size) fail("encoded frame longer than one packet");
  const auto again = decode(std::span<const std::uint8_t>(bytes));
  if (!again) fail("re-encoded frame does not decode");
  if (!(*again.value == value)) fail("re-encoded frame decodes to a different value");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  if (const auto report = x800::decode_report(bytes))
    check_round_trip(*report.value, x800::encode_report, x800::decode_report);
  if (const auto command = x800::decode_command(bytes))
    check_round_trip(*command.value, x800::encode_command, x800::decode_command);
  return 0;
}
