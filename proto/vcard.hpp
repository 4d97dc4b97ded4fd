// vCard 2.1 / 3.0 / 4.0 (RFC 2426, RFC 6350) address books for the directory
// import. Pure parser: text in, customer entries and per-card issues out.
//
// Read: FN (name; required), ORG (first component: company), URL, UID (id),
// TEL (each one a phone; label from its TYPE parameters, "tel" when none;
// "tel:" URIs and ";ext=" handled). Line folding (CRLF/LF + space or tab),
// property groups ("item1.TEL"), backslash escapes, and the vCard 2.1
// QUOTED-PRINTABLE encoding Android phones use for Chinese names. A card
// without UID gets a stable id derived from FN and its first TEL, so
// re-importing the same export updates instead of duplicating.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proto/customer_csv.hpp"

namespace deskline::proto::customers {

// Calls sink per accepted card; malformed cards add an issue at their
// BEGIN line. Returns false when the text holds no card at all.
bool parse_vcards(std::string_view text, const EntrySink& sink, std::vector<Issue>& issues);
ParsedCustomers parse_vcards(std::string_view text);

// True when text (after a BOM and blank lines) starts with BEGIN:VCARD.
bool looks_like_vcard(std::string_view text);

// "vcard-" and 16 hex digits of a 64-bit FNV-1a hash of FN and first TEL.
std::string derived_vcard_id(std::string_view full_name, std::string_view first_phone);

}  // namespace deskline::proto::customers
