// A page of the CRM's customer directory: the answer to
// GET {base}/v1/customers?cursor=C&limit=N (proto/crm.md section 5).
// Pure: JSON text in, the page or a named refusal out.
//
//   {"customers": [{"id", "name", "company", "url", "numbers": [...], ...}],
//    "deleted": ["c-7"], "next_cursor": "c42", "more": false}
//
// A page is refused as a whole when its frame is wrong (the refusals below):
// Deskline then keeps its cursor and applies nothing, so no change is
// skipped. A customer whose id is fine but whose other fields have the wrong
// type (a name that is a number, numbers that are not strings) is refused
// alone, with the reason, and the rest of the page is applied. Size limits of
// the fields (proto/customers.md section 3) are the directory's to apply, as
// for an import. Unknown members are ignored (later versions may add some).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace deskline::proto::crm {

// Bounds that keep one answer from taking the daemon's memory or time; no
// honest page comes near them (500 customers at every import limit are
// about 4.5 MB of JSON).
inline constexpr std::size_t max_page_bytes = 8 * 1024 * 1024;
inline constexpr std::size_t max_page_changes = 1000;  // customers + deleted, the contract's largest limit
inline constexpr std::size_t max_customer_id_bytes = 256;  // as for an import (proto/customers.md)
inline constexpr std::size_t max_cursor_bytes = 1024;

// Why a page was refused. Stable names (to_string).
enum class PageError {
  too_large = 1,          // more than max_page_bytes
  not_an_object,          // not JSON, or JSON but not an object
  customers_not_array,    // "customers" missing or not an array
  bad_customer,           // an element that is not an object, or whose id is missing, not a string, empty, too long or not UTF-8
  deleted_not_strings,    // "deleted" missing, not an array, or holding something other than customer ids
  bad_next_cursor,        // "next_cursor" missing, not a string, longer than max_cursor_bytes, or holding a control character
  more_not_boolean,       // "more" missing or not true/false
  too_many_changes,       // customers and deleted together above max_page_changes
};
std::string_view to_string(PageError error);
const std::error_category& page_category();
std::error_code make_error_code(PageError error);

struct PageCustomer {
  std::string id;
  std::string name;     // "" when absent or null
  std::string company;  // "" when absent or null
  std::string url;      // "" when absent or null
  std::vector<std::string> numbers;  // as written in the CRM
  friend bool operator==(const PageCustomer&, const PageCustomer&) = default;
};

// A customer of the page that cannot be applied, and why ("name is not a string").
struct RefusedCustomer {
  std::string id;
  std::string reason;
  friend bool operator==(const RefusedCustomer&, const RefusedCustomer&) = default;
};

struct CustomersPage {
  std::vector<PageCustomer> customers;
  std::vector<RefusedCustomer> refused;
  std::vector<std::string> deleted;
  std::string next_cursor;
  bool more = false;
  friend bool operator==(const CustomersPage&, const CustomersPage&) = default;
};

struct ParsedPage {
  std::optional<CustomersPage> page;
  PageError error{};
  std::string detail;  // where: "customers[3]: id is missing"
  explicit operator bool() const { return page.has_value(); }
};

ParsedPage parse_customers_page(std::string_view text);

// A cursor Deskline keeps and sends back: UTF-8 without control characters,
// at most max_cursor_bytes (the request percent-encodes it).
bool valid_cursor(std::string_view cursor);

}  // namespace deskline::proto::crm

template <>
struct std::is_error_code_enum<deskline::proto::crm::PageError> : std::true_type {};
