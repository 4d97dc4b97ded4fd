#include "daemon/app/instance_lock.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace deskline::daemon {
namespace {

namespace fs = std::filesystem;

class InstanceLockTest : public ::testing::Test {
 protected:
  fs::path dir_ = fs::temp_directory_path() / ("deskline-lock-" + std::to_string(::getpid()));
  void SetUp() override { fs::create_directories(dir_); }
  void TearDown() override { fs::remove_all(dir_); }
};

TEST_F(InstanceLockTest, ASecondHolderIsRefusedWithTheFirstOnesPid) {
  const auto path = dir_ / "desklined.lock";
  auto first = InstanceLock::acquire(path);
  ASSERT_TRUE(first) << first.error().message();
  // flock(2) locks belong to open file descriptions: a second open in this
  // process is refused as another process's would be.
  const auto second = InstanceLock::acquire(path);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, std::errc::resource_unavailable_try_again);
  EXPECT_NE(second.error().message().find("pid " + std::to_string(::getpid())), std::string::npos)
      << second.error().message();
}

TEST_F(InstanceLockTest, ReleasedWhenTheHolderGoes) {
  const auto path = dir_ / "desklined.lock";
  { auto first = InstanceLock::acquire(path); ASSERT_TRUE(first); }
  EXPECT_TRUE(InstanceLock::acquire(path));
  EXPECT_TRUE(fs::exists(path));  // kept for the next daemon
}

TEST_F(InstanceLockTest, AnUnusableLockFileIsAnError) {
  const auto missing = InstanceLock::acquire(dir_ / "no-such-folder" / "desklined.lock");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, std::errc::no_such_file_or_directory);
  fs::create_directory(dir_ / "a-folder");
  EXPECT_FALSE(InstanceLock::acquire(dir_ / "a-folder"));
}

}  // namespace
}  // namespace deskline::daemon
