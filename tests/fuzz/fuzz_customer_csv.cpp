// Fuzz target for the customer CSV parser (proto/customer_csv.hpp). Any bytes
// either give entries that keep the documented invariants (id and name set,
// valid UTF-8, within the limits, lines inside the text, increasing) or issues with a message
// and a line inside the text; a file without a usable header gives no entry.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "proto/customer_csv.hpp"

namespace {

namespace customers = deskline::proto::customers;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_customer_csv: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = customers::parse_csv(text);
  const int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  if (!parsed.usable && !parsed.entries.empty()) fail("entries from an unusable file");
  if (!parsed.usable && parsed.issues.empty()) fail("unusable without a reason");
  int previous_line = 0;
  for (const auto& entry : parsed.entries) {
    if (entry.id.empty() || entry.name.empty()) fail("entry without id or name");
    if (entry.line <= previous_line || entry.line > lines) fail("entry line out of order or outside the text");
    previous_line = entry.line;
    if (entry.offset >= size) fail("entry offset outside the text");
    if (customers::exceeded_limit(entry)) fail("entry past a limit accepted");
    for (const auto* field : {&entry.id, &entry.name, &entry.company, &entry.url})
      if (!customers::is_valid_utf8(*field)) fail("invalid UTF-8 accepted");
    for (const auto& phone : entry.phones) {
      if (phone.raw.empty()) fail("empty phone kept");
      if (!customers::is_valid_utf8(phone.raw) || !customers::is_valid_utf8(phone.label)) fail("bad UTF-8 phone");
    }
  }
  for (const auto& issue : parsed.issues) {
    if (issue.message.empty()) fail("issue without a message");
    if (issue.line < 1 || issue.line > lines) fail("issue line outside the text");
  }
  return 0;
}
