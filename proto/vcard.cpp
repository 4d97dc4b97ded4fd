#include "proto/vcard.hpp"

#include <cstdint>
#include <cstdio>
#include <optional>

#include "proto/bytes.hpp"

namespace deskline::proto::customers {
namespace {

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (upper(a[i]) != upper(b[i])) return false;
  return true;
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && equals_ignoring_case(text.substr(0, prefix.size()), prefix);
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\r'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

std::string decode_quoted_printable(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '=' && i + 2 < text.size() && hex_digit_value(text[i + 1]) >= 0 &&
        hex_digit_value(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit_value(text[i + 1]) * 16 + hex_digit_value(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// RFC 6350 §3.4 text escapes.
std::string unescape_text(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      const char next = text[++i];
      out.push_back(next == 'n' || next == 'N' ? '\n' : next);
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// First component of a structured value (ORG: "Company;Department").
std::string_view first_component(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\') ++i;
    else if (text[i] == ';') return text.substr(0, i);
  }
  return text;
}

struct Property {
  std::string name;  // upper case, group removed
  std::vector<std::string> types;  // lower case TYPE values
  bool quoted_printable = false;
  bool uri_value = false;
  std::string charset;  // upper case; "" when not given
  std::string_view value;
};

// Finds the ':' that ends name and parameters (quoted parameter values may
// hold ':').
std::size_t value_colon(std::string_view line) {
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '"') quoted = !quoted;
    else if (line[i] == ':' && !quoted) return i;
  }
  return std::string_view::npos;
}

bool is_quoted_printable_line(std::string_view line) {
  const auto colon = value_colon(line);
  const std::string_view head = line.substr(0, colon == std::string_view::npos ? line.size() : colon);
  for (std::size_t i = 0; i + 16 <= head.size(); ++i)
    if (equals_ignoring_case(head.substr(i, 16), "QUOTED-PRINTABLE")) return true;
  return false;
}

std::optional<Property> parse_property(std::string_view line) {
  const auto colon = value_colon(line);
  if (colon == std::string_view::npos) return std::nullopt;
  Property property;
  property.value = line.substr(colon + 1);
  std::string_view head = line.substr(0, colon);
  std::vector<std::string_view> parts;
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= head.size(); ++i) {
    if (i < head.size() && head[i] == '"') quoted = !quoted;
    if (i == head.size() || (head[i] == ';' && !quoted)) {
      parts.push_back(head.substr(start, i - start));
      start = i + 1;
    }
  }
  std::string_view name = trim(parts.front());
  if (const auto dot = name.rfind('.'); dot != std::string_view::npos) name.remove_prefix(dot + 1);
  for (char c : name) property.name.push_back(upper(c));
  auto add_types = [&](std::string_view list) {
    std::size_t from = 0;
    while (from <= list.size()) {
      auto comma = list.find(',', from);
      if (comma == std::string_view::npos) comma = list.size();
      std::string type;
      for (char c : trim(list.substr(from, comma - from))) type.push_back(lower(c));
      if (!type.empty()) property.types.push_back(std::move(type));
      from = comma + 1;
    }
  };
  for (std::size_t index = 1; index < parts.size(); ++index) {
    const std::string_view parameter = trim(parts[index]);
    const auto equals = parameter.find('=');
    if (equals == std::string_view::npos) {
      // vCard 2.1 bare parameters: "TEL;CELL:", "FN;QUOTED-PRINTABLE:".
      if (equals_ignoring_case(parameter, "QUOTED-PRINTABLE")) property.quoted_printable = true;
      else add_types(parameter);
      continue;
    }
    const std::string_view key = trim(parameter.substr(0, equals));
    std::string_view value = trim(parameter.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    if (equals_ignoring_case(key, "TYPE")) {
      add_types(value);
    } else if (equals_ignoring_case(key, "ENCODING")) {
      if (equals_ignoring_case(value, "QUOTED-PRINTABLE")) property.quoted_printable = true;
    } else if (equals_ignoring_case(key, "VALUE")) {
      property.uri_value = equals_ignoring_case(value, "uri");
    } else if (equals_ignoring_case(key, "CHARSET")) {
      for (char c : value) property.charset.push_back(upper(c));
    }
  }
  return property;
}

struct Card {
  int line = 0;
  std::size_t offset = 0;
  std::optional<std::string> full_name;
  std::string company;
  std::string url;
  std::string uid;
  std::vector<PhoneField> phones;
  std::optional<std::string> error;  // first problem found; rejects the card
};

std::string phone_label(const std::vector<std::string>& types) {
  std::string label;
  for (const auto& type : types) {
    if (type == "voice" || type == "pref") continue;  // says nothing about whose phone it is
    if (!label.empty()) label.push_back(',');
    label += type;
  }
  return label.empty() ? "tel" : label;
}

// "tel:+1-555-0100;ext=12" -> "+1-555-0100 ext 12".
std::string phone_from_value(std::string_view value, bool uri_value) {
  value = trim(value);
  if (!uri_value && !starts_with_ignoring_case(value, "tel:")) return std::string(value);
  if (starts_with_ignoring_case(value, "tel:")) value.remove_prefix(4);
  const auto semicolon = value.find(';');
  std::string number(value.substr(0, semicolon));
  if (semicolon != std::string_view::npos) {
    std::string_view parameters = value.substr(semicolon + 1);
    while (!parameters.empty()) {
      const auto next = parameters.find(';');
      const std::string_view parameter = parameters.substr(0, next);
      if (starts_with_ignoring_case(parameter, "ext=")) number += " ext " + std::string(parameter.substr(4));
      if (next == std::string_view::npos) break;
      parameters.remove_prefix(next + 1);
    }
  }
  return number;
}

class CardReader {
 public:
  CardReader(const EntrySink& sink, std::vector<Issue>& issues) : sink_(sink), issues_(issues) {}

  void line(int number, std::size_t offset, std::string_view text) {
    const auto property = parse_property(text);
    if (property && property->name == "BEGIN" && equals_ignoring_case(trim(property->value), "VCARD")) {
      if (card_) {
        card_->error = card_->error.value_or("nested BEGIN:VCARD on line " + std::to_string(number));
        finish();
      }
      card_.emplace();
      card_->line = number;
      card_->offset = offset;
      seen_card_ = true;
      outside_reported_ = false;
      return;
    }
    if (property && property->name == "END" && equals_ignoring_case(trim(property->value), "VCARD")) {
      if (!card_) issues_.push_back({number, "END:VCARD without BEGIN:VCARD"});
      else finish();
      return;
    }
    if (!card_) {
      if (!trim(text).empty() && !outside_reported_) {
        issues_.push_back({number, "text outside BEGIN:VCARD ... END:VCARD"});
        outside_reported_ = true;  // once per stretch, not once per line
      }
      return;
    }
    if (!property) {
      if (!trim(text).empty())
        card_->error = card_->error.value_or("no ':' in the property on line " + std::to_string(number));
      return;
    }
    use(*property, number);
  }

  void end_of_text(int last_line) {
    if (!card_) return;
    card_->error = card_->error.value_or("no END:VCARD (text ends on line " + std::to_string(last_line) + ")");
    finish();
  }

  bool seen_card() const { return seen_card_; }

 private:
  void use(const Property& property, int number) {
    const bool wanted = property.name == "FN" || property.name == "ORG" || property.name == "URL" ||
                        property.name == "UID" || property.name == "TEL";
    if (!wanted) return;
    if (!property.charset.empty() && property.charset != "UTF-8" && property.charset != "US-ASCII") {
      card_->error = card_->error.value_or(
          "charset " + property.charset + " on line " + std::to_string(number) + " is not supported (export as UTF-8)");
      return;
    }
    const std::string value =
        property.quoted_printable ? decode_quoted_printable(property.value) : std::string(property.value);
    if (!is_valid_utf8(value)) {
      card_->error = card_->error.value_or("not valid UTF-8 on line " + std::to_string(number) + " (export as UTF-8)");
      return;
    }
    if (property.name == "FN") {
      if (!card_->full_name) card_->full_name = std::string(trim(unescape_text(value)));
    } else if (property.name == "ORG") {
      if (card_->company.empty()) card_->company = std::string(trim(unescape_text(first_component(value))));
    } else if (property.name == "URL") {
      if (card_->url.empty()) card_->url = std::string(trim(value));
    } else if (property.name == "UID") {
      if (card_->uid.empty()) card_->uid = std::string(trim(value));
    } else if (property.name == "TEL") {
      std::string phone = phone_from_value(value, property.uri_value);
      std::string label = phone_label(property.types);
      if (!is_valid_utf8(label)) {
        card_->error = card_->error.value_or("TEL type on line " + std::to_string(number) + " is not valid UTF-8");
        return;
      }
      if (!phone.empty()) card_->phones.push_back({std::move(label), std::move(phone)});
    }
  }

  void finish() {
    Card card = std::move(*card_);
    card_.reset();
    if (!card.error && (!card.full_name || card.full_name->empty())) card.error = "missing FN (name)";
    if (card.error) {
      issues_.push_back({card.line, *card.error});
      return;
    }
    CustomerEntry entry;
    entry.line = card.line;
    entry.offset = card.offset;
    entry.name = std::move(*card.full_name);
    entry.id = !card.uid.empty()
                   ? std::move(card.uid)
                   : derived_vcard_id(entry.name, card.phones.empty() ? std::string_view() : card.phones[0].raw);
    entry.company = std::move(card.company);
    entry.url = std::move(card.url);
    entry.phones = std::move(card.phones);
    sink_(std::move(entry));
  }

  const EntrySink& sink_;
  std::vector<Issue>& issues_;
  std::optional<Card> card_;
  bool seen_card_ = false;
  bool outside_reported_ = false;
};

}  // namespace

bool parse_vcards(std::string_view text, const EntrySink& sink, std::vector<Issue>& issues) {
  const std::size_t bom_size = text.size() - without_bom(text).size();
  CardReader reader(sink, issues);

  // Unfold physical lines into logical ones before reading properties.
  std::string logical;
  int logical_line = 0;
  std::size_t logical_offset = 0;
  bool have_logical = false;
  int number = 0;
  std::size_t position = bom_size;
  while (position < text.size()) {
    auto end = text.find('\n', position);
    if (end == std::string_view::npos) end = text.size();
    std::string_view physical = text.substr(position, end - position);
    if (physical.ends_with('\r')) physical.remove_suffix(1);
    ++number;
    const std::size_t offset = position;
    position = end + 1;

    if (have_logical && !physical.empty() && (physical.front() == ' ' || physical.front() == '\t')) {
      logical.append(physical.substr(1));  // RFC 6350 §3.2 folding
      continue;
    }
    if (have_logical && logical.ends_with('=') && is_quoted_printable_line(logical)) {
      logical.pop_back();  // quoted-printable soft line break
      logical.append(physical);
      continue;
    }
    if (have_logical) reader.line(logical_line, logical_offset, logical);
    logical.assign(physical);
    logical_line = number;
    logical_offset = offset;
    have_logical = true;
  }
  if (have_logical) reader.line(logical_line, logical_offset, logical);
  reader.end_of_text(number);
  if (!reader.seen_card()) {
    issues.push_back({1, "no BEGIN:VCARD found"});
    return false;
  }
  return true;
}

ParsedCustomers parse_vcards(std::string_view text) {
  ParsedCustomers parsed;
  parsed.usable = parse_vcards(
      text, [&](CustomerEntry&& entry) { parsed.entries.push_back(std::move(entry)); }, parsed.issues);
  return parsed;
}

bool looks_like_vcard(std::string_view text) {
  text = without_bom(text);
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\r' ||
                           text.front() == '\n'))
    text.remove_prefix(1);
  return starts_with_ignoring_case(text, "BEGIN:VCARD");
}

std::string derived_vcard_id(std::string_view full_name, std::string_view first_phone) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a 64: stable across builds and platforms
  auto mix = [&](std::string_view text) {
    for (char c : text) {
      hash ^= static_cast<unsigned char>(c);
      hash *= 0x100000001b3ULL;
    }
  };
  mix(full_name);
  mix(std::string_view("\x1f", 1));  // separator so "ab"+"c" differs from "a"+"bc"
  mix(first_phone);
  char text[8 + 16 + 1];
  std::snprintf(text, sizeof text, "vcard-%016llx", static_cast<unsigned long long>(hash));
  return text;
}

}  // namespace deskline::proto::customers
