#include "event_store.hpp"

#include <algorithm>
#include <map>

#include "sqlite_handle.hpp"
#include "wal_checkpointer.hpp"

namespace referkit::ingest {
namespace {

// A rowid table with the primary key's index rather than one B-tree keyed by message_id (WITHOUT
// ROWID): that measured 4.6-8.4% more instructions per stored event at this server's row sizes
// (docs/performance.md, 2026-12-01 second pass), and the rowid keeps the arrival order.
constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS events ("
    " message_id TEXT PRIMARY KEY NOT NULL,"
    " type TEXT NOT NULL,"
    " event TEXT,"
    " user_id TEXT,"
    " anonymous_id TEXT,"
    " timestamp TEXT,"
    " received_at TEXT NOT NULL,"
    " json TEXT NOT NULL)";

// ON CONFLICT DO NOTHING rather than INSERT OR IGNORE: only a repeated messageId is skipped;
// any other constraint failure stays an error instead of a silently missing row.
constexpr const char* kInsert =
    "INSERT INTO events(message_id, type, event, user_id, anonymous_id, timestamp, received_at, json)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(message_id) DO NOTHING";

constexpr const char* kCountByEvent = "SELECT event, count(*) FROM events GROUP BY event";

// The background checkpointer is asked to run once the log holds this much. Past the hard limit
// it is not keeping up, and the writer checkpoints itself, so the log stays bounded whatever
// happens. In bytes, as the page size differs between databases created by different versions.
constexpr std::int64_t kCheckpointBytes = std::int64_t{16} << 20;
constexpr std::int64_t kWriterCheckpointBytes = std::int64_t{256} << 20;

Status failure(sqlite3* db, std::string_view what) { return Status(StatusCode::kInternal, sqlite_error(db, what)); }

Result<Connection> open_connection(const std::string& path) {
  sqlite3* raw = nullptr;
  // NOMUTEX: this connection is only ever used under the store's own mutex.
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  Connection db(raw);  // closes it on failure too
  if (rc != SQLITE_OK) return failure(db.get(), "cannot open " + path);
  sqlite3_extended_result_codes(db.get(), 1);
  // Another process (a test, an operator's sqlite3 shell) may hold a lock briefly.
  sqlite3_busy_timeout(db.get(), 5'000);
  return db;
}

Status exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) == SQLITE_OK) return {};
  Status s(StatusCode::kInternal, std::string(sql) + ": " + (message != nullptr ? message : sqlite3_errmsg(db)));
  sqlite3_free(message);
  return s;
}

Result<Statement> prepare(sqlite3* db, const char* sql, unsigned flags = 0) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v3(db, sql, -1, flags, &raw, nullptr) != SQLITE_OK) {
    return failure(db, std::string("cannot prepare ") + sql);
  }
  return Statement(raw);
}

int bind_optional(sqlite3_stmt* s, int index, const std::optional<std::string_view>& text) {
  return text ? bind_text(s, index, *text) : sqlite3_bind_null(s, index);
}

// WAL lets the checkpointer run beside the writer and makes a commit one append to the log.
// synchronous=NORMAL: a commit does not wait for fsync (only checkpoints do); a power cut may
// lose the last commits but never corrupts the file.
Status configure(sqlite3* db) {
  // Only a new file takes this page size; an existing one keeps its own. Measured against 4 and
  // 8 KiB, 16 KiB pages cost the least CPU per stored event (fewer log frames, page splits and
  // checkpoint passes per byte). SQLite writes a new file's first page at journal_mode below,
  // so this comes first.
  if (Status s = exec(db, "PRAGMA page_size=16384"); !s.ok()) return s;
  auto mode = prepare(db, "PRAGMA journal_mode=WAL");
  if (!mode) return mode.status();
  const bool wal = sqlite3_step(mode->get()) == SQLITE_ROW &&
                   std::string_view(reinterpret_cast<const char*>(sqlite3_column_text(mode->get(), 0))) == "wal";
  if (!wal) return Status(StatusCode::kInternal, "the database cannot use WAL mode (is it on a network file system?)");
  // A log that grew during a burst is cut back to 64 MiB when it restarts. A 64 MiB page cache
  // (SQLite's default is 2 MiB) keeps the messageId index in memory: clients that send random
  // (v4 UUID) ids insert all over it, and every page missing from the cache is read back.
  if (Status s = exec(db, "PRAGMA synchronous=NORMAL; PRAGMA journal_size_limit=67108864; PRAGMA cache_size=-65536");
      !s.ok()) {
    return s;
  }
  return exec(db, kSchema);
}

}  // namespace

struct EventStore::Impl {
  std::mutex write_mutex;
  Connection writer;
  Statement insert, begin, commit, rollback;
  std::unique_ptr<WalCheckpointer> checkpointer;  // set before the first store, reset at close
  int checkpoint_pages = 0;         // kCheckpointBytes in this database's pages
  int writer_checkpoint_pages = 0;  // kWriterCheckpointBytes
  bool closed = false;

  mutable std::mutex counts_mutex;  // never held across SQLite calls
  std::uint64_t total = 0;
  std::map<std::string, std::uint64_t, std::less<>> by_event;

  // Runs after every commit on the writer, with write_mutex held.
  static int on_commit(void* self, sqlite3* db, const char*, int wal_pages) {
    auto* impl = static_cast<Impl*>(self);
    if (wal_pages >= impl->writer_checkpoint_pages) {
      sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else if (wal_pages >= impl->checkpoint_pages && impl->checkpointer) {
      impl->checkpointer->request(wal_pages);
    }
    return SQLITE_OK;
  }

  Status run(sqlite3_stmt* s) {
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? Status() : failure(writer.get(), sqlite3_sql(s));
  }

  // The one full scan: what is already stored when the server starts.
  Status load_counts() {
    auto query = prepare(writer.get(), kCountByEvent);
    if (!query) return query.status();
    sqlite3_stmt* s = query->get();
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      const auto rows = static_cast<std::uint64_t>(sqlite3_column_int64(s, 1));
      total += rows;
      if (sqlite3_column_type(s, 0) == SQLITE_NULL) continue;
      const auto* name = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
      by_event[std::string(name, static_cast<std::size_t>(sqlite3_column_bytes(s, 0)))] += rows;
    }
    return rc == SQLITE_DONE ? Status() : failure(writer.get(), "counting stored events");
  }
};

EventStore::EventStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EventStore::~EventStore() { (void)close(); }

Result<std::unique_ptr<EventStore>> EventStore::open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  auto writer = open_connection(path);
  if (!writer) return writer.status();
  impl->writer = std::move(*writer);
  sqlite3* db = impl->writer.get();
  if (Status s = configure(db); !s.ok()) return s;
  struct Prepared {
    Statement* into;
    const char* sql;
  };
  for (const Prepared& p : {Prepared{&impl->insert, kInsert}, Prepared{&impl->begin, "BEGIN IMMEDIATE"},
                            Prepared{&impl->commit, "COMMIT"}, Prepared{&impl->rollback, "ROLLBACK"}}) {
    auto statement = prepare(db, p.sql, SQLITE_PREPARE_PERSISTENT);
    if (!statement) return statement.status();
    *p.into = std::move(*statement);
  }
  if (Status s = impl->load_counts(); !s.ok()) return s;
  const int page_bytes = query_int(db, "PRAGMA page_size");
  if (page_bytes <= 0) return failure(db, "PRAGMA page_size");
  impl->checkpoint_pages = static_cast<int>(kCheckpointBytes / page_bytes);
  impl->writer_checkpoint_pages = static_cast<int>(kWriterCheckpointBytes / page_bytes);
  auto checkpointer = WalCheckpointer::start(path, impl->write_mutex);
  if (!checkpointer) return checkpointer.status();
  impl->checkpointer = std::move(*checkpointer);
  // Replaces SQLite's auto-checkpoint (itself a WAL hook) on the writer.
  sqlite3_wal_hook(db, &Impl::on_commit, impl.get());
  return std::unique_ptr<EventStore>(new EventStore(std::move(impl)));
}

Result<StoreResult> EventStore::store(const std::vector<batch::AcceptedEvent>& events, std::string_view received_at) {
  Impl& d = *impl_;
  std::lock_guard<std::mutex> lock(d.write_mutex);
  if (d.closed) return Status(StatusCode::kFailedPrecondition, "the event store is closed");
  if (Status s = d.run(d.begin.get()); !s.ok()) return s;
  StoreResult result;
  // New rows per event name, applied to the counts once the transaction has committed. A batch
  // holds few distinct names, so a short list beats a map.
  std::vector<std::pair<std::string_view, std::uint64_t>> added;
  sqlite3_stmt* insert = d.insert.get();
  for (const batch::AcceptedEvent& e : events) {
    int rc = bind_text(insert, 1, e.message_id);
    if (rc == SQLITE_OK) rc = bind_text(insert, 2, e.type);
    if (rc == SQLITE_OK) rc = bind_optional(insert, 3, e.event);
    if (rc == SQLITE_OK) rc = bind_optional(insert, 4, e.user_id);
    if (rc == SQLITE_OK) rc = bind_optional(insert, 5, e.anonymous_id);
    if (rc == SQLITE_OK) rc = bind_optional(insert, 6, e.timestamp);
    if (rc == SQLITE_OK) rc = bind_text(insert, 7, received_at);
    if (rc == SQLITE_OK) rc = bind_text(insert, 8, e.json);
    if (rc == SQLITE_OK) rc = sqlite3_step(insert);
    sqlite3_reset(insert);
    if (rc != SQLITE_DONE) {
      Status error = failure(d.writer.get(), "insert");
      sqlite3_clear_bindings(insert);
      (void)d.run(d.rollback.get());
      return error;
    }
    // One row or none: none means this messageId is already stored.
    if (sqlite3_changes(d.writer.get()) == 0) {
      ++result.duplicates;
      continue;
    }
    ++result.inserted;
    if (!e.event) continue;
    auto it = std::find_if(added.begin(), added.end(), [&](const auto& a) { return a.first == *e.event; });
    if (it == added.end()) {
      added.emplace_back(*e.event, 1);
    } else {
      ++it->second;
    }
  }
  sqlite3_clear_bindings(insert);  // the bound views die with the caller's batch
  if (Status s = d.run(d.commit.get()); !s.ok()) {
    (void)d.run(d.rollback.get());
    return s;
  }
  std::lock_guard<std::mutex> counts_lock(d.counts_mutex);
  d.total += result.inserted;
  for (const auto& [name, rows] : added) {
    auto it = d.by_event.find(name);
    if (it == d.by_event.end()) it = d.by_event.emplace(std::string(name), 0).first;
    it->second += rows;
  }
  return result;
}

StoredCounts EventStore::counts() const {
  const Impl& d = *impl_;
  std::lock_guard<std::mutex> lock(d.counts_mutex);
  StoredCounts counts;
  counts.events = d.total;
  counts.by_event.assign(d.by_event.begin(), d.by_event.end());
  return counts;
}

Status EventStore::close() {
  Impl& d = *impl_;
  std::unique_ptr<WalCheckpointer> checkpointer;
  {
    std::lock_guard<std::mutex> lock(d.write_mutex);
    if (d.closed) return {};
    d.closed = true;
    checkpointer = std::move(d.checkpointer);
  }
  // Joined without the lock, which the thread may be waiting for; the final checkpoint below
  // must be the only one.
  checkpointer.reset();
  std::lock_guard<std::mutex> lock(d.write_mutex);
  for (Statement* s : {&d.insert, &d.begin, &d.commit, &d.rollback}) s->reset();
  Status status;
  // TRUNCATE: copy the whole log into the database and empty it, so the file stands alone.
  if (sqlite3_wal_checkpoint_v2(d.writer.get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr) != SQLITE_OK) {
    status = failure(d.writer.get(), "WAL checkpoint");
  }
  sqlite3* db = d.writer.release();
  if (sqlite3_close(db) != SQLITE_OK && status.ok()) {
    status = failure(db, "close");
    sqlite3_close_v2(db);
  }
  return status;
}

}  // namespace referkit::ingest
