// The CRM's customers page (proto/crm.md section 5): the contract's example,
// what may be absent, customers refused alone, and one test per refusal.
#include "proto/customers_page.hpp"

#include <gtest/gtest.h>

#include <string>

namespace deskline::proto::crm {
namespace {

TEST(ProtoCustomersPage, ReadsTheContractsExample) {
  const auto parsed = parse_customers_page(R"({"customers": [{"id": "c-101", "name": "张伟",
      "company": "艾克美贸易（上海）有限公司", "url": "https://crm.example/customers/c-101",
      "numbers": ["+86 138 1234 5678", "010 8888 1234"], "updated_at": "2026-11-27T08:15:00.000+08:00"}],
    "deleted": ["c-7"], "next_cursor": "c42", "more": false})");
  ASSERT_TRUE(parsed) << to_string(parsed.error) << ": " << parsed.detail;
  const CustomersPage expected{
      {{"c-101", "张伟", "艾克美贸易（上海）有限公司", "https://crm.example/customers/c-101",
        {"+86 138 1234 5678", "010 8888 1234"}}},
      {},
      {"c-7"},
      "c42",
      false};
  EXPECT_EQ(*parsed.page, expected);
}

TEST(ProtoCustomersPage, OptionalFieldsAndUnknownMembers) {
  const auto parsed = parse_customers_page(
      R"({"customers": [{"id": "a"}, {"id": "b", "name": null, "company": null, "url": null, "numbers": null,
                         "tags": ["vip"]}],
          "deleted": [], "next_cursor": "", "more": true, "version": 2})");
  ASSERT_TRUE(parsed) << to_string(parsed.error);
  ASSERT_EQ(parsed.page->customers.size(), 2u);
  EXPECT_EQ(parsed.page->customers[0], (PageCustomer{"a", "", "", "", {}}));
  EXPECT_EQ(parsed.page->customers[1], (PageCustomer{"b", "", "", "", {}}));
  EXPECT_TRUE(parsed.page->more);
  EXPECT_EQ(parsed.page->next_cursor, "");
}

TEST(ProtoCustomersPage, ACustomerWithWrongTypesIsRefusedAloneWithTheReason) {
  const auto parsed = parse_customers_page(R"({"customers": [
      {"id": "ok", "name": "Fine", "numbers": ["1"]},
      {"id": "n", "name": 7},
      {"id": "c", "company": ["x"]},
      {"id": "u", "url": true},
      {"id": "z", "name": "a\u0000b"},
      {"id": "l", "numbers": "138"},
      {"id": "s", "numbers": ["138", 139]}],
    "deleted": [], "next_cursor": "c1", "more": false})");
  ASSERT_TRUE(parsed) << to_string(parsed.error) << ": " << parsed.detail;
  ASSERT_EQ(parsed.page->customers.size(), 1u);
  EXPECT_EQ(parsed.page->customers[0].id, "ok");
  const std::vector<RefusedCustomer> refused = {
      {"n", "name is not a string"},
      {"c", "company is not a string"},
      {"u", "url is not a string"},
      {"z", "name holds a NUL character"},
      {"l", "numbers is not an array"},
      {"s", "numbers holds something other than a string"},
  };
  EXPECT_EQ(parsed.page->refused, refused);
}

struct Refusal {
  std::string text;
  PageError error;
  std::string detail;  // "" when not checked
};

TEST(ProtoCustomersPage, RefusesEachBadFrameByName) {
  const std::string tail = R"("deleted": [], "next_cursor": "c1", "more": false})";
  const std::string long_id(max_customer_id_bytes + 1, 'x');
  const std::string long_cursor(max_cursor_bytes + 1, 'c');
  const Refusal cases[] = {
      {"", PageError::not_an_object, ""},
      {"not json", PageError::not_an_object, ""},
      {R"([{"customers": []}])", PageError::not_an_object, ""},
      {R"("customers")", PageError::not_an_object, ""},
      {R"({"customers": [], "deleted": [], "next_cursor": "c1", "more": false)", PageError::not_an_object, ""},
      {"{\"customers\": [{\"id\": \"\xff\"}], " + tail, PageError::not_an_object, ""},  // JSON must be UTF-8
      {R"({"deleted": [], "next_cursor": "c1", "more": false})", PageError::customers_not_array, "customers is missing"},
      {R"({"customers": {}, )" + tail, PageError::customers_not_array, ""},
      {R"({"customers": null, )" + tail, PageError::customers_not_array, ""},
      {R"({"customers": ["c-1"], )" + tail, PageError::bad_customer, "customers[0]: not an object"},
      {R"({"customers": [{"name": "x"}], )" + tail, PageError::bad_customer, "customers[0]: id is missing"},
      {R"({"customers": [{"id": "a"}, {"id": 5}], )" + tail, PageError::bad_customer, "customers[1]: id is not a string"},
      {R"({"customers": [{"id": ""}], )" + tail, PageError::bad_customer, "customers[0]: id is empty"},
      {R"({"customers": [{"id": ")" + long_id + R"("}], )" + tail, PageError::bad_customer,
       "customers[0]: id is longer than 256 bytes"},
      {R"({"customers": [{"id": "a\u0000"}], )" + tail, PageError::bad_customer, "customers[0]: id is not UTF-8 text"},
      {R"({"customers": [], "next_cursor": "c1", "more": false})", PageError::deleted_not_strings, "deleted is missing"},
      {R"({"customers": [], "deleted": "c-7", "next_cursor": "c1", "more": false})", PageError::deleted_not_strings, ""},
      {R"({"customers": [], "deleted": ["c-7", 8], "next_cursor": "c1", "more": false})",
       PageError::deleted_not_strings, "deleted[1]: id is not a string"},
      {R"({"customers": [], "deleted": [""], "next_cursor": "c1", "more": false})", PageError::deleted_not_strings,
       "deleted[0]: id is empty"},
      {R"({"customers": [], "deleted": [")" + long_id + R"("], "next_cursor": "c1", "more": false})",
       PageError::deleted_not_strings, "deleted[0]: id is longer than 256 bytes"},
      {R"({"customers": [], "deleted": [], "more": false})", PageError::bad_next_cursor, "next_cursor is missing"},
      {R"({"customers": [], "deleted": [], "next_cursor": 42, "more": false})", PageError::bad_next_cursor,
       "next_cursor is not a string"},
      {R"({"customers": [], "deleted": [], "next_cursor": null, "more": false})", PageError::bad_next_cursor,
       "next_cursor is not a string"},
      {R"({"customers": [], "deleted": [], "next_cursor": ")" + long_cursor + R"(", "more": false})",
       PageError::bad_next_cursor, ""},
      {R"({"customers": [], "deleted": [], "next_cursor": "c\n1", "more": false})", PageError::bad_next_cursor, ""},
      {R"({"customers": [], "deleted": [], "next_cursor": "c1"})", PageError::more_not_boolean, "more is missing"},
      {R"({"customers": [], "deleted": [], "next_cursor": "c1", "more": "false"})", PageError::more_not_boolean, ""},
      {R"({"customers": [], "deleted": [], "next_cursor": "c1", "more": 0})", PageError::more_not_boolean, ""},
  };
  for (const auto& refusal : cases) {
    const auto parsed = parse_customers_page(refusal.text);
    ASSERT_FALSE(parsed) << refusal.text.substr(0, 200);
    EXPECT_EQ(parsed.error, refusal.error) << refusal.text.substr(0, 200) << ": " << to_string(parsed.error);
    if (!refusal.detail.empty()) {
      EXPECT_EQ(parsed.detail, refusal.detail) << refusal.text.substr(0, 200);
    }
    EXPECT_NE(make_error_code(parsed.error).message(), "unknown customers page error");
  }
}

TEST(ProtoCustomersPage, RefusesAPageTooLargeBeforeReadingIt) {
  std::string text = R"({"customers": [], "deleted": [], "next_cursor": "c1", "more": false, "pad": ")";
  text.append(max_page_bytes, 'x');
  text += "\"}";
  const auto parsed = parse_customers_page(text);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error, PageError::too_large);
}

TEST(ProtoCustomersPage, RefusesMoreChangesThanTheLargestLimit) {
  std::string customers, deleted;
  for (std::size_t i = 0; i < 600; ++i) customers += (i ? "," : "") + std::string(R"({"id": "c)") + std::to_string(i) + "\"}";
  for (std::size_t i = 0; i < 401; ++i) deleted += (i ? "," : "") + std::string("\"d") + std::to_string(i) + "\"";
  const auto text = R"({"customers": [)" + customers + R"(], "deleted": [)" + deleted +
                    R"(], "next_cursor": "c1", "more": true})";
  const auto parsed = parse_customers_page(text);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error, PageError::too_many_changes);
  EXPECT_EQ(parsed.detail, "600 customers and 401 deleted");
  // One fewer is a page.
  EXPECT_TRUE(parse_customers_page(R"({"customers": [)" + customers + R"(], "deleted": [)" +
                                   deleted.substr(0, deleted.rfind(',')) + R"(], "next_cursor": "c1", "more": true})"));
}

TEST(ProtoCustomersPage, StableErrorNames) {
  EXPECT_EQ(to_string(PageError::too_large), "too_large");
  EXPECT_EQ(to_string(PageError::not_an_object), "not_an_object");
  EXPECT_EQ(to_string(PageError::customers_not_array), "customers_not_array");
  EXPECT_EQ(to_string(PageError::bad_customer), "bad_customer");
  EXPECT_EQ(to_string(PageError::deleted_not_strings), "deleted_not_strings");
  EXPECT_EQ(to_string(PageError::bad_next_cursor), "bad_next_cursor");
  EXPECT_EQ(to_string(PageError::more_not_boolean), "more_not_boolean");
  EXPECT_EQ(to_string(PageError::too_many_changes), "too_many_changes");
  EXPECT_EQ(std::string(page_category().name()), "customers_page");
}

TEST(ProtoCustomersPage, ValidCursor) {
  EXPECT_TRUE(valid_cursor(""));
  EXPECT_TRUE(valid_cursor("c42"));
  EXPECT_TRUE(valid_cursor("eyJ0IjoxfQ==/+?&# 游标"));
  EXPECT_FALSE(valid_cursor("c\t1"));
  EXPECT_FALSE(valid_cursor(std::string("c\0", 2)));
  EXPECT_FALSE(valid_cursor("\x7f"));
  EXPECT_FALSE(valid_cursor("\xc3"));
  EXPECT_FALSE(valid_cursor(std::string(max_cursor_bytes + 1, 'c')));
}

}  // namespace
}  // namespace deskline::proto::crm
