// The plan SQLite makes for a statement ("EXPLAIN QUERY PLAN"), one step a
// line, for tests that a query reads through an index instead of scanning or
// sorting a table.
#pragma once
#include <sqlite3.h>

#include <string>

namespace deskline::daemon::testing_support {

// When sql does not prepare: SQLite's message, which names no index (so the
// caller's expectations fail, showing it).
inline std::string query_plan(sqlite3* database, const std::string& sql) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(database, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &statement, nullptr) != SQLITE_OK)
    return std::string("cannot prepare: ") + sqlite3_errmsg(database) + "\n";
  std::string plan;
  while (sqlite3_step(statement) == SQLITE_ROW)
    plan += reinterpret_cast<const char*>(sqlite3_column_text(statement, 3)) + std::string("\n");
  sqlite3_finalize(statement);
  return plan;
}

}  // namespace deskline::daemon::testing_support
