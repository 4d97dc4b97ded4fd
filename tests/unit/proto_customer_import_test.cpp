#include <gtest/gtest.h>

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "proto/customer_csv.hpp"
#include "proto/vcard.hpp"

namespace deskline::proto::customers {
namespace {

// ---- CSV ------------------------------------------------------------------------

TEST(CustomerCsvTest, ReadsColumnsAndPhoneLabels) {
  const auto parsed = parse_csv(
      "id,Name,Company,URL,Phone (work),email,Mobile,TEL2\n"
      "C1,Li Na,Acme,https://crm/1,010-62345678,li@acme.cn,13812345678,\n");
  ASSERT_TRUE(parsed.usable);
  ASSERT_TRUE(parsed.issues.empty()) << parsed.issues[0].message;
  ASSERT_EQ(parsed.entries.size(), 1u);
  const auto& entry = parsed.entries[0];
  EXPECT_EQ(entry.line, 2);
  EXPECT_EQ(entry.id, "C1");
  EXPECT_EQ(entry.name, "Li Na");
  EXPECT_EQ(entry.company, "Acme");
  EXPECT_EQ(entry.url, "https://crm/1");
  // Empty cells are no phone; labels are the headers as written.
  const std::vector<PhoneField> phones = {{"Phone (work)", "010-62345678"}, {"Mobile", "13812345678"}};
  EXPECT_EQ(entry.phones, phones);
}

TEST(CustomerCsvTest, Rfc4180QuotingCrlfAndBom) {
  const auto parsed = parse_csv(
      "\xEF\xBB\xBFid,name,company,phone\r\n"
      "1,\"Wang, Wei\",\"Acme \"\"HQ\"\"\",\"138 1234 5678\"\r\n"
      "2,\"two\r\nlines\",,\r\n"
      "3,\xE5\xBC\xA0\xE4\xB8\x89,\xE5\x8D\x8E\xE4\xB8\xBA,\r\n");
  ASSERT_TRUE(parsed.usable);
  ASSERT_TRUE(parsed.issues.empty()) << parsed.issues[0].message;
  ASSERT_EQ(parsed.entries.size(), 3u);
  EXPECT_EQ(parsed.entries[0].name, "Wang, Wei");
  EXPECT_EQ(parsed.entries[0].company, "Acme \"HQ\"");
  EXPECT_EQ(parsed.entries[0].phones[0].raw, "138 1234 5678");
  EXPECT_EQ(parsed.entries[1].name, "two\r\nlines");
  EXPECT_EQ(parsed.entries[2].line, 5);  // counts the line break inside the quoted field
  EXPECT_EQ(parsed.entries[2].name, "\xE5\xBC\xA0\xE4\xB8\x89");
}

TEST(CustomerCsvTest, BlankLinesAndMissingTrailingCellsAreFine) {
  const auto parsed = parse_csv("\n\nid,name,company,url\n\n1,A\n\n2,B,C\n");
  ASSERT_TRUE(parsed.usable);
  EXPECT_TRUE(parsed.issues.empty());
  ASSERT_EQ(parsed.entries.size(), 2u);
  EXPECT_EQ(parsed.entries[0].line, 5);
  EXPECT_EQ(parsed.entries[1].company, "C");
}

TEST(CustomerCsvTest, EmptyFileIsUnusable) {
  const auto parsed = parse_csv("");
  EXPECT_FALSE(parsed.usable);
  ASSERT_EQ(parsed.issues.size(), 1u);
  EXPECT_NE(parsed.issues[0].message.find("no header"), std::string::npos);
}

TEST(CustomerCsvTest, HeaderWithoutIdOrNameIsUnusable) {
  auto parsed = parse_csv("name,phone\nA,1\n");
  EXPECT_FALSE(parsed.usable);
  ASSERT_EQ(parsed.issues.size(), 1u);
  EXPECT_EQ(parsed.issues[0].line, 1);
  EXPECT_NE(parsed.issues[0].message.find("\"id\""), std::string::npos) << parsed.issues[0].message;
  parsed = parse_csv("ID,phone\n1,2\n");
  EXPECT_FALSE(parsed.usable);
  EXPECT_NE(parsed.issues[0].message.find("\"name\""), std::string::npos) << parsed.issues[0].message;
}

TEST(CustomerCsvTest, DuplicateColumnIsUnusable) {
  const auto parsed = parse_csv("id,name,Name\n1,a,b\n");
  EXPECT_FALSE(parsed.usable);
  EXPECT_NE(parsed.issues[0].message.find("duplicate column"), std::string::npos);
}

TEST(CustomerCsvTest, BrokenHeaderIsUnusable) {
  EXPECT_FALSE(parse_csv("\"id,name\n").usable);
  EXPECT_FALSE(parse_csv("id,\xFF\xFE\n").usable);
}

TEST(CustomerCsvTest, MissingIdOrNameRejectsTheRow) {
  const auto parsed = parse_csv("id,name\n,A\n2,\n3,C\n");
  ASSERT_EQ(parsed.entries.size(), 1u);
  const std::vector<Issue> expected = {{2, "missing id"}, {3, "missing name"}};
  EXPECT_EQ(parsed.issues, expected);
}

TEST(CustomerCsvTest, TooManyFieldsRejectsTheRow) {
  const auto parsed = parse_csv("id,name\n1,A,extra\n2,B\n");
  ASSERT_EQ(parsed.entries.size(), 1u);
  ASSERT_EQ(parsed.issues.size(), 1u);
  EXPECT_EQ(parsed.issues[0].line, 2);
  EXPECT_EQ(parsed.issues[0].message, "3 fields but the header has 2");
}

TEST(CustomerCsvTest, TextAfterClosingQuoteRejectsTheRowAndResyncs) {
  const auto parsed = parse_csv("id,name\n1,\"A\"x,\n2,B\n");
  ASSERT_EQ(parsed.entries.size(), 1u);
  EXPECT_EQ(parsed.entries[0].id, "2");
  ASSERT_EQ(parsed.issues.size(), 1u);
  EXPECT_EQ(parsed.issues[0].line, 2);
  EXPECT_NE(parsed.issues[0].message.find("closing quote"), std::string::npos);
}

TEST(CustomerCsvTest, UnterminatedQuoteRejectsItsRowAndReadingResumesOnTheNextLine) {
  const auto parsed = parse_csv("id,name\n1,A\n2,\"B\n3,C\n4,D\n");
  ASSERT_EQ(parsed.entries.size(), 3u);
  EXPECT_EQ(parsed.entries[1].id, "3");
  EXPECT_EQ(parsed.entries[1].line, 4);
  const std::vector<Issue> expected = {{3, "unterminated quoted field (opened on line 3)"}};
  EXPECT_EQ(parsed.issues, expected);
}

TEST(CustomerCsvTest, UnterminatedQuoteInAMultiLineRecordNamesTheLineItOpenedOn) {
  const auto parsed = parse_csv("id,name,company\n1,\"two\nlines\",\"Acme\n2,B,C\n");
  ASSERT_EQ(parsed.entries.size(), 1u);
  EXPECT_EQ(parsed.entries[0].line, 4);
  const std::vector<Issue> expected = {{2, "unterminated quoted field (opened on line 3)"}};
  EXPECT_EQ(parsed.issues, expected);
}

// ---- limits ---------------------------------------------------------------------

struct LimitRow {
  const char* what;
  std::string row;  // after the header id,name,company,url,phone
  std::string issue;  // "" when accepted
};

std::vector<LimitRow> csv_limit_rows() {
  const auto many = [](std::size_t count, char c) { return std::string(count, c); };
  const auto cjk = [](int count) {  // 张, 3 bytes each
    std::string text;
    for (int i = 0; i < count; ++i) text += "\xE5\xBC\xA0";
    return text;
  };
  return {
      {"id at its limit", many(max_id_bytes, 'i') + ",A,,,", ""},
      {"id past it", many(max_id_bytes + 1, 'i') + ",A,,,", "id is longer than 256 bytes"},
      {"name at its limit", "1," + many(max_name_bytes, 'n') + ",,,", ""},
      {"name past it", "1," + many(max_name_bytes + 1, 'n') + ",,,", "name is longer than 1024 bytes"},
      {"50 MB name", "1," + many(50 << 20, 'n') + ",,,", "name is longer than 1024 bytes"},
      {"341 CJK characters", "1," + cjk(341) + ",,,", ""},
      {"342 CJK characters", "1," + cjk(342) + ",,,", "name is longer than 1024 bytes"},
      {"spaces around a name do not count", "1,\"  " + many(max_name_bytes, 'n') + "  \",,,", ""},
      {"company past it", "1,A," + many(max_name_bytes + 1, 'c') + ",,", "company is longer than 1024 bytes"},
      {"url at its limit", "1,A,," + many(max_url_bytes, 'u') + ",", ""},
      {"url past it", "1,A,," + many(max_url_bytes + 1, 'u') + ",", "url is longer than 2048 bytes"},
      {"phone past it", "1,A,,," + many(max_phone_bytes + 1, '1'), "phone is longer than 128 bytes"},
      {"past a limit inside a quoted field", "1,\"" + many(100000, 'n') + "\",,,", "name is longer than 1024 bytes"},
  };
}

TEST(CustomerCsvTest, FieldsPastTheirLimitRejectTheRowWithTheReason) {
  for (const auto& row : csv_limit_rows()) {
    SCOPED_TRACE(row.what);
    const auto parsed = parse_csv("id,name,company,url,phone\n" + row.row + "\n2,B,,,\n");
    ASSERT_TRUE(parsed.usable);
    if (row.issue.empty()) {
      EXPECT_TRUE(parsed.issues.empty()) << parsed.issues[0].message;
      EXPECT_EQ(parsed.entries.size(), 2u);
    } else {
      const std::vector<Issue> expected = {{2, row.issue}};
      EXPECT_EQ(parsed.issues, expected);
      ASSERT_EQ(parsed.entries.size(), 1u);  // the next row is read as usual
      EXPECT_EQ(parsed.entries[0].id, "2");
    }
  }
}

TEST(CustomerCsvTest, ColumnsThatAreNotReadHaveNoLimit) {
  const auto parsed = parse_csv("id,name,notes\n1,A," + std::string(100000, 'x') + "\xFF\n");
  EXPECT_TRUE(parsed.issues.empty()) << parsed.issues[0].message;
  EXPECT_EQ(parsed.entries.size(), 1u);
}

TEST(CustomerCsvTest, MorePhoneColumnsThanNumbersACustomerMayHave) {
  std::string header = "id,name";
  std::string row = "1,A";
  for (std::size_t i = 0; i <= max_phones; ++i) {
    header += ",phone" + std::to_string(i);
    row += ",1381234" + std::to_string(1000 + i);
  }
  const auto parsed = parse_csv(header + "\n" + row + "\n2,B\n");
  EXPECT_EQ(parsed.entries.size(), 1u);  // a row using fewer columns is fine
  const std::vector<Issue> expected = {{2, "more than 32 phone numbers"}};
  EXPECT_EQ(parsed.issues, expected);
}

TEST(CustomerCsvTest, HeaderPastItsLimitsIsUnusable) {
  std::string wide = "id,name";
  for (std::size_t i = 2; i <= max_columns; ++i) wide += ",c";
  auto parsed = parse_csv(wide + "\n1,A\n");
  EXPECT_FALSE(parsed.usable);
  const std::vector<Issue> too_many = {{1, "header has 1025 columns (at most 1024)"}};
  EXPECT_EQ(parsed.issues, too_many);

  parsed = parse_csv("id,name,phone " + std::string(max_label_bytes, 'x') + "\n1,A,13812345678\n");
  EXPECT_FALSE(parsed.usable);
  const std::vector<Issue> long_label = {{1, "column 3 has a name longer than 128 bytes"}};
  EXPECT_EQ(parsed.issues, long_label);
}

TEST(CustomerCsvTest, InvalidUtf8RejectsTheRow) {
  // GBK-encoded 张三, as Excel saves "CSV" on Chinese Windows.
  const auto parsed = parse_csv("id,name\n1,\xD5\xC5\xC8\xFD\n2,B\n");
  ASSERT_EQ(parsed.entries.size(), 1u);
  ASSERT_EQ(parsed.issues.size(), 1u);
  EXPECT_EQ(parsed.issues[0].line, 2);
  EXPECT_NE(parsed.issues[0].message.find("UTF-8"), std::string::npos);
}

TEST(CustomerCsvTest, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8("plain \xE5\xBC\xA0 \xF0\x9F\x93\x9E"));
  EXPECT_FALSE(is_valid_utf8(std::string("nul\0byte", 8)));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xE5\xBC"));          // truncated
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
}

TEST(CustomerCsvTest, FormatDetection) {
  EXPECT_EQ(detect_format("a.VCF", "id,name"), FileFormat::vcard);
  EXPECT_EQ(detect_format("a.csv", "BEGIN:VCARD"), FileFormat::csv);
  EXPECT_EQ(detect_format("export", "\xEF\xBB\xBF\r\nbegin:vcard\r\n"), FileFormat::vcard);
  EXPECT_EQ(detect_format("export", "id,name\n"), FileFormat::csv);
}

// ---- vCard ----------------------------------------------------------------------

TEST(VcardTest, ReadsVcard3WithTypesFoldingAndEscapes) {
  const auto parsed = parse_vcards(
      "BEGIN:VCARD\r\n"
      "VERSION:3.0\r\n"
      "UID:crm-42\r\n"
      "FN:Wang\\, Wei\r\n"
      "N:Wang;Wei;;;\r\n"
      "ORG:Acme Ltd;Sales\r\n"
      "TEL;TYPE=WORK,VOICE:010-6234\r\n"
      " 5678\r\n"
      "item1.TEL;type=CELL;type=pref:138 1234 5678\r\n"
      "TEL:400-810-8888\r\n"
      "URL:https://crm.example/c/42\r\n"
      "END:VCARD\r\n");
  ASSERT_TRUE(parsed.usable);
  ASSERT_TRUE(parsed.issues.empty()) << parsed.issues[0].message;
  ASSERT_EQ(parsed.entries.size(), 1u);
  const auto& entry = parsed.entries[0];
  EXPECT_EQ(entry.line, 1);
  EXPECT_EQ(entry.id, "crm-42");
  EXPECT_EQ(entry.name, "Wang, Wei");
  EXPECT_EQ(entry.company, "Acme Ltd");
  EXPECT_EQ(entry.url, "https://crm.example/c/42");
  const std::vector<PhoneField> phones = {
      {"work", "010-62345678"}, {"cell", "138 1234 5678"}, {"tel", "400-810-8888"}};
  EXPECT_EQ(entry.phones, phones);
}

TEST(VcardTest, ReadsVcard4TelUris) {
  const auto parsed = parse_vcards(
      "BEGIN:VCARD\nVERSION:4.0\nFN:Jane Doe\n"
      "TEL;VALUE=uri;TYPE=\"voice,home\":tel:+1-650-253-0000;ext=12\n"
      "END:VCARD\n");
  ASSERT_EQ(parsed.entries.size(), 1u);
  ASSERT_EQ(parsed.entries[0].phones.size(), 1u);
  EXPECT_EQ(parsed.entries[0].phones[0].label, "home");
  EXPECT_EQ(parsed.entries[0].phones[0].raw, "+1-650-253-0000 ext 12");
}

TEST(VcardTest, ReadsAndroidVcard21QuotedPrintable) {
  // 张三 as Android exports it, with a quoted-printable soft line break.
  const auto parsed = parse_vcards(
      "BEGIN:VCARD\r\nVERSION:2.1\r\n"
      "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E5=BC=A0=\r\n"
      "=E4=B8=89\r\n"
      "TEL;CELL:13812345678\r\n"
      "END:VCARD\r\n");
  ASSERT_TRUE(parsed.issues.empty()) << parsed.issues[0].message;
  ASSERT_EQ(parsed.entries.size(), 1u);
  EXPECT_EQ(parsed.entries[0].name, "\xE5\xBC\xA0\xE4\xB8\x89");
  EXPECT_EQ(parsed.entries[0].phones[0].label, "cell");
}

TEST(VcardTest, IdWithoutUidIsStableAndDerivedFromNameAndFirstPhone) {
  const std::string card = "BEGIN:VCARD\nFN:Li Na\nTEL:13812345678\nTEL:010-62345678\nEND:VCARD\n";
  const auto first = parse_vcards(card);
  const auto second = parse_vcards(card);
  ASSERT_EQ(first.entries.size(), 1u);
  EXPECT_EQ(first.entries[0].id, second.entries[0].id);
  EXPECT_EQ(first.entries[0].id, derived_vcard_id("Li Na", "13812345678"));
  EXPECT_EQ(first.entries[0].id.rfind("vcard-", 0), 0u);
  EXPECT_NE(derived_vcard_id("Li Na", "13812345678"), derived_vcard_id("Li Na", "13812345679"));
  EXPECT_NE(derived_vcard_id("ab", "c"), derived_vcard_id("a", "bc"));
}

TEST(VcardTest, SeveralCardsWithLineNumbers) {
  const auto parsed = parse_vcards(
      "BEGIN:VCARD\nFN:A\nEND:VCARD\n\nBEGIN:VCARD\nFN:B\nEND:VCARD\nBEGIN:VCARD\nFN:C\nEND:VCARD");
  ASSERT_EQ(parsed.entries.size(), 3u);
  EXPECT_EQ(parsed.entries[1].line, 5);
  EXPECT_EQ(parsed.entries[2].name, "C");
  EXPECT_TRUE(parsed.issues.empty());
}

TEST(VcardTest, NoCardIsUnusable) {
  const auto parsed = parse_vcards("id,name\n1,A\n");
  EXPECT_FALSE(parsed.usable);
  ASSERT_FALSE(parsed.issues.empty());
  EXPECT_EQ(parsed.issues.back().message, "no BEGIN:VCARD found");
}

TEST(VcardTest, MissingFnRejectsTheCard) {
  const auto parsed = parse_vcards("BEGIN:VCARD\nTEL:1\nEND:VCARD\nBEGIN:VCARD\nFN:B\nEND:VCARD\n");
  ASSERT_EQ(parsed.entries.size(), 1u);
  const std::vector<Issue> expected = {{1, "missing FN (name)"}};
  EXPECT_EQ(parsed.issues, expected);
}

TEST(VcardTest, MissingEndRejectsTheCard) {
  const auto parsed = parse_vcards("BEGIN:VCARD\nFN:A\nEND:VCARD\nBEGIN:VCARD\nFN:B\n");
  ASSERT_EQ(parsed.entries.size(), 1u);
  ASSERT_EQ(parsed.issues.size(), 1u);
  EXPECT_EQ(parsed.issues[0].line, 4);
  EXPECT_NE(parsed.issues[0].message.find("no END:VCARD"), std::string::npos);
}

TEST(VcardTest, NestedBeginRejectsTheOuterCard) {
  const auto parsed = parse_vcards("BEGIN:VCARD\nFN:A\nBEGIN:VCARD\nFN:B\nEND:VCARD\n");
  ASSERT_EQ(parsed.entries.size(), 1u);
  EXPECT_EQ(parsed.entries[0].name, "B");
  ASSERT_EQ(parsed.issues.size(), 1u);
  EXPECT_EQ(parsed.issues[0].line, 1);
  EXPECT_NE(parsed.issues[0].message.find("nested"), std::string::npos);
}

TEST(VcardTest, EndWithoutBeginAndStrayText) {
  const auto parsed = parse_vcards("hello\nworld\nEND:VCARD\nBEGIN:VCARD\nFN:A\nEND:VCARD\n");
  ASSERT_EQ(parsed.entries.size(), 1u);
  const std::vector<Issue> expected = {{1, "text outside BEGIN:VCARD ... END:VCARD"},
                                       {3, "END:VCARD without BEGIN:VCARD"}};
  EXPECT_EQ(parsed.issues, expected);
}

TEST(VcardTest, PropertyWithoutColonRejectsTheCard) {
  const auto parsed = parse_vcards("BEGIN:VCARD\nFN:A\ngarbage\nEND:VCARD\n");
  EXPECT_TRUE(parsed.entries.empty());
  ASSERT_EQ(parsed.issues.size(), 1u);
  EXPECT_NE(parsed.issues[0].message.find("line 3"), std::string::npos) << parsed.issues[0].message;
}

TEST(VcardTest, InvalidUtf8OrForeignCharsetRejectsTheCard) {
  auto parsed = parse_vcards("BEGIN:VCARD\nFN:\xD5\xC5\nEND:VCARD\n");
  EXPECT_TRUE(parsed.entries.empty());
  ASSERT_EQ(parsed.issues.size(), 1u);
  EXPECT_NE(parsed.issues[0].message.find("UTF-8"), std::string::npos);
  parsed = parse_vcards("BEGIN:VCARD\nFN;CHARSET=GBK:x\nEND:VCARD\n");
  EXPECT_TRUE(parsed.entries.empty());
  ASSERT_EQ(parsed.issues.size(), 1u);
  EXPECT_NE(parsed.issues[0].message.find("GBK"), std::string::npos);
}

// ---- vCard encodings, charsets and limits ----------------------------------------

TEST(VcardTest, Base64ValuesAreDecoded) {
  // 张三 as "5byg5LiJ", vCard 2.1 BASE64 and vCard 3.0 B; a 2.1 base64 value folds.
  const auto parsed = parse_vcards(
      "BEGIN:VCARD\r\nVERSION:2.1\r\nFN;CHARSET=UTF-8;ENCODING=BASE64:5byg\r\n  5LiJ\r\n\r\n"
      "ORG;ENCODING=b:QWNtZTtTYWxlcw==\r\nTEL;CELL:13812345678\r\nEND:VCARD\r\n");
  ASSERT_TRUE(parsed.issues.empty()) << parsed.issues[0].message;
  ASSERT_EQ(parsed.entries.size(), 1u);
  EXPECT_EQ(parsed.entries[0].name, "\xE5\xBC\xA0\xE4\xB8\x89");
  EXPECT_EQ(parsed.entries[0].company, "Acme");
  EXPECT_EQ(parsed.entries[0].phones[0].raw, "13812345678");
}

TEST(VcardTest, Iso8859_1IsConvertedToUtf8) {
  const auto parsed = parse_vcards("BEGIN:VCARD\nFN;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:Jos=E9\nEND:VCARD\n");
  ASSERT_EQ(parsed.entries.size(), 1u);
  EXPECT_EQ(parsed.entries[0].name, "Jos\xC3\xA9");
}

TEST(VcardTest, AStrayQuotedPrintableSoftBreakDoesNotSwallowTheNextProperty) {
  // The '=' that ends FN would join the TEL line to the name: the card is
  // rejected with the reason instead of imported without its number.
  const auto parsed = parse_vcards(
      "BEGIN:VCARD\nVERSION:2.1\nFN;ENCODING=QUOTED-PRINTABLE:=E5=BC=\nTEL;CELL:13812345678\nEND:VCARD\n"
      "BEGIN:VCARD\nFN:B\nEND:VCARD\n");
  ASSERT_EQ(parsed.entries.size(), 1u);
  EXPECT_EQ(parsed.entries[0].name, "B");
  const std::vector<Issue> expected = {
      {1, "FN on line 3: quoted-printable value ends with '=' (its next line is a property)"}};
  EXPECT_EQ(parsed.issues, expected);
}

struct CardRefusal {
  const char* what;
  std::string card;   // between BEGIN:VCARD and END:VCARD
  std::string issue;  // of the card, at its BEGIN line
};

std::vector<CardRefusal> card_refusals() {
  std::string many_tels;
  for (std::size_t i = 0; i <= max_phones; ++i) many_tels += "TEL:1381234" + std::to_string(1000 + i) + "\n";
  std::string million_folds = "FN:A\n";
  for (int i = 0; i < 1000000; ++i) million_folds += " a\n";
  return {
      {"bad escape", "FN;QUOTED-PRINTABLE:=G1\n", "FN on line 2: \"=G1\" is not a quoted-printable escape"},
      {"cut escape in TEL", "FN:A\nTEL;ENCODING=QUOTED-PRINTABLE:138=3\n",
       "TEL on line 3: \"=3\" is not a quoted-printable escape"},
      {"base64 outside its alphabet", "FN;ENCODING=B:5byg*\n",
       "FN on line 2: base64 value holds a character outside its alphabet"},
      {"base64 cut short", "FN;ENCODING=BASE64:5byg5\n", "FN on line 2: base64 value is cut short"},
      {"base64 after padding", "FN;ENCODING=B:QQ==QQ==\n", "FN on line 2: base64 value goes on after its '=' padding"},
      {"base64 not UTF-8", "FN;ENCODING=B:1cXI/Q==\n", "not valid UTF-8 on line 2 (export as UTF-8)"},
      {"unknown encoding", "FN;ENCODING=X-UUENCODE:abc\n", "FN on line 2: encoding X-UUENCODE is not supported"},
      {"foreign charset", "FN;CHARSET=Big5:abc\n", "charset BIG5 on line 2 is not supported (export as UTF-8)"},
      {"name past its limit", "FN:" + std::string(max_name_bytes + 1, 'n') + "\n", "name is longer than 1024 bytes"},
      {"a million folded lines", million_folds, "FN on line 2: longer than 16384 bytes"},
      {"one long line", "FN:A\nURL:" + std::string(50 << 20, 'u') + "\n", "URL on line 3: longer than 16384 bytes"},
      {"too many numbers", "FN:A\n" + many_tels, "more than 32 phone numbers"},
      {"long TEL type list", "FN:A\nTEL;TYPE=" + std::string(200, 'w') + ":13812345678\n",
       "phone label is longer than 128 bytes"},
      {"long head without a value", "FN:A\nX-" + std::string(max_vcard_line_bytes, 'x') + "\n",
       "line 3 is longer than 16384 bytes"},
  };
}

TEST(VcardTest, EachRefusalRejectsTheCardWithItsReason) {
  for (const auto& refusal : card_refusals()) {
    SCOPED_TRACE(refusal.what);
    const auto parsed = parse_vcards("BEGIN:VCARD\n" + refusal.card + "END:VCARD\nBEGIN:VCARD\nFN:Next\nEND:VCARD\n");
    ASSERT_EQ(parsed.entries.size(), 1u);
    EXPECT_EQ(parsed.entries[0].name, "Next");
    const std::vector<Issue> expected = {{1, refusal.issue}};
    EXPECT_EQ(parsed.issues, expected);
  }
}

TEST(VcardTest, LongPropertiesThatAreNotReadAreSkipped) {
  // A photo is far beyond max_vcard_line_bytes, folded or not.
  std::string photo = "PHOTO;ENCODING=BASE64;TYPE=JPEG:" + std::string(100, 'A') + "\n";
  for (int i = 0; i < 5000; ++i) photo += " " + std::string(76, 'A') + "\n";
  const auto parsed = parse_vcards("BEGIN:VCARD\nFN:A\n" + photo + "NOTE:" + std::string(50000, 'n') +
                                   "\nTEL:13812345678\nEND:VCARD\n");
  ASSERT_TRUE(parsed.issues.empty()) << parsed.issues[0].message;
  ASSERT_EQ(parsed.entries.size(), 1u);
  EXPECT_EQ(parsed.entries[0].phones.size(), 1u);
}

struct DecodeRow {
  std::string encoded;
  std::optional<std::string> decoded;  // nullopt: refused
};

// Each row decodes to its bytes, or is refused with a reason.
void expect_decodes(std::span<const DecodeRow> rows, DecodedValue (*decode)(std::string_view)) {
  for (const auto& row : rows) {
    SCOPED_TRACE(row.encoded);
    const auto decoded = decode(row.encoded);
    EXPECT_EQ(decoded.bytes, row.decoded);
    EXPECT_EQ(decoded.refusal.empty(), row.decoded.has_value()) << decoded.refusal;
  }
}

TEST(VcardDecodeTest, QuotedPrintable) {
  const DecodeRow rows[] = {
      {"", ""},
      {"plain", "plain"},
      {"=E5=BC=A0", "\xE5\xBC\xA0"},
      {"=e5=bc=a0", "\xE5\xBC\xA0"},  // lower case, as some phones write it
      {"a=3Db", "a=b"},
      {"=", std::nullopt},
      {"abc=", std::nullopt},
      {"=4", std::nullopt},
      {"=4G", std::nullopt},
      {"= 4", std::nullopt},
  };
  expect_decodes(rows, decode_quoted_printable);
}

TEST(VcardDecodeTest, Base64) {
  const DecodeRow rows[] = {
      {"", ""},
      {"QQ==", "A"},
      {"QQ", "A"},  // padding is optional
      {"QUI=", "AB"},
      {"QUJD", "ABC"},
      {"QU JD\r\n", "ABC"},  // spaces and line breaks are folding
      {"5byg5LiJ", "\xE5\xBC\xA0\xE4\xB8\x89"},
      {"+/+/", "\xFB\xFF\xBF"},
      {"Q", std::nullopt},
      {"QUJDR", std::nullopt},
      {"QQ=", std::nullopt},
      {"QQ===", std::nullopt},
      {"QQ==QQ==", std::nullopt},
      {"QU-D", std::nullopt},
      {"=", std::nullopt},
  };
  expect_decodes(rows, decode_base64);
}

TEST(VcardDecodeTest, TelUris) {
  EXPECT_EQ(tel_uri_as_text("tel:+1-650-253-0000"), "+1-650-253-0000");
  EXPECT_EQ(tel_uri_as_text(" TEL:+1-650-253-0000;ext=12 "), "+1-650-253-0000 ext 12");
  EXPECT_EQ(tel_uri_as_text("tel:+1-650-253-0000;isub=9;ext=12"), "+1-650-253-0000 ext 12");
  EXPECT_EQ(tel_uri_as_text("tel:6234-5678;phone-context=+86-10"), "+86-10 6234-5678");
  EXPECT_EQ(tel_uri_as_text("tel:7042;phone-context=example.com"), "7042");
  EXPECT_EQ(tel_uri_as_text("+1-650-253-0000;ext=3"), "+1-650-253-0000 ext 3");  // VALUE=uri without the scheme
}

}  // namespace
}  // namespace deskline::proto::customers
