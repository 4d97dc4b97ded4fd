// Fuzz target: the request target of any HTTP request to the daemon.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proto/http_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = deskline::proto::http::parse_target(text);
  if (!parsed && parsed.error.empty()) std::abort();  // refused without a reason
  if (parsed) {
    if (parsed.target->path.empty() || parsed.target->path.front() != '/') std::abort();
    if (parsed.target->query.size() > deskline::proto::http::max_query_parameters) std::abort();
    for (const auto& [name, value] : parsed.target->query)
      if (name.find('\0') != std::string::npos || value.find('\0') != std::string::npos) std::abort();
  }
  if (const auto count = deskline::proto::http::parse_count(text, 1000); count && (*count == 0 || *count > 1000))
    std::abort();
  return 0;
}
