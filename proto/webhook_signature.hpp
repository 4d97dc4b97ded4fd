// Standard Webhooks v1 symmetric signatures (https://www.standardwebhooks.com,
// the spec's "Signature scheme", "Webhook headers" and "Verifying signatures"),
// as Deskline signs its requests to a CRM (proto/crm.md):
//
//   webhook-signature: v1,<base64 of HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")>
//
// where key is the base64 text of the secret after its "whsec_" prefix,
// decoded. Pure (OpenSSL's libcrypto for the HMAC): no I/O, no clocks; the
// caller passes the time.
//
//   auto key = webhook::parse_secret(text);           // refusal: key.error
//   webhook::Signer signer(*key.key, "call-…-r3", now_s);
//   signer.update(chunk); ...                         // the body, in any pieces
//   request.set("webhook-signature", signer.finish());
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace deskline::proto::webhook {

inline constexpr std::string_view secret_prefix = "whsec_";
// The spec: "At least 24 bytes (192 bits, 512 maximum)".
inline constexpr std::size_t min_key_bytes = 24;
inline constexpr std::size_t max_key_bytes = 64;
// What receivers of proto/crm.md allow between webhook-timestamp and their clock.
inline constexpr std::int64_t default_tolerance_s = 5 * 60;
inline constexpr std::size_t mac_bytes = 32;  // HMAC-SHA256

inline constexpr std::string_view id_header = "webhook-id";
inline constexpr std::string_view timestamp_header = "webhook-timestamp";
inline constexpr std::string_view signature_header = "webhook-signature";

// Why a secret or a signed request was refused. Stable names (to_string):
// they appear in logs and in the reference CRM's answers.
enum class SignatureError {
  missing_prefix = 1,  // secret does not start with "whsec_"
  bad_base64,          // the text after the prefix is not canonical padded base64
  key_too_short,       // key of fewer than min_key_bytes
  key_too_long,        // key of more than max_key_bytes
  bad_id,              // webhook-id empty, too long, or with a '.', space or control character
  bad_timestamp,       // webhook-timestamp not plain decimal Unix seconds
  timestamp_too_old,   // more than the tolerance before now
  timestamp_too_new,   // more than the tolerance after now
  no_v1_signature,     // webhook-signature holds no "v1,..." entry
  signature_mismatch,  // v1 entries, none of them the request's signature
};
std::string_view to_string(SignatureError error);
const std::error_category& signature_category();
std::error_code make_error_code(SignatureError error);

// The HMAC key behind a "whsec_" secret (parse_secret checks its length).
struct SigningKey {
  std::vector<std::uint8_t> bytes;
};

struct ParsedSecret {
  std::optional<SigningKey> key;
  SignatureError error{};
  explicit operator bool() const { return key.has_value(); }
};

// The secret as it is stored in [crm] signing_secret_file; one trailing
// newline (and CR) is forgiven, since files end with one.
ParsedSecret parse_secret(std::string_view text);

// HMAC-SHA256 over "<id>.<timestamp>.<body>", fed the body in pieces so an
// upload is signed as it is read from disk. One signature per Signer.
class Signer {
 public:
  using Mac = std::array<std::uint8_t, mac_bytes>;

  // The id must pass valid_id() (the caller builds it; a bad one is a bug:
  // std::invalid_argument), the timestamp is Unix seconds (>= 0).
  Signer(const SigningKey& key, std::string_view id, std::int64_t timestamp_s);
  ~Signer();
  Signer(Signer&&) noexcept;
  Signer& operator=(Signer&&) noexcept;

  void update(std::span<const std::uint8_t> body_part);
  void update(std::string_view body_part);
  // The raw MAC, then the header value "v1,<base64>". Either ends the Signer
  // (calling one of them twice is a bug: std::logic_error).
  Mac finish_mac();
  std::string finish();

 private:
  struct Hmac;
  std::unique_ptr<Hmac> hmac_;
};

// The whole signature of a body held in memory ("v1,<base64>").
std::string sign(const SigningKey& key, std::string_view id, std::int64_t timestamp_s, std::string_view body);

// A webhook-id that signs unambiguously: 1..256 printable ASCII characters
// without '.' or space (the spec: ids must not hold a '.').
bool valid_id(std::string_view id);

// webhook-timestamp as Unix seconds: 1 to 18 decimal digits, nothing else.
std::optional<std::int64_t> parse_timestamp(std::string_view text);

// The timestamp header against now, both ways: timestamp_too_old,
// timestamp_too_new or bad_timestamp; {} when within tolerance_s.
std::error_code check_timestamp(std::string_view timestamp_text, std::int64_t now_s,
                                std::int64_t tolerance_s = default_tolerance_s);

// Whether a webhook-signature header (space-separated "version,signature"
// entries, e.g. "v1,abc= v1a,xyz= v1,def=") holds mac as a v1 entry. Each v1
// entry is compared in constant time; other versions are skipped.
// no_v1_signature, signature_mismatch, or {} on a match.
std::error_code match_signature(std::string_view signature_text, std::span<const std::uint8_t, mac_bytes> mac);

// The receiver's whole check of a request held in memory, in the spec's
// order: id, timestamp within tolerance_s of now_s, then the signature.
std::error_code verify(const SigningKey& key, std::string_view id, std::string_view timestamp_text,
                       std::string_view signature_text, std::string_view body, std::int64_t now_s,
                       std::int64_t tolerance_s = default_tolerance_s);

}  // namespace deskline::proto::webhook

template <>
struct std::is_error_code_enum<deskline::proto::webhook::SignatureError> : std::true_type {};
