// Fuzz target for the base URL of the CRM client (proto/http_url.hpp): an
// accepted URL has a host, a port and a path that does not end in '/', and
// its normalised text parses back to the same parts; a refusal is named.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "proto/http_url.hpp"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_http_url: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace http = deskline::proto::http;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = http::parse_url(text);
  if (!parsed) {
    if (http::to_string(parsed.error) == "unknown") fail("refused without a named reason");
    return 0;
  }
  const auto& url = *parsed.url;
  if (url.host.empty() || url.port == 0) fail("no host or port");
  if (url.path.ends_with('/')) fail("path ends with '/'");
  if (!url.path.empty() && url.path.front() != '/') fail("path does not start with '/'");
  for (const char c : url.host + url.path)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F) fail("control character kept");
  const auto again = http::parse_url(url.text());
  if (!again) fail("normalised text refused");
  if (again.url->tls != url.tls || again.url->host != url.host || again.url->port != url.port ||
      again.url->path != url.path || again.url->host_is_ip != url.host_is_ip)
    fail("normalised text parses differently");
  return 0;
}
