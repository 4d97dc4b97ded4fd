// vCard 2.1 / 3.0 / 4.0 (RFC 2426, RFC 6350) address books for the directory
// import. Pure parser: text in, customer entries and per-card issues out.
//
// Read: FN (name; required), ORG (first component: company), URL, UID (id),
// TEL (each one a phone; label from its TYPE parameters, "tel" when none;
// "tel:" URIs and ";ext=" handled). Line folding (CRLF/LF + space or tab),
// property groups ("item1.TEL"), backslash escapes, the encodings
// QUOTED-PRINTABLE (vCard 2.1, Android's Chinese names; soft line breaks)
// and BASE64 / B, and the charsets UTF-8, US-ASCII and ISO-8859-1. A value
// of a property that is read but cannot be decoded rejects its card with
// the reason: nothing is stored still encoded or silently dropped. A card
// without UID gets a stable id derived from FN and its first TEL, so
// re-importing the same export updates instead of duplicating. Limits:
// proto/customer_csv.hpp and proto/customers.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/customer_csv.hpp"

namespace deskline::proto::customers {

// A property value after its content-transfer encoding (RFC 2045), or why
// it could not be decoded.
struct DecodedValue {
  std::optional<std::string> bytes;
  std::string refusal;  // "\"=G1\" is not an escape"
  explicit operator bool() const { return bytes.has_value(); }
};
// "=XX" escapes (either case); soft line breaks are already joined, so an
// '=' that ends the value is refused (its next line started a property).
DecodedValue decode_quoted_printable(std::string_view value);
// RFC 4648 alphabet, spaces and line breaks ignored, padding optional.
DecodedValue decode_base64(std::string_view value);

// An RFC 3966 tel: URI ("tel:" optional) as the text a person writes:
// "tel:+1-555-0100;ext=12" -> "+1-555-0100 ext 12",
// "tel:6234-5678;phone-context=+86-10" -> "+86-10 6234-5678"; other
// parameters (isub, a domain phone-context) are dropped.
std::string tel_uri_as_text(std::string_view uri);

// Calls sink per accepted card; malformed cards add an issue at their
// BEGIN line. Returns false when the text holds no card at all.
bool parse_vcards(std::string_view text, const EntrySink& sink, std::vector<Issue>& issues);
ParsedCustomers parse_vcards(std::string_view text);

// True when text (after a BOM and blank lines) starts with BEGIN:VCARD.
bool looks_like_vcard(std::string_view text);

// "vcard-" and 16 hex digits of a 64-bit FNV-1a hash of FN and first TEL.
std::string derived_vcard_id(std::string_view full_name, std::string_view first_phone);

}  // namespace deskline::proto::customers
