// The API tokens file (`[http] api_tokens_file`, proto/http.md "API tokens"):
// one line per token, its name, the SHA-256 of the token and when it was made,
//
//   # name  sha256 (hex)  created (UTC)
//   crm-main 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 2026-11-27T05:45:02Z
//
// so one integration's token can be revoked without the others', and the
// file holds nothing that opens the API. A token is `dlk_` and 43 url-safe
// base64 characters (256 random bits): SHA-256 without salt is enough, since
// no one can search a 256-bit space, and it lets the daemon find a token by
// hashing what a client presents and comparing hashes in constant time.
// Pure: text in, entries or a named refusal out; the daemon and the CLI read
// and write the file.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace deskline::proto::api_tokens {

inline constexpr std::string_view token_prefix = "dlk_";
inline constexpr std::size_t token_random_bytes = 32;
inline constexpr std::size_t max_name_bytes = 64;
inline constexpr std::size_t max_tokens = 1000;
inline constexpr std::size_t max_file_bytes = 256 * 1024;

using Hash = std::array<std::uint8_t, 32>;

struct Entry {
  std::string name;     // [A-Za-z0-9._-], 1 to max_name_bytes, unique in the file
  Hash hash{};          // SHA-256 of the token's text
  std::string created;  // "YYYY-MM-DDTHH:MM:SSZ"
  friend bool operator==(const Entry&, const Entry&) = default;
};

// Why a file was refused. A refused file opens nothing: the daemon then
// accepts no API token until it is fixed (a broken edit must not keep a
// revoked token alive).
enum class FileError {
  too_large = 1,    // more than max_file_bytes
  bad_line,         // not three fields separated by spaces or tabs, or a control character
  bad_name,         // a name with other characters, empty or too long
  bad_hash,         // not 64 hex digits
  bad_created,      // not YYYY-MM-DDTHH:MM:SSZ
  duplicate_name,   // a name on two lines
  duplicate_hash,   // one token under two names
  too_many_tokens,  // more than max_tokens
};
std::string_view to_string(FileError error);

struct ParsedFile {
  std::optional<std::vector<Entry>> entries;
  FileError error{};
  std::size_t line = 0;  // 1-based line of the refusal (0 for too_large)
  explicit operator bool() const { return entries.has_value(); }
  // "line 3: bad_hash" for logs and the CLI.
  std::string describe() const;
};

// Blank lines and lines starting with '#' are skipped; fields are separated
// by runs of spaces or tabs; a trailing '\r' is tolerated.
ParsedFile parse(std::string_view text);
// The file's text: a comment line, then one line per entry in order.
std::string format(std::span<const Entry> entries);

bool valid_name(std::string_view name);
Hash hash_token(std::string_view token);
// The token's text for random bytes from a CSPRNG: prefix and url-safe base64
// without padding (RFC 4648 section 5).
std::string make_token(std::span<const std::uint8_t, token_random_bytes> random);
// Whether text has a token's shape (prefix, length, alphabet): an API token
// sent where it must not go can be told apart from a desk token.
bool looks_like_token(std::string_view text);

// The entry whose hash is the presented token's, if any. Compares every
// entry's hash in full (no early exit), so the time taken says nothing about
// which bytes matched.
const Entry* find(std::span<const Entry> entries, std::string_view presented);

}  // namespace deskline::proto::api_tokens
