// Fuzz target: what any local client may send to the control socket.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proto/control.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parsed = deskline::proto::control::parse_request({reinterpret_cast<const char*>(data), size});
  if (!parsed && parsed.error.empty()) std::abort();  // refused without a reason
  if (parsed && !parsed.error.empty()) std::abort();  // accepted with a reason
  return 0;
}
