// Phone numbers to E.164 for the customer directory, with libphonenumber and
// the configured region and local area code.
//
// libphonenumber's Parse runs many regular expressions (~8 µs a number), too
// slow for the directory's lookup budget. So the common Chinese shapes (mobile,
// landline with or without trunk 0 / +86 / 0086, bare local numbers, 400/800)
// are canonicalised by hand; libphonenumber still decides validity (cheap on
// a prebuilt number) and handles everything else. Tests check the hand path
// against libphonenumber's Parse over generated numbers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace deskline::daemon {

enum class NumberKind { mobile, fixed_line, toll_free, shared_cost, other };

struct NormalisedNumber {
  std::string e164;       // "+861062345678"
  std::string extension;  // "801" ("" when none); never part of e164
  NumberKind kind = NumberKind::other;
  friend bool operator==(const NormalisedNumber&, const NormalisedNumber&) = default;
};

enum class PhoneNumberError {
  empty = 1,
  contains_letters,
  too_short,
  too_long,
  bad_extension,     // text after an extension marker that is not 1-6 digits
  needs_area_code,   // a bare local number and no directory.area_code configured
  service_number,    // a short code or service number (110, 10086, 95555): dialled as it is
  invalid,           // digits libphonenumber does not accept for any region tried
};
std::string_view to_string(PhoneNumberError error);

struct NormaliseResult {
  std::optional<NormalisedNumber> number;
  PhoneNumberError error = PhoneNumberError::invalid;
  std::string reason;  // for people: `"12ab" contains letters`
  explicit operator bool() const { return number.has_value(); }
};

class PhoneNumberNormaliser {
 public:
  // region: ISO 3166 code ("CN"); area_code: prepended to bare local numbers,
  // with or without its trunk prefix ("10" or "010"); "" for none.
  // Unknown regions fall back to "ZZ" (only +/00 international numbers parse).
  explicit PhoneNumberNormaliser(std::string region = "CN", std::string area_code = "");

  const std::string& region() const { return region_; }
  const std::string& area_code() const { return area_code_; }

  // Full normalisation with validation: for imports and anything stored.
  // Numbers typed or pasted in Unicode are read as their ASCII: full-width
  // digits and signs (U+FF01..FF5E), Unicode spaces (U+00A0, U+2000..200A,
  // U+202F, U+205F, U+3000) and dashes; zero-width and direction marks and
  // the BOM are ignored; a tel: URI (RFC 3966) reads like "+1 555 0100 ext 12".
  NormaliseResult normalise(std::string_view raw) const;

  // Cheap canonical key for a lookup: the E.164 that normalise() would give
  // when the input is a valid number, without validating it (a directory key
  // is valid by construction, so a hit needs no further check). Returns ""
  // for shapes the hand path does not know; callers then use normalise().
  std::string lookup_key(std::string_view raw, std::string* extension = nullptr) const;

  // True when libphonenumber accepts e164 as a valid number.
  bool is_valid_e164(std::string_view e164) const;

  // For display: national format for numbers of the configured region
  // ("010 6234 5678"), international otherwise ("+1 650-253-0000"), with
  // " ext. N" when there is an extension. e164 must come from this class.
  std::string display(std::string_view e164, std::string_view extension = {}) const;

  // What to show for input that is not a number: trimmed, control characters
  // dropped, at most 40 characters.
  static std::string display_raw(std::string_view raw);

 private:
  // Dialled without international or trunk prefix.
  bool is_bare(std::string_view digits, bool plus) const {
    return !plus && !digits.starts_with("00") && !(!trunk_prefix_.empty() && digits.starts_with(trunk_prefix_));
  }
  // Short codes and service numbers (110, 10086, 12345, 95555, 955xx6) are
  // dialled as they are: never with an area or country code.
  bool is_service_number(std::string_view digits, bool plus) const {
    if (!is_bare(digits, plus)) return false;
    if (digits.size() >= 3 && digits.size() <= 5) return true;
    return china_fast_path_ && digits.size() == 6 && (digits.starts_with("95") || digits.starts_with("96"));
  }
  // In China a bare 7-8 digit number starting 2-9 is always a local number.
  bool is_china_local(std::string_view digits) const {
    return china_fast_path_ && (digits.size() == 7 || digits.size() == 8) && digits[0] >= '2';
  }

  std::string region_;
  std::string area_code_;       // without trunk prefix: "10"
  std::string trunk_prefix_;    // national dialling prefix of region_: "0" for CN
  int country_code_ = 0;        // 86 for CN; 0 for unknown regions
  bool china_fast_path_ = false;
};

}  // namespace deskline::daemon
