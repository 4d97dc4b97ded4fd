// Directory pull benchmark (BENCHMARKS.md "Directory pull"): what the
// daemon's io thread does per page of the CRM's customers, parsing the JSON
// (proto/customers_page) and applying it with its cursor in one transaction
// (Directory::apply_crm_page), on a fresh directory filled page by page to
// N customers, then pages of changes (renames, new numbers) and deletions.
//
//   deskline_pull_bench [--customers N] [--page P]     (defaults 100000, 500)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "daemon/directory/directory.hpp"
#include "proto/customers_page.hpp"

namespace {

using Clock = std::chrono::steady_clock;

std::string mobile(std::size_t i) { return fmt::format("+86 13{} {:04} {:04}", 5 + i % 5, (i / 10000) % 10000, i % 10000); }
std::string landline(std::size_t i) { return fmt::format("010-6{:03}{:04}", (i / 10000) % 1000, i % 10000); }

// A page as the CRM sends it: customers first..first+count, version v of their data.
std::string page_json(std::size_t first, std::size_t count, int version, const std::vector<std::string>& deleted,
                      std::size_t cursor) {
  nlohmann::json customers = nlohmann::json::array();
  for (std::size_t i = first; i < first + count; ++i)
    customers.push_back({{"id", fmt::format("c-{}", i)},
                         {"name", fmt::format("客户 {} 号 v{}", i, version)},
                         {"company", fmt::format("艾克美贸易（上海）有限公司 {}", i % 977)},
                         {"url", fmt::format("https://crm.example/customers/c-{}", i)},
                         {"numbers", version == 1 ? nlohmann::json{mobile(i)} : nlohmann::json{mobile(i), landline(i)}},
                         {"updated_at", "2026-11-27T08:15:00.000+08:00"}});
  return nlohmann::json{{"customers", customers}, {"deleted", deleted}, {"next_cursor", fmt::format("c{}", cursor)},
                        {"more", true}}
      .dump();
}

struct Timing {
  std::vector<double> ms, parse_ms;
  void report(const char* what, std::size_t bytes) {
    std::sort(ms.begin(), ms.end());
    std::sort(parse_ms.begin(), parse_ms.end());
    const auto at = [](const std::vector<double>& v, double q) {
      return v[std::min(v.size() - 1, static_cast<std::size_t>(q * v.size()))];
    };
    std::printf("%-38s %4zu pages  %4.0f KB/page  p50 %5.1f ms  p99 %5.1f ms  max %5.1f ms  (parsing: p50 %4.1f ms)\n",
                what, ms.size(), static_cast<double>(bytes) / 1024.0, at(ms, 0.5), at(ms, 0.99), ms.back(),
                at(parse_ms, 0.5));
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::size_t customers = 100000, page = 500;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--customers") customers = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--page") page = std::strtoull(argv[i + 1], nullptr, 10);
  }
  const auto path = std::filesystem::temp_directory_path() / "deskline-pull-bench.db";
  for (const auto* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
  deskline::config::DirectoryConfig config;
  config.area_code = "10";
  auto directory = deskline::daemon::Directory::open(path, config);
  if (!directory) {
    std::fprintf(stderr, "%s\n", directory.error().message().c_str());
    return 1;
  }
  std::size_t cursor = 0;
  auto apply = [&](const std::string& text, Timing& timing) {
    const auto start = Clock::now();
    const auto parsed = deskline::proto::crm::parse_customers_page(text);
    if (!parsed) std::abort();
    timing.parse_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    const auto applied = (*directory)->apply_crm_page(*parsed.page, "https://crm.example");
    if (!applied) {
      std::fprintf(stderr, "%s\n", applied.error().message().c_str());
      std::exit(1);
    }
    timing.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  };
  Timing inserts, updates, deletes;
  std::size_t insert_bytes = 0, update_bytes = 0, delete_bytes = 0;
  for (std::size_t first = 0; first < customers; first += page) {
    const auto text = page_json(first, page, 1, {}, ++cursor);
    insert_bytes = text.size();
    apply(text, inserts);
  }
  // Changes spread over the directory: every 97th customer renamed, with a new landline.
  for (std::size_t round = 0; round < 40; ++round) {
    const auto first = (round * 7919 * page) % (customers - page);
    const auto text = page_json(first, page, 2, {}, ++cursor);
    update_bytes = text.size();
    apply(text, updates);
  }
  for (std::size_t round = 0; round < 40; ++round) {
    std::vector<std::string> deleted;
    for (std::size_t i = 0; i < page; ++i) deleted.push_back(fmt::format("c-{}", (round * page + i) * 3 % customers));
    const auto text = page_json(0, 0, 1, deleted, ++cursor);
    delete_bytes = text.size();
    apply(text, deletes);
  }
  std::printf("pages of %zu changes, parsed and applied with their cursor in one transaction each\n", page);
  inserts.report("new customers (to the directory size)", insert_bytes);
  updates.report("changed customers", update_bytes);
  deletes.report("deletions", delete_bytes);
  std::printf("directory: %zu customers\n", static_cast<std::size_t>((*directory)->customer_count().value()));
  return 0;
}
