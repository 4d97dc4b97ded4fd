// Small shared SQLite helpers for the daemon's databases (store, directory):
// prepared statements that reset themselves, and opening a file in WAL mode
// with numbered migrations (PRAGMA user_version). Errors are SQLite extended
// result codes in sqlite_category() (daemon/store.hpp) or StoreError values,
// with SQLite's message (and context) as their detail.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "daemon/core/result.hpp"

namespace deskline::daemon::sqlite {

// How long a connection waits for another's write lock (open_database sets it).
inline constexpr int busy_timeout_ms = 5000;

// Owns one prepared statement, kept for the connection's lifetime.
class Statement {
 public:
  Statement() = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  int prepare(sqlite3* database, std::string_view sql);
  sqlite3_stmt* get() const { return statement_; }

 private:
  sqlite3_stmt* statement_ = nullptr;
};

// One use of a statement: resets it and clears bindings on every exit path.
class Use {
 public:
  explicit Use(const Statement& statement) : statement_(statement.get()) {}
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  ~Use();

  int bind(int index, std::string_view text);
  int bind(int index, std::int64_t value);
  int bind(int index, std::optional<std::int64_t> value);
  int bind_null(int index);
  int step();

  std::string text(int column) const;
  std::string_view text_view(int column) const;  // valid until the next step
  std::int64_t integer(int column) const;
  std::optional<std::int64_t> optional_integer(int column) const;
  bool is_null(int column) const;
  std::string_view column_name(int column) const;

 private:
  sqlite3_stmt* statement_;
};

// An SQLite failure while doing what context says, with SQLite's message.
Error failure(sqlite3* database, int result, std::string_view context);

// Every row of use, read with read; result is what binding its parameters returned.
template <typename Record>
Result<std::vector<Record>> read_rows(sqlite3* database, Use& use, int result, Result<Record> (*read)(const Use&),
                                      std::string_view context) {
  std::vector<Record> records;
  while (result == SQLITE_OK && (result = use.step()) == SQLITE_ROW) {
    auto record = read(use);
    if (!record) return Error{record.error().code, fmt::format("{}: {}", context, record.error().detail)};
    records.push_back(std::move(*record));
    result = SQLITE_OK;
  }
  if (result != SQLITE_DONE) return failure(database, result, context);
  return records;
}

// Runs one or more SQL statements; the error's detail is SQLite's message.
Result<void> execute(sqlite3* database, const char* sql);
Result<int> read_user_version(sqlite3* database);

// Closes the connection when it goes out of scope unless released.
struct Connection {
  sqlite3* database = nullptr;
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  Connection(Connection&& other) noexcept : database(std::exchange(other.database, nullptr)) {}
  Connection& operator=(Connection&& other) noexcept;
  ~Connection();
  sqlite3* release() { return std::exchange(database, nullptr); }
};

// Opens path (creating it unless read_only), turns on foreign keys, and for
// writers switches to WAL and applies migrations[n-1] to bring user_version
// from n-1 to n, one transaction each. read_only refuses a missing file or a
// schema that still needs migrating; writer names what creates and migrates
// the file, for those messages ("desklined"). An error's detail reads
// "<path>: <what>".
Result<Connection> open_database(const std::filesystem::path& path, bool read_only,
                                 std::span<const std::string_view> migrations, std::string_view writer);

}  // namespace deskline::daemon::sqlite
