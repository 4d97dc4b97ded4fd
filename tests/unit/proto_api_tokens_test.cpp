// The API tokens file (proto/api_tokens.hpp): every refusal with its line,
// the tokens' shape, and finding a token by its hash.
#include "proto/api_tokens.hpp"

#include <gtest/gtest.h>

#include "proto/bytes.hpp"

namespace deskline::proto::api_tokens {
namespace {

// sha256("test")
constexpr std::string_view test_hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

std::string line(std::string_view name, std::string_view hash = test_hash,
                 std::string_view created = "2026-11-27T05:45:02Z") {
  return std::string(name) + " " + std::string(hash) + " " + std::string(created) + "\n";
}

TEST(ApiTokens, ParsesEntriesSkippingCommentsAndBlankLines) {
  const auto parsed = parse("# tokens\n\n" + line("crm-main") + "  \t\n# another\r\n" +
                            "backup.job\t" + to_hex(hash_token("other")) + "   2026-01-02T03:04:05Z\r\n");
  ASSERT_TRUE(parsed) << parsed.describe();
  ASSERT_EQ(parsed.entries->size(), 2u);
  EXPECT_EQ((*parsed.entries)[0].name, "crm-main");
  EXPECT_EQ(to_hex((*parsed.entries)[0].hash), test_hash);
  EXPECT_EQ((*parsed.entries)[0].created, "2026-11-27T05:45:02Z");
  EXPECT_EQ((*parsed.entries)[1].name, "backup.job");
  EXPECT_TRUE(parse(""));
}

TEST(ApiTokens, FormatReadsBack) {
  const std::vector<Entry> entries = {{"a", hash_token("x"), "2026-11-27T05:45:02Z"},
                                      {"b_2", hash_token("y"), "2030-12-31T23:59:59Z"}};
  const auto parsed = parse(format(entries));
  ASSERT_TRUE(parsed) << parsed.describe();
  EXPECT_EQ(*parsed.entries, entries);
}

TEST(ApiTokens, EveryRefusalNamesItsLine) {
  struct Case {
    const char* name;
    std::string text;
    FileError error;
    std::size_t line;
  };
  const Case cases[] = {
      {"two fields", "# c\nname " + std::string(test_hash) + "\n", FileError::bad_line, 2},
      {"four fields", line("a").insert(0, "x "), FileError::bad_line, 1},
      {"control character", "a\x01 " + std::string(test_hash) + " 2026-11-27T05:45:02Z\n", FileError::bad_line, 1},
      {"NUL", std::string("a\0b ", 4) + std::string(test_hash) + " 2026-11-27T05:45:02Z\n", FileError::bad_line, 1},
      {"name with a slash", line("a/b"), FileError::bad_name, 1},
      {"name too long", line(std::string(max_name_bytes + 1, 'n')), FileError::bad_name, 1},
      {"name not ASCII", line("caf\xc3\xa9"), FileError::bad_name, 1},
      {"hash too short", line("a", test_hash.substr(1)), FileError::bad_hash, 1},
      {"hash not hex", line("a", std::string(64, 'g')), FileError::bad_hash, 1},
      {"created without Z", line("a", test_hash, "2026-11-27T05:45:02+08:00"), FileError::bad_created, 1},
      {"created month 13", line("a", test_hash, "2026-13-27T05:45:02Z"), FileError::bad_created, 1},
      {"created a word", line("a", test_hash, "yesterday"), FileError::bad_created, 1},
      {"same name twice", line("a") + line("a", to_hex(hash_token("other"))), FileError::duplicate_name, 2},
      {"same hash twice", line("a") + line("b"), FileError::duplicate_hash, 2},
      {"too large", std::string(max_file_bytes + 1, '#'), FileError::too_large, 0},
  };
  for (const auto& test : cases) {
    SCOPED_TRACE(test.name);
    const auto parsed = parse(test.text);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error, test.error) << to_string(parsed.error);
    EXPECT_EQ(parsed.line, test.line);
  }
}

TEST(ApiTokens, AtMostMaxTokens) {
  std::vector<Entry> entries;
  for (std::size_t i = 0; i <= max_tokens; ++i)
    entries.push_back({"t" + std::to_string(i), hash_token(std::to_string(i)), "2026-11-27T05:45:02Z"});
  const auto parsed = parse(format(entries));
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error, FileError::too_many_tokens);
  EXPECT_EQ(parsed.line, max_tokens + 2);  // after the comment line
  entries.pop_back();
  EXPECT_TRUE(parse(format(entries)));
}

TEST(ApiTokens, TokensHaveTheirShape) {
  std::array<std::uint8_t, token_random_bytes> random{};
  for (std::size_t i = 0; i < random.size(); ++i) random[i] = static_cast<std::uint8_t>(i * 37 + 250);
  const auto token = make_token(random);
  EXPECT_EQ(token.size(), 4u + 43u);
  EXPECT_TRUE(token.starts_with("dlk_"));
  EXPECT_EQ(token.find_first_of("+/="), std::string::npos) << token;
  EXPECT_TRUE(looks_like_token(token));
  std::array<std::uint8_t, token_random_bytes> zeros{};
  EXPECT_EQ(make_token(zeros), "dlk_" + std::string(43, 'A'));
  for (const auto& other : std::vector<std::string>{std::string("0123456789abcdef"), token.substr(1), token + "A", "dlk_" + std::string(42, 'A') + "+"})
    EXPECT_FALSE(looks_like_token(other)) << other;
}

TEST(ApiTokens, FindsATokenByItsHashOnly) {
  const std::vector<Entry> entries = {{"a", hash_token("dlk_first"), "2026-11-27T05:45:02Z"},
                                      {"b", hash_token("dlk_second"), "2026-11-27T05:45:02Z"}};
  ASSERT_NE(find(entries, "dlk_second"), nullptr);
  EXPECT_EQ(find(entries, "dlk_second")->name, "b");
  EXPECT_EQ(find(entries, "dlk_secon"), nullptr);
  EXPECT_EQ(find(entries, ""), nullptr);
  EXPECT_EQ(find({}, "dlk_first"), nullptr);
  EXPECT_EQ(to_hex(hash_token("test")), test_hash);
}

}  // namespace
}  // namespace deskline::proto::api_tokens
