#include "proto/api_tokens.hpp"

#include <openssl/evp.h>

#include <algorithm>

#include "proto/bytes.hpp"

namespace deskline::proto::api_tokens {
namespace {

constexpr std::string_view url_safe_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
// 32 bytes in unpadded base64: ceil(32 * 4 / 3).
constexpr std::size_t token_text_bytes = (token_random_bytes * 4 + 2) / 3;

bool is_blank(char c) { return c == ' ' || c == '\t'; }

bool digit(char c) { return c >= '0' && c <= '9'; }

// "YYYY-MM-DDTHH:MM:SSZ" with field ranges checked (not the days of each month:
// the CLI writes this field, the daemon only shows it).
bool valid_created(std::string_view text) {
  constexpr std::string_view shape = "dddd-dd-ddTdd:dd:ddZ";
  if (text.size() != shape.size()) return false;
  for (std::size_t i = 0; i < shape.size(); ++i)
    if (shape[i] == 'd' ? !digit(text[i]) : text[i] != shape[i]) return false;
  auto number = [&](std::size_t at) { return (text[at] - '0') * 10 + (text[at + 1] - '0'); };
  return number(5) >= 1 && number(5) <= 12 && number(8) >= 1 && number(8) <= 31 && number(11) <= 23 &&
         number(14) <= 59 && number(17) <= 60;
}

std::optional<Hash> parse_hash(std::string_view text) {
  if (text.size() != 64) return std::nullopt;
  const auto bytes = from_hex(text);
  if (!bytes) return std::nullopt;
  Hash hash{};
  std::copy(bytes->begin(), bytes->end(), hash.begin());
  return hash;
}

// Splits a line into fields at runs of blanks.
std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t at = 0;
  while (at < line.size()) {
    while (at < line.size() && is_blank(line[at])) ++at;
    const std::size_t start = at;
    while (at < line.size() && !is_blank(line[at])) ++at;
    if (at > start) fields.push_back(line.substr(start, at - start));
  }
  return fields;
}

ParsedFile refuse(FileError error, std::size_t line) { return {std::nullopt, error, line}; }

}  // namespace

std::string_view to_string(FileError error) {
  switch (error) {
    case FileError::too_large: return "too_large";
    case FileError::bad_line: return "bad_line";
    case FileError::bad_name: return "bad_name";
    case FileError::bad_hash: return "bad_hash";
    case FileError::bad_created: return "bad_created";
    case FileError::duplicate_name: return "duplicate_name";
    case FileError::duplicate_hash: return "duplicate_hash";
    case FileError::too_many_tokens: return "too_many_tokens";
  }
  return "unknown";
}

std::string ParsedFile::describe() const {
  if (entries) return "ok";
  if (line == 0) return std::string(to_string(error));
  return "line " + std::to_string(line) + ": " + std::string(to_string(error));
}

bool valid_name(std::string_view name) {
  return !name.empty() && name.size() <= max_name_bytes && std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || digit(c) || c == '.' || c == '_' || c == '-';
         });
}

ParsedFile parse(std::string_view text) {
  if (text.size() > max_file_bytes) return refuse(FileError::too_large, 0);
  std::vector<Entry> entries;
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const auto end = text.find('\n');
    auto line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (std::any_of(line.begin(), line.end(),
                    [](char c) { return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f; }))
      return refuse(FileError::bad_line, line_number);
    const auto fields = fields_of(line);
    if (fields.empty() || fields.front().starts_with('#')) continue;
    if (fields.size() != 3) return refuse(FileError::bad_line, line_number);
    Entry entry;
    if (!valid_name(fields[0])) return refuse(FileError::bad_name, line_number);
    entry.name = fields[0];
    const auto hash = parse_hash(fields[1]);
    if (!hash) return refuse(FileError::bad_hash, line_number);
    entry.hash = *hash;
    if (!valid_created(fields[2])) return refuse(FileError::bad_created, line_number);
    entry.created = fields[2];
    for (const auto& other : entries) {
      if (other.name == entry.name) return refuse(FileError::duplicate_name, line_number);
      if (other.hash == entry.hash) return refuse(FileError::duplicate_hash, line_number);
    }
    if (entries.size() == max_tokens) return refuse(FileError::too_many_tokens, line_number);
    entries.push_back(std::move(entry));
  }
  return {std::move(entries), {}, 0};
}

std::string format(std::span<const Entry> entries) {
  std::string text = "# deskline API tokens (deskline tokens add|list|revoke): name, sha256 of the token, created\n";
  for (const auto& entry : entries) text += entry.name + " " + to_hex(entry.hash) + " " + entry.created + "\n";
  return text;
}

Hash hash_token(std::string_view token) {
  Hash hash{};
  unsigned int length = 0;
  EVP_Digest(token.data(), token.size(), hash.data(), &length, EVP_sha256(), nullptr);
  return hash;
}

std::string make_token(std::span<const std::uint8_t, token_random_bytes> random) {
  std::string text(token_prefix);
  std::uint32_t bits = 0;
  int pending = 0;
  for (const auto byte : random) {
    bits = (bits << 8) | byte;
    pending += 8;
    while (pending >= 6) {
      pending -= 6;
      text += url_safe_alphabet[(bits >> pending) & 0x3f];
    }
  }
  if (pending > 0) text += url_safe_alphabet[(bits << (6 - pending)) & 0x3f];
  return text;
}

bool looks_like_token(std::string_view text) {
  if (!text.starts_with(token_prefix)) return false;
  text.remove_prefix(token_prefix.size());
  return text.size() == token_text_bytes &&
         std::all_of(text.begin(), text.end(), [](char c) { return url_safe_alphabet.find(c) != std::string_view::npos; });
}

const Entry* find(std::span<const Entry> entries, std::string_view presented) {
  const auto hash = hash_token(presented);
  const Entry* found = nullptr;
  for (const auto& entry : entries) {
    unsigned char difference = 0;
    for (std::size_t i = 0; i < hash.size(); ++i) difference |= static_cast<unsigned char>(hash[i] ^ entry.hash[i]);
    if (difference == 0) found = &entry;
  }
  return found;
}

}  // namespace deskline::proto::api_tokens
