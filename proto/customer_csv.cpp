#include "proto/customer_csv.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "proto/vcard.hpp"

namespace deskline::proto::customers {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string trimmed(std::string_view text) {
  while (!text.empty() && (is_blank(text.front()) || text.front() == '\r')) text.remove_prefix(1);
  while (!text.empty() && (is_blank(text.back()) || text.back() == '\r')) text.remove_suffix(1);
  return std::string(text);
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  return out;
}

// Bytes kept of one field: more than any limit, so a cut field is still
// refused as too long, with room for spaces that trimming removes.
constexpr std::size_t kept_field_bytes = 4 * max_url_bytes;

// One CSV record; the reader keeps the line count across quoted line breaks.
struct Record {
  std::vector<std::string> fields;  // the first max_columns; skipped columns are ""
  std::size_t field_count = 0;      // all of them
  int line = 0;
  std::size_t offset = 0;
  bool has_text = false;            // anything but spaces, kept or not
  std::optional<std::string> error;  // malformed: the record is rejected
  bool blank() const { return field_count == 1 && !has_text && !error; }
};

class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}
  bool done() const { return position_ >= text_.size(); }
  // After the header: the other columns are skipped, not kept.
  void keep_only(std::vector<bool> columns) { kept_columns_ = std::move(columns); }

  Record next() {
    Record record;
    record.line = line_;
    record.offset = position_;
    std::string field;
    while (true) {
      field.clear();
      const bool keep = record.field_count < max_columns &&
                        (kept_columns_.empty() ||
                         (record.field_count < kept_columns_.size() && kept_columns_[record.field_count]));
      const auto add = [&](char c) {
        if (!is_blank(c) && c != '\r') record.has_text = true;
        if (keep && field.size() < kept_field_bytes) field.push_back(c);
      };
      if (position_ < text_.size() && text_[position_] == '"') {
        const int quote_line = line_;
        const std::size_t quote_line_end = text_.find('\n', position_);
        ++position_;
        bool closed = false;
        while (position_ < text_.size()) {
          const char c = text_[position_++];
          if (c == '"') {
            if (position_ < text_.size() && text_[position_] == '"') {
              add('"');
              ++position_;
            } else {
              closed = true;
              break;
            }
          } else {
            if (c == '\n') ++line_;
            add(c);
          }
        }
        if (!closed) {
          // Read on from the line after the quote, so one stray quote costs
          // one record, not the rest of the file.
          record.error = "unterminated quoted field (opened on line " + std::to_string(quote_line) + ")";
          position_ = quote_line_end == std::string_view::npos ? text_.size() : quote_line_end + 1;
          line_ = quote_line + 1;
          return record;
        }
        // Spaces before the separator are tolerated; anything else is not RFC 4180.
        while (position_ < text_.size() && (is_blank(text_[position_]) || text_[position_] == '\r') &&
               !at_line_end())
          ++position_;
        if (position_ < text_.size() && text_[position_] != ',' && !at_line_end()) {
          record.error = "unexpected text after a closing quote";
          skip_line();
          return record;
        }
      } else {
        while (position_ < text_.size() && text_[position_] != ',' && !at_line_end()) {
          add(text_[position_]);
          ++position_;
        }
      }
      if (record.field_count++ < max_columns) record.fields.push_back(trimmed(field));
      if (position_ >= text_.size()) return record;
      if (text_[position_] == ',') {
        ++position_;
        continue;
      }
      consume_line_end();
      return record;
    }
  }

 private:
  bool at_line_end() const {
    return text_[position_] == '\n' ||
           (text_[position_] == '\r' && position_ + 1 < text_.size() && text_[position_ + 1] == '\n');
  }
  void consume_line_end() {
    if (text_[position_] == '\r') ++position_;
    ++position_;  // '\n'
    ++line_;
  }
  void skip_line() {
    while (position_ < text_.size() && text_[position_] != '\n') ++position_;
    if (position_ < text_.size()) {
      ++position_;
      ++line_;
    }
  }

  std::string_view text_;
  std::size_t position_ = 0;
  int line_ = 1;
  std::vector<bool> kept_columns_;  // empty: all
};

struct Columns {
  std::optional<std::size_t> id, name, company, url;
  std::vector<std::pair<std::size_t, std::string>> phones;  // column, label
  std::size_t count = 0;
};

bool is_phone_header(std::string_view lowered) {
  return lowered.starts_with("phone") || lowered.starts_with("mobile") || lowered.starts_with("tel");
}

}  // namespace

std::string_view without_bom(std::string_view text) {
  constexpr std::string_view bom = "\xEF\xBB\xBF";
  if (text.starts_with(bom)) text.remove_prefix(bom.size());
  return text;
}

std::optional<std::string> exceeded_limit(const CustomerEntry& entry) {
  const auto too_long = [](std::string_view what, std::size_t limit) {
    return std::string(what) + " is longer than " + std::to_string(limit) + " bytes";
  };
  if (entry.id.size() > max_id_bytes) return too_long("id", max_id_bytes);
  if (entry.name.size() > max_name_bytes) return too_long("name", max_name_bytes);
  if (entry.company.size() > max_name_bytes) return too_long("company", max_name_bytes);
  if (entry.url.size() > max_url_bytes) return too_long("url", max_url_bytes);
  if (entry.phones.size() > max_phones)
    return "more than " + std::to_string(max_phones) + " phone numbers";
  for (const auto& phone : entry.phones) {
    if (phone.label.size() > max_label_bytes) return too_long("phone label", max_label_bytes);
    if (phone.raw.size() > max_phone_bytes) return too_long(phone.label, max_phone_bytes);
  }
  return std::nullopt;
}

bool parse_csv(std::string_view text, const EntrySink& sink, std::vector<Issue>& issues) {
  const std::size_t bom_size = text.size() - without_bom(text).size();
  Reader reader(text.substr(bom_size));

  Record header;
  do {
    if (reader.done()) {
      issues.push_back({1, "no header row (expected columns id, name, ...)"});
      return false;
    }
    header = reader.next();
  } while (header.blank());
  if (header.error) {
    issues.push_back({header.line, "header row: " + *header.error});
    return false;
  }

  if (header.field_count > max_columns) {
    issues.push_back({header.line, "header has " + std::to_string(header.field_count) + " columns (at most " +
                                       std::to_string(max_columns) + ")"});
    return false;
  }
  Columns columns;
  columns.count = header.fields.size();
  std::vector<bool> used(columns.count, false);
  for (std::size_t index = 0; index < header.fields.size(); ++index) {
    const std::string& label = header.fields[index];
    if (!is_valid_utf8(label)) {
      issues.push_back({header.line, "header row is not valid UTF-8 (save the file as UTF-8)"});
      return false;
    }
    const std::string lowered = lowercase(label);
    auto assign = [&](std::optional<std::size_t>& slot) {
      if (slot) {
        issues.push_back({header.line, "duplicate column \"" + lowered + "\""});
        return false;
      }
      slot = index;
      return true;
    };
    bool ok = true;
    if (lowered == "id") ok = assign(columns.id);
    else if (lowered == "name") ok = assign(columns.name);
    else if (lowered == "company") ok = assign(columns.company);
    else if (lowered == "url") ok = assign(columns.url);
    else if (is_phone_header(lowered)) columns.phones.emplace_back(index, label);
    else continue;
    if (!ok) return false;
    if (label.size() > max_label_bytes) {
      issues.push_back({header.line, "column " + std::to_string(index + 1) + " has a name longer than " +
                                         std::to_string(max_label_bytes) + " bytes"});
      return false;
    }
    used[index] = true;
  }
  if (!columns.id || !columns.name) {
    issues.push_back({header.line, std::string("missing \"") + (columns.id ? "name" : "id") +
                                       "\" column (header must name id and name)"});
    return false;
  }
  reader.keep_only(std::move(used));

  while (!reader.done()) {
    Record record = reader.next();
    if (record.blank()) continue;
    record.offset += bom_size;
    if (record.error) {
      issues.push_back({record.line, *record.error});
      continue;
    }
    if (record.field_count > columns.count) {
      issues.push_back({record.line, std::to_string(record.field_count) + " fields but the header has " +
                                         std::to_string(columns.count)});
      continue;
    }
    // Spreadsheets drop trailing empty cells: missing fields are empty.
    record.fields.resize(columns.count);
    CustomerEntry entry;
    entry.line = record.line;
    entry.offset = record.offset;
    entry.id = std::move(record.fields[*columns.id]);
    entry.name = std::move(record.fields[*columns.name]);
    if (columns.company) entry.company = std::move(record.fields[*columns.company]);
    if (columns.url) entry.url = std::move(record.fields[*columns.url]);
    for (const auto& [index, label] : columns.phones)
      if (!record.fields[index].empty()) entry.phones.push_back({label, std::move(record.fields[index])});
    // Before the UTF-8 check: a field cut at kept_field_bytes may end inside a character.
    if (auto exceeded = exceeded_limit(entry)) {
      issues.push_back({record.line, std::move(*exceeded)});
      continue;
    }
    if (!is_valid_utf8(entry.id) || !is_valid_utf8(entry.name) || !is_valid_utf8(entry.company) ||
        !is_valid_utf8(entry.url) ||
        std::any_of(entry.phones.begin(), entry.phones.end(),
                    [](const PhoneField& phone) { return !is_valid_utf8(phone.raw); })) {
      issues.push_back({record.line, "not valid UTF-8 (save the file as UTF-8)"});
      continue;
    }
    if (entry.id.empty()) {
      issues.push_back({record.line, "missing id"});
      continue;
    }
    if (entry.name.empty()) {
      issues.push_back({record.line, "missing name"});
      continue;
    }
    sink(std::move(entry));
  }
  return true;
}

ParsedCustomers parse_csv(std::string_view text) {
  ParsedCustomers parsed;
  parsed.usable = parse_csv(
      text, [&](CustomerEntry&& entry) { parsed.entries.push_back(std::move(entry)); }, parsed.issues);
  return parsed;
}

FileFormat detect_format(std::string_view file_name, std::string_view text) {
  const std::string lowered = lowercase(file_name);
  if (lowered.ends_with(".vcf") || lowered.ends_with(".vcard")) return FileFormat::vcard;
  if (lowered.ends_with(".csv")) return FileFormat::csv;
  return looks_like_vcard(text) ? FileFormat::vcard : FileFormat::csv;
}

}  // namespace deskline::proto::customers
