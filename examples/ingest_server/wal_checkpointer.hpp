// Background WAL checkpoints. With SQLite's default, the commit that crosses 1,000 WAL pages
// copies the log into the database and fsyncs both files itself, inside a client's request;
// measured on the build machine that is more than half the time spent storing a batch. Here the
// writer only signals, and this thread checkpoints on its own connection while the writer goes
// on appending (WAL allows both at once).
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
  // Opens its own connection to the (existing, WAL-mode) database and starts the thread.
  static Result<std::unique_ptr<WalCheckpointer>> start(const std::string& path);
  // stop().
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Asks for a PASSIVE checkpoint soon; cheap, never blocks on the checkpoint itself.
  void request();
  // Finishes a checkpoint in progress, joins the thread and closes the connection. Idempotent.
  void stop();

 private:
  explicit WalCheckpointer(Connection db);
  void run();

  Connection db_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool requested_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace referkit::ingest

#endif  // REFERKIT_INGEST_WAL_CHECKPOINTER_HPP
