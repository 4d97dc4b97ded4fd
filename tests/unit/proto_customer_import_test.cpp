#include <gtest/gtest.h>

#include <string>

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

TEST(CustomerCsvTest, UnterminatedQuoteRejectsTheRestAtItsLine) {
  const auto parsed = parse_csv("id,name\n1,A\n2,\"B\n3,C\n");
  ASSERT_EQ(parsed.entries.size(), 1u);
  ASSERT_EQ(parsed.issues.size(), 1u);
  EXPECT_EQ(parsed.issues[0].line, 3);
  EXPECT_NE(parsed.issues[0].message.find("unterminated"), std::string::npos);
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

}  // namespace
}  // namespace deskline::proto::customers
