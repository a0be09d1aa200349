#include "wal_checkpointer.hpp"

#include <cstdio>

namespace referkit::ingest {

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::start(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  Connection db(raw);
  if (rc != SQLITE_OK) return Status(StatusCode::kInternal, sqlite_error(db.get(), "checkpointer: cannot open " + path));
  sqlite3_busy_timeout(db.get(), 5'000);
  // This connection only checkpoints; it must not start checkpoints of its own from a commit.
  sqlite3_wal_autocheckpoint(db.get(), 0);
  return std::unique_ptr<WalCheckpointer>(new WalCheckpointer(std::move(db)));
}

WalCheckpointer::WalCheckpointer(Connection db) : db_(std::move(db)) {
  thread_ = std::thread([this] { run(); });
}

WalCheckpointer::~WalCheckpointer() { stop(); }

void WalCheckpointer::request() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    requested_ = true;
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
    // PASSIVE: copy what no reader still needs, without waiting for anyone. A checkpoint that
    // cannot finish is simply retried on the next request; the writer bounds the log meanwhile.
    const int rc = sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      std::fprintf(stderr, "referkit-ingest: background checkpoint: %s\n", sqlite3_errmsg(db_.get()));
    }
  }
}

}  // namespace referkit::ingest
