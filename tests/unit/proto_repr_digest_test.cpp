// Repr-Digest (RFC 9530): the RFC's own example, dictionaries with several
// algorithms and parameters, and one test per refusal.
#include "proto/repr_digest.hpp"

#include <gtest/gtest.h>

#include "proto/bytes.hpp"

namespace deskline::proto::digest {
namespace {

// RFC 9530 section 3's example: the SHA-256 of {"hello": "world"} followed by a newline.
constexpr std::string_view rfc_value = "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:";
constexpr std::string_view rfc_hex = "44aff4ab2d7c3250525675a08f0cfa9591168cffe51791c5f5bbc417c15a6c38";

Sha256 rfc_digest() {
  Sha256 digest{};
  const auto bytes = from_hex(rfc_hex);
  std::copy(bytes->begin(), bytes->end(), digest.begin());
  return digest;
}

TEST(ProtoReprDigest, FormatsTheRfcExample) { EXPECT_EQ(format_repr_digest(rfc_digest()), rfc_value); }

TEST(ProtoReprDigest, ParsesTheRfcExample) {
  const auto parsed = parse_repr_digest(rfc_value);
  ASSERT_TRUE(parsed) << to_string(parsed.error);
  EXPECT_EQ(*parsed.sha256, rfc_digest());
}

TEST(ProtoReprDigest, PicksSha256AmongOtherMembers) {
  const std::string sha256 = "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:";
  const std::string values[] = {
      "sha-512=:YMAam51Jz/jOATT6/zvHrLVgOYTGFy1d6GJiOHTohq4yP+pgk4vf2aCsyRZOtw8MjkM7iw7yZ/WkppmM44T3qg==:, " + sha256,
      sha256 + ", sha-512=:YMAam51Jz/jOATT6/zvHrLVgOYTGFy1d6GJiOHTohq4yP+pgk4vf2aCsyRZOtw8MjkM7iw7yZ/WkppmM44T3qg==:",
      "  " + sha256 + "  ",                                  // spaces around the field value
      "unixsum=30637," + sha256,                             // an integer member, no space after the comma
      "md5=:ABC:;legacy, " + sha256 + ";p=1;q=?0;r=\"x\\\"y\";s=tok/en:1;t=-1.5",  // parameters everywhere
      "id-sha-256=(1 2 \"three\" :AA==:);x=y, " + sha256,    // an inner list
      "*star, adler=?1,\t" + sha256,                         // a Boolean member, a tab as separator space
      "sha-256=:AAAA:, " + sha256,                           // a repeated key: the last one wins
      "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg:",  // padding left off (RFC 8941 4.2.7)
  };
  for (const auto& value : values) {
    const auto parsed = parse_repr_digest(value);
    ASSERT_TRUE(parsed) << value << ": " << to_string(parsed.error);
    EXPECT_EQ(*parsed.sha256, rfc_digest()) << value;
  }
}

TEST(ProtoReprDigest, BadSyntax) {
  for (const char* value : {
           "SHA-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:",  // keys are lowercase
           "sha-256:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:",   // no '='
           "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=",   // no closing ':'
           "sha-256=:RK/0qy18MlBSVnWgjwz6lZEW-P/lF5HF9bvEF8FabDg=:",  // base64url
           "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:,",  // trailing comma
           "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=: x",  // no comma between members
           ", sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:",
           "1sha=:AA==:", "sha-256=", "sha-256=\"unterminated", "sha-256=\"bad\\escape\"", "a=(1 2", "a=(1,2)",
           "a=1234567890123456", "a=1.2345", "a=1.", "a=-", "a=?2", "a=@1659578233", "a=%\"x\"", "a;=1",
           "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:;", "a=\"\x01\""}) {
    const auto parsed = parse_repr_digest(value);
    EXPECT_FALSE(parsed) << value;
    EXPECT_EQ(parsed.error, DigestError::bad_syntax) << value << ": " << to_string(parsed.error);
  }
}

TEST(ProtoReprDigest, NoSha256) {
  for (const char* value : {"", "   ", "sha-512=:AAAA:", "sha256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:",
                            "a=(sha-256), b"})
    EXPECT_EQ(parse_repr_digest(value).error, DigestError::no_sha256) << value;
}

TEST(ProtoReprDigest, NotAByteSequence) {
  for (const char* value : {"sha-256", "sha-256=?1", "sha-256=\"RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=\"",
                            "sha-256=x44aff4ab2d7c", "sha-256=(:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:)",
                            "sha-256=1"})
    EXPECT_EQ(parse_repr_digest(value).error, DigestError::not_byte_sequence) << value;
}

TEST(ProtoReprDigest, BadLength) {
  for (const char* value : {"sha-256=::", "sha-256=:AAAA:",
                            "sha-256=:YMAam51Jz/jOATT6/zvHrLVgOYTGFy1d6GJiOHTohq4yP+pgk4vf2aCsyRZOtw8MjkM7iw7yZ/WkppmM44T3qg==:",
                            "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=AA:", "sha-256=:R:",
                            "sha-256=:RK/0qy18MlBSVnWgjwz6lZEW=jP/lF5HF9bvEF8FabDg:"})
    EXPECT_EQ(parse_repr_digest(value).error, DigestError::bad_length) << value;
}

TEST(ProtoReprDigest, ErrorsHaveStableNames) {
  EXPECT_EQ(to_string(DigestError::bad_syntax), "bad_syntax");
  EXPECT_EQ(to_string(DigestError::no_sha256), "no_sha256");
  EXPECT_EQ(to_string(DigestError::not_byte_sequence), "not_byte_sequence");
  EXPECT_EQ(to_string(DigestError::bad_length), "bad_length");
  EXPECT_EQ(std::error_code(DigestError::bad_length).message(), "Repr-Digest sha-256 is not 32 bytes of base64");
}

}  // namespace
}  // namespace deskline::proto::digest
