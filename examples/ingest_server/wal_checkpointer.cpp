#include "wal_checkpointer.hpp"

#include <fmt/format.h>

#include <cstdio>

namespace referkit::ingest {
namespace {

// The rest of the log that is worth stopping the writer for: syncing and copying it took 5-20 ms
// on the (shared, busy) build machine.
constexpr int kRestartBytes = 2 << 20;

}  // namespace

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::start(const std::string& path, std::mutex& writer_lock) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  Connection db(raw);
  if (rc != SQLITE_OK) return Status(StatusCode::kInternal, sqlite_error(db.get(), "checkpointer: cannot open " + path));
  sqlite3_busy_timeout(db.get(), 5'000);
  // This connection only checkpoints; it must not start checkpoints of its own from a commit.
  sqlite3_wal_autocheckpoint(db.get(), 0);
  // A connection learns that the file is in WAL mode, and opens the log, on its first read; until
  // then a checkpoint on it does nothing and still returns SQLITE_OK (PRAGMA page_size does not
  // read). The first checkpoint then proves the log is open.
  int log_frames = -1;
  const bool read = query_int(db.get(), "SELECT count(*) FROM sqlite_schema") >= 0;
  const int page_bytes = query_int(db.get(), "PRAGMA page_size");
  if (!read || page_bytes <= 0 ||
      sqlite3_wal_checkpoint_v2(db.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames, nullptr) != SQLITE_OK) {
    return Status(StatusCode::kInternal, sqlite_error(db.get(), "checkpointer: " + path));
  }
  if (log_frames < 0) return Status(StatusCode::kInternal, "checkpointer: " + path + " is not in WAL mode");
  return std::unique_ptr<WalCheckpointer>(new WalCheckpointer(std::move(db), writer_lock, kRestartBytes / page_bytes));
}

WalCheckpointer::WalCheckpointer(Connection db, std::mutex& writer_lock, int restart_frames)
    : db_(std::move(db)), writer_lock_(writer_lock), restart_frames_(restart_frames) {
  thread_ = std::thread([this] { run(); });
}

WalCheckpointer::~WalCheckpointer() { stop(); }

void WalCheckpointer::request(int log_frames) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    requested_ = true;
    log_frames_ = log_frames;
  }
  wake_.notify_one();
}

void WalCheckpointer::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  db_.reset();
}

void WalCheckpointer::run() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return requested_ || stopping_; });
      if (stopping_) return;  // the store's close() does the final, complete checkpoint
      requested_ = false;
    }
    checkpoint();
  }
}

int WalCheckpointer::log_frames() {
  std::lock_guard<std::mutex> lock(mutex_);
  return log_frames_;
}

void WalCheckpointer::sync_database() {
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(db_.get(), "main", SQLITE_FCNTL_FILE_POINTER, &file) == SQLITE_OK && file != nullptr &&
      file->pMethods != nullptr) {
    file->pMethods->xSync(file, SQLITE_SYNC_NORMAL);
  }
}

void WalCheckpointer::checkpoint() {
  // PASSIVE: copy what no reader still needs, without waiting for anyone. A checkpoint that
  // cannot finish is simply retried on the next request; the writer bounds the log meanwhile.
  int copied = 0;
  int rc = sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, &copied);
  if (rc == SQLITE_OK) {
    // SQLite syncs the database file only at the end of a pass that reaches the end of the log,
    // and that sync would then cover every page copied since the log last restarted: tens of
    // megabytes, with the writer stopped. Syncing after every pass leaves that one only the rest.
    // A failure here is harmless: SQLite's own sync comes before the log can restart.
    sync_database();
  }
  // What was committed during the pass. A long rest is left to the next pass rather than holding
  // the writer up for it; a short one is copied with the writer stopped (while it is, the latest
  // commit's log length is the log's length).
  const auto short_rest = [&] {
    const int rest = log_frames() - copied;
    return rest > 0 && rest <= restart_frames_;
  };
  if (rc == SQLITE_OK && short_rest()) {
    std::lock_guard<std::mutex> writer(writer_lock_);
    if (short_rest()) rc = sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  }
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
    fmt::print(stderr, "referkit-ingest: background checkpoint: {}\n", sqlite3_errmsg(db_.get()));
  }
}

}  // namespace referkit::ingest
