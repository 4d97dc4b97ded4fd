#include "proto/webhook_signature.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <charconv>
#include <stdexcept>
#include <string>

#include "proto/bytes.hpp"

namespace deskline::proto::webhook {
namespace {

class SignatureCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "webhook_signature"; }
  std::string message(int code) const override {
    switch (static_cast<SignatureError>(code)) {
      case SignatureError::missing_prefix: return "signing secret does not start with \"whsec_\"";
      case SignatureError::bad_base64: return "signing secret is not base64 after its \"whsec_\" prefix";
      case SignatureError::key_too_short: return "signing secret holds fewer than 24 bytes";
      case SignatureError::key_too_long: return "signing secret holds more than 64 bytes";
      case SignatureError::bad_id: return "webhook-id is empty, too long, or holds a '.', space or control character";
      case SignatureError::bad_timestamp: return "webhook-timestamp is not decimal Unix seconds";
      case SignatureError::timestamp_too_old: return "webhook-timestamp is too far in the past";
      case SignatureError::timestamp_too_new: return "webhook-timestamp is too far in the future";
      case SignatureError::no_v1_signature: return "webhook-signature holds no v1 signature";
      case SignatureError::signature_mismatch: return "no v1 signature in webhook-signature matches the request";
    }
    return "unknown webhook signature error";
  }
};

constexpr std::size_t max_id_length = 256;
constexpr std::size_t max_timestamp_digits = 18;  // fits int64 whatever the digits

// OpenSSL's HMAC implementation, fetched once (EVP_MAC_fetch costs a lookup).
EVP_MAC* hmac_algorithm() {
  static EVP_MAC* const algorithm = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (!algorithm) throw std::runtime_error("OpenSSL has no HMAC");
  return algorithm;
}

}  // namespace

std::string_view to_string(SignatureError error) {
  switch (error) {
    case SignatureError::missing_prefix: return "missing_prefix";
    case SignatureError::bad_base64: return "bad_base64";
    case SignatureError::key_too_short: return "key_too_short";
    case SignatureError::key_too_long: return "key_too_long";
    case SignatureError::bad_id: return "bad_id";
    case SignatureError::bad_timestamp: return "bad_timestamp";
    case SignatureError::timestamp_too_old: return "timestamp_too_old";
    case SignatureError::timestamp_too_new: return "timestamp_too_new";
    case SignatureError::no_v1_signature: return "no_v1_signature";
    case SignatureError::signature_mismatch: return "signature_mismatch";
  }
  return "unknown";
}

const std::error_category& signature_category() {
  static const SignatureCategory category;
  return category;
}

std::error_code make_error_code(SignatureError error) { return {static_cast<int>(error), signature_category()}; }

ParsedSecret parse_secret(std::string_view text) {
  if (text.ends_with('\n')) text.remove_suffix(1);
  if (text.ends_with('\r')) text.remove_suffix(1);
  if (!text.starts_with(secret_prefix)) return {std::nullopt, SignatureError::missing_prefix};
  auto bytes = from_base64(text.substr(secret_prefix.size()));
  if (!bytes) return {std::nullopt, SignatureError::bad_base64};
  if (bytes->size() < min_key_bytes) return {std::nullopt, SignatureError::key_too_short};
  if (bytes->size() > max_key_bytes) return {std::nullopt, SignatureError::key_too_long};
  return {SigningKey{std::move(*bytes)}, {}};
}

// ---- signing ---------------------------------------------------------------

struct Signer::Hmac {
  EVP_MAC_CTX* context = nullptr;
  ~Hmac() { EVP_MAC_CTX_free(context); }
};

Signer::Signer(const SigningKey& key, std::string_view id, std::int64_t timestamp_s) : hmac_(std::make_unique<Hmac>()) {
  if (!valid_id(id)) throw std::invalid_argument("webhook-id cannot be signed: " + std::string(id));
  if (timestamp_s < 0) throw std::invalid_argument("negative webhook-timestamp");
  hmac_->context = EVP_MAC_CTX_new(hmac_algorithm());
  char digest[] = "SHA256";
  const OSSL_PARAM parameters[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                   OSSL_PARAM_construct_end()};
  if (!hmac_->context || EVP_MAC_init(hmac_->context, key.bytes.data(), key.bytes.size(), parameters) != 1)
    throw std::runtime_error("OpenSSL cannot start an HMAC-SHA256");
  update(id);
  update(".");
  update(std::to_string(timestamp_s));
  update(".");
}

Signer::~Signer() = default;
Signer::Signer(Signer&&) noexcept = default;
Signer& Signer::operator=(Signer&&) noexcept = default;

void Signer::update(std::span<const std::uint8_t> body_part) {
  if (!hmac_) throw std::logic_error("webhook Signer used after finish");
  if (!body_part.empty() && EVP_MAC_update(hmac_->context, body_part.data(), body_part.size()) != 1)
    throw std::runtime_error("OpenSSL HMAC update failed");
}

void Signer::update(std::string_view body_part) {
  update(std::span(reinterpret_cast<const std::uint8_t*>(body_part.data()), body_part.size()));
}

Signer::Mac Signer::finish_mac() {
  if (!hmac_) throw std::logic_error("webhook Signer finished twice");
  Mac mac{};
  std::size_t length = 0;
  if (EVP_MAC_final(hmac_->context, mac.data(), &length, mac.size()) != 1 || length != mac.size())
    throw std::runtime_error("OpenSSL HMAC final failed");
  hmac_.reset();
  return mac;
}

std::string Signer::finish() { return "v1," + to_base64(finish_mac()); }

std::string sign(const SigningKey& key, std::string_view id, std::int64_t timestamp_s, std::string_view body) {
  Signer signer(key, id, timestamp_s);
  signer.update(body);
  return signer.finish();
}

// ---- verifying -------------------------------------------------------------

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > max_id_length) return false;
  for (const char c : id)
    if (c <= 0x20 || c >= 0x7F || c == '.') return false;
  return true;
}

std::optional<std::int64_t> parse_timestamp(std::string_view text) {
  if (text.empty() || text.size() > max_timestamp_digits) return std::nullopt;
  std::int64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;  // no sign, space or exponent
    value = value * 10 + (c - '0');
  }
  return value;
}

std::error_code check_timestamp(std::string_view timestamp_text, std::int64_t now_s, std::int64_t tolerance_s) {
  const auto timestamp = parse_timestamp(timestamp_text);
  if (!timestamp) return SignatureError::bad_timestamp;
  // Both are below 10^18 in magnitude in practice; compare without overflow anyway.
  if (*timestamp < now_s && now_s - *timestamp > tolerance_s) return SignatureError::timestamp_too_old;
  if (*timestamp > now_s && *timestamp - now_s > tolerance_s) return SignatureError::timestamp_too_new;
  return {};
}

std::error_code match_signature(std::string_view signature_text, std::span<const std::uint8_t, mac_bytes> mac) {
  const std::string expected = to_base64(mac);
  bool saw_v1 = false;
  while (!signature_text.empty()) {
    const auto space = signature_text.find(' ');
    const auto entry = signature_text.substr(0, space);
    signature_text = space == std::string_view::npos ? std::string_view() : signature_text.substr(space + 1);
    const auto comma = entry.find(',');
    if (comma == std::string_view::npos || entry.substr(0, comma) != "v1") continue;  // v1a and later
    saw_v1 = true;
    const auto candidate = entry.substr(comma + 1);
    // The length of a v1 signature is public (44 characters); its bytes are compared in constant time.
    if (candidate.size() == expected.size() && CRYPTO_memcmp(candidate.data(), expected.data(), expected.size()) == 0)
      return {};
  }
  return saw_v1 ? SignatureError::signature_mismatch : SignatureError::no_v1_signature;
}

std::error_code verify(const SigningKey& key, std::string_view id, std::string_view timestamp_text,
                       std::string_view signature_text, std::string_view body, std::int64_t now_s,
                       std::int64_t tolerance_s) {
  if (!valid_id(id)) return SignatureError::bad_id;
  if (const auto error = check_timestamp(timestamp_text, now_s, tolerance_s)) return error;
  Signer signer(key, id, *parse_timestamp(timestamp_text));
  signer.update(body);
  return match_signature(signature_text, signer.finish_mac());
}

}  // namespace deskline::proto::webhook
