#include "daemon/directory/directory.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "daemon/store/sqlite_database.hpp"
#include "daemon/store/store.hpp"
#include "proto/vcard.hpp"

namespace deskline::daemon {
namespace {

using sqlite::Statement;
using sqlite::Use;

// Migration n brings user_version from n-1 to n. Append only.
constexpr std::array<std::string_view, 2> migrations = {
    // 1: customers and their numbers. WITHOUT ROWID keeps the text keys in
    // the table's own B-tree; the covering index answers a lookup without
    // touching the numbers table.
    R"sql(
CREATE TABLE customers (
  id         TEXT PRIMARY KEY NOT NULL,
  name       TEXT NOT NULL,
  company    TEXT NOT NULL DEFAULT '',
  url        TEXT NOT NULL DEFAULT '',
  updated_at INTEGER NOT NULL            -- microseconds since the Unix epoch
) WITHOUT ROWID;
CREATE TABLE numbers (
  customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  position    INTEGER NOT NULL,          -- order within the customer
  label       TEXT NOT NULL,
  raw         TEXT NOT NULL,
  e164        TEXT NOT NULL,
  extension   TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (customer_id, position)
) WITHOUT ROWID;
CREATE INDEX numbers_e164 ON numbers (e164, label);
)sql",
    // 2: small facts about the directory itself: the CRM pull's cursor and
    // the CRM it came from (written with the page they follow).
    R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL
) WITHOUT ROWID;
)sql",
};

constexpr std::string_view crm_cursor_key = "crm_cursor";
constexpr std::string_view crm_url_key = "crm_cursor_url";
// The CRM gives numbers no kind; vCard numbers without TYPE are labelled so too.
constexpr std::string_view crm_number_label = "tel";

// At most max bytes of text, never cutting a UTF-8 sequence.
std::string_view utf8_prefix(std::string_view text, std::size_t max) {
  if (text.size() <= max) return text;
  while (max > 0 && (static_cast<unsigned char>(text[max]) & 0xC0) == 0x80) --max;
  return text.substr(0, max);
}

std::string trimmed(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return std::string(text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1));
}

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool same_data(const DirectoryCustomer& a, const DirectoryCustomer& b) {
  return a.name == b.name && a.company == b.company && a.url == b.url && a.numbers == b.numbers;
}

}  // namespace

struct Directory::Statements {
  Statement lookup, find_customer, find_numbers, insert_customer, update_customer, delete_numbers, insert_number,
      count_customers, delete_customer, get_meta, set_meta;
};

Directory::Directory(sqlite3* database, const config::DirectoryConfig& config)
    : database_(database),
      normaliser_(config.region, config.area_code),
      statements_(std::make_unique<Statements>()) {}

Directory::~Directory() {
  statements_.reset();  // statements must be finalised before the connection closes
  sqlite3_close_v2(database_);
}

int Directory::latest_schema_version() { return static_cast<int>(migrations.size()); }

Result<std::unique_ptr<Directory>> Directory::open(const std::filesystem::path& path,
                                                   const config::DirectoryConfig& config, bool read_only) {
  auto connection = sqlite::open_database(path, read_only, migrations, "deskline customers import");
  if (!connection) return connection.error();
  std::unique_ptr<Directory> directory(new Directory(connection->release(), config));
  // Lookups touch random pages of a file that can reach a few hundred MB:
  // mapping it saves a read() and a copy per page; a larger page cache keeps
  // the index's inner pages resident. Both only tune speed: failures are ignored.
  (void)sqlite::execute(directory->database_, "PRAGMA mmap_size = 268435456");
  (void)sqlite::execute(directory->database_, "PRAGMA cache_size = -32768");
  auto& statements = *directory->statements_;
  const std::array<std::pair<Statement*, std::string_view>, 11> sql = {{
      // No ORDER BY: SQLite would build a temporary B-tree per lookup; the
      // rare several-candidate result is sorted in lookup_e164 instead.
      {&statements.lookup,
       "SELECT c.id, c.name, c.company, c.url, n.e164, n.label, n.position FROM numbers n JOIN customers c "
       "ON c.id = n.customer_id WHERE n.e164 = ?1"},
      {&statements.find_customer, "SELECT name, company, url, updated_at FROM customers WHERE id = ?1"},
      {&statements.find_numbers,
       "SELECT label, raw, e164, extension FROM numbers WHERE customer_id = ?1 ORDER BY position"},
      {&statements.insert_customer,
       "INSERT INTO customers (id, name, company, url, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)"},
      {&statements.update_customer,
       "UPDATE customers SET name = ?2, company = ?3, url = ?4, updated_at = ?5 WHERE id = ?1"},
      {&statements.delete_numbers, "DELETE FROM numbers WHERE customer_id = ?1"},
      {&statements.insert_number,
       "INSERT INTO numbers (customer_id, position, label, raw, e164, extension) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"},
      {&statements.count_customers, "SELECT count(*) FROM customers"},
      {&statements.delete_customer, "DELETE FROM customers WHERE id = ?1"},
      {&statements.get_meta, "SELECT value FROM meta WHERE key = ?1"},
      {&statements.set_meta, "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)"},
  }};
  for (const auto& [statement, text] : sql) {
    if (const int result = statement->prepare(directory->database_, text); result != SQLITE_OK)
      return Error{{result, sqlite_category()}, fmt::format("{}: cannot prepare statement: {}", path.string(),
                                                            sqlite3_errmsg(directory->database_))};
  }
  return directory;
}

Error Directory::fail(int result, std::string_view context) const {
  return {{result, sqlite_category()}, fmt::format("{}: {}", context, sqlite3_errmsg(database_))};
}

Result<std::vector<Candidate>> Directory::lookup_e164(std::string_view e164) const {
  std::vector<Candidate> candidates;
  std::vector<std::int64_t> positions;
  {
    Use use(statements_->lookup);
    int result = use.bind(1, e164);
    while (result == SQLITE_OK && (result = use.step()) == SQLITE_ROW) {
      result = SQLITE_OK;
      candidates.push_back({use.text(0), use.text(1), use.text(2), use.text(3), use.text(4), use.text(5)});
      positions.push_back(use.integer(6));
    }
    if (result != SQLITE_DONE) return fail(result, "look up number");
  }
  if (candidates.size() > 1) {
    // By name, so the pop lists candidates the same way every time; a
    // customer listing the number twice (as "phone" and "mobile") is one
    // candidate, with the label of its first listing.
    std::vector<std::size_t> order(candidates.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return std::tie(candidates[a].name, candidates[a].id, positions[a]) <
             std::tie(candidates[b].name, candidates[b].id, positions[b]);
    });
    std::vector<Candidate> sorted;
    sorted.reserve(candidates.size());
    for (std::size_t index : order)
      if (sorted.empty() || sorted.back().id != candidates[index].id) sorted.push_back(std::move(candidates[index]));
    candidates = std::move(sorted);
  }
  return candidates;
}

Result<LookupResult> Directory::lookup(std::string_view raw_number) const {
  LookupResult found;
  // Fast path: a hand-canonicalised key needs no validation when it hits,
  // since only valid numbers are stored.
  std::string extension;
  std::string key = normaliser_.lookup_key(raw_number, &extension);
  if (!key.empty()) {
    auto candidates = lookup_e164(key);
    if (!candidates) return candidates.error();
    found.candidates = std::move(*candidates);
    if (!found.candidates.empty() || normaliser_.is_valid_e164(key)) {
      found.display = normaliser_.display(key, extension);
      found.number = std::move(key);
      found.extension = std::move(extension);
      return found;
    }
  }
  auto normalised = normaliser_.normalise(raw_number);
  if (!normalised) {
    found.display = PhoneNumberNormaliser::display_raw(raw_number);
    return found;
  }
  if (normalised.number->e164 != key) {
    auto candidates = lookup_e164(normalised.number->e164);
    if (!candidates) return candidates.error();
    found.candidates = std::move(*candidates);
  }
  found.display = normaliser_.display(normalised.number->e164, normalised.number->extension);
  found.number = std::move(normalised.number->e164);
  found.extension = std::move(normalised.number->extension);
  return found;
}

Result<std::optional<DirectoryCustomer>> Directory::find_customer(std::string_view id) const {
  DirectoryCustomer customer;
  {
    Use use(statements_->find_customer);
    int result = use.bind(1, id);
    if (result == SQLITE_OK) result = use.step();
    if (result == SQLITE_DONE) return std::optional<DirectoryCustomer>();
    if (result != SQLITE_ROW) return fail(result, "find customer");
    customer.id = std::string(id);
    customer.name = use.text(0);
    customer.company = use.text(1);
    customer.url = use.text(2);
    customer.updated_at = use.integer(3);
  }
  Use use(statements_->find_numbers);
  int result = use.bind(1, id);
  while (result == SQLITE_OK && (result = use.step()) == SQLITE_ROW) {
    customer.numbers.push_back({use.text(0), use.text(1), use.text(2), use.text(3)});
    result = SQLITE_OK;
  }
  if (result != SQLITE_DONE) return fail(result, "find customer numbers");
  return std::optional<DirectoryCustomer>(std::move(customer));
}

Result<std::int64_t> Directory::customer_count() const {
  Use use(statements_->count_customers);
  if (const int result = use.step(); result != SQLITE_ROW) return fail(result, "count customers");
  return use.integer(0);
}

Result<void> Directory::begin_transaction() {
  // IMMEDIATE: take the write lock now, not halfway through a long import.
  if (auto begun = sqlite::execute(database_, "BEGIN IMMEDIATE"); !begun)
    return fail(begun.error().code.value(), "begin transaction");
  return {};
}

Result<void> Directory::commit() {
  if (auto committed = sqlite::execute(database_, "COMMIT"); !committed)
    return fail(committed.error().code.value(), "commit");
  return {};
}

void Directory::rollback() {
  if (!sqlite3_get_autocommit(database_)) (void)sqlite::execute(database_, "ROLLBACK");
}

Result<UpsertOutcome> Directory::upsert(const DirectoryCustomer& customer) {
  const auto existing = find_customer(customer.id);
  if (!existing) return existing.error();
  if (*existing && same_data(**existing, customer)) return UpsertOutcome::unchanged;

  // Outside an import transaction, the customer and its numbers change together.
  const bool own_transaction = sqlite3_get_autocommit(database_) != 0;
  if (own_transaction) {
    if (auto begun = begin_transaction(); !begun) return begun.error();
  }
  auto write = [&]() -> Result<void> {
    {
      Use use(*existing ? statements_->update_customer : statements_->insert_customer);
      int result = use.bind(1, customer.id);
      if (result == SQLITE_OK) result = use.bind(2, customer.name);
      if (result == SQLITE_OK) result = use.bind(3, customer.company);
      if (result == SQLITE_OK) result = use.bind(4, customer.url);
      if (result == SQLITE_OK) result = use.bind(5, now_us());
      if (result == SQLITE_OK) result = use.step();
      if (result != SQLITE_DONE) return fail(result, fmt::format("write customer {}", customer.id));
    }
    if (*existing) {
      Use use(statements_->delete_numbers);
      int result = use.bind(1, customer.id);
      if (result == SQLITE_OK) result = use.step();
      if (result != SQLITE_DONE) return fail(result, fmt::format("replace numbers of customer {}", customer.id));
    }
    std::int64_t position = 0;
    for (const auto& number : customer.numbers) {
      Use use(statements_->insert_number);
      int result = use.bind(1, customer.id);
      if (result == SQLITE_OK) result = use.bind(2, position++);
      if (result == SQLITE_OK) result = use.bind(3, number.label);
      if (result == SQLITE_OK) result = use.bind(4, number.raw);
      if (result == SQLITE_OK) result = use.bind(5, number.e164);
      if (result == SQLITE_OK) result = use.bind(6, number.extension);
      if (result == SQLITE_OK) result = use.step();
      if (result != SQLITE_DONE) return fail(result, fmt::format("add number of customer {}", customer.id));
    }
    return {};
  };
  if (auto written = write(); !written) {
    if (own_transaction) rollback();
    return written.error();
  }
  if (own_transaction) {
    if (auto committed = commit(); !committed) {
      rollback();
      return committed.error();
    }
  }
  return *existing ? UpsertOutcome::updated : UpsertOutcome::inserted;
}

Result<void> Directory::delete_customer_rows(std::string_view id, bool& removed) {
  {
    Use use(statements_->delete_numbers);
    int result = use.bind(1, id);
    if (result == SQLITE_OK) result = use.step();
    if (result != SQLITE_DONE) return fail(result, fmt::format("delete numbers of customer {}", id));
  }
  Use use(statements_->delete_customer);
  int result = use.bind(1, id);
  if (result == SQLITE_OK) result = use.step();
  if (result != SQLITE_DONE) return fail(result, fmt::format("delete customer {}", id));
  removed = sqlite3_changes(database_) > 0;
  return {};
}

Result<bool> Directory::remove(std::string_view id) {
  const bool own_transaction = sqlite3_get_autocommit(database_) != 0;
  if (own_transaction) {
    if (auto begun = begin_transaction(); !begun) return begun.error();
  }
  bool removed = false;
  if (auto deleted = delete_customer_rows(id, removed); !deleted) {
    if (own_transaction) rollback();
    return deleted.error();
  }
  if (own_transaction) {
    if (auto committed = commit(); !committed) {
      rollback();
      return committed.error();
    }
  }
  return removed;
}

Result<std::optional<std::string>> Directory::meta(std::string_view key) const {
  Use use(statements_->get_meta);
  int result = use.bind(1, key);
  if (result == SQLITE_OK) result = use.step();
  if (result == SQLITE_DONE) return std::optional<std::string>();
  if (result != SQLITE_ROW) return fail(result, fmt::format("read {}", key));
  return std::optional<std::string>(use.text(0));
}

Result<void> Directory::set_meta(std::string_view key, std::string_view value) {
  Use use(statements_->set_meta);
  int result = use.bind(1, key);
  if (result == SQLITE_OK) result = use.bind(2, value);
  if (result == SQLITE_OK) result = use.step();
  if (result != SQLITE_DONE) return fail(result, fmt::format("store {}", key));
  return {};
}

Result<std::string> Directory::crm_cursor(std::string_view base_url) const {
  const auto url = meta(crm_url_key);
  if (!url) return url.error();
  if (!*url || **url != base_url) return std::string();
  const auto cursor = meta(crm_cursor_key);
  if (!cursor) return cursor.error();
  return cursor->value_or("");
}

std::optional<std::string> Directory::from_crm(const proto::crm::PageCustomer& in, DirectoryCustomer& out,
                                               CrmPageOutcome& outcome) const {
  // The same limits as an import (proto/customers.md), checked by the same
  // function; but one bad number costs the number, not the customer.
  proto::customers::CustomerEntry entry;
  entry.id = in.id;
  entry.name = trimmed(in.name);
  entry.company = trimmed(in.company);
  entry.url = trimmed(in.url);
  std::vector<DirectoryNumber> numbers;
  for (const auto& written : in.numbers) {
    auto raw = trimmed(written);
    if (raw.empty()) continue;
    std::string problem;  // quotes the number, as an import's rejection does
    if (raw.size() > proto::customers::max_phone_bytes) {
      problem = fmt::format("\"{}…\" is longer than {} bytes", utf8_prefix(raw, 32), proto::customers::max_phone_bytes);
    } else if (auto normalised = normaliser_.normalise(raw); !normalised) {
      problem = normalised.reason;  // `"12ab" is not a number (contains letters)`
    } else {
      entry.phones.push_back({std::string(crm_number_label), raw});
      numbers.push_back({std::string(crm_number_label), std::move(raw), std::move(normalised.number->e164),
                         std::move(normalised.number->extension)});
      continue;
    }
    ++outcome.numbers_left_out;
    outcome.problems.push_back(fmt::format("customer {}: number left out: {}", in.id, problem));
  }
  if (auto exceeded = proto::customers::exceeded_limit(entry)) return exceeded;
  out.id = std::move(entry.id);
  out.name = std::move(entry.name);
  out.company = std::move(entry.company);
  out.url = std::move(entry.url);
  out.numbers = std::move(numbers);
  return std::nullopt;
}

Result<CrmPageOutcome> Directory::apply_crm_page(const proto::crm::CustomersPage& page, std::string_view base_url,
                                                 std::chrono::milliseconds busy_wait) {
  CrmPageOutcome outcome;
  sqlite3_busy_timeout(database_, static_cast<int>(busy_wait.count()));
  auto begun = begin_transaction();
  sqlite3_busy_timeout(database_, sqlite::busy_timeout_ms);
  if (!begun) return begun.error();
  auto write = [&]() -> Result<void> {
    for (const auto& refused : page.refused) {
      ++outcome.refused;
      outcome.problems.push_back(fmt::format("customer {} not applied: {}", refused.id, refused.reason));
    }
    for (const auto& in : page.customers) {
      DirectoryCustomer customer;
      if (auto reason = from_crm(in, customer, outcome)) {
        ++outcome.refused;
        outcome.problems.push_back(fmt::format("customer {} not applied: {}", in.id, *reason));
        continue;
      }
      const auto upserted = upsert(customer);
      if (!upserted) return upserted.error();
      switch (*upserted) {
        case UpsertOutcome::inserted: ++outcome.inserted; break;
        case UpsertOutcome::updated: ++outcome.updated; break;
        case UpsertOutcome::unchanged: ++outcome.unchanged; break;
      }
    }
    for (const auto& id : page.deleted) {
      bool removed = false;
      if (auto deleted = delete_customer_rows(id, removed); !deleted) return deleted.error();
      outcome.deleted += removed;
    }
    if (auto stored = set_meta(crm_cursor_key, page.next_cursor); !stored) return stored.error();
    return set_meta(crm_url_key, base_url);
  };
  if (auto written = write(); !written) {
    rollback();
    return written.error();
  }
  if (auto committed = commit(); !committed) {
    rollback();
    return committed.error();
  }
  return outcome;
}

// ---- import -------------------------------------------------------------------

Result<void> CustomerImporter::begin() { return directory_.begin_transaction(); }

Result<void> CustomerImporter::add(proto::customers::CustomerEntry&& entry) {
  // Only accepted rows count: a rejected row must not shadow a later good one.
  if (const auto first = first_line_by_id_.find(entry.id); first != first_line_by_id_.end()) {
    reject({entry.line, fmt::format("duplicate id \"{}\" (first on line {})", entry.id, first->second)});
    return {};
  }
  DirectoryCustomer customer;
  customer.numbers.reserve(entry.phones.size());
  for (auto& phone : entry.phones) {
    auto normalised = directory_.normaliser().normalise(phone.raw);
    if (!normalised) {
      // reason reads `"12ab" is not a number (contains letters)`.
      reject({entry.line, fmt::format("{} {}", phone.label, normalised.reason)});
      return {};
    }
    customer.numbers.push_back({std::move(phone.label), std::move(phone.raw), std::move(normalised.number->e164),
                                std::move(normalised.number->extension)});
  }
  first_line_by_id_.emplace(entry.id, entry.line);
  customer.id = std::move(entry.id);
  customer.name = std::move(entry.name);
  customer.company = std::move(entry.company);
  customer.url = std::move(entry.url);
  const auto outcome = directory_.upsert(customer);
  if (!outcome) return outcome.error();
  switch (*outcome) {
    case UpsertOutcome::inserted: ++summary_.imported; break;
    case UpsertOutcome::updated: ++summary_.updated; break;
    case UpsertOutcome::unchanged: ++summary_.unchanged; break;
  }
  return {};
}

Result<void> CustomerImporter::commit() {
  std::stable_sort(summary_.rejected.begin(), summary_.rejected.end(),
                   [](const auto& a, const auto& b) { return a.line < b.line; });
  return directory_.commit();
}

Result<ImportSummary> import_customers(Directory& directory, std::string_view file_name, std::string_view text,
                                       const ImportProgress& progress) {
  namespace customers = proto::customers;
  CustomerImporter importer(directory);
  if (auto begun = importer.begin(); !begun) return begun.error();

  std::vector<customers::Issue> issues;
  std::size_t reported = 0;
  const std::size_t step = std::max<std::size_t>(text.size() / 200, 1);  // about 200 progress updates
  Result<void> written;
  const customers::EntrySink sink = [&](customers::CustomerEntry&& entry) {
    if (!written) return;  // an SQLite failure ends the import; the parser just runs out
    if (progress && entry.offset >= reported + step) {
      reported = entry.offset;
      progress(entry.offset, text.size());
    }
    written = importer.add(std::move(entry));
  };
  const bool usable = customers::detect_format(file_name, text) == customers::FileFormat::vcard
                          ? customers::parse_vcards(text, sink, issues)
                          : customers::parse_csv(text, sink, issues);
  if (progress) progress(text.size(), text.size());
  for (auto& issue : issues) importer.reject(std::move(issue));
  importer.summary().file_usable = usable;
  if (written) written = importer.commit();
  if (!written) {
    importer.rollback();
    return written.error();
  }
  return std::move(importer.summary());
}

}  // namespace deskline::daemon
