// The pop events the daemon has published (proto/pop.md), kept in the store
// so that seq is monotonic for the life of the database and clients can
// resume across a daemon restart. The stream id names the database's event
// stream: made once, by migration 5, and never changed.
//
// Each PopEventLog is its own SQLite connection, used by one thread: the
// daemon appends through one on its store writer thread and reads history
// through another on the io thread. Neither checkpoints (WalCheckpointer
// does).
//
// Seqs are handed out ahead of storing (PopHub delivers an event before it is
// stored), so the log also keeps a reservation: the highest seq that may
// have been handed out. A daemon started after a crash numbers on after it,
// so no seq a desk has seen goes to a second event; a clean stop gives back
// what it did not use.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/core/result.hpp"
#include "daemon/store/sqlite_database.hpp"

namespace deskline::daemon {

struct StoredPopEvent {
  std::uint64_t seq = 0;
  std::string json;  // the event as sent, one JSON object without newline
};

class PopEventLog {
 public:
  ~PopEventLog();

  // Takes a connection to a database at the latest schema (Store::open_pop_event_log);
  // reads the stream id and the newest seq.
  static Result<std::unique_ptr<PopEventLog>> open(sqlite::Connection connection);

  const std::string& stream_id() const { return stream_id_; }
  // The newest seq stored or reserved when the log was opened: a new run
  // numbers on after it. 0 for a new database.
  std::uint64_t last_seq_at_open() const { return last_seq_at_open_; }

  // One transaction, not synced (WAL, synchronous = NORMAL): it survives the
  // daemon being killed, and costs a write(2), not an fsync.
  Result<void> append(std::uint64_t seq, std::string_view call_id, std::int64_t published_at,
                      std::string_view json);
  // Events with seq > after, oldest first.
  Result<std::vector<StoredPopEvent>> since(std::uint64_t after) const;
  // Deletes the events with seq <= through; returns how many.
  Result<std::size_t> prune_through(std::uint64_t through);
  // Stores seq as the highest that may be handed out (also lower than
  // before: a clean stop gives back what it did not use).
  Result<void> reserve_through(std::uint64_t seq);

 private:
  struct Statements;
  explicit PopEventLog(sqlite::Connection connection);

  sqlite::Connection connection_;
  std::unique_ptr<Statements> statements_;
  std::string stream_id_;
  std::uint64_t last_seq_at_open_ = 0;
};

}  // namespace deskline::daemon
