// Background WAL checkpoints. With SQLite's default, the commit that crosses 1,000 WAL pages
// copies the log into the database and fsyncs both files itself, inside a client's request;
// measured on the build machine that is more than half the time spent storing a batch. Here the
// writer only signals, and this thread checkpoints on its own connection while the writer goes
// on appending (WAL allows both at once).
//
// SQLite starts the log over from its first frame only when a write transaction begins with every
// frame already copied into the database. A checkpoint beside a busy writer never gets there
// (frames keep arriving while it copies and syncs), so the log would grow to the writer's hard
// limit, and every commit would extend the file into newly allocated page-cache pages (the
// largest kernel cost of a commit in the profile). So when a pass leaves little behind, this
// thread copies that rest while holding the writer's lock (a few milliseconds, not a whole pass),
// and the next commit rewrites the start of the same file.
#ifndef REFERKIT_INGEST_WAL_CHECKPOINTER_HPP
#define REFERKIT_INGEST_WAL_CHECKPOINTER_HPP

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "referkit/status.hpp"
#include "sqlite_handle.hpp"

namespace referkit::ingest {

class WalCheckpointer {
 public:
  // Opens its own connection to the (existing, WAL-mode) database, copies whatever an earlier
  // run left in the log, and starts the thread. writer_lock is the mutex every write transaction
  // holds; it must outlive the checkpointer and must not be held while calling stop().
  static Result<std::unique_ptr<WalCheckpointer>> start(const std::string& path, std::mutex& writer_lock);
  // stop().
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Asks for a checkpoint soon; log_frames is the log's length after the commit that asks.
  // Cheap, never blocks on the checkpoint itself.
  void request(int log_frames);
  // Finishes a checkpoint in progress, joins the thread and closes the connection. Idempotent.
  void stop();

 private:
  WalCheckpointer(Connection db, std::mutex& writer_lock, int restart_frames);
  void run();
  void checkpoint();
  void sync_database();
  int log_frames();

  Connection db_;
  std::mutex& writer_lock_;
  const int restart_frames_;  // a rest this small is copied under the writer's lock
  std::mutex mutex_;
  std::condition_variable wake_;
  bool requested_ = false;
  int log_frames_ = 0;  // the latest commit's, under mutex_
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace referkit::ingest

#endif  // REFERKIT_INGEST_WAL_CHECKPOINTER_HPP
