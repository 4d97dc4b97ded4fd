#include "daemon/directory/phone_number.hpp"

#include <gtest/gtest.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <random>
#include <string>
#include <vector>

namespace deskline::daemon {
namespace {

struct Row {
  const char* input;
  const char* area_code;  // configured directory.area_code
  const char* e164;       // "" when not a number
  const char* extension;
  PhoneNumberError error;  // when e164 is ""
};

constexpr auto no_error = PhoneNumberError::invalid;  // ignored for numbers

// Real-world ways Chinese users and exchanges write numbers (region CN).
const Row china_rows[] = {
    // Mobile, with and without country code.
    {"13812345678", "", "+8613812345678", "", no_error},
    {"138 1234 5678", "", "+8613812345678", "", no_error},
    {"138-1234-5678", "", "+8613812345678", "", no_error},
    {"+86 138 1234 5678", "", "+8613812345678", "", no_error},
    {"+8613812345678", "", "+8613812345678", "", no_error},
    {"0086-138-1234-5678", "", "+8613812345678", "", no_error},
    {"008613812345678", "", "+8613812345678", "", no_error},
    {"86 13812345678", "", "+8613812345678", "", no_error},
    {"+86 (138) 1234-5678", "", "+8613812345678", "", no_error},
    {"\xE3\x80\x80" "13812345678 ", "", "+8613812345678", "", no_error},  // ideographic space
    {"19912345678", "", "+8619912345678", "", no_error},
    // Landlines with area code, with and without trunk 0.
    {"010-62345678", "", "+861062345678", "", no_error},
    {"(010)62345678", "", "+861062345678", "", no_error},
    {"(010) 6234 5678", "10", "+861062345678", "", no_error},
    {"01062345678", "", "+861062345678", "", no_error},
    {"+86 10 6234 5678", "", "+861062345678", "", no_error},
    {"0086 10 62345678", "", "+861062345678", "", no_error},
    {"021 6123 4567", "", "+862161234567", "", no_error},
    {"021-61234567", "10", "+862161234567", "", no_error},
    {"0755-8888 8888", "", "+8675588888888", "", no_error},
    {"0351-1234567", "", "+863511234567", "", no_error},
    {"1062345678", "", "+861062345678", "", no_error},  // trunk 0 forgotten
    // Bare local numbers get the configured area code.
    {"62345678", "10", "+861062345678", "", no_error},
    {"6234 5678", "010", "+861062345678", "", no_error},
    {"88888888", "755", "+8675588888888", "", no_error},
    {"1234567", "351", "+863511234567", "", no_error},
    {"62345678", "", "", "", PhoneNumberError::needs_area_code},
    // Service numbers.
    {"4008-123-123", "", "+864008123123", "", no_error},
    {"400 810 8888", "10", "+864008108888", "", no_error},
    {"800 810 8888", "", "+868008108888", "", no_error},
    {"8008108888", "", "+868008108888", "", no_error},
    // Short codes and service numbers are kept as dialled, area code or not.
    {"110", "10", "", "", PhoneNumberError::service_number},
    {"10086", "10", "", "", PhoneNumberError::service_number},
    {"12345", "", "", "", PhoneNumberError::service_number},
    {"95555", "10", "", "", PhoneNumberError::service_number},
    {"955880", "10", "", "", PhoneNumberError::service_number},
    {"96110", "21", "", "", PhoneNumberError::service_number},
    {"+86 10086", "", "", "", PhoneNumberError::invalid},  // not dialled as a service number
    // Extensions after '-', ',', "ext", '#', 转.
    {"010-62345678-801", "", "+861062345678", "801", no_error},
    {"010-62345678,801", "", "+861062345678", "801", no_error},
    {"010 6234 5678 ext. 801", "", "+861062345678", "801", no_error},
    {"010-62345678#801", "", "+861062345678", "801", no_error},
    {"010-62345678 \xE8\xBD\xAC 801", "", "+861062345678", "801", no_error},
    {"62345678-801", "10", "+861062345678", "801", no_error},
    {"4008-123-123,2", "", "+864008123123", "2", no_error},
    // International.
    {"+1 650 253 0000", "", "+16502530000", "", no_error},
    {"001 650 253 0000", "", "+16502530000", "", no_error},
    {"0044 20 7946 0958", "", "+442079460958", "", no_error},
    {"+44 (0)20 7946 0958", "", "+442079460958", "", no_error},
    {"+852 2123 4567", "", "+85221234567", "", no_error},
    // Typed or pasted in Unicode: full-width digits and signs, Unicode
    // spaces and dashes, invisible characters, tel: URIs.
    {"\xEF\xBC\x91\xEF\xBC\x93\xEF\xBC\x98\xEF\xBC\x91\xEF\xBC\x92\xEF\xBC\x93\xEF\xBC\x94"
     "\xEF\xBC\x95\xEF\xBC\x96\xEF\xBC\x97\xEF\xBC\x98", "", "+8613812345678", "", no_error},  // １３８１２３４５６７８
    {"\xEF\xBC\x8B" "86 138 1234 5678", "", "+8613812345678", "", no_error},  // ＋ full-width plus
    {"\xEF\xBC\x88" "010" "\xEF\xBC\x89" "62345678", "", "+861062345678", "", no_error},  // （010）
    {"010" "\xEF\xBC\x8D" "62345678" "\xEF\xBC\x83" "801", "", "+861062345678", "801", no_error},  // －, ＃
    {"\xC2\xA0" "138\xC2\xA0" "1234\xC2\xA0" "5678\xC2\xA0", "", "+8613812345678", "", no_error},  // NBSP
    {"138\xE2\x80\x89" "1234\xE2\x80\xAF" "5678\xE3\x80\x80", "", "+8613812345678", "", no_error},  // thin, narrow
    {"\xE2\x80\x8B" "138\xE2\x80\x8C" "1234\xE2\x80\x8D" "5678\xE2\x81\xA0", "", "+8613812345678", "",
     no_error},  // zero-width space, non-joiner, joiner, word joiner
    {"\xEF\xBB\xBF" "13812345678\xE2\x80\x8E", "", "+8613812345678", "", no_error},  // BOM, LRM
    {"010\xE2\x80\x93" "62345678", "", "+861062345678", "", no_error},  // en dash
    {"tel:+86-138-1234-5678", "", "+8613812345678", "", no_error},
    {" TEL:+86-10-62345678;ext=801", "", "+861062345678", "801", no_error},
    {"tel:6234-5678;phone-context=+86-10", "", "+861062345678", "", no_error},
    {"tel:+1-650-253-0000;isub=12", "", "+16502530000", "", no_error},
    {"tel:", "", "", "", PhoneNumberError::empty},
    {"\xE2\x80\x8B", "", "", "", PhoneNumberError::empty},
    {"tel:abc", "", "", "", PhoneNumberError::contains_letters},
    {"\xEF\xBD\x81\xEF\xBD\x82\xEF\xBD\x83", "", "", "", PhoneNumberError::contains_letters},  // ａｂｃ
    {"138\xE2\x98\x8E" "12345678", "", "", "", PhoneNumberError::invalid},  // ☎ is still not a number
    // Garbage.
    {"abc", "", "", "", PhoneNumberError::contains_letters},
    {"12ab", "", "", "", PhoneNumberError::contains_letters},
    {"", "", "", "", PhoneNumberError::empty},
    {"   ", "10", "", "", PhoneNumberError::empty},
    {"123", "", "", "", PhoneNumberError::service_number},
    {"12", "", "", "", PhoneNumberError::too_short},
    {"1234567890123456789012345678901234567890", "", "", "", PhoneNumberError::too_long},
    {"---", "", "", "", PhoneNumberError::invalid},
    {"138*1234", "", "", "", PhoneNumberError::invalid},
    {"010-62345678 ext abc", "", "", "", PhoneNumberError::bad_extension},
    {"14012345678", "", "", "", PhoneNumberError::invalid},  // unallocated mobile range
    {"+999 1234 5678", "", "", "", PhoneNumberError::invalid},
};

TEST(PhoneNumberTest, ChineseFormatsTable) {
  for (const auto& row : china_rows) {
    SCOPED_TRACE(std::string("input \"") + row.input + "\" area code \"" + row.area_code + "\"");
    const PhoneNumberNormaliser normaliser("CN", row.area_code);
    const auto result = normaliser.normalise(row.input);
    if (*row.e164) {
      ASSERT_TRUE(result) << result.reason;
      EXPECT_EQ(result.number->e164, row.e164);
      EXPECT_EQ(result.number->extension, row.extension);
    } else {
      ASSERT_FALSE(result) << result.number->e164;
      EXPECT_EQ(result.error, row.error) << to_string(result.error) << ": " << result.reason;
      if (row.error != PhoneNumberError::empty) {
        EXPECT_NE(result.reason.find("is not a number"), std::string::npos) << result.reason;
      }
    }
  }
}

TEST(PhoneNumberTest, KindsAreReported) {
  const PhoneNumberNormaliser normaliser("CN", "10");
  EXPECT_EQ(normaliser.normalise("13812345678").number->kind, NumberKind::mobile);
  EXPECT_EQ(normaliser.normalise("62345678").number->kind, NumberKind::fixed_line);
  EXPECT_EQ(normaliser.normalise("800 810 8888").number->kind, NumberKind::toll_free);
}

TEST(PhoneNumberTest, ReasonQuotesTheInput) {
  const PhoneNumberNormaliser normaliser("CN", "");
  EXPECT_EQ(normaliser.normalise("12ab").reason, "\"12ab\" is not a number (contains letters)");
  // As written, not as folded.
  EXPECT_EQ(normaliser.normalise("tel:12ab").reason, "\"tel:12ab\" is not a number (contains letters)");
  EXPECT_NE(normaliser.normalise("62345678").reason.find("area_code"), std::string::npos);
}

TEST(PhoneNumberTest, OtherRegions) {
  const PhoneNumberNormaliser us("US", "650");
  EXPECT_EQ(us.normalise("(650) 253-0000").number->e164, "+16502530000");
  EXPECT_EQ(us.normalise("253-0000").number->e164, "+16502530000");  // local number, area code added
  EXPECT_EQ(us.normalise("+86 138 1234 5678").number->e164, "+8613812345678");
  EXPECT_EQ(us.lookup_key("6502530000"), "");  // the hand path is China-only
  EXPECT_EQ(us.display("+16502530000"), "(650) 253-0000");
  EXPECT_EQ(us.display("+8613812345678"), "+86 138 1234 5678");

  const PhoneNumberNormaliser unknown("XX", "");
  EXPECT_EQ(unknown.region(), "ZZ");
  EXPECT_EQ(unknown.normalise("+44 20 7946 0958").number->e164, "+442079460958");
  EXPECT_FALSE(unknown.normalise("020 7946 0958"));
}

TEST(PhoneNumberTest, DisplayIsNationalInRegionInternationalOtherwise) {
  const PhoneNumberNormaliser normaliser("CN", "10");
  EXPECT_EQ(normaliser.display("+8613812345678"), "138 1234 5678");
  EXPECT_EQ(normaliser.display("+861062345678"), "010 6234 5678");
  EXPECT_EQ(normaliser.display("+861062345678", "801"), "010 6234 5678 ext. 801");
  EXPECT_EQ(normaliser.display("+8675588888888"), "0755 8888 8888");
  EXPECT_EQ(normaliser.display("+863511234567"), "0351 123 4567");
  EXPECT_EQ(normaliser.display("+864008123123"), "400 812 3123");
  EXPECT_EQ(normaliser.display("+16502530000"), "+1 650-253-0000");
  EXPECT_EQ(normaliser.display("+442079460958"), "+44 20 7946 0958");
  EXPECT_EQ(PhoneNumberNormaliser::display_raw("  ab\x01" "c "), "abc");
  EXPECT_EQ(PhoneNumberNormaliser::display_raw(std::string(50, '9')), std::string(40, '9') + "...");
}

TEST(PhoneNumberTest, LookupKeyMatchesNormaliseOnTheTable) {
  for (const auto& row : china_rows) {
    if (!*row.e164) continue;
    SCOPED_TRACE(row.input);
    const PhoneNumberNormaliser normaliser("CN", row.area_code);
    std::string extension;
    const auto key = normaliser.lookup_key(row.input, &extension);
    if (key.empty()) continue;  // the hand path may decline; lookups then use normalise()
    EXPECT_EQ(key, row.e164);
    EXPECT_EQ(extension, row.extension);
  }
}

// The hand path must agree with libphonenumber's own Parse wherever Parse
// finds a valid number, over generated numbers of every common shape.
TEST(PhoneNumberTest, HandPathAgreesWithLibphonenumber) {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  auto& library = *PhoneNumberUtil::GetInstance();
  std::mt19937 random(20240601);
  auto digits = [&](int count) {
    std::string out;
    for (int i = 0; i < count; ++i) out.push_back(static_cast<char>('0' + random() % 10));
    return out;
  };
  auto local_start = [&] { return std::string(1, static_cast<char>('2' + random() % 8)); };

  std::vector<std::string> nationals;  // with trunk 0 where dialled with one
  for (int prefix = 130; prefix <= 199; ++prefix)
    for (int i = 0; i < 20; ++i) nationals.push_back(std::to_string(prefix) + digits(8));
  for (const char* area : {"10", "20", "21", "22", "23", "24", "25", "27", "28", "29"})
    for (int i = 0; i < 40; ++i) nationals.push_back(std::string("0") + area + local_start() + digits(7));
  for (int area = 310; area <= 999; area += 7)
    for (int length : {7, 8}) nationals.push_back("0" + std::to_string(area) + local_start() + digits(length - 1));
  for (int i = 0; i < 100; ++i) nationals.push_back(std::string(i % 2 ? "400" : "800") + digits(7));

  const PhoneNumberNormaliser normaliser("CN", "");
  int compared = 0, hand_answers = 0;
  std::string declined;
  for (const auto& national : nationals) {
    const std::string without_trunk = national[0] == '0' ? national.substr(1) : national;
    const std::vector<std::string> forms = {
        national,
        "+86" + without_trunk,
        "0086 " + without_trunk,
        national.substr(0, 3) + "-" + national.substr(3),
        "+86 " + without_trunk.substr(0, 3) + " " + without_trunk.substr(3),
    };
    for (const auto& form : forms) {
      SCOPED_TRACE(form);
      PhoneNumber parsed;
      if (library.Parse(form, "CN", &parsed) != PhoneNumberUtil::NO_PARSING_ERROR || !library.IsValidNumber(parsed))
        continue;
      std::string expected;
      library.Format(parsed, PhoneNumberUtil::E164, &expected);
      ++compared;
      const auto key = normaliser.lookup_key(form);
      if (!key.empty()) {
        ++hand_answers;
        EXPECT_EQ(key, expected);
      } else {
        declined += " " + form;
      }
      const auto result = normaliser.normalise(form);
      ASSERT_TRUE(result) << result.reason;
      EXPECT_EQ(result.number->e164, expected);
      std::string national_format;
      library.Format(parsed, PhoneNumberUtil::NATIONAL, &national_format);
      EXPECT_EQ(normaliser.display(expected), national_format);
    }
  }
  EXPECT_GT(compared, 5000);
  EXPECT_EQ(hand_answers, compared) << "declined:" << declined;  // every common shape takes the fast path
}

// A bare local number is only dialled within its area, so the result must
// equal the libphonenumber parse of the number with the area code in front.
TEST(PhoneNumberTest, BareLocalNumbersMatchLibphonenumberWithAreaCode) {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  auto& library = *PhoneNumberUtil::GetInstance();
  std::mt19937 random(7);
  for (const char* area : {"10", "21", "755", "351", "571"}) {
    const PhoneNumberNormaliser normaliser("CN", area);
    for (int i = 0; i < 200; ++i) {
      std::string local(1, static_cast<char>('2' + random() % 8));
      const int length = (std::string(area).size() == 2 || i % 2) ? 8 : 7;
      while (static_cast<int>(local.size()) < length) local.push_back(static_cast<char>('0' + random() % 10));
      PhoneNumber parsed;
      library.Parse(std::string("0") + area + local, "CN", &parsed);
      SCOPED_TRACE(std::string(area) + " " + local);
      const auto result = normaliser.normalise(local);
      if (!library.IsValidNumber(parsed)) {
        EXPECT_FALSE(result);
        continue;
      }
      std::string expected;
      library.Format(parsed, PhoneNumberUtil::E164, &expected);
      ASSERT_TRUE(result) << result.reason;
      EXPECT_EQ(result.number->e164, expected);
      EXPECT_EQ(normaliser.lookup_key(local), expected);
    }
  }
}

TEST(PhoneNumberTest, ValidityOfE164) {
  const PhoneNumberNormaliser normaliser("CN", "");
  EXPECT_TRUE(normaliser.is_valid_e164("+8613812345678"));
  EXPECT_FALSE(normaliser.is_valid_e164("+8614012345678"));
  EXPECT_TRUE(normaliser.is_valid_e164("+16502530000"));
  EXPECT_FALSE(normaliser.is_valid_e164("nonsense"));
}

}  // namespace
}  // namespace deskline::daemon
