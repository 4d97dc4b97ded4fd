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
  EXPECT_EQ(Directory::latest_schema_version(), 1);
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

}  // namespace
}  // namespace deskline::daemon
