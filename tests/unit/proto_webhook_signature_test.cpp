// Standard Webhooks signatures: the spec's reference vector, vectors
// computed independently (Python's hmac module), and one test per refusal.
#include "proto/webhook_signature.hpp"

#include <gtest/gtest.h>

#include <string>

#include "proto/bytes.hpp"

namespace deskline::proto::webhook {
namespace {

// The reference libraries' signing vector (standard-webhooks, libraries/*/tests).
constexpr std::string_view reference_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view reference_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr std::int64_t reference_timestamp = 1614265330;
constexpr std::string_view reference_body = R"({"test": 2432232314})";
constexpr std::string_view reference_signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

// A 64-byte key 00 01 … 3f; signatures from Python:
//   hmac.new(key, b"rec-7-abcdef.1764205201." + body, hashlib.sha256)
constexpr std::string_view long_secret =
    "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";

SigningKey key_of(std::string_view secret) {
  auto parsed = parse_secret(secret);
  if (!parsed) throw std::runtime_error("test secret refused: " + std::string(to_string(parsed.error)));
  return *parsed.key;
}

// 100000 bytes (i * 7) mod 256: an upload-sized body.
std::string long_body() {
  std::string body(100000, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 7 % 256);
  return body;
}

TEST(ProtoWebhookSignature, ReferenceVector) {
  const auto key = key_of(reference_secret);
  EXPECT_EQ(key.bytes.size(), 24u);  // the shortest key the spec allows
  EXPECT_EQ(sign(key, reference_id, reference_timestamp, reference_body), reference_signature);
}

TEST(ProtoWebhookSignature, IndependentVectorsWithA64ByteKey) {
  const auto key = key_of(long_secret);
  ASSERT_EQ(key.bytes.size(), 64u);
  EXPECT_EQ(sign(key, "rec-7-abcdef", 1764205201, long_body()), "v1,5IsK6yvRr7w822TXkA7e6u0FQsegWNkgaSwIGcRsXms=");
  // A GET: the body is empty and the signed text ends with the second '.'.
  EXPECT_EQ(sign(key, "customers-1", 1764205201, ""), "v1,S0qx2l/ssfyTk4lvohb29OtjegZCjJpNNgkUZcrMORw=");
}

TEST(ProtoWebhookSignature, BodyInPiecesSignsLikeTheWhole) {
  const auto key = key_of(long_secret);
  const auto body = long_body();
  Signer signer(key, "rec-7-abcdef", 1764205201);
  for (std::size_t offset = 0; offset < body.size(); offset += 4093)
    signer.update(std::string_view(body).substr(offset, 4093));
  signer.update(std::string_view());
  EXPECT_EQ(signer.finish(), "v1,5IsK6yvRr7w822TXkA7e6u0FQsegWNkgaSwIGcRsXms=");
}

TEST(ProtoWebhookSignature, SignerIsSpentAfterFinish) {
  Signer signer(key_of(reference_secret), reference_id, reference_timestamp);
  (void)signer.finish_mac();
  EXPECT_THROW(signer.update("more"), std::logic_error);
  EXPECT_THROW((void)signer.finish(), std::logic_error);
}

TEST(ProtoWebhookSignature, SignerRefusesAnIdThatSignsAmbiguously) {
  const auto key = key_of(reference_secret);
  for (const char* id : {"", "a.b", "a b", "a\x01"})
    EXPECT_THROW(Signer(key, id, reference_timestamp), std::invalid_argument) << id;
  EXPECT_THROW(Signer(key, "id", -1), std::invalid_argument);
}

// ---- secrets ---------------------------------------------------------------

TEST(ProtoWebhookSignature, SecretFromAFileEndingInANewline) {
  EXPECT_TRUE(parse_secret(std::string(reference_secret) + "\n"));
  EXPECT_TRUE(parse_secret(std::string(reference_secret) + "\r\n"));
  EXPECT_EQ(parse_secret(std::string(reference_secret) + "\n\n").error, SignatureError::bad_base64);
}

TEST(ProtoWebhookSignature, SecretRefusals) {
  const std::string key_23 = to_base64(std::vector<std::uint8_t>(23, 0x5a));
  const std::string key_65 = to_base64(std::vector<std::uint8_t>(65, 0x5a));
  const struct {
    std::string text;
    SignatureError error;
  } cases[] = {
      {"", SignatureError::missing_prefix},
      {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", SignatureError::missing_prefix},  // the key without its prefix
      {"WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", SignatureError::missing_prefix},
      {"whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", SignatureError::missing_prefix},  // an asymmetric key
      {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", SignatureError::bad_base64},     // cut short
      {"whsec_MfKQ9r8GKYqrTwjU PD8ILPZIo2LaLaSw", SignatureError::bad_base64},
      {"whsec_MfKQ9r8GKYqrTwjU-D8ILPZIo2LaLaSw", SignatureError::bad_base64},    // base64url
      {"whsec_", SignatureError::key_too_short},
      {"whsec_" + key_23, SignatureError::key_too_short},
      {"whsec_" + key_65, SignatureError::key_too_long},
  };
  for (const auto& c : cases) {
    const auto parsed = parse_secret(c.text);
    EXPECT_FALSE(parsed) << c.text;
    EXPECT_EQ(parsed.error, c.error) << c.text << ": " << to_string(parsed.error);
  }
  EXPECT_TRUE(parse_secret("whsec_" + to_base64(std::vector<std::uint8_t>(64, 0x5a))));
}

// ---- verifying -------------------------------------------------------------

class ProtoWebhookVerify : public ::testing::Test {
 protected:
  std::error_code check(std::string_view signature_text, std::int64_t now_s = reference_timestamp,
                        std::string_view id = reference_id, std::string_view timestamp_text = "1614265330",
                        std::string_view body = reference_body) {
    return verify(key, id, timestamp_text, signature_text, body, now_s);
  }
  const SigningKey key = key_of(reference_secret);
};

TEST_F(ProtoWebhookVerify, TheReferenceSignature) { EXPECT_EQ(check(reference_signature), std::error_code()); }

TEST_F(ProtoWebhookVerify, OneMatchAmongSeveralSignatures) {
  const std::string header = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,xyz v1a,AAAA  " +
                             std::string(reference_signature) + " v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
  EXPECT_EQ(check(header), std::error_code());
}

TEST_F(ProtoWebhookVerify, TimestampAtTheToleranceEdges) {
  EXPECT_EQ(check(reference_signature, reference_timestamp + default_tolerance_s), std::error_code());
  EXPECT_EQ(check(reference_signature, reference_timestamp - default_tolerance_s), std::error_code());
  EXPECT_EQ(check(reference_signature, reference_timestamp + default_tolerance_s + 1),
            make_error_code(SignatureError::timestamp_too_old));
  EXPECT_EQ(check(reference_signature, reference_timestamp - default_tolerance_s - 1),
            make_error_code(SignatureError::timestamp_too_new));
}

TEST_F(ProtoWebhookVerify, BadId) {
  for (const char* id : {"", "msg.1", "msg 1", "msg\t1", "m\xc3\xa9"})
    EXPECT_EQ(check(reference_signature, reference_timestamp, id), make_error_code(SignatureError::bad_id)) << id;
  EXPECT_EQ(check(reference_signature, reference_timestamp, std::string(257, 'a')),
            make_error_code(SignatureError::bad_id));
}

TEST_F(ProtoWebhookVerify, BadTimestamp) {
  for (const char* text : {"", "-1614265330", "+1614265330", "1614265330.0", " 1614265330", "1614265330 ", "1e9",
                           "0x60381f72", "1234567890123456789"})
    EXPECT_EQ(check(reference_signature, reference_timestamp, reference_id, text),
              make_error_code(SignatureError::bad_timestamp))
        << text;
}

TEST_F(ProtoWebhookVerify, NoV1Signature) {
  for (const char* header : {"", " ", "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "v2,abc", "garbage",
                             "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "V1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="})
    EXPECT_EQ(check(header), make_error_code(SignatureError::no_v1_signature)) << header;
}

TEST_F(ProtoWebhookVerify, SignatureMismatch) {
  for (const char* header : {"v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", "v1,", "v1,g0hM9SsE",
                             "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE==",
                             "v1, g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="})
    EXPECT_EQ(check(header), make_error_code(SignatureError::signature_mismatch)) << header;
  // The signature of another body, id or timestamp.
  EXPECT_EQ(check(reference_signature, reference_timestamp, reference_id, "1614265330", R"({"test": 2432232315})"),
            make_error_code(SignatureError::signature_mismatch));
  EXPECT_EQ(check(reference_signature, reference_timestamp, "msg_p5jXN8AQM9LWM0D4loKWxJeK"),
            make_error_code(SignatureError::signature_mismatch));
  EXPECT_EQ(check(reference_signature, reference_timestamp, reference_id, "1614265331"),
            make_error_code(SignatureError::signature_mismatch));
  // Another key.
  EXPECT_EQ(verify(key_of(long_secret), reference_id, "1614265330", reference_signature, reference_body,
                   reference_timestamp),
            make_error_code(SignatureError::signature_mismatch));
}

TEST(ProtoWebhookSignature, ErrorsHaveStableNamesAndMessages) {
  for (int code = 1; code <= static_cast<int>(SignatureError::signature_mismatch); ++code) {
    const auto error = static_cast<SignatureError>(code);
    EXPECT_NE(to_string(error), "unknown");
    EXPECT_NE(make_error_code(error).message(), "unknown webhook signature error");
  }
  EXPECT_EQ(std::error_code(SignatureError::key_too_short).category().name(), std::string("webhook_signature"));
}

}  // namespace
}  // namespace deskline::proto::webhook
