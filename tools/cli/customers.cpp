// `deskline customers import FILE`, `deskline customers lookup NUMBER`: the
// customer directory (<data_dir>/directory.db) from the command line; and
// `deskline customers sync`: the running daemon pulls it from the CRM now.
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "daemon/directory/directory.hpp"
#include "daemon/store/store.hpp"
#include "tools/cli/command.hpp"
#include "tools/cli/control_client.hpp"
#include "tools/cli/input_file.hpp"
#include "tools/cli/language.hpp"

namespace deskline::tools {
namespace {

// A one-line bar redrawn in place; only when stderr is a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(std::string label) : label_(std::move(label)), enabled_(::isatty(STDERR_FILENO) == 1) {}
  ~ProgressBar() { finish(); }

  void update(std::size_t done, std::size_t total) {
    if (!enabled_ || total == 0) return;
    const int percent = static_cast<int>(done * 100 / total);
    if (percent == last_percent_) return;
    last_percent_ = percent;
    constexpr int width = 30;
    const int filled = percent * width / 100;
    std::fprintf(stderr, "\r%s [%s%s] %3d%%", label_.c_str(), std::string(static_cast<std::size_t>(filled), '#').c_str(),
                 std::string(static_cast<std::size_t>(width - filled), ' ').c_str(), percent);
    std::fflush(stderr);
    drawn_ = true;
  }

  void finish() {
    if (drawn_) std::fprintf(stderr, "\r\033[K");  // erase the bar so the summary starts clean
    drawn_ = false;
  }

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  int last_percent_ = -1;
};

// A million-customer CSV is about 150 MB; an address book with photos can be
// larger. The file is held in memory while it is imported.
constexpr std::uint64_t max_import_bytes = 1ULL << 30;

int import_file(const config::Config& config, const std::string& file, bool as_json) {
  std::string why;
  const auto text = read_input_file(file, max_import_bytes, why);
  if (!text) {
    std::cerr << "deskline: " << trf("cannot read {}: {}", file, why) << "\n";
    return 1;
  }

  // The daemon's tmpfiles rule creates data_dir in production; a first
  // import before the daemon ever ran needs it too.
  std::error_code ignored;
  std::filesystem::create_directories(config.data_dir, ignored);
  const auto path = daemon::Directory::path_for(config);
  const auto directory = daemon::Directory::open(path, config.directory, /*read_only=*/false);
  if (!directory) {
    std::cerr << "deskline: " << directory.error().message() << "\n";
    return 1;
  }

  daemon::ImportSummary summary;
  {
    // TRANSLATORS: the label of a progress bar, before "[####      ]  40%"; {} is the file's name.
    ProgressBar bar(trf("importing {}", std::filesystem::path(file).filename().string()));
    auto imported = daemon::import_customers(**directory, file, *text,
                                             [&](std::size_t done, std::size_t total) { bar.update(done, total); });
    if (!imported) {
      bar.finish();
      std::cerr << "deskline: "
                << trf("import of {} failed, nothing was changed: {}", file, imported.error().message()) << "\n";
      return 1;
    }
    summary = std::move(*imported);
  }
  if (!summary.file_usable) {
    // Nothing could be read (no header, no card): say why, not "rejected 1".
    for (const auto& issue : summary.rejected)
      std::cerr << "deskline: " << trf("{}: line {}: {}", file, issue.line, issue.message) << "\n";
    return 1;
  }
  if (as_json) {
    auto rejected = nlohmann::json::array();
    for (const auto& issue : summary.rejected) rejected.push_back({{"line", issue.line}, {"reason", issue.message}});
    std::cout << nlohmann::json{{"file", file},
                                {"imported", summary.imported},
                                {"updated", summary.updated},
                                {"unchanged", summary.unchanged},
                                {"rejected", std::move(rejected)}}
                     .dump(2)
              << "\n";
  } else {
    // TRANSLATORS: the file, then how many customers were new, updated, unchanged, and rows or cards rejected.
    std::cout << trf("{}: imported {}, updated {}, unchanged {}, rejected {}", file, summary.imported, summary.updated,
                     summary.unchanged, summary.rejected.size())
              << "\n";
    // Diagnostics on stderr: stdout holds the summary alone.
    for (const auto& issue : summary.rejected)
      std::cerr << "deskline: " << trf("{}: line {}: {}", file, issue.line, issue.message) << "\n";
  }
  const bool accepted_any = summary.imported + summary.updated + summary.unchanged > 0;
  if (!accepted_any) return exit_failure;
  return summary.rejected.empty() ? exit_ok : exit_partial;
}

int lookup_number(const config::Config& config, const std::string& number, bool as_json) {
  const auto directory = daemon::Directory::open(daemon::Directory::path_for(config), config.directory,
                                                 /*read_only=*/true);
  daemon::LookupResult result;
  if (directory) {
    auto found = (*directory)->lookup(number);
    if (!found) {
      std::cerr << "deskline: " << found.error().message() << "\n";
      return 1;
    }
    result = std::move(*found);
  } else if (directory.error().code == daemon::StoreError::database_missing) {
    // Nothing imported yet: an empty directory, but the number still formats.
    daemon::PhoneNumberNormaliser normaliser(config.directory.region, config.directory.area_code);
    if (auto normalised = normaliser.normalise(number)) {
      result.number = normalised.number->e164;
      result.display = normaliser.display(result.number, normalised.number->extension);
    } else {
      result.display = daemon::PhoneNumberNormaliser::display_raw(number);
    }
  } else {
    std::cerr << "deskline: " << directory.error().message() << "\n";
    return 1;
  }

  if (result.number.empty()) {
    daemon::PhoneNumberNormaliser normaliser(config.directory.region, config.directory.area_code);
    const auto refused = normaliser.normalise(number);
    // A service number is a number, only not a customer's.
    const bool service = refused.error == daemon::PhoneNumberError::service_number;
    if (service && !as_json)
      std::cout << trf("{}: service number, kept as dialled: no customer", result.display) << "\n";
    if (!service) std::cerr << "deskline: " << refused.reason << "\n";
    if (as_json) std::cout << "[]\n";
    return service ? exit_ok : exit_failure;
  }
  if (as_json) {
    auto candidates = nlohmann::json::array();
    for (const auto& candidate : result.candidates)
      candidates.push_back({{"id", candidate.id},
                            {"name", candidate.name},
                            {"company", candidate.company},
                            {"url", candidate.url},
                            {"number", candidate.number}});
    std::cout << candidates.dump(2) << "\n";
    return 0;
  }
  if (result.candidates.empty()) {
    // TRANSLATORS: the number as it is written, then its international form (+86...).
    std::cout << trf("{} ({}): no customer", result.display, result.number) << "\n";
    return 0;
  }
  const auto count = result.candidates.size();
  // TRANSLATORS: the number as it is written, its international form (+86...), how many customers have it.
  std::cout << trn("{} ({}): {} customer", "{} ({}): {} customers", count, result.display, result.number, count)
            << "\n";
  for (const auto& candidate : result.candidates) {
    std::cout << fmt::format("  {}  {}", candidate.id, candidate.name);
    if (!candidate.company.empty()) std::cout << "  " << candidate.company;
    std::cout << fmt::format("  [{}]", candidate.label);
    if (!candidate.url.empty()) std::cout << "  " << candidate.url;
    std::cout << "\n";
  }
  return 0;
}

// Asks for a pull and waits (polling sync_status) until that pull has ended.
int sync_customers(const config::Config& config, bool as_json) {
  const auto started = ask_daemon(config.control_socket_path(), {{"cmd", "customers_sync"}});
  if (!started) return started.failure;
  const auto wanted = started->value("pull", std::uint64_t{0});
  nlohmann::json customers;
  while (true) {
    const auto status = ask_daemon(config.control_socket_path(), {{"cmd", "sync_status"}});
    if (!status) return status.failure;
    customers = status->value("customers", nlohmann::json::object());
    const auto& last = customers["last_pull"];
    if (last.is_object() && last.value("number", std::uint64_t{0}) >= wanted) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const auto& last = customers["last_pull"];
  if (as_json) {
    std::cout << customers.dump(2) << "\n";
    return last.value("ok", false) ? 0 : 1;
  }
  if (!last.value("ok", false)) {
    std::cerr << "deskline: "
              << trf("the customer pull failed: {}", last["error"].is_string() ? last["error"].get<std::string>() : "?")
              << "\n";
    if (customers["next_pull_at"].is_string())
      std::cerr << trf("the daemon tries again at {}", customers["next_pull_at"].get<std::string>()) << "\n";
    return 1;
  }
  // TRANSLATORS: counts of customers, then of phone numbers not kept; the cursor is the CRM's bookmark for the next
  // pull (a code).
  std::cout << trf("pulled {} page(s): {} new, {} updated, {} deleted, {} unchanged, {} refused, {} number(s) left "
                   "out; cursor \"{}\"",
                   last.value("pages", 0), last.value("new", 0), last.value("updated", 0), last.value("deleted", 0),
                   last.value("unchanged", 0), last.value("refused", 0), last.value("numbers_left_out", 0),
                   customers.value("cursor", ""))
            << "\n";
  for (const auto& problem : last["problems"])
    if (problem.is_string()) std::cout << "  " << problem.get<std::string>() << "\n";
  return 0;
}

}  // namespace

void add_customer_commands(CLI::App& app, CliContext& context) {
  struct Options {
    std::string file;
    std::string number;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  auto* customers = app.add_subcommand("customers", tr("customer directory for the pop"));
  customers->require_subcommand(1);

  auto* import = customers->add_subcommand(
      "import", tr("add or update customers from a CSV (header: id,name,company,url,phone...) or vCard file"));
  import->add_option("FILE", options->file, tr("CSV or vCard (.vcf) file"))->required();
  import->add_flag("--json", options->json, tr("the summary as JSON, with each rejected row's line and reason"));
  // TRANSLATORS: id, name, company and url are the CSV's column names; the file's limit is a size ("1 GiB").
  import->footer(trf("Limits (proto/customers.md): id {} bytes, name and company {} bytes, url {} bytes, a phone "
                     "number {} bytes and its label {}, {} numbers a customer, {} CSV columns, a vCard property {} "
                     "bytes unfolded, the file {}. A row or card beyond a limit is rejected with the reason.",
                     proto::customers::max_id_bytes, proto::customers::max_name_bytes, proto::customers::max_url_bytes,
                     proto::customers::max_phone_bytes, proto::customers::max_label_bytes, proto::customers::max_phones,
                     proto::customers::max_columns, proto::customers::max_vcard_line_bytes,
                     byte_size_text(max_import_bytes)) +
                 "\n");
  import->callback([&context, options] {
    context.run = [&context, options] {
      auto config = context.load_config();
      return config ? import_file(*config, options->file, options->json) : 2;
    };
  });

  auto* lookup = customers->add_subcommand("lookup", tr("customers with this phone number"));
  lookup->add_option("NUMBER", options->number, tr("phone number in any common format"))->required();
  // TRANSLATORS: {id, name, company, url, number} are the JSON's keys, as they are.
  lookup->add_flag("--json", options->json, tr("JSON array of {id, name, company, url, number}"));
  lookup->callback([&context, options] {
    context.run = [&context, options] {
      auto config = context.load_config();
      return config ? lookup_number(*config, options->number, options->json) : 2;
    };
  });

  auto* sync = customers->add_subcommand(
      "sync",
      tr("desklined pulls the customers from the CRM ([crm] url) now; waits for the pull and prints what changed"));
  sync->add_flag("--json", options->json, tr("the pull's status as JSON (sync_status's \"customers\")"));
  sync->footer(tr("Exit status: 0 pulled, 1 the pull failed (the reason is printed; the daemon tries again by itself), "
                  "3 desklined is not running or refused (the pull is off without [crm] url)."));
  sync->callback([&context, options] {
    context.run = [&context, options] {
      auto config = context.load_config();
      return config ? sync_customers(*config, options->json) : 2;
    };
  });
}

}  // namespace deskline::tools
