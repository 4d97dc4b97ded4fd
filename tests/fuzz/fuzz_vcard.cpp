// Fuzz target for the vCard parser (proto/vcard.hpp), its value decoders,
// and the phone number normaliser on every TEL it yields (the import runs
// both). Accepted cards have an id and a name in valid UTF-8, keep the
// limits, and have lines inside the text; issues have a message and a line
// inside the text; a decoder gives bytes no longer than its input or a
// refusal with a reason; a normalised number is E.164 ("+" and 2 to 15
// digits) or a refusal with a reason.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "daemon/directory/phone_number.hpp"
#include "proto/vcard.hpp"

namespace {

namespace customers = deskline::proto::customers;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_vcard: %s\n", what);
  std::abort();
}

void check_number(const deskline::daemon::PhoneNumberNormaliser& normaliser, std::string_view raw) {
  const auto result = normaliser.normalise(raw);
  if (!result) {
    if (result.reason.empty()) fail("refusal without a reason");
    return;
  }
  const auto& e164 = result.number->e164;
  if (e164.size() < 3 || e164.size() > 16 || e164[0] != '+' ||
      !std::all_of(e164.begin() + 1, e164.end(), [](char c) { return c >= '0' && c <= '9'; }))
    fail("normalised number is not E.164");
  if (result.number->extension.size() > 6) fail("extension too long");
  if (normaliser.display(e164, result.number->extension).empty()) fail("empty display");
  // The lookup key of an accepted number, when the hand path knows its shape,
  // must be the same E.164 or lookups would miss stored numbers.
  std::string extension;
  const auto key = normaliser.lookup_key(raw, &extension);
  if (!key.empty() && key != e164 && normaliser.is_valid_e164(key)) fail("lookup key disagrees with normalise");
}

void check_decoded(const customers::DecodedValue& decoded, std::size_t input_size) {
  if (decoded.bytes ? !decoded.refusal.empty() || decoded.bytes->size() > input_size : decoded.refusal.empty())
    fail("decoder gave neither bytes nor a reason, or more bytes than its input");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const deskline::daemon::PhoneNumberNormaliser normaliser("CN", "10");
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_decoded(customers::decode_quoted_printable(text), size);
  check_decoded(customers::decode_base64(text), size);
  check_number(normaliser, customers::tel_uri_as_text(text));
  const auto parsed = customers::parse_vcards(text);
  const int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  if (!parsed.usable && !parsed.entries.empty()) fail("entries without a card");
  int previous_line = 0;
  for (const auto& entry : parsed.entries) {
    if (entry.id.empty() || entry.name.empty()) fail("card without id or name");
    if (entry.line <= previous_line || entry.line > lines) fail("card line out of order or outside the text");
    if (customers::exceeded_limit(entry)) fail("card past a limit accepted");
    previous_line = entry.line;
    for (const auto* field : {&entry.id, &entry.name, &entry.company, &entry.url})
      if (!customers::is_valid_utf8(*field)) fail("invalid UTF-8 accepted");
    for (const auto& phone : entry.phones) {
      if (phone.label.empty() || phone.raw.empty()) fail("empty phone label or value");
      if (!customers::is_valid_utf8(phone.label)) fail("invalid UTF-8 label");
      check_number(normaliser, phone.raw);
    }
  }
  for (const auto& issue : parsed.issues) {
    if (issue.message.empty()) fail("issue without a message");
    if (issue.line < 1 || issue.line > lines) fail("issue line outside the text");
  }
  return 0;
}
