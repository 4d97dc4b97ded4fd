#include "daemon/directory/directory.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "daemon/store/store.hpp"

namespace deskline::daemon {
namespace {

namespace fs = std::filesystem;

class DirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "deskline-directory-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    folder_ = pattern;
    path_ = folder_ / "directory.db";
    config_.region = "CN";
    config_.area_code = "10";
    directory_ = open();
    ASSERT_TRUE(directory_);
  }
  void TearDown() override {
    directory_.reset();
    fs::remove_all(folder_);
  }

  std::unique_ptr<Directory> open(bool read_only = false) {
    auto directory = Directory::open(path_, config_, read_only);
    EXPECT_TRUE(directory || read_only) << directory.error().message();
    return directory ? std::move(*directory) : nullptr;
  }

  ImportSummary import(std::string_view name, std::string_view text) {
    auto summary = import_customers(*directory_, name, text, nullptr);
    EXPECT_TRUE(summary) << summary.error().message();
    return summary ? *summary : ImportSummary{};
  }

  std::vector<Candidate> candidates(std::string_view raw) {
    auto result = directory_->lookup(raw);
    EXPECT_TRUE(result) << result.error().message();
    return result ? result->candidates : std::vector<Candidate>{};
  }

  fs::path folder_, path_;
  config::DirectoryConfig config_;
  std::unique_ptr<Directory> directory_;
};

constexpr std::string_view customers_csv =
    "id,name,company,url,phone,mobile\n"
    "C1,Zhang San,Acme,https://crm/c/1,010-62345678,13812345678\n"
    "C2,Li Si,Acme,https://crm/c/2,(010) 6234 5678,\n"
    "C3,Wang Wu,Beta,,,+86 139 0000 0000\n";

TEST_F(DirectoryTest, CreatesItsSchemaInWalMode) {
  EXPECT_TRUE(fs::exists(path_));
  EXPECT_EQ(Directory::latest_schema_version(), 2);
  const auto count = directory_->customer_count();
  ASSERT_TRUE(count) << count.error().message();
  EXPECT_EQ(*count, 0);
  EXPECT_TRUE(open(/*read_only=*/true));
}

TEST_F(DirectoryTest, ReadOnlyOpenOfMissingFileFails) {
  const auto opened = Directory::open(folder_ / "none.db", config_, /*read_only=*/true);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, StoreError::database_missing);
  EXPECT_NE(opened.error().message().find("deskline customers import creates it"), std::string::npos)
      << opened.error().message();
}

TEST_F(DirectoryTest, LookupReturnsEveryCustomerSharingANumber) {
  const auto summary = import("customers.csv", customers_csv);
  EXPECT_EQ(summary.imported, 3u);
  EXPECT_TRUE(summary.rejected.empty());

  // A switchboard shared by two customers, written three different ways.
  for (const char* raw : {"62345678", "010-62345678", "+861062345678", "0086 10 6234 5678"}) {
    SCOPED_TRACE(raw);
    const auto found = candidates(raw);
    ASSERT_EQ(found.size(), 2u);
    EXPECT_EQ(found[0].id, "C2");  // by name: "Li Si" before "Zhang San"
    EXPECT_EQ(found[1].id, "C1");
    EXPECT_EQ(found[1].name, "Zhang San");
    EXPECT_EQ(found[1].company, "Acme");
    EXPECT_EQ(found[1].url, "https://crm/c/1");
    EXPECT_EQ(found[1].number, "+861062345678");
    EXPECT_EQ(found[1].label, "phone");
  }
  EXPECT_EQ(directory_->lookup_e164("+8613900000000").value().at(0).id, "C3");
}

TEST_F(DirectoryTest, LookupWithExtensionMatchesTheMainNumber) {
  import("customers.csv", customers_csv);
  const auto result = directory_->lookup("010-62345678-801").value();
  EXPECT_EQ(result.candidates.size(), 2u);
  EXPECT_EQ(result.number, "+861062345678");
  EXPECT_EQ(result.extension, "801");
  EXPECT_EQ(result.display, "010 6234 5678 ext. 801");
}

TEST_F(DirectoryTest, NoMatchReturnsTheFormattedNumber) {
  import("customers.csv", customers_csv);
  auto result = directory_->lookup("13700000000").value();
  EXPECT_TRUE(result.candidates.empty());
  EXPECT_EQ(result.number, "+8613700000000");
  EXPECT_EQ(result.display, "137 0000 0000");

  result = directory_->lookup("+1 650 253 0000").value();
  EXPECT_TRUE(result.candidates.empty());
  EXPECT_EQ(result.display, "+1 650-253-0000");

  // A service number is shown as dialled, with no area code made up for it.
  const auto service = directory_->lookup("10086").value();
  EXPECT_TRUE(service.candidates.empty());
  EXPECT_EQ(service.number, "");
  EXPECT_EQ(service.display, "10086");

  const auto not_a_number = directory_->lookup("P");  // private caller ID, say: not an error
  ASSERT_TRUE(not_a_number);
  EXPECT_TRUE(not_a_number->candidates.empty());
  EXPECT_EQ(not_a_number->number, "");
  EXPECT_EQ(not_a_number->display, "P");
}

TEST_F(DirectoryTest, ReimportUpdatesByIdAndReplacesNumbers) {
  import("customers.csv", customers_csv);
  const auto summary = import("customers.csv",
                              "id,name,company,url,phone\n"
                              "C1,Zhang San,Acme Group,https://crm/c/1,021-61234567\n"
                              "C2,Li Si,Acme,https://crm/c/2,(010) 6234 5678\n"
                              "C4,Zhao Liu,,,4008-123-123\n");
  EXPECT_EQ(summary.imported, 1u);
  EXPECT_EQ(summary.updated, 1u);
  EXPECT_EQ(summary.unchanged, 1u);

  // C1's old numbers are gone; its new one matches.
  EXPECT_EQ(candidates("13812345678").size(), 0u);
  ASSERT_EQ(candidates("62345678").size(), 1u);
  const auto shanghai = candidates("021 6123 4567");
  ASSERT_EQ(shanghai.size(), 1u);
  EXPECT_EQ(shanghai[0].company, "Acme Group");

  const auto customer = directory_->find_customer("C1").value();
  ASSERT_TRUE(customer);
  ASSERT_EQ(customer->numbers.size(), 1u);
  EXPECT_EQ(customer->numbers[0].raw, "021-61234567");
  EXPECT_EQ(customer->numbers[0].e164, "+862161234567");
  EXPECT_GT(customer->updated_at, 0);
  EXPECT_EQ(directory_->customer_count().value(), 4);  // C3 kept: imports never delete
}

TEST_F(DirectoryTest, ReaderSeesAnImportOnlyWhenItCommits) {
  auto reader = open(/*read_only=*/true);
  ASSERT_TRUE(reader);
  CustomerImporter importer(*directory_);
  ASSERT_TRUE(importer.begin());
  ASSERT_TRUE(importer.add({2, 0, "C1", "A", "", "", {{"phone", "13812345678"}}}));
  const auto before = reader->lookup_e164("+8613812345678");
  ASSERT_TRUE(before) << before.error().message();
  EXPECT_TRUE(before->empty());
  ASSERT_TRUE(importer.commit());
  EXPECT_EQ(reader->lookup_e164("+8613812345678").value().size(), 1u);
}

// ---- importer error paths: one test each ----------------------------------------

TEST_F(DirectoryTest, ImportRejectsAPhoneThatIsNotANumber) {
  const auto summary = import("c.csv", "id,name,phone,mobile\nC1,A,010-62345678,12ab\nC2,B,13812345678,\n");
  EXPECT_EQ(summary.imported, 1u);
  ASSERT_EQ(summary.rejected.size(), 1u);
  EXPECT_EQ(summary.rejected[0].line, 2);
  EXPECT_EQ(summary.rejected[0].message, "mobile \"12ab\" is not a number (contains letters)");
  EXPECT_FALSE(directory_->find_customer("C1").value());  // the whole row is rejected
}

TEST_F(DirectoryTest, ImportRejectsADuplicateIdInTheSameFile) {
  const auto summary = import("c.csv", "id,name\nC1,A\nC1,B\n");
  EXPECT_EQ(summary.imported, 1u);
  ASSERT_EQ(summary.rejected.size(), 1u);
  EXPECT_EQ(summary.rejected[0].line, 3);
  EXPECT_EQ(summary.rejected[0].message, "duplicate id \"C1\" (first on line 2)");
}

TEST_F(DirectoryTest, ADuplicateIsJudgedOnlyAgainstAcceptedRows) {
  // Row 2 is rejected for its number, so row 3 is the first C1 accepted.
  const auto summary = import("c.csv", "id,name,phone\nC1,A,12ab\nC1,B,13812345678\nC1,C,\n");
  EXPECT_EQ(summary.imported, 1u);
  ASSERT_EQ(summary.rejected.size(), 2u);
  EXPECT_EQ(summary.rejected[0].line, 2);
  EXPECT_EQ(summary.rejected[1].line, 4);
  EXPECT_EQ(summary.rejected[1].message, "duplicate id \"C1\" (first on line 3)");
  EXPECT_EQ(directory_->find_customer("C1").value()->name, "B");
}

TEST_F(DirectoryTest, ImportReadsNumbersTypedOrPastedInUnicode) {
  // Full-width digits, NBSP and a zero-width space, a tel: URI with an extension.
  const auto summary = import("c.csv",
                              "id,name,phone,mobile\n"
                              "C1,A,\"tel:+86-10-6234-5678;ext=801\",\xEF\xBC\x91\xEF\xBC\x93\xEF\xBC\x98\xC2\xA0"
                              "1234\xE2\x80\x8B" "5678\n");
  EXPECT_TRUE(summary.rejected.empty()) << summary.rejected[0].message;
  const auto customer = directory_->find_customer("C1").value();
  ASSERT_TRUE(customer);
  ASSERT_EQ(customer->numbers.size(), 2u);
  EXPECT_EQ(customer->numbers[0].e164, "+861062345678");
  EXPECT_EQ(customer->numbers[0].extension, "801");
  EXPECT_EQ(customer->numbers[1].e164, "+8613812345678");
  EXPECT_EQ(candidates("13812345678").size(), 1u);
}

TEST_F(DirectoryTest, ImportReportsParserRejectionsSortedByLine) {
  const auto summary = import("c.csv", "id,name,phone\n1,,\n2,B,abc\n3,\"C\"x\n4,D,\n");
  EXPECT_EQ(summary.imported, 1u);
  ASSERT_EQ(summary.rejected.size(), 3u);
  EXPECT_EQ(summary.rejected[0].line, 2);
  EXPECT_EQ(summary.rejected[0].message, "missing name");
  EXPECT_EQ(summary.rejected[1].line, 3);
  EXPECT_EQ(summary.rejected[2].line, 4);
}

TEST_F(DirectoryTest, ImportOfAnUnusableFileChangesNothing) {
  const auto summary = import("c.csv", "name,phone\nA,13812345678\n");
  EXPECT_FALSE(summary.file_usable);
  EXPECT_EQ(summary.imported, 0u);
  ASSERT_EQ(summary.rejected.size(), 1u);
  EXPECT_EQ(directory_->customer_count().value(), 0);
}

TEST_F(DirectoryTest, ImportNeedsAnAreaCodeForBareLocalNumbers) {
  directory_.reset();
  config_.area_code = "";
  directory_ = open();
  const auto summary = import("c.csv", "id,name,phone\n1,A,62345678\n");
  ASSERT_EQ(summary.rejected.size(), 1u);
  EXPECT_NE(summary.rejected[0].message.find("area_code"), std::string::npos) << summary.rejected[0].message;
}

TEST_F(DirectoryTest, ImportsVcardsByContent) {
  const auto summary = import("export.txt",
                              "BEGIN:VCARD\nVERSION:3.0\nFN:Li Na\nORG:Acme\nTEL;TYPE=CELL:138 1234 5678\n"
                              "END:VCARD\nBEGIN:VCARD\nVERSION:3.0\nTEL:1\nEND:VCARD\n");
  EXPECT_EQ(summary.imported, 1u);
  ASSERT_EQ(summary.rejected.size(), 1u);
  EXPECT_EQ(summary.rejected[0].line, 7);
  const auto found = candidates("13812345678");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].label, "cell");
  EXPECT_EQ(found[0].id.rfind("vcard-", 0), 0u);
  // Same export again: same derived id, so nothing changes.
  const auto again = import("export.vcf",
                            "BEGIN:VCARD\nVERSION:3.0\nFN:Li Na\nORG:Acme\nTEL;TYPE=CELL:138 1234 5678\nEND:VCARD\n");
  EXPECT_EQ(again.unchanged, 1u);
}

TEST_F(DirectoryTest, UpsertOutsideAnImportIsItsOwnTransaction) {
  DirectoryCustomer customer{"X", "Name", "", "", {{"phone", "13812345678", "+8613812345678", ""}}, 0};
  EXPECT_EQ(directory_->upsert(customer).value(), UpsertOutcome::inserted);
  EXPECT_EQ(directory_->upsert(customer).value(), UpsertOutcome::unchanged);
  customer.name = "Other";
  EXPECT_EQ(directory_->upsert(customer).value(), UpsertOutcome::updated);
  EXPECT_EQ(directory_->find_customer("X").value()->name, "Other");
}

TEST_F(DirectoryTest, AFailedWriteIsAnErrorWithItsContext) {
  auto reader = open(/*read_only=*/true);
  ASSERT_TRUE(reader);
  DirectoryCustomer customer{"X", "Name", "", "", {{"phone", "13812345678", "+8613812345678", ""}}, 0};
  const auto written = reader->upsert(customer);
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code.category(), sqlite_category());
  EXPECT_EQ(written.error().code.value() & 0xFF, SQLITE_READONLY);
  EXPECT_NE(written.error().message().find("write customer X"), std::string::npos) << written.error().message();
  const auto imported = import_customers(*reader, "c.csv", "id,name\nC1,A\n", nullptr);
  ASSERT_FALSE(imported);
  EXPECT_EQ(imported.error().code.value() & 0xFF, SQLITE_READONLY);
  EXPECT_EQ(directory_->customer_count().value(), 0);
}

// ---- removal and the CRM pull (proto/crm.md section 5) -----------------------------

// Runs SQL on the directory file through a second connection, as another process would.
void run_sql(const fs::path& path, const char* sql) {
  sqlite3* database = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &database), SQLITE_OK);
  char* message = nullptr;
  EXPECT_EQ(sqlite3_exec(database, sql, nullptr, nullptr, &message), SQLITE_OK) << (message ? message : "");
  sqlite3_free(message);
  sqlite3_close(database);
}

constexpr std::string_view crm_url = "https://crm.example/deskline";

proto::crm::CustomersPage page_of(std::vector<proto::crm::PageCustomer> customers, std::vector<std::string> deleted,
                                  std::string next_cursor) {
  return {std::move(customers), {}, std::move(deleted), std::move(next_cursor), false};
}

TEST_F(DirectoryTest, RemoveDeletesTheCustomerAndItsNumbers) {
  import("c.csv", customers_csv);
  EXPECT_EQ(directory_->remove("C1").value(), true);
  EXPECT_FALSE(directory_->find_customer("C1").value());
  EXPECT_EQ(candidates("13812345678").size(), 0u);
  ASSERT_EQ(candidates("010-62345678").size(), 1u);  // C2 shares the landline and stays
  EXPECT_EQ(candidates("010-62345678")[0].id, "C2");
  EXPECT_EQ(directory_->customer_count().value(), 2);
}

TEST_F(DirectoryTest, RemovingAnUnknownIdIsNotAnError) {
  import("c.csv", customers_csv);
  const auto removed = directory_->remove("nobody");
  ASSERT_TRUE(removed) << removed.error().message();
  EXPECT_FALSE(*removed);
  EXPECT_EQ(directory_->customer_count().value(), 3);
}

TEST_F(DirectoryTest, AVersion1DirectoryGainsTheMetaTableAndKeepsItsCustomers) {
  directory_.reset();
  fs::remove(path_);
  run_sql(path_, R"sql(
CREATE TABLE customers (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, company TEXT NOT NULL DEFAULT '',
  url TEXT NOT NULL DEFAULT '', updated_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE numbers (customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  position INTEGER NOT NULL, label TEXT NOT NULL, raw TEXT NOT NULL, e164 TEXT NOT NULL,
  extension TEXT NOT NULL DEFAULT '', PRIMARY KEY (customer_id, position)) WITHOUT ROWID;
CREATE INDEX numbers_e164 ON numbers (e164, label);
INSERT INTO customers VALUES ('C1', 'Zhang San', '', '', 1);
INSERT INTO numbers VALUES ('C1', 0, 'phone', '13812345678', '+8613812345678', '');
PRAGMA user_version = 1;
)sql");
  directory_ = open();
  ASSERT_TRUE(directory_);
  EXPECT_EQ(candidates("13812345678").size(), 1u);
  EXPECT_EQ(directory_->crm_cursor(crm_url).value(), "");
  ASSERT_TRUE(directory_->apply_crm_page(page_of({}, {}, "c1"), crm_url));
  EXPECT_EQ(directory_->crm_cursor(crm_url).value(), "c1");
}

TEST_F(DirectoryTest, APageAndItsCursorAreAppliedTogether) {
  import("c.csv", customers_csv);
  EXPECT_EQ(directory_->crm_cursor(crm_url).value(), "");
  const auto page = page_of({{"C1", "Zhang San (CRM)", "Acme", "https://crm/c/1", {"13812345678"}},
                             {"N1", "New One", "", "", {"+86 139 1111 2222", "021-6123 4567"}}},
                            {"C3", "never-known"}, "c42");
  const auto applied = directory_->apply_crm_page(page, crm_url);
  ASSERT_TRUE(applied) << applied.error().message();
  EXPECT_EQ(applied->inserted, 1u);
  EXPECT_EQ(applied->updated, 1u);
  EXPECT_EQ(applied->unchanged, 0u);
  EXPECT_EQ(applied->deleted, 1u);  // an id the directory never had is ignored
  EXPECT_EQ(applied->refused, 0u);
  EXPECT_TRUE(applied->problems.empty());
  EXPECT_EQ(directory_->crm_cursor(crm_url).value(), "c42");
  const auto c1 = directory_->find_customer("C1").value();
  ASSERT_TRUE(c1);
  EXPECT_EQ(c1->name, "Zhang San (CRM)");
  ASSERT_EQ(c1->numbers.size(), 1u);  // the CRM's numbers replace the imported ones
  EXPECT_EQ(c1->numbers[0], (DirectoryNumber{"tel", "13812345678", "+8613812345678", ""}));
  EXPECT_EQ(candidates("+86 139 1111 2222")[0].id, "N1");
  EXPECT_EQ(candidates("02161234567")[0].id, "N1");
  EXPECT_FALSE(directory_->find_customer("C3").value());

  // The same page again (a restart before the next one was asked for) changes nothing.
  const auto again = directory_->apply_crm_page(page, crm_url);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(again->unchanged, 2u);
  EXPECT_EQ(again->inserted + again->updated + again->deleted, 0u);
}

TEST_F(DirectoryTest, TheCursorBelongsToTheCrmItCameFrom) {
  ASSERT_TRUE(directory_->apply_crm_page(page_of({}, {}, "c7"), crm_url));
  EXPECT_EQ(directory_->crm_cursor(crm_url).value(), "c7");
  EXPECT_EQ(directory_->crm_cursor("https://other-crm.example").value(), "");
  EXPECT_EQ(open(/*read_only=*/true)->crm_cursor(crm_url).value(), "c7");  // it is in the file
}

TEST_F(DirectoryTest, NumbersThatCannotBeNormalisedAreLeftOutAndReported) {
  const auto applied = directory_->apply_crm_page(
      page_of({{"C1", "Zhang San", "", "", {"13812345678", "ask reception", "  ", "12ab"}},
               {"C2", "Li Si", "", "", {"call me"}}},
              {}, "c2"),
      crm_url);
  ASSERT_TRUE(applied) << applied.error().message();
  EXPECT_EQ(applied->inserted, 2u);
  EXPECT_EQ(applied->numbers_left_out, 3u);  // the blank one is no number, not a problem
  ASSERT_EQ(applied->problems.size(), 3u);
  EXPECT_EQ(applied->problems[0].rfind("customer C1: number left out: \"ask reception\"", 0), 0u) << applied->problems[0];
  EXPECT_EQ(applied->problems[1].rfind("customer C1: number left out: \"12ab\"", 0), 0u) << applied->problems[1];
  EXPECT_EQ(applied->problems[2].rfind("customer C2: number left out: \"call me\"", 0), 0u) << applied->problems[2];
  EXPECT_EQ(directory_->find_customer("C1").value()->numbers.size(), 1u);
  EXPECT_EQ(directory_->find_customer("C2").value()->numbers.size(), 0u);  // still the CRM's customer
  EXPECT_EQ(directory_->crm_cursor(crm_url).value(), "c2");
}

TEST_F(DirectoryTest, ImportLimitsApplyToPulledCustomers) {
  ASSERT_TRUE(directory_->apply_crm_page(page_of({{"C1", "Zhang San", "", "", {"13812345678"}}}, {}, "c1"), crm_url));
  std::vector<std::string> many(proto::customers::max_phones + 1);
  for (std::size_t i = 0; i < many.size(); ++i) many[i] = "1390000" + std::to_string(1000 + i);
  const std::string long_number = "138 1234 5678" + std::string(proto::customers::max_phone_bytes, ' ') + "9";
  const auto applied = directory_->apply_crm_page(
      page_of({{"C1", std::string(proto::customers::max_name_bytes + 1, 'n'), "", "", {"13812345678"}},
               {"C2", "Li Si", std::string(proto::customers::max_name_bytes + 1, 'c'), "", {}},
               {"C3", "Wang Wu", "", "https://crm/" + std::string(proto::customers::max_url_bytes, 'u'), {}},
               {"C4", "Zhao Liu", "", "", many},
               {"C5", "Qian Qi", "", "", {"13911112222", long_number}},
               {"C6", "Sun Ba", "", "", {"13911113333"}}},
              {}, "c2"),
      crm_url);
  ASSERT_TRUE(applied) << applied.error().message();
  EXPECT_EQ(applied->refused, 4u);
  EXPECT_EQ(applied->inserted, 2u);  // C5 without its long number, and C6
  EXPECT_EQ(applied->numbers_left_out, 1u);
  const std::vector<std::string> expected = {
      "customer C1 not applied: name is longer than 1024 bytes",
      "customer C2 not applied: company is longer than 1024 bytes",
      "customer C3 not applied: url is longer than 2048 bytes",
      "customer C4 not applied: more than 32 phone numbers",
  };
  std::vector<std::string> refused;
  for (const auto& problem : applied->problems)
    if (problem.find("not applied") != std::string::npos) refused.push_back(problem);
  EXPECT_EQ(refused, expected);
  // A refused change leaves the customer as the directory had it.
  EXPECT_EQ(directory_->find_customer("C1").value()->name, "Zhang San");
  EXPECT_FALSE(directory_->find_customer("C2").value());
  EXPECT_EQ(directory_->find_customer("C5").value()->numbers.size(), 1u);
  EXPECT_EQ(directory_->crm_cursor(crm_url).value(), "c2");
}

TEST_F(DirectoryTest, CustomersThePageParserRefusedAreReported) {
  auto page = page_of({{"C1", "Zhang San", "", "", {}}}, {}, "c3");
  page.refused.push_back({"C9", "name is not a string"});
  const auto applied = directory_->apply_crm_page(page, crm_url);
  ASSERT_TRUE(applied) << applied.error().message();
  EXPECT_EQ(applied->inserted, 1u);
  EXPECT_EQ(applied->refused, 1u);
  EXPECT_EQ(applied->problems, std::vector<std::string>{"customer C9 not applied: name is not a string"});
}

TEST_F(DirectoryTest, AFailureMidPageKeepsNeitherThePageNorItsCursor) {
  ASSERT_TRUE(directory_->apply_crm_page(page_of({}, {}, "c1"), crm_url));
  run_sql(path_, "CREATE TRIGGER refuse_boom BEFORE INSERT ON customers WHEN NEW.id = 'boom' "
                 "BEGIN SELECT RAISE(ABORT, 'boom refused'); END;");
  const auto applied = directory_->apply_crm_page(
      page_of({{"C1", "Zhang San", "", "", {"13812345678"}}, {"boom", "B", "", "", {}}}, {}, "c2"), crm_url);
  ASSERT_FALSE(applied);
  EXPECT_NE(applied.error().message().find("boom refused"), std::string::npos) << applied.error().message();
  EXPECT_FALSE(directory_->find_customer("C1").value());
  EXPECT_EQ(directory_->crm_cursor(crm_url).value(), "c1");
  // And the directory is usable afterwards.
  ASSERT_TRUE(directory_->apply_crm_page(page_of({{"C1", "Zhang San", "", "", {}}}, {}, "c2"), crm_url));
  EXPECT_EQ(directory_->crm_cursor(crm_url).value(), "c2");
}

TEST_F(DirectoryTest, APageDoesNotWaitLongForAnotherWriter) {
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);  // an import, say
  const auto applied =
      directory_->apply_crm_page(page_of({{"C1", "A", "", "", {}}}, {}, "c1"), crm_url, std::chrono::milliseconds(0));
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().code.value() & 0xFF, SQLITE_BUSY) << applied.error().message();
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  EXPECT_EQ(directory_->crm_cursor(crm_url).value(), "");
  EXPECT_TRUE(directory_->apply_crm_page(page_of({{"C1", "A", "", "", {}}}, {}, "c1"), crm_url));
}

}  // namespace
}  // namespace deskline::daemon
