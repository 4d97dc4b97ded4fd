// Fuzz target for the CRM's customers page (proto/customers_page.*): any
// bytes are a page or a named refusal; an accepted page keeps the parser's
// bounds, and written back as JSON it reads back the same.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "proto/customers_page.hpp"

namespace {

namespace crm = deskline::proto::crm;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_customers_page: %s\n", what);
  std::abort();
}

nlohmann::json to_json(const crm::CustomersPage& page) {
  nlohmann::json customers = nlohmann::json::array();
  for (const auto& customer : page.customers)
    customers.push_back({{"id", customer.id},
                         {"name", customer.name},
                         {"company", customer.company},
                         {"url", customer.url},
                         {"numbers", customer.numbers}});
  return {{"customers", customers}, {"deleted", page.deleted}, {"next_cursor", page.next_cursor}, {"more", page.more}};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = crm::parse_customers_page(text);
  if (!parsed) {
    if (crm::to_string(parsed.error) == "unknown") fail("page refused without a named reason");
    return 0;
  }
  const auto& page = *parsed.page;
  if (page.customers.size() + page.refused.size() + page.deleted.size() > crm::max_page_changes)
    fail("more changes than the bound");
  if (!crm::valid_cursor(page.next_cursor)) fail("accepted a cursor it would not keep");
  for (const auto& customer : page.customers)
    if (customer.id.empty() || customer.id.size() > crm::max_customer_id_bytes) fail("accepted a bad id");
  for (const auto& id : page.deleted)
    if (id.empty() || id.size() > crm::max_customer_id_bytes) fail("accepted a bad deleted id");
  // The refused customers are left out of the copy: it must read back as the accepted part.
  const auto again = crm::parse_customers_page(to_json(page).dump());
  if (!again) fail("an accepted page written back is refused");
  auto expected = page;
  expected.refused.clear();
  if (*again.page != expected) fail("an accepted page does not read back the same");
  return 0;
}
