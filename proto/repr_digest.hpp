// The Repr-Digest field of RFC 9530 ("Digest Fields"), which carries the
// SHA-256 of a recording both ways (proto/crm.md): Deskline sends
//
//   Repr-Digest: sha-256=:<base64 of the 32-byte SHA-256>:
//
// with an upload and accepts it only when the CRM answers the same digest.
// The field is an RFC 8941 structured-field dictionary: a sender may list
// several algorithms ("sha-512=:…:, sha-256=:…:"), with parameters; the
// parser reads the whole dictionary and picks sha-256. Pure: no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace deskline::proto::digest {

inline constexpr std::string_view repr_digest_header = "Repr-Digest";
inline constexpr std::size_t sha256_bytes = 32;
using Sha256 = std::array<std::uint8_t, sha256_bytes>;

// Why a Repr-Digest value was refused. Stable names (to_string).
enum class DigestError {
  bad_syntax = 1,    // not an RFC 8941 dictionary (bad key, item, separator, …)
  no_sha256,         // a dictionary without a sha-256 member
  not_byte_sequence, // sha-256 is there, but not a byte sequence (":…:")
  bad_length,        // sha-256 is a byte sequence of other than 32 bytes
};
std::string_view to_string(DigestError error);
const std::error_category& digest_category();
std::error_code make_error_code(DigestError error);

struct ParsedDigest {
  std::optional<Sha256> sha256;
  DigestError error{};
  explicit operator bool() const { return sha256.has_value(); }
};

// "sha-256=:<base64>:" (the field value, without the name).
std::string format_repr_digest(std::span<const std::uint8_t, sha256_bytes> sha256);

// The sha-256 member of a Repr-Digest value. Several field lines are one
// value joined with ", " (RFC 9110 5.3); a repeated key keeps its last value
// (RFC 8941 4.2.2). A byte sequence may lack its '=' padding (RFC 8941 4.2.7).
ParsedDigest parse_repr_digest(std::string_view value);

}  // namespace deskline::proto::digest

template <>
struct std::is_error_code_enum<deskline::proto::digest::DigestError> : std::true_type {};
