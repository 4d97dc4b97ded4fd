#include "daemon/directory/phone_number.hpp"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>

#include <fmt/format.h>

#include "proto/vcard.hpp"

namespace deskline::daemon {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

PhoneNumberUtil& library() { return *PhoneNumberUtil::GetInstance(); }

constexpr std::size_t min_digits = 3;   // below this even short codes make no sense
constexpr std::size_t max_digits = 17;  // "0086" + a 13-digit national number
constexpr std::size_t max_extension_digits = 6;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view text) {
  // U+3000 IDEOGRAPHIC SPACE is what Chinese input methods type for a space.
  constexpr std::string_view ideographic_space = "\xE3\x80\x80";
  while (true) {
    if (!text.empty() && is_space(text.front())) {
      text.remove_prefix(1);
    } else if (text.starts_with(ideographic_space)) {
      text.remove_prefix(ideographic_space.size());
    } else if (!text.empty() && is_space(text.back())) {
      text.remove_suffix(1);
    } else if (text.ends_with(ideographic_space)) {
      text.remove_suffix(ideographic_space.size());
    } else {
      return text;
    }
  }
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_digit);
}

// What one Unicode character of a number becomes in plain_number_text.
enum class Fold { keep, space, drop };

Fold fold_of(std::uint32_t code, char& ascii) {
  if (code >= 0xFF01 && code <= 0xFF5E) {  // full-width ASCII: ０-９, ＋, （, －, ＃, ｅｘｔ
    ascii = static_cast<char>(code - 0xFF01 + 0x21);
    return Fold::keep;
  }
  if ((code >= 0x2010 && code <= 0x2015) || code == 0x2212) {  // hyphens, dashes, minus sign
    ascii = '-';
    return Fold::keep;
  }
  if (code == 0x00A0 || (code >= 0x2000 && code <= 0x200A) || code == 0x202F || code == 0x205F || code == 0x3000)
    return Fold::space;
  // Zero-width characters, word joiner, BOM and direction marks: invisible
  // in the CRM, pasted along with numbers.
  if ((code >= 0x200B && code <= 0x200F) || (code >= 0x202A && code <= 0x202E) || code == 0x2060 ||
      (code >= 0x2066 && code <= 0x2069) || code == 0xFEFF)
    return Fold::drop;
  return Fold::keep;
}

// The number in plain ASCII where it was typed or pasted in Unicode (see
// fold_of), and a tel: URI (RFC 3966) as written text. Anything else is
// kept for split_input to refuse.
std::string plain_number_text(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size();) {
    const auto byte = static_cast<unsigned char>(raw[i]);
    const std::size_t length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1;
    const auto continues = [&](std::size_t k) { return (static_cast<unsigned char>(raw[i + k]) & 0xC0) == 0x80; };
    if (length == 1 || i + length > raw.size() || !continues(1) || (length > 2 && !continues(2)) ||
        (length > 3 && !continues(3))) {
      out.push_back(raw[i++]);  // not UTF-8: kept byte by byte
      continue;
    }
    std::uint32_t code = byte & (0x7F >> length);
    for (std::size_t k = 1; k < length; ++k) code = code << 6 | (static_cast<unsigned char>(raw[i + k]) & 0x3F);
    char ascii = 0;
    switch (fold_of(code, ascii)) {
      case Fold::keep:
        if (ascii) out.push_back(ascii);
        else out.append(raw.substr(i, length));
        break;
      case Fold::space: out.push_back(' '); break;
      case Fold::drop: break;
    }
    i += length;
  }
  const std::string_view text = trim(out);
  if (text.size() >= 4 && std::equal(text.begin(), text.begin() + 4, "tel:", [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == b;
      }))
    return proto::customers::tel_uri_as_text(text);
  return out;
}

// The input split into the number and an extension, before any dialling logic.
struct Split {
  std::string_view main;       // trimmed
  std::string extension;       // digits only
  bool plus = false;           // main starts with '+'
  std::string digits;          // main's digits
  std::string_view dash_head;  // main before its last '-' when that group may be an extension
  std::string dash_tail;       // that group's digits
};

// Extension markers people write after a number. '-' is handled separately
// since it also separates digit groups of the number itself.
struct Marker {
  std::string_view text;
  bool case_insensitive;
};
constexpr std::array<Marker, 8> extension_markers = {{
    {",", false},
    {";", false},
    {"#", false},
    {"ext", true},
    {"x", true},
    {"\xE8\xBD\xAC", false},              // 转 (transfer to)
    {"\xE5\x88\x86\xE6\x9C\xBA", false},  // 分机 (extension)
    {"\xEF\xBC\x8C", false},              // ， full-width comma
}};

std::size_t find_marker(std::string_view text, std::size_t& marker_size) {
  std::size_t best = std::string_view::npos;
  for (const auto& marker : extension_markers) {
    std::size_t at = std::string_view::npos;
    if (marker.case_insensitive) {
      for (std::size_t i = 0; i + marker.text.size() <= text.size(); ++i) {
        bool equal = true;
        for (std::size_t j = 0; j < marker.text.size() && equal; ++j)
          equal = std::tolower(static_cast<unsigned char>(text[i + j])) == marker.text[j];
        if (equal) {
          at = i;
          break;
        }
      }
    } else {
      at = text.find(marker.text);
    }
    if (at < best) {
      best = at;
      marker_size = marker.text.size();
    }
  }
  return best;
}

std::string quoted(std::string_view raw) {
  return fmt::format("\"{}\"", PhoneNumberNormaliser::display_raw(raw));
}

// Splits plain, the plain_number_text of raw (split's views point into it);
// on failure fills error and reason, which quotes raw, and returns false.
bool split_input(std::string_view raw, std::string_view plain, Split& split, PhoneNumberError& error,
                 std::string& reason) {
  auto refuse = [&](PhoneNumberError code, std::string_view why) {
    error = code;
    reason = fmt::format("{} is not a number ({})", quoted(raw), why);
    return false;
  };
  std::string_view text = trim(plain);
  if (text.empty()) {
    error = PhoneNumberError::empty;
    reason = "empty number";
    return false;
  }
  std::size_t marker_size = 0;
  if (const auto at = find_marker(text, marker_size); at != std::string_view::npos) {
    std::string_view extension = trim(text.substr(at + marker_size));
    while (!extension.empty() && (extension.front() == '.' || extension.front() == ':'))
      extension = trim(extension.substr(1));
    if (!extension.empty() && (!all_digits(extension) || extension.size() > max_extension_digits))
      return refuse(PhoneNumberError::bad_extension, "extension must be 1 to 6 digits");
    split.extension = std::string(extension);
    text = trim(text.substr(0, at));
  }
  split.main = text;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (is_digit(c)) {
      split.digits.push_back(c);
    } else if (c == '+' && split.digits.empty() && !split.plus) {
      split.plus = true;
    } else if (is_ascii_letter(c)) {
      return refuse(PhoneNumberError::contains_letters, "contains letters");
    } else if (!(is_space(c) || c == '-' || c == '.' || c == '(' || c == ')' || c == '/')) {
      return refuse(PhoneNumberError::invalid, "unexpected character");
    }
  }
  if (split.digits.empty()) return refuse(PhoneNumberError::invalid, "no digits");
  if (split.digits.size() < min_digits) return refuse(PhoneNumberError::too_short, "too short");
  if (split.digits.size() > max_digits) return refuse(PhoneNumberError::too_long, "too long");
  if (split.extension.empty()) {
    if (const auto dash = text.rfind('-'); dash != std::string_view::npos) {
      const std::string_view tail = trim(text.substr(dash + 1));
      if (all_digits(tail) && tail.size() <= max_extension_digits) {
        split.dash_head = trim(text.substr(0, dash));
        split.dash_tail = std::string(tail);
      }
    }
  }
  return true;
}

std::string digits_of(std::string_view text) {
  std::string digits;
  for (char c : text)
    if (is_digit(c)) digits.push_back(c);
  return digits;
}

// The Chinese national significant number for common shapes of dialled
// digits, or "" when the shape is not one of them (the library decides).
// Only shapes whose E.164 form is unambiguous are accepted; tests compare
// the result with libphonenumber's Parse.
std::string china_national_number(std::string_view digits, bool plus, std::string_view area_code) {
  std::string_view national;
  bool after_trunk = false;
  if (plus) {
    if (!digits.starts_with("86")) return {};
    national = digits.substr(2);
  } else if (digits.starts_with("0086")) {
    national = digits.substr(4);
  } else if (digits.starts_with("00")) {
    return {};  // another country
  } else if (digits.starts_with("0")) {
    national = digits.substr(1);
    after_trunk = true;
  } else if (digits.size() == 13 && digits.starts_with("861")) {
    national = digits.substr(2);  // "86" written without '+'
  } else if (digits.size() == 11 && digits[0] == '1') {
    national = digits;
  } else if (digits.size() == 10 && (digits.starts_with("400") || digits.starts_with("800"))) {
    national = digits;
  } else if ((digits.size() == 7 || digits.size() == 8) && digits[0] >= '2' && !area_code.empty()) {
    // A bare local number: libphonenumber finds it invalid without the area code.
    std::string with_area(area_code);
    with_area.append(digits);
    const bool two_digit_area = area_code == "10" || (area_code.size() == 2 && area_code[0] == '2');
    if (two_digit_area ? digits.size() != 8 : area_code.size() != 3) return {};
    return with_area;
  } else {
    return {};
  }
  if (national.empty()) return {};
  const bool service = national.starts_with("400") || national.starts_with("800");
  if (national[0] == '1') {
    if (national.size() == 11 && national[1] >= '3' && !after_trunk) return std::string(national);  // mobile
    if (national.size() == 10 && national[1] == '0') return std::string(national);  // Beijing, 010
    return {};
  }
  if (service && !after_trunk) return national.size() == 10 ? std::string(national) : std::string();
  if (national[0] == '2') return national.size() == 10 ? std::string(national) : std::string();
  if (national[0] >= '3') return national.size() == 10 || national.size() == 11 ? std::string(national) : std::string();
  return {};
}

NumberKind kind_of(const PhoneNumber& number) {
  switch (library().GetNumberType(number)) {
    case PhoneNumberUtil::MOBILE: return NumberKind::mobile;
    case PhoneNumberUtil::FIXED_LINE: return NumberKind::fixed_line;
    case PhoneNumberUtil::FIXED_LINE_OR_MOBILE: return NumberKind::fixed_line;
    case PhoneNumberUtil::TOLL_FREE: return NumberKind::toll_free;
    case PhoneNumberUtil::SHARED_COST: return NumberKind::shared_cost;
    default: return NumberKind::other;
  }
}

PhoneNumber china_number(std::string_view national) {
  PhoneNumber number;
  number.set_country_code(86);
  std::uint64_t value = 0;
  for (char c : national) value = value * 10 + static_cast<std::uint64_t>(c - '0');
  number.set_national_number(value);
  return number;
}

// "010 6234 5678" style grouping of a Chinese national number, as
// libphonenumber's NATIONAL format writes it ("" for shapes not covered).
std::string china_national_display(std::string_view national) {
  const auto group = [&](std::string_view prefix, std::initializer_list<std::size_t> sizes) {
    std::string out(prefix);
    std::size_t at = 0;
    for (std::size_t size : sizes) {
      if (!out.empty() && out != "0") out.push_back(' ');
      out.append(national.substr(at, size));
      at += size;
    }
    return out;
  };
  if (national.size() == 11 && national[0] == '1' && national[1] >= '3') return group("", {3, 4, 4});
  if (national.size() == 10 && (national.starts_with("400") || national.starts_with("800")))
    return group("", {3, 3, 4});
  if (national.size() == 10 && (national.starts_with("10") || national[0] == '2')) return group("0", {2, 4, 4});
  if (national[0] >= '3' && national.size() == 11) return group("0", {3, 4, 4});
  if (national[0] >= '3' && national.size() == 10) return group("0", {3, 3, 4});
  return {};
}

}  // namespace

std::string_view to_string(PhoneNumberError error) {
  switch (error) {
    case PhoneNumberError::empty: return "empty";
    case PhoneNumberError::contains_letters: return "contains letters";
    case PhoneNumberError::too_short: return "too short";
    case PhoneNumberError::too_long: return "too long";
    case PhoneNumberError::bad_extension: return "bad extension";
    case PhoneNumberError::needs_area_code: return "needs an area code";
    case PhoneNumberError::service_number: return "service number";
    case PhoneNumberError::invalid: return "invalid";
  }
  return "invalid";
}

PhoneNumberNormaliser::PhoneNumberNormaliser(std::string region, std::string area_code)
    : region_(std::move(region)) {
  std::transform(region_.begin(), region_.end(), region_.begin(),
                 [](char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); });
  country_code_ = library().GetCountryCodeForRegion(region_);
  if (country_code_ == 0) region_ = "ZZ";
  if (country_code_ != 0) library().GetNddPrefixForRegion(region_, /*strip_non_digits=*/true, &trunk_prefix_);
  area_code_ = digits_of(area_code);
  if (!trunk_prefix_.empty() && area_code_.starts_with(trunk_prefix_)) area_code_.erase(0, trunk_prefix_.size());
  china_fast_path_ = region_ == "CN";
}

NormaliseResult PhoneNumberNormaliser::normalise(std::string_view raw) const {
  NormaliseResult result;
  const std::string plain = plain_number_text(raw);
  Split split;
  if (!split_input(raw, plain, split, result.error, result.reason)) return result;
  if (split.extension.empty() && split.dash_head.empty() && is_service_number(split.digits, split.plus)) {
    result.error = PhoneNumberError::service_number;
    result.reason = fmt::format("{} is not a number to normalise (a short or service number, kept as dialled)",
                                quoted(raw));
    return result;
  }

  auto attempt = [&](std::string_view main, std::string_view digits, bool plus,
                     std::string_view extension) -> std::optional<NormalisedNumber> {
    if (china_fast_path_) {
      if (auto national = china_national_number(digits, plus, area_code_); !national.empty()) {
        const PhoneNumber number = china_number(national);
        if (library().IsValidNumber(number)) return NormalisedNumber{"+86" + national, std::string(extension), kind_of(number)};
      }
    }
    auto parse = [&](const std::string& text) -> std::optional<NormalisedNumber> {
      PhoneNumber number;
      if (library().Parse(text, region_, &number) != PhoneNumberUtil::NO_PARSING_ERROR ||
          !library().IsValidNumber(number) || number.has_extension())
        return std::nullopt;
      NormalisedNumber normalised;
      library().Format(number, PhoneNumberUtil::E164, &normalised.e164);
      normalised.extension = std::string(extension);
      normalised.kind = kind_of(number);
      return normalised;
    };
    if (is_bare(digits, plus)) {
      // A bare local number: libphonenumber needs the configured area code
      // in front. Tried first, since e.g. "28964491" also reads as a valid
      // but wrong number in area 028.
      if (!area_code_.empty())
        if (auto number = parse(trunk_prefix_ + area_code_ + std::string(digits))) return number;
      if (is_china_local(digits)) return std::nullopt;  // never dialled without the area code
    }
    return parse(std::string(main));
  };

  if (auto number = attempt(split.main, split.digits, split.plus, split.extension)) {
    result.number = std::move(*number);
    return result;
  }
  // "010-62345678-801": the last dash group was an extension.
  if (!split.dash_head.empty()) {
    if (auto number = attempt(split.dash_head, digits_of(split.dash_head), split.plus, split.dash_tail)) {
      result.number = std::move(*number);
      return result;
    }
  }

  // Why not: the most useful of libphonenumber's reasons.
  auto refuse = [&](PhoneNumberError code, std::string_view why) {
    result.error = code;
    result.reason = fmt::format("{} is not a number ({})", quoted(raw), why);
    return result;
  };
  PhoneNumber number;
  const auto parsed = library().Parse(std::string(split.main), region_, &number);
  if (parsed == PhoneNumberUtil::TOO_SHORT_NSN || parsed == PhoneNumberUtil::TOO_SHORT_AFTER_IDD)
    return refuse(PhoneNumberError::too_short, "too short");
  if (parsed == PhoneNumberUtil::TOO_LONG_NSN) return refuse(PhoneNumberError::too_long, "too long");
  if (parsed == PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR)
    return refuse(PhoneNumberError::invalid, "unknown country code");
  if (parsed != PhoneNumberUtil::NO_PARSING_ERROR) return refuse(PhoneNumberError::invalid, "not a phone number");
  const auto possible = library().IsPossibleNumberWithReason(number);
  if (is_bare(split.digits, split.plus) && area_code_.empty() &&
      (is_china_local(split.digits) || possible == PhoneNumberUtil::IS_POSSIBLE_LOCAL_ONLY))
    return refuse(PhoneNumberError::needs_area_code, "a local number needs directory.area_code");
  if (possible == PhoneNumberUtil::TOO_SHORT) return refuse(PhoneNumberError::too_short, "too short");
  if (possible == PhoneNumberUtil::TOO_LONG) return refuse(PhoneNumberError::too_long, "too long");
  return refuse(PhoneNumberError::invalid, fmt::format("not valid in region {}", region_));
}

std::string PhoneNumberNormaliser::lookup_key(std::string_view raw, std::string* extension) const {
  if (!china_fast_path_) return {};
  // Caller ID is plain digits: skip the general splitting for it.
  if (all_digits(raw) && raw.size() <= max_digits) {
    if (is_service_number(raw, false)) return {};
    auto national = china_national_number(raw, false, area_code_);
    if (national.empty()) return {};
    if (extension) extension->clear();
    return "+86" + national;
  }
  const std::string plain = plain_number_text(raw);
  Split split;
  PhoneNumberError error{};
  std::string reason;
  if (!split_input(raw, plain, split, error, reason)) return {};
  if (is_service_number(split.digits, split.plus)) return {};
  auto national = china_national_number(split.digits, split.plus, area_code_);
  if (national.empty() && !split.dash_head.empty()) {
    national = china_national_number(digits_of(split.dash_head), split.plus, area_code_);
    split.extension = split.dash_tail;
  }
  if (national.empty()) return {};
  if (extension) *extension = split.extension;
  return "+86" + national;
}

bool PhoneNumberNormaliser::is_valid_e164(std::string_view e164) const {
  if (e164.starts_with("+86") && all_digits(e164.substr(3)) && e164.size() <= 3 + 13)
    return library().IsValidNumber(china_number(e164.substr(3)));
  PhoneNumber number;
  return library().Parse(std::string(e164), "ZZ", &number) == PhoneNumberUtil::NO_PARSING_ERROR &&
         library().IsValidNumber(number);
}

std::string PhoneNumberNormaliser::display(std::string_view e164, std::string_view extension) const {
  std::string out;
  if (china_fast_path_ && e164.starts_with("+86") && all_digits(e164.substr(3)))
    out = china_national_display(e164.substr(3));
  if (out.empty()) {
    PhoneNumber number;
    if (library().Parse(std::string(e164), "ZZ", &number) != PhoneNumberUtil::NO_PARSING_ERROR)
      return display_raw(e164);
    const bool in_region = static_cast<int>(number.country_code()) == country_code_;
    library().Format(number, in_region ? PhoneNumberUtil::NATIONAL : PhoneNumberUtil::INTERNATIONAL, &out);
  }
  if (!extension.empty()) out += fmt::format(" ext. {}", extension);
  return out;
}

std::string PhoneNumberNormaliser::display_raw(std::string_view raw) {
  constexpr std::size_t max_display = 40;
  std::string out;
  for (char c : trim(raw)) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) continue;
    out.push_back(c);
  }
  if (out.size() > max_display) {
    // Cut at a UTF-8 character boundary so the text stays valid for JSON.
    std::size_t cut = max_display;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
    out += "...";
  }
  return out;
}

}  // namespace deskline::daemon
