// A fixture with a new database (the latest schema) in a folder of its own
// under /tmp, removed with the test.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "daemon/store/store.hpp"
#include "tests/unit/result_testing.hpp"

namespace deskline::daemon::testing_support {

class TempStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "deskline-store-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    folder_ = pattern;
    auto store = Store::open(database_path());
    ASSERT_TRUE(ok(store));
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(folder_);
  }
  std::filesystem::path database_path() const { return folder_ / "deskline.db"; }

  std::filesystem::path folder_;
  std::unique_ptr<Store> store_;
};

}  // namespace deskline::daemon::testing_support
