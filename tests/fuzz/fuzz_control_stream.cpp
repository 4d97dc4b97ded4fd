// Fuzz target: what any local client may send on a control connection, as
// the daemon reads it: the byte stream in pieces (the first byte says how
// long each piece is), cut into lines (LineFramer), each line parsed.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proto/control.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace deskline::proto::control;
  if (size == 0) return 0;
  const std::size_t piece = std::size_t{data[0]} + 1;
  std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  LineFramer framer;
  std::string line;
  while (true) {
    const auto framed = framer.next(line);
    if (framed == Framed::too_long) return 0;  // the daemon answers and hangs up
    if (framed == Framed::line) {
      if (line.size() >= max_request_bytes || line.find('\n') != std::string::npos) std::abort();
      const auto parsed = parse_request(line);
      if (parsed.error.empty() == !parsed) std::abort();  // refused without a reason, or accepted with one
      if (parsed && (parsed.request->limit == 0 || parsed.request->limit > max_calls_per_page)) std::abort();
      continue;
    }
    if (stream.empty()) return 0;
    const auto taken = std::min(piece, stream.size());
    framer.append(stream.substr(0, taken));
    stream.remove_prefix(taken);
  }
}
