#include "proto/vcard.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iterator>
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

// ISO-8859-1 is the one legacy charset whose bytes map to Unicode one to one.
std::string latin1_to_utf8(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x80) {
      out.push_back(c);
    } else {
      out.push_back(static_cast<char>(0xC0 | byte >> 6));
      out.push_back(static_cast<char>(0x80 | (byte & 0x3F)));
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

enum class Encoding { none, quoted_printable, base64, unsupported };

// An ENCODING value, or a vCard 2.1 bare parameter naming one; nullopt when
// the text names no encoding.
std::optional<Encoding> encoding_named(std::string_view name) {
  if (equals_ignoring_case(name, "QUOTED-PRINTABLE")) return Encoding::quoted_printable;
  if (equals_ignoring_case(name, "BASE64") || equals_ignoring_case(name, "B")) return Encoding::base64;
  if (equals_ignoring_case(name, "8BIT") || equals_ignoring_case(name, "7BIT")) return Encoding::none;
  return std::nullopt;
}

struct Property {
  std::string name;  // upper case, group removed
  std::vector<std::string> types;  // lower case TYPE values
  Encoding encoding = Encoding::none;
  std::string encoding_name;  // as written, for an unsupported one
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

// True when line begins a property ("TEL;CELL:", "item1.EMAIL:", "X-FOO:")
// of RFC 6350, RFC 2426 or vCard 2.1: a quoted-printable soft line break
// never continues into one, so a value that ends in a stray '=' cannot
// swallow the next property.
bool starts_property(std::string_view line) {
  static constexpr std::string_view names[] = {
      "ADR",     "AGENT",  "ANNIVERSARY", "BDAY",   "BEGIN",   "CALADRURI", "CALURI", "CATEGORIES",
      "CLASS",   "CLIENTPIDMAP", "EMAIL", "END",    "FBURL",   "FN",        "GENDER", "GEO",
      "IMPP",    "KEY",    "KIND",        "LABEL",  "LANG",    "LOGO",      "MAILER", "MEMBER",
      "N",       "NAME",   "NICKNAME",    "NOTE",   "ORG",     "PHOTO",     "PRODID", "PROFILE",
      "RELATED", "REV",    "ROLE",        "SORT-STRING", "SOUND", "SOURCE", "TEL",    "TITLE",
      "TZ",      "UID",    "URL",         "VERSION", "XML"};
  const auto is_name_char = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  };
  std::size_t end = 0;
  while (end < line.size() && (is_name_char(line[end]) || line[end] == '.')) ++end;
  if (end == line.size() || (line[end] != ':' && line[end] != ';')) return false;
  std::string_view name = line.substr(0, end);
  if (const auto dot = name.rfind('.'); dot != std::string_view::npos) name.remove_prefix(dot + 1);
  if (starts_with_ignoring_case(name, "X-")) return true;
  return std::any_of(std::begin(names), std::end(names),
                     [&](std::string_view known) { return equals_ignoring_case(name, known); });
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
      // vCard 2.1 bare parameters: "TEL;CELL:", "FN;QUOTED-PRINTABLE:"; "B"
      // is a TYPE here, never an encoding.
      const auto encoding = equals_ignoring_case(parameter, "B") ? std::nullopt : encoding_named(parameter);
      if (encoding) property.encoding = *encoding;
      else add_types(parameter);
      continue;
    }
    const std::string_view key = trim(parameter.substr(0, equals));
    std::string_view value = trim(parameter.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    if (equals_ignoring_case(key, "TYPE")) {
      add_types(value);
    } else if (equals_ignoring_case(key, "ENCODING")) {
      property.encoding = encoding_named(value).value_or(Encoding::unsupported);
      property.encoding_name = std::string(value);
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

std::string phone_from_value(std::string_view value, bool uri_value) {
  value = trim(value);
  if (!uri_value && !starts_with_ignoring_case(value, "tel:")) return std::string(value);
  return tel_uri_as_text(value);
}

class CardReader {
 public:
  CardReader(const EntrySink& sink, std::vector<Issue>& issues) : sink_(sink), issues_(issues) {}

  // cut: the logical line was longer than max_vcard_line_bytes; text is its start.
  void line(int number, std::size_t offset, std::string_view text, bool cut) {
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
      if (cut)
        card_->error = card_->error.value_or("line " + std::to_string(number) + " is longer than " +
                                             std::to_string(max_vcard_line_bytes) + " bytes");
      else if (!trim(text).empty())
        card_->error = card_->error.value_or("no ':' in the property on line " + std::to_string(number));
      return;
    }
    use(*property, number, cut);
  }

  void end_of_text(int last_line) {
    if (!card_) return;
    card_->error = card_->error.value_or("no END:VCARD (text ends on line " + std::to_string(last_line) + ")");
    finish();
  }

  bool seen_card() const { return seen_card_; }

 private:
  void use(const Property& property, int number, bool cut) {
    const bool wanted = property.name == "FN" || property.name == "ORG" || property.name == "URL" ||
                        property.name == "UID" || property.name == "TEL";
    if (!wanted) return;
    const auto refuse = [&](const std::string& why) {
      card_->error = card_->error.value_or(property.name + " on line " + std::to_string(number) + ": " + why);
    };
    if (cut) return refuse("longer than " + std::to_string(max_vcard_line_bytes) + " bytes");
    if (property.encoding == Encoding::unsupported)
      return refuse("encoding " + property.encoding_name + " is not supported");
    const bool latin1 = property.charset == "ISO-8859-1";
    if (!property.charset.empty() && property.charset != "UTF-8" && property.charset != "US-ASCII" && !latin1) {
      card_->error = card_->error.value_or(
          "charset " + property.charset + " on line " + std::to_string(number) + " is not supported (export as UTF-8)");
      return;
    }
    DecodedValue decoded;
    switch (property.encoding) {
      case Encoding::quoted_printable: decoded = decode_quoted_printable(property.value); break;
      case Encoding::base64: decoded = decode_base64(property.value); break;
      default: decoded.bytes = std::string(property.value); break;
    }
    if (!decoded) return refuse(decoded.refusal);
    const std::string value = latin1 ? latin1_to_utf8(*decoded.bytes) : std::move(*decoded.bytes);
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
      // One past the limit is enough for exceeded_limit to refuse the card.
      if (!phone.empty() && card_->phones.size() <= max_phones)
        card_->phones.push_back({std::move(label), std::move(phone)});
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
    if (auto exceeded = exceeded_limit(entry)) {
      issues_.push_back({card.line, std::move(*exceeded)});
      return;
    }
    sink_(std::move(entry));
  }

  const EntrySink& sink_;
  std::vector<Issue>& issues_;
  std::optional<Card> card_;
  bool seen_card_ = false;
  bool outside_reported_ = false;
};

}  // namespace

std::string tel_uri_as_text(std::string_view uri) {
  uri = trim(uri);
  if (starts_with_ignoring_case(uri, "tel:")) uri.remove_prefix(4);
  const auto semicolon = uri.find(';');
  std::string number(uri.substr(0, semicolon));
  std::string extension;
  if (semicolon != std::string_view::npos) {
    std::string_view parameters = uri.substr(semicolon + 1);
    while (!parameters.empty()) {
      const auto next = parameters.find(';');
      const std::string_view parameter = parameters.substr(0, next);
      if (starts_with_ignoring_case(parameter, "ext=")) {
        extension = " ext " + std::string(parameter.substr(4));
      } else if (starts_with_ignoring_case(parameter, "phone-context=+")) {
        // RFC 3966 5.1.5: a local number's global prefix ("+86-10").
        number = std::string(parameter.substr(14)) + " " + number;
      }
      if (next == std::string_view::npos) break;
      parameters.remove_prefix(next + 1);
    }
  }
  return number + extension;
}

DecodedValue decode_quoted_printable(std::string_view value) {
  DecodedValue decoded;
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '=') {
      out.push_back(value[i]);
      continue;
    }
    if (i + 1 == value.size()) {
      decoded.refusal = "quoted-printable value ends with '=' (its next line is a property)";
      return decoded;
    }
    const int high = hex_digit_value(value[i + 1]);
    const int low = i + 2 < value.size() ? hex_digit_value(value[i + 2]) : -1;
    if (high < 0 || low < 0) {
      decoded.refusal = "\"" + std::string(value.substr(i, 3)) + "\" is not a quoted-printable escape";
      if (!is_valid_utf8(decoded.refusal)) decoded.refusal = "bad quoted-printable escape";
      return decoded;
    }
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  decoded.bytes = std::move(out);
  return decoded;
}

DecodedValue decode_base64(std::string_view value) {
  const auto sextet = [](char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  DecodedValue decoded;
  std::string out;
  std::uint32_t bits = 0;
  int bit_count = 0;
  std::size_t symbols = 0;
  std::size_t padding = 0;
  for (const char c : value) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    const int six = sextet(c);
    if (six < 0 || padding > 0) {
      decoded.refusal = padding > 0 ? "base64 value goes on after its '=' padding" : "base64 value holds a character outside its alphabet";
      return decoded;
    }
    ++symbols;
    bits = bits << 6 | static_cast<std::uint32_t>(six);
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      out.push_back(static_cast<char>(bits >> bit_count & 0xFF));
    }
  }
  // A last group of one symbol holds no whole byte; padding completes a group of 4.
  if (symbols % 4 == 1 || padding > 2 || (padding > 0 && (symbols + padding) % 4 != 0)) {
    decoded.refusal = "base64 value is cut short";
    return decoded;
  }
  decoded.bytes = std::move(out);
  return decoded;
}

bool parse_vcards(std::string_view text, const EntrySink& sink, std::vector<Issue>& issues) {
  const std::size_t bom_size = text.size() - without_bom(text).size();
  CardReader reader(sink, issues);

  // Unfold physical lines into logical ones before reading properties. A
  // logical line keeps at most max_vcard_line_bytes, so a million folded
  // lines cost no more memory than one.
  std::string logical;
  bool logical_cut = false;
  // Whether the logical line is quoted-printable, known once its ':' is in.
  bool logical_head_read = false;
  bool logical_quoted_printable = false;
  int logical_line = 0;
  std::size_t logical_offset = 0;
  bool have_logical = false;
  const auto append = [&](std::string_view part) {
    const std::size_t room = max_vcard_line_bytes - logical.size();
    if (part.size() > room) {
      logical_cut = true;
      part = part.substr(0, room);
    }
    logical.append(part);
  };
  const auto quoted_printable = [&] {
    if (!logical_head_read && value_colon(logical) != std::string_view::npos) {
      logical_head_read = true;
      logical_quoted_printable = is_quoted_printable_line(logical);
    }
    return logical_quoted_printable;
  };
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
      append(physical.substr(1));  // RFC 6350 §3.2 folding
      continue;
    }
    if (have_logical && logical.ends_with('=') && !starts_property(physical) && quoted_printable()) {
      logical.pop_back();  // quoted-printable soft line break
      append(physical);
      continue;
    }
    if (have_logical) reader.line(logical_line, logical_offset, logical, logical_cut);
    logical.clear();
    logical_cut = false;
    logical_head_read = false;
    logical_quoted_printable = false;
    append(physical);
    logical_line = number;
    logical_offset = offset;
    have_logical = true;
  }
  if (have_logical) reader.line(logical_line, logical_offset, logical, logical_cut);
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
