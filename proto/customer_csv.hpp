// Customer lists for the directory import: CSV (RFC 4180) with a header row.
// Pure parser: text in, customer entries and per-line issues out. Phone
// numbers stay as written; the directory normalises them.
//
// Columns (names case-insensitive, surrounding spaces ignored): `id` and
// `name` are required; `company` and `url` optional; every column whose name
// starts with `phone`, `mobile` or `tel` is a phone number labelled with the
// header as written. Other columns are ignored. UTF-8, with or without BOM;
// quoted fields may hold commas, doubled quotes and line breaks; CRLF or LF.
// Both formats and their limits: proto/customers.md.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/bytes.hpp"

namespace deskline::proto::customers {

struct PhoneField {
  std::string label;  // "mobile", "Phone (work)", vCard "cell,voice"
  std::string raw;    // as written
  friend bool operator==(const PhoneField&, const PhoneField&) = default;
};

struct CustomerEntry {
  int line = 0;             // 1-based line where the row or card starts
  std::size_t offset = 0;   // byte offset of that start (for progress)
  std::string id;
  std::string name;
  std::string company;
  std::string url;
  std::vector<PhoneField> phones;  // non-empty cells only, in column order
  friend bool operator==(const CustomerEntry&, const CustomerEntry&) = default;
};

// Limits no real CRM export comes near. A row or card beyond one is rejected
// with the reason: one record must not bloat every pop of a call, the
// directory, or the importer's memory. Sizes are UTF-8 bytes after decoding
// and trimming.
inline constexpr std::size_t max_id_bytes = 256;
inline constexpr std::size_t max_name_bytes = 1024;  // name and company
inline constexpr std::size_t max_url_bytes = 2048;
inline constexpr std::size_t max_phone_bytes = 128;  // one number as written
inline constexpr std::size_t max_label_bytes = 128;  // its label (CSV header, vCard TYPE list)
inline constexpr std::size_t max_phones = 32;        // numbers of one customer
inline constexpr std::size_t max_columns = 1024;     // of a CSV header
// One unfolded vCard property that is read (FN, ORG, URL, UID, TEL), still
// encoded; longer ones that are not read (PHOTO) are skipped.
inline constexpr std::size_t max_vcard_line_bytes = 16384;

// A rejected row or card, or a problem with the whole file (line of the header).
struct Issue {
  int line = 0;
  std::string message;  // "missing name"
  friend bool operator==(const Issue&, const Issue&) = default;
};

// The first limit the entry breaks, as an issue message ("name is longer
// than 1024 bytes"); nullopt when it keeps them all.
std::optional<std::string> exceeded_limit(const CustomerEntry& entry);

// Entries are delivered one by one so a million-row file is never held twice.
using EntrySink = std::function<void(CustomerEntry&&)>;

// Parses text and calls sink per accepted row. Returns false when the file
// is unusable as a whole (no header, no `id`/`name` column), with the reason
// in issues; rejected rows only add issues.
bool parse_csv(std::string_view text, const EntrySink& sink, std::vector<Issue>& issues);

struct ParsedCustomers {
  std::vector<CustomerEntry> entries;
  std::vector<Issue> issues;
  bool usable = true;  // false: the file as a whole could not be read
};
ParsedCustomers parse_csv(std::string_view text);

// Stored names must be valid UTF-8 to reach JSON clients.
using proto::is_valid_utf8;

// Strips a UTF-8 byte order mark.
std::string_view without_bom(std::string_view text);

enum class FileFormat { csv, vcard };
// By extension (.csv, .vcf, .vcard) and otherwise by content (BEGIN:VCARD).
FileFormat detect_format(std::string_view file_name, std::string_view text);

}  // namespace deskline::proto::customers
