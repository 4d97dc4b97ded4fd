#include "proto/customers_page.hpp"

#include <nlohmann/json.hpp>

#include "proto/customer_csv.hpp"

namespace deskline::proto::crm {
namespace {

using nlohmann::json;

class PageCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "customers_page"; }
  std::string message(int code) const override {
    switch (static_cast<PageError>(code)) {
      case PageError::too_large: return "the customers page is larger than 8 MiB";
      case PageError::not_an_object: return "the customers page is not a JSON object";
      case PageError::customers_not_array: return "the customers page has no \"customers\" array";
      case PageError::bad_customer: return "a customer of the page has no usable id";
      case PageError::deleted_not_strings: return "the customers page has no \"deleted\" array of customer ids";
      case PageError::bad_next_cursor: return "the customers page has no usable \"next_cursor\" string";
      case PageError::more_not_boolean: return "the customers page has no \"more\" boolean";
      case PageError::too_many_changes: return "the customers page has more than 1000 changes";
    }
    return "unknown customers page error";
  }
};

ParsedPage refuse(PageError error, std::string detail) { return {std::nullopt, error, std::move(detail)}; }

// Why id cannot name a customer, or "" when it can.
std::string id_problem(const json& id) {
  if (!id.is_string()) return id.is_null() ? "id is missing" : "id is not a string";
  const auto& text = id.get_ref<const std::string&>();
  if (text.empty()) return "id is empty";
  if (text.size() > max_customer_id_bytes)
    return "id is longer than " + std::to_string(max_customer_id_bytes) + " bytes";
  if (!customers::is_valid_utf8(text)) return "id is not UTF-8 text";
  return {};
}

// A text member that may be absent or null (""); false when it is something else.
bool optional_text(const json& customer, const char* key, std::string& out) {
  const auto member = customer.find(key);
  if (member == customer.end() || member->is_null()) return true;
  if (!member->is_string()) return false;
  out = member->get<std::string>();
  return true;
}

// Reads a customer whose id is usable; the reason it cannot be applied otherwise.
std::optional<std::string> read_customer(const json& in, PageCustomer& customer) {
  for (const auto& [key, out] : {std::pair{"name", &customer.name}, std::pair{"company", &customer.company},
                                 std::pair{"url", &customer.url}}) {
    if (!optional_text(in, key, *out)) return std::string(key) + " is not a string";
    if (!customers::is_valid_utf8(*out)) return std::string(key) + " holds a NUL character";
  }
  const auto numbers = in.find("numbers");
  if (numbers == in.end() || numbers->is_null()) return std::nullopt;
  if (!numbers->is_array()) return "numbers is not an array";
  for (const auto& number : *numbers) {
    if (!number.is_string()) return "numbers holds something other than a string";
    customer.numbers.push_back(number.get<std::string>());
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(PageError error) {
  switch (error) {
    case PageError::too_large: return "too_large";
    case PageError::not_an_object: return "not_an_object";
    case PageError::customers_not_array: return "customers_not_array";
    case PageError::bad_customer: return "bad_customer";
    case PageError::deleted_not_strings: return "deleted_not_strings";
    case PageError::bad_next_cursor: return "bad_next_cursor";
    case PageError::more_not_boolean: return "more_not_boolean";
    case PageError::too_many_changes: return "too_many_changes";
  }
  return "unknown";
}

const std::error_category& page_category() {
  static const PageCategory category;
  return category;
}

std::error_code make_error_code(PageError error) { return {static_cast<int>(error), page_category()}; }

bool valid_cursor(std::string_view cursor) {
  if (cursor.size() > max_cursor_bytes || !customers::is_valid_utf8(cursor)) return false;
  for (const unsigned char c : cursor)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

ParsedPage parse_customers_page(std::string_view text) {
  if (text.size() > max_page_bytes) return refuse(PageError::too_large, std::to_string(text.size()) + " bytes");
  const auto in = json::parse(text, nullptr, false);
  if (in.is_discarded() || !in.is_object()) return refuse(PageError::not_an_object, "");

  const auto customers = in.find("customers");
  if (customers == in.end() || !customers->is_array())
    return refuse(PageError::customers_not_array, customers == in.end() ? "customers is missing" : "");
  const auto deleted = in.find("deleted");
  if (deleted == in.end() || !deleted->is_array())
    return refuse(PageError::deleted_not_strings, deleted == in.end() ? "deleted is missing" : "");
  if (customers->size() + deleted->size() > max_page_changes)
    return refuse(PageError::too_many_changes,
                  std::to_string(customers->size()) + " customers and " + std::to_string(deleted->size()) + " deleted");
  const auto next_cursor = in.find("next_cursor");
  if (next_cursor == in.end()) return refuse(PageError::bad_next_cursor, "next_cursor is missing");
  if (!next_cursor->is_string()) return refuse(PageError::bad_next_cursor, "next_cursor is not a string");
  if (!valid_cursor(next_cursor->get_ref<const std::string&>()))
    return refuse(PageError::bad_next_cursor, "next_cursor is longer than " + std::to_string(max_cursor_bytes) +
                                                  " bytes or holds a control character");
  const auto more = in.find("more");
  if (more == in.end() || !more->is_boolean())
    return refuse(PageError::more_not_boolean, more == in.end() ? "more is missing" : "");

  CustomersPage page;
  page.next_cursor = next_cursor->get<std::string>();
  page.more = more->get<bool>();
  page.customers.reserve(customers->size());
  for (std::size_t index = 0; index < customers->size(); ++index) {
    const auto& element = (*customers)[index];
    const auto where = "customers[" + std::to_string(index) + "]: ";
    if (!element.is_object()) return refuse(PageError::bad_customer, where + "not an object");
    const auto id = element.find("id");
    if (auto problem = id_problem(id == element.end() ? json() : *id); !problem.empty())
      return refuse(PageError::bad_customer, where + problem);
    PageCustomer customer;
    customer.id = id->get<std::string>();
    if (auto reason = read_customer(element, customer))
      page.refused.push_back({std::move(customer.id), std::move(*reason)});
    else
      page.customers.push_back(std::move(customer));
  }
  for (std::size_t index = 0; index < deleted->size(); ++index) {
    const auto& id = (*deleted)[index];
    if (auto problem = id_problem(id); !problem.empty())
      return refuse(PageError::deleted_not_strings, "deleted[" + std::to_string(index) + "]: " + problem);
    page.deleted.push_back(id.get<std::string>());
  }
  return {std::move(page), {}, {}};
}

}  // namespace deskline::proto::crm
