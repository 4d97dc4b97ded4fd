// The daemon's database write lock, held by the test as another writer (a
// backup, a second tool) would hold it: taking it waits out the daemon's own
// short writes, as every writer of this database does, instead of failing
// when it lands on one of them.
#pragma once

#include <sqlite3.h>

#include <filesystem>

namespace deskline::testing {

class DatabaseWriteLock {
 public:
  // Waits up to 5 s for the lock, like the daemon's writers; held() says
  // whether it was taken.
  explicit DatabaseWriteLock(const std::filesystem::path& database) {
    if (sqlite3_open(database.c_str(), &database_) != SQLITE_OK) return;
    sqlite3_busy_timeout(database_, 5000);
    held_ = sqlite3_exec(database_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  ~DatabaseWriteLock() {
    release();
    sqlite3_close(database_);
  }
  DatabaseWriteLock(const DatabaseWriteLock&) = delete;
  DatabaseWriteLock& operator=(const DatabaseWriteLock&) = delete;

  bool held() const { return held_; }
  // Commits the empty transaction; true if the lock was held and is now free.
  bool release() {
    if (!held_) return false;
    held_ = false;
    return sqlite3_exec(database_, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK;
  }

 private:
  sqlite3* database_ = nullptr;
  bool held_ = false;
};

}  // namespace deskline::testing
