// Directory lookup benchmark (BENCHMARKS.md "Directory"): a generated
// directory of N customers (default 1,000,000; realistic mix of mobiles,
// landlines and shared switchboards), then single-thread lookups of raw
// input in several formats, including normalisation, with p50/p99 latency,
// side by side with the floor (lookup by pre-normalised E.164 only) and the
// full libphonenumber path the hand path replaces.
//
//   deskline_directory_bench [--customers N] [--lookups M] [--db PATH]
//
// The directory is cached in /tmp (rebuilt when missing); its import time is
// reported when it is built.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include "daemon/directory/directory.hpp"

namespace {

using deskline::daemon::Directory;
using Clock = std::chrono::steady_clock;

constexpr std::string_view area_code = "10";  // the bench's configured Beijing area code

// A customer's numbers as national digits (with trunk 0 for landlines).
struct Generated {
  std::vector<std::string> mobiles;    // "13812345678"
  std::vector<std::string> landlines;  // "01062345678", "075588888888"
};

// Deterministic, so a cached database and the queries agree.
class Generator {
 public:
  explicit Generator(std::size_t customers) : customers_(customers) {}

  template <typename Visit>  // Visit(index, mobile, landline or "")
  void each(Visit visit) const {
    std::mt19937_64 random(0x5eed);
    static constexpr const char* mobile_prefixes[] = {"130", "131", "132", "133", "135", "136", "137", "138",
                                                      "139", "150", "151", "152", "155", "156", "157", "158",
                                                      "159", "176", "177", "180", "181", "185", "186", "187",
                                                      "188", "189", "198", "199"};
    static constexpr const char* areas[] = {"10", "10", "10", "21", "20", "755", "571", "25", "28", "512", "532"};
    std::string switchboard;
    for (std::size_t index = 0; index < customers_; ++index) {
      std::string mobile = mobile_prefixes[random() % std::size(mobile_prefixes)];
      mobile += fmt::format("{:08}", random() % 100000000);
      std::string landline;
      const auto kind = random() % 10;
      if (kind < 4) {
        // Local numbers start 2-6 here: some 8x/9x blocks are unallocated.
        landline = fmt::format("0{}{}{:07}", areas[random() % std::size(areas)], 2 + random() % 5,
                               random() % 10000000);
        switchboard = landline;
      } else if (kind == 4 && !switchboard.empty()) {
        landline = switchboard;  // colleagues at one company share its switchboard
      }
      visit(index, mobile, landline);
    }
  }

 private:
  std::size_t customers_;
};

std::string csv_for(const Generator& generator) {
  std::string csv = "id,name,company,url,mobile,phone\n";
  generator.each([&](std::size_t index, const std::string& mobile, const std::string& landline) {
    csv += fmt::format("C{:07},Customer {},Company {},https://crm.example/c/{},{},{}\n", index, index, index / 7,
                       index, mobile, landline);
  });
  return csv;
}

// CPU time of this thread: lookups per core, whatever else the machine runs.
double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

struct Stats {
  double per_second = 0;      // wall clock
  double per_cpu_second = 0;  // per core
  double p50_us = 0, p99_us = 0, max_us = 0;
  std::size_t hits = 0;
};

Stats measure(const std::vector<std::string>& queries, const std::function<std::size_t(const std::string&)>& run) {
  // Warm the page cache and SQLite's cache with one pass over a prefix.
  for (std::size_t i = 0; i < std::min<std::size_t>(queries.size(), 20000); ++i) run(queries[i]);
  std::vector<double> latencies(queries.size());
  Stats stats;
  const auto start = Clock::now();
  const double cpu_start = thread_cpu_seconds();
  for (std::size_t i = 0; i < queries.size(); ++i) {
    const auto before = Clock::now();
    stats.hits += run(queries[i]) > 0;
    latencies[i] = std::chrono::duration<double, std::micro>(Clock::now() - before).count();
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  stats.per_second = static_cast<double>(queries.size()) / seconds;
  stats.per_cpu_second = static_cast<double>(queries.size()) / (thread_cpu_seconds() - cpu_start);
  std::sort(latencies.begin(), latencies.end());
  stats.p50_us = latencies[latencies.size() / 2];
  stats.p99_us = latencies[latencies.size() * 99 / 100];
  stats.max_us = latencies.back();
  return stats;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t customers = 1'000'000;
  std::size_t lookups = 500'000;
  std::filesystem::path path;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view option = argv[i];
    if (option == "--customers") customers = std::strtoull(argv[i + 1], nullptr, 10);
    else if (option == "--lookups") lookups = std::strtoull(argv[i + 1], nullptr, 10);
    else if (option == "--db") path = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: %s [--customers N] [--lookups M] [--db PATH]\n", argv[0]);
      return 2;
    }
  }
  if (customers == 0 || lookups == 0) return 2;
  if (path.empty()) path = fmt::format("/tmp/deskline-directory-bench-v2-{}.db", customers);

  deskline::config::DirectoryConfig config;
  config.region = "CN";
  config.area_code = std::string(area_code);
  const Generator generator(customers);

  bool cached = std::filesystem::exists(path);
  auto opened = Directory::open(path, config);
  if (!opened) {
    std::fprintf(stderr, "cannot open %s: %s\n", path.c_str(), opened.error().message().c_str());
    return 1;
  }
  auto& directory = *opened;
  if (cached && directory->customer_count().value_or(-1) != static_cast<std::int64_t>(customers)) cached = false;
  if (!cached) {
    const std::string csv = csv_for(generator);
    const auto start = Clock::now();
    const double cpu_start = thread_cpu_seconds();
    const auto imported = deskline::daemon::import_customers(*directory, "bench.csv", csv, nullptr);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const double cpu_seconds = thread_cpu_seconds() - cpu_start;
    if (!imported) {
      std::fprintf(stderr, "import failed: %s\n", imported.error().message().c_str());
      return 1;
    }
    const auto& summary = *imported;
    fmt::print("import: {} rows ({:.1f} MB CSV) in {:.1f} s wall, {:.1f} s CPU = {:.0f} rows/s per core; "
               "imported {}, rejected {}\n",
               customers, static_cast<double>(csv.size()) / 1e6, seconds, cpu_seconds,
               static_cast<double>(customers) / cpu_seconds, summary.imported, summary.rejected.size());
    for (std::size_t i = 0; i < std::min<std::size_t>(summary.rejected.size(), 5); ++i)
      fmt::print("  line {}: {}\n", summary.rejected[i].line, summary.rejected[i].message);
  } else {
    fmt::print("directory: {} customers, cached in {}\n", customers, path.string());
  }

  // Queries: numbers of random customers, in the forms they reach the directory.
  std::vector<std::string> mobiles, landlines;
  generator.each([&](std::size_t, const std::string& mobile, const std::string& landline) {
    mobiles.push_back(mobile);
    if (!landline.empty()) landlines.push_back(landline);
  });
  std::mt19937_64 random(42);
  auto pick = [&](const std::vector<std::string>& from) { return from[random() % from.size()]; };
  auto make = [&](const std::function<std::string()>& one) {
    std::vector<std::string> queries;
    queries.reserve(lookups);
    for (std::size_t i = 0; i < lookups; ++i) queries.push_back(one());
    return queries;
  };
  const auto& normaliser = directory->normaliser();
  auto e164_of = [&](const std::string& national) { return normaliser.normalise(national).number->e164; };

  const auto e164 = make([&] { return e164_of(random() % 3 ? pick(mobiles) : pick(landlines)); });
  // Caller ID as exchanges deliver it: national digits, local calls without area code.
  const auto caller_id = make([&] {
    if (random() % 3) return pick(mobiles);
    auto landline = pick(landlines);
    return landline.starts_with("010") ? landline.substr(3) : landline;
  });
  // Typed or exported formats.
  const auto formatted = make([&] {
    const auto mobile = pick(mobiles);
    const auto landline = pick(landlines);
    switch (random() % 5) {
      case 0: return fmt::format("+86 {} {} {}", mobile.substr(0, 3), mobile.substr(3, 4), mobile.substr(7));
      case 1: return fmt::format("0086-{}-{}-{}", mobile.substr(0, 3), mobile.substr(3, 4), mobile.substr(7));
      case 2: return fmt::format("({}) {}", landline.substr(0, landline.size() - 8), landline.substr(landline.size() - 8));
      case 3: return fmt::format("{}-{}-801", landline.substr(0, landline.size() - 8), landline.substr(landline.size() - 8));
      default: return "+86" + landline.substr(1);
    }
  });
  // Valid numbers nobody in the directory has (the 147 range is unused by the generator).
  const auto misses = make([&] { return fmt::format("147{:08}", random() % 100000000); });

  struct Scenario {
    const char* name;
    const std::vector<std::string>* queries;
    std::function<std::size_t(const std::string&)> run;
  };
  // The first failed lookup, reported after its scenario.
  std::optional<deskline::daemon::Error> failure;
  auto count = [&](const auto& result, auto size) -> std::size_t {
    if (result) return size(*result);
    if (!failure) failure = result.error();
    return 0;
  };
  auto raw_lookup = [&](const std::string& raw) {
    return count(directory->lookup(raw), [](const auto& found) { return found.candidates.size(); });
  };
  auto e164_lookup = [&](const std::string& number) {
    return count(directory->lookup_e164(number), [](const auto& candidates) { return candidates.size(); });
  };
  const Scenario scenarios[] = {
      {"floor: lookup_e164, pre-normalised", &e164, e164_lookup},
      {"lookup(raw): caller-ID digits", &caller_id, raw_lookup},
      {"lookup(raw): formatted (+86, 0086-, (010), ext)", &formatted, raw_lookup},
      {"lookup(raw): miss (valid, unknown)", &misses, raw_lookup},
      {"without the hand path: libphonenumber Parse, format + lookup_e164", &formatted,
       [&](const std::string& raw) {
         using i18n::phonenumbers::PhoneNumberUtil;
         auto& library = *PhoneNumberUtil::GetInstance();
         i18n::phonenumbers::PhoneNumber number;
         if (library.Parse(raw, "CN", &number) != PhoneNumberUtil::NO_PARSING_ERROR || !library.IsValidNumber(number))
           return std::size_t{0};
         std::string normalised, display;
         library.Format(number, PhoneNumberUtil::E164, &normalised);
         library.Format(number, PhoneNumberUtil::NATIONAL, &display);
         return e164_lookup(normalised);
       }},
  };

  fmt::print("{} lookups per scenario, one thread\n", lookups);
  fmt::print("{:<62} {:>12} {:>12} {:>8} {:>8} {:>8} {:>6}\n", "scenario", "/s per core", "/s wall", "p50 us",
             "p99 us", "max us", "hits");
  for (const auto& scenario : scenarios) {
    const auto stats = measure(*scenario.queries, scenario.run);
    if (failure) {
      std::fprintf(stderr, "lookup failed: %s\n", failure->message().c_str());
      return 1;
    }
    fmt::print("{:<62} {:>12.0f} {:>12.0f} {:>8.2f} {:>8.2f} {:>8.1f} {:>5.1f}%\n", scenario.name,
               stats.per_cpu_second, stats.per_second,
               stats.p50_us, stats.p99_us, stats.max_us,
               100.0 * static_cast<double>(stats.hits) / static_cast<double>(scenario.queries->size()));
  }
  return 0;
}
