#include "proto/repr_digest.hpp"

#include <algorithm>

#include "proto/bytes.hpp"

namespace deskline::proto::digest {
namespace {

class DigestCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "repr_digest"; }
  std::string message(int code) const override {
    switch (static_cast<DigestError>(code)) {
      case DigestError::bad_syntax: return "Repr-Digest is not a structured-field dictionary";
      case DigestError::no_sha256: return "Repr-Digest has no sha-256 member";
      case DigestError::not_byte_sequence: return "Repr-Digest sha-256 is not a byte sequence";
      case DigestError::bad_length: return "Repr-Digest sha-256 is not 32 bytes of base64";
    }
    return "unknown Repr-Digest error";
  }
};

bool is_lcalpha(char c) { return c >= 'a' && c <= 'z'; }
bool is_alpha(char c) { return is_lcalpha(c) || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
// RFC 9110 tchar.
bool is_tchar(char c) {
  return is_alpha(c) || is_digit(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// An RFC 8941 section 4.2 parser for a dictionary; it keeps only what a
// Repr-Digest reader needs: each member's key, and whether its value is a
// byte sequence (and that sequence's base64 text). Everything else is parsed
// to be skipped correctly and then forgotten.
class DictionaryParser {
 public:
  explicit DictionaryParser(std::string_view text) : text_(text) {}

  struct Member {
    std::string_view key;
    bool is_byte_sequence = false;
    std::string_view base64;
  };

  // Calls on_member for each member in order; false on a syntax error.
  template <typename OnMember>
  bool parse(OnMember on_member) {
    skip(' ');
    trim_trailing_spaces();
    while (!done()) {
      Member member;
      if (!key(member.key)) return false;
      if (peek() == '=') {
        ++position_;
        if (!item_or_inner_list(&member)) return false;
      } else if (!parameters()) {  // a bare key is Boolean true
        return false;
      }
      on_member(member);
      skip_ows();
      if (done()) return true;
      if (peek() != ',') return false;
      ++position_;
      skip_ows();
      if (done()) return false;  // trailing comma
    }
    return true;  // empty: a dictionary with no members
  }

 private:
  bool done() const { return position_ >= text_.size(); }
  char peek() const { return done() ? '\0' : text_[position_]; }
  void skip(char c) {
    while (peek() == c && !done()) ++position_;
  }
  void skip_ows() {
    while (!done() && (peek() == ' ' || peek() == '\t')) ++position_;
  }
  void trim_trailing_spaces() {
    while (!text_.empty() && text_.back() == ' ') text_.remove_suffix(1);
  }

  bool key(std::string_view& out) {
    const std::size_t start = position_;
    if (!(is_lcalpha(peek()) || peek() == '*')) return false;
    ++position_;
    while (!done() && (is_lcalpha(peek()) || is_digit(peek()) || std::string_view("_-.*").find(peek()) != std::string_view::npos))
      ++position_;
    out = text_.substr(start, position_ - start);
    return true;
  }

  bool item_or_inner_list(Member* member) {
    if (peek() == '(') return inner_list();
    return item(member);
  }

  bool inner_list() {
    ++position_;  // '('
    while (!done()) {
      skip(' ');
      if (peek() == ')') {
        ++position_;
        return parameters();
      }
      if (!item(nullptr)) return false;
      if (peek() != ' ' && peek() != ')') return false;
    }
    return false;  // no ')'
  }

  bool item(Member* member) { return bare_item(member) && parameters(); }

  bool parameters() {
    while (peek() == ';') {
      ++position_;
      skip(' ');
      std::string_view name;
      if (!key(name)) return false;
      if (peek() == '=') {
        ++position_;
        if (!bare_item(nullptr)) return false;
      }
    }
    return true;
  }

  bool bare_item(Member* member) {
    const char c = peek();
    if (c == '-' || is_digit(c)) return number();
    if (c == '"') return string();
    if (c == '*' || is_alpha(c)) return token();
    if (c == ':') return byte_sequence(member);
    if (c == '?') return boolean();
    return false;
  }

  // Integer (at most 15 digits) or decimal (at most 12 digits, '.', 1 to 3 digits).
  bool number() {
    if (peek() == '-') ++position_;
    std::size_t integer_digits = 0, fraction_digits = 0;
    bool decimal = false;
    while (!done()) {
      const char c = peek();
      if (is_digit(c)) {
        ++(decimal ? fraction_digits : integer_digits);
      } else if (c == '.' && !decimal) {
        if (integer_digits == 0 || integer_digits > 12) return false;
        decimal = true;
      } else {
        break;
      }
      ++position_;
      if (!decimal && integer_digits > 15) return false;
      if (decimal && fraction_digits > 3) return false;
    }
    if (integer_digits == 0) return false;
    return !decimal || fraction_digits > 0;
  }

  bool string() {
    ++position_;  // '"'
    while (!done()) {
      const char c = text_[position_++];
      if (c == '\\') {
        if (done() || (peek() != '"' && peek() != '\\')) return false;
        ++position_;
      } else if (c == '"') {
        return true;
      } else if (c < 0x20 || c > 0x7E) {
        return false;
      }
    }
    return false;  // unterminated
  }

  bool token() {
    ++position_;
    while (!done() && (is_tchar(peek()) || peek() == ':' || peek() == '/')) ++position_;
    return true;
  }

  bool byte_sequence(Member* member) {
    const std::size_t start = ++position_;  // after ':'
    while (!done() && peek() != ':') {
      const char c = peek();
      if (!(is_alpha(c) || is_digit(c) || c == '+' || c == '/' || c == '=')) return false;
      ++position_;
    }
    if (done()) return false;  // no closing ':'
    if (member) {
      member->is_byte_sequence = true;
      member->base64 = text_.substr(start, position_ - start);
    }
    ++position_;
    return true;
  }

  bool boolean() {
    ++position_;  // '?'
    if (peek() != '0' && peek() != '1') return false;
    ++position_;
    return true;
  }

  std::string_view text_;
  std::size_t position_ = 0;
};

}  // namespace

std::string_view to_string(DigestError error) {
  switch (error) {
    case DigestError::bad_syntax: return "bad_syntax";
    case DigestError::no_sha256: return "no_sha256";
    case DigestError::not_byte_sequence: return "not_byte_sequence";
    case DigestError::bad_length: return "bad_length";
  }
  return "unknown";
}

const std::error_category& digest_category() {
  static const DigestCategory category;
  return category;
}

std::error_code make_error_code(DigestError error) { return {static_cast<int>(error), digest_category()}; }

std::string format_repr_digest(std::span<const std::uint8_t, sha256_bytes> sha256) {
  return "sha-256=:" + to_base64(sha256) + ":";
}

ParsedDigest parse_repr_digest(std::string_view value) {
  std::optional<DictionaryParser::Member> sha256;
  DictionaryParser parser(value);
  if (!parser.parse([&](const DictionaryParser::Member& member) {
        if (member.key == "sha-256") sha256 = member;  // the last one wins
      }))
    return {std::nullopt, DigestError::bad_syntax};
  if (!sha256) return {std::nullopt, DigestError::no_sha256};
  if (!sha256->is_byte_sequence) return {std::nullopt, DigestError::not_byte_sequence};
  const auto bytes = from_base64_lenient(sha256->base64);
  // The characters were checked by the parser; what fails here is a length
  // that no 32 bytes encode to.
  if (!bytes || bytes->size() != sha256_bytes) return {std::nullopt, DigestError::bad_length};
  Sha256 digest;
  std::copy(bytes->begin(), bytes->end(), digest.begin());
  return {digest, {}};
}

}  // namespace deskline::proto::digest
