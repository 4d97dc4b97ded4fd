// Fuzz target for the API tokens file (proto/api_tokens.*): any bytes are
// entries or a named refusal with its line; accepted entries keep the
// parser's bounds and, written back, read back the same.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "proto/api_tokens.hpp"

namespace {

namespace api_tokens = deskline::proto::api_tokens;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_api_tokens: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = api_tokens::parse(text);
  if (!parsed) {
    if (api_tokens::to_string(parsed.error) == "unknown") fail("refusal without a name");
    if ((parsed.line == 0) != (parsed.error == api_tokens::FileError::too_large)) fail("refusal without its line");
    return 0;
  }
  const auto& entries = *parsed.entries;
  if (entries.size() > api_tokens::max_tokens) fail("too many entries");
  for (const auto& entry : entries)
    if (!api_tokens::valid_name(entry.name) || entry.created.size() != 20) fail("entry out of bounds");
  const auto again = api_tokens::parse(api_tokens::format(entries));
  if (!again || *again.entries != entries) fail("format does not read back");
  if (!entries.empty() && api_tokens::find(entries, "dlk_never-a-token") != nullptr) fail("found a token never added");
  return 0;
}
