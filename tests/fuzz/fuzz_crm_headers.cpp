// Fuzz target for the header parsers of the CRM exchange (proto/crm.md):
// the "whsec_" secret, webhook-id/-timestamp/-signature verification, base64,
// Repr-Digest (RFC 9530 over an RFC 8941 dictionary), Retry-After and HTTP
// dates. Each accepted value must survive its formatter and parse back the
// same; refusals must carry a named reason. The input is split on newlines
// so the verifier gets an id, a timestamp, a signature header and a body.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proto/bytes.hpp"
#include "proto/repr_digest.hpp"
#include "proto/retry_after.hpp"
#include "proto/webhook_signature.hpp"

namespace {

namespace webhook = deskline::proto::webhook;
namespace digest = deskline::proto::digest;
namespace http = deskline::proto::http;
using deskline::proto::from_base64;
using deskline::proto::from_base64_lenient;
using deskline::proto::to_base64;

constexpr std::int64_t now_s = 1764205200;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_crm_headers: %s\n", what);
  std::abort();
}

std::string_view next_line(std::string_view& text) {
  const auto end = text.find('\n');
  const auto line = text.substr(0, end);
  text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  return line;
}

void check_base64(std::string_view text) {
  if (const auto bytes = from_base64(text)) {
    if (to_base64(*bytes) != text) fail("strict base64 accepted a non-canonical text");
    if (from_base64_lenient(text) != bytes) fail("lenient base64 disagrees with strict");
  }
  if (const auto bytes = from_base64_lenient(text); bytes && bytes->size() > text.size()) fail("base64 grew");
}

void check_secret(std::string_view text) {
  const auto parsed = webhook::parse_secret(text);
  if (!parsed) {
    if (webhook::to_string(parsed.error) == "unknown") fail("secret refused without a named reason");
    return;
  }
  const auto size = parsed.key->bytes.size();
  if (size < webhook::min_key_bytes || size > webhook::max_key_bytes) fail("key length outside 24..64");
  const auto again = webhook::parse_secret("whsec_" + to_base64(parsed.key->bytes));
  if (!again || again.key->bytes != parsed.key->bytes) fail("secret does not round-trip");
}

void check_verify(std::string_view text) {
  static const webhook::SigningKey key{std::vector<std::uint8_t>(32, 0x42)};
  const auto id = next_line(text);
  const auto timestamp = next_line(text);
  const auto signature = next_line(text);
  const auto body = text;
  const auto error = webhook::verify(key, id, timestamp, signature, body, now_s);
  if (error && error.category() != webhook::signature_category()) fail("verify failed outside its category");
  if (!error) {
    // Accepted: the header must hold exactly the signature the signer makes.
    const auto expected = webhook::sign(key, id, *webhook::parse_timestamp(timestamp), body);
    if (signature.find(expected) == std::string_view::npos) fail("verify accepted a signature nobody made");
  }
  if (webhook::valid_id(id) && webhook::parse_timestamp(timestamp)) {
    const auto made = webhook::sign(key, id, *webhook::parse_timestamp(timestamp), body);
    if (webhook::verify(key, id, timestamp, made, body, *webhook::parse_timestamp(timestamp)))
      fail("a fresh signature does not verify");
  }
}

void check_repr_digest(std::string_view text) {
  const auto parsed = digest::parse_repr_digest(text);
  if (!parsed) {
    if (digest::to_string(parsed.error) == "unknown") fail("Repr-Digest refused without a named reason");
    return;
  }
  const auto again = digest::parse_repr_digest(digest::format_repr_digest(*parsed.sha256));
  if (!again || *again.sha256 != *parsed.sha256) fail("Repr-Digest does not round-trip");
}

void check_retry_after(std::string_view text) {
  const auto parsed = http::parse_retry_after(text, now_s);
  if (parsed && (*parsed.delay_s < 0 || *parsed.delay_s > http::max_delay_s)) fail("delay out of range");
  if (!parsed && http::to_string(parsed.error) == "unknown") fail("Retry-After refused without a named reason");
  if (const auto date = http::parse_http_date(text, now_s); date && *date >= 0) {
    if (http::parse_http_date(http::format_http_date(*date), now_s) != date) fail("HTTP date does not round-trip");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_base64(text);
  check_secret(text);
  check_verify(text);
  check_repr_digest(text);
  check_retry_after(text);
  return 0;
}
