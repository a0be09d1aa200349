// Accepted events in SQLite, keyed by messageId: storing an id that is already there is a
// duplicate, not a second row. That is what turns the SDK's at-least-once delivery into
// exactly-once storage.
//
// One writer connection (WAL, synchronous=NORMAL) behind a mutex: SQLite allows one writer at a
// time anyway, and a single connection avoids SQLITE_BUSY between our own threads. Each batch is
// one transaction with prepared statements. Checkpoints run on their own connection and thread
// (wal_checkpointer.hpp).
//
// The stored counts (/v1/stats, the funnel page) are read from the database once, at open, and
// then kept up to date as batches commit: counting rows on every request would cost a scan of
// the table, which grows without bound. This assumes the server is the database's only writer.
#ifndef REFERKIT_INGEST_EVENT_STORE_HPP
#define REFERKIT_INGEST_EVENT_STORE_HPP

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "batch/batch_validator.hpp"
#include "referkit/status.hpp"

namespace referkit::ingest {

struct StoreResult {
  std::uint64_t inserted = 0;
  std::uint64_t duplicates = 0;
};

struct StoredCounts {
  std::uint64_t events = 0;
  std::vector<std::pair<std::string, std::uint64_t>> by_event;  // event name -> rows, by name
};

class EventStore {
 public:
  // Opens or creates the database file and its schema. kInternal with SQLite's message when the
  // file cannot be opened or is not a database.
  static Result<std::unique_ptr<EventStore>> open(const std::string& path);
  ~EventStore();
  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;

  // Stores the events in one transaction, received_at on every row. All or nothing: on error
  // the transaction is rolled back and the caller answers 5xx so the client retries.
  Result<StoreResult> store(const std::vector<batch::AcceptedEvent>& events, std::string_view received_at);

  // Rows stored, in total and by event name (events without a name, like identify, count in the
  // total only). Never waits for a batch being written.
  StoredCounts counts() const;

  // Stops the checkpointer, checkpoints the whole WAL into the main file and closes the
  // database; the file is then complete on its own. Idempotent; later calls to store() fail.
  Status close();

 private:
  struct Impl;
  explicit EventStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace referkit::ingest

#endif  // REFERKIT_INGEST_EVENT_STORE_HPP
