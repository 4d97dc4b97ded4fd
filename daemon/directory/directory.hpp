// Customer directory: who is calling. Customers with labelled phone numbers
// in their own SQLite file (<data_dir>/directory.db, WAL, numbered
// migrations like the store), numbers stored as E.164 (daemon/phone_number).
//
// A Directory is one connection used by one thread at a time: the daemon
// keeps one on its io thread for lookups while `deskline customers import`
// writes through its own in another process (WAL: the reader never waits).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "daemon/core/result.hpp"
#include "daemon/directory/phone_number.hpp"
#include "proto/customer_csv.hpp"
#include "proto/customers_page.hpp"

struct sqlite3;

namespace deskline::daemon {

struct DirectoryNumber {
  std::string label;      // "mobile", "Phone (work)", "tel"
  std::string raw;        // as imported
  std::string e164;       // "+8613812345678"
  std::string extension;  // "" when none; lookups match the main number
  friend bool operator==(const DirectoryNumber&, const DirectoryNumber&) = default;
};

struct DirectoryCustomer {
  std::string id;  // the CRM's id, or derived for vCards without UID
  std::string name;
  std::string company;
  std::string url;  // link into the CRM
  std::vector<DirectoryNumber> numbers;
  std::int64_t updated_at = 0;  // microseconds since the Unix epoch; set by upsert
};

// One customer that has the number looked up.
struct Candidate {
  std::string id;
  std::string name;
  std::string company;
  std::string url;
  std::string number;  // E.164
  std::string label;   // the number's label in the directory
  friend bool operator==(const Candidate&, const Candidate&) = default;
};

struct LookupResult {
  std::vector<Candidate> candidates;  // every customer with the number (by name); empty: no match
  std::string number;                 // E.164; "" when the input is not a number
  std::string extension;              // from the input ("010-62345678-801" -> "801")
  std::string display;                // "010 6234 5678", "+1 650-253-0000", or the raw text
};

enum class UpsertOutcome { inserted, updated, unchanged };

// What one page of the CRM's customers did to the directory.
struct CrmPageOutcome {
  std::size_t inserted = 0;   // new customers
  std::size_t updated = 0;    // known ids whose data changed
  std::size_t unchanged = 0;  // known ids with equal data
  std::size_t deleted = 0;    // removed (ids the directory did not have are not counted)
  std::size_t refused = 0;    // customers not applied (the directory keeps what it had for them)
  std::size_t numbers_left_out = 0;  // numbers too long or not phone numbers; their customer is applied without them
  // One sentence per refused customer and left-out number, for the log:
  // `customer c-1 not applied: name is longer than 1024 bytes`.
  std::vector<std::string> problems;
};

class Directory {
 public:
  ~Directory();
  Directory(const Directory&) = delete;
  Directory& operator=(const Directory&) = delete;

  static std::filesystem::path path_for(const config::Config& config) { return config.data_dir / "directory.db"; }

  // Opens or creates the database and applies migrations; read_only opens an
  // existing one without creating or migrating (StoreError::database_missing
  // when there is none). Errors use sqlite_category() and StoreError
  // (daemon/store.hpp), with details like the store's ("<path>: <what>").
  static Result<std::unique_ptr<Directory>> open(const std::filesystem::path& path,
                                                 const config::DirectoryConfig& config, bool read_only = false);
  static int latest_schema_version();

  // Raw input (caller ID digits, typed text): normalised with the configured
  // region and area code, then looked up. Input that is not a number is not
  // an error: the result has no number and no candidates.
  Result<LookupResult> lookup(std::string_view raw_number) const;
  // Input already in E.164 (e.g. from NormaliseResult): the fastest path.
  Result<std::vector<Candidate>> lookup_e164(std::string_view e164) const;

  Result<std::optional<DirectoryCustomer>> find_customer(std::string_view id) const;
  Result<std::int64_t> customer_count() const;

  // Writes. upsert() replaces name, company, url and all numbers of the
  // customer with this id; `unchanged` when everything was equal (no write).
  // Between begin_transaction() and commit() every upsert is one transaction.
  Result<void> begin_transaction();
  Result<void> commit();
  void rollback();
  Result<UpsertOutcome> upsert(const DirectoryCustomer& customer);
  // Deletes the customer and its numbers; false when the id was unknown
  // (not an error). Its own transaction unless one is open.
  Result<bool> remove(std::string_view id);

  // The CRM pull (proto/crm.md section 5). The cursor that follows the last
  // page applied from the CRM at base_url; "" (from the beginning) when none
  // was, or when it came from another CRM (the url changed).
  Result<std::string> crm_cursor(std::string_view base_url) const;
  // Applies a page and stores its next_cursor, in one transaction: after a
  // crash either both or neither are there. Customers are checked like an
  // import's rows (proto/customers.md limits; numbers normalised, a number
  // that cannot be is left out and reported); upserts go first, then the
  // deletions. The write lock is waited for at most busy_wait, so the
  // daemon's thread is never held up by a long `deskline customers import`
  // (SQLITE_BUSY then: try again later). An error leaves everything as it was.
  Result<CrmPageOutcome> apply_crm_page(const proto::crm::CustomersPage& page, std::string_view base_url,
                                        std::chrono::milliseconds busy_wait = std::chrono::milliseconds(20));

  const PhoneNumberNormaliser& normaliser() const { return normaliser_; }
  // Numbers read from now on take this region and area code (a reload);
  // the numbers stored keep the form they were stored in.
  void set_numbering(const config::DirectoryConfig& config) {
    normaliser_ = PhoneNumberNormaliser(config.region, config.area_code);
  }

 private:
  struct Statements;
  Directory(sqlite3* database, const config::DirectoryConfig& config);
  // An SQLite failure while doing what context says, with SQLite's message.
  Error fail(int result, std::string_view context) const;
  Result<void> delete_customer_rows(std::string_view id, bool& removed);
  Result<void> set_meta(std::string_view key, std::string_view value);
  Result<std::optional<std::string>> meta(std::string_view key) const;
  // A CRM customer as the directory stores it, or why it cannot be.
  std::optional<std::string> from_crm(const proto::crm::PageCustomer& in, DirectoryCustomer& out,
                                      CrmPageOutcome& outcome) const;

  sqlite3* database_ = nullptr;
  PhoneNumberNormaliser normaliser_;
  std::unique_ptr<Statements> statements_;
};

// ---- import -------------------------------------------------------------------

struct ImportSummary {
  std::size_t imported = 0;   // new customers
  std::size_t updated = 0;    // existing ids whose data changed
  std::size_t unchanged = 0;  // existing ids with identical data
  std::vector<proto::customers::Issue> rejected;  // by line: "missing name", ...
  bool file_usable = true;  // false: no header / no card; nothing was read
};

// Normalises entries and upserts them into a directory inside one
// transaction. An entry is rejected (with its line and reason) when a phone
// is not a number or an entry accepted earlier in the same file had its id.
class CustomerImporter {
 public:
  explicit CustomerImporter(Directory& directory) : directory_(directory) {}
  Result<void> begin();
  // An error is SQLite's; the import must then be abandoned (rollback()).
  Result<void> add(proto::customers::CustomerEntry&& entry);
  void reject(proto::customers::Issue issue) { summary_.rejected.push_back(std::move(issue)); }
  Result<void> commit();  // also sorts the rejections by line
  void rollback() { directory_.rollback(); }
  ImportSummary& summary() { return summary_; }

 private:
  Directory& directory_;
  ImportSummary summary_;
  std::unordered_map<std::string, int> first_line_by_id_;
};

// Progress: bytes of the text consumed so far, and its size.
using ImportProgress = std::function<void(std::size_t done, std::size_t total)>;

// Detects CSV or vCard (file_name's extension, then content), parses and
// imports text. An error is an SQLite failure; nothing is kept then.
Result<ImportSummary> import_customers(Directory& directory, std::string_view file_name, std::string_view text,
                                       const ImportProgress& progress);

}  // namespace deskline::daemon
