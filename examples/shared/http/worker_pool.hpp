// A fixed set of threads running submitted tasks in order of arrival. The HTTP loop hands each
// complete request to it, so a slow batch (gzip, JSON, SQLite, a busy disk) never stalls the
// loop, and the other connections keep being served.
#ifndef REFERKIT_EXAMPLES_SHARED_HTTP_WORKER_POOL_HPP
#define REFERKIT_EXAMPLES_SHARED_HTTP_WORKER_POOL_HPP

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace referkit::http {

class WorkerPool {
 public:
  // Starts `threads` threads (at least one). Throws std::system_error if a thread cannot start.
  explicit WorkerPool(std::size_t threads);
  // shutdown().
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Tasks must not throw. Ignored after shutdown().
  void submit(std::function<void()> task);

  // Runs every task already submitted, then joins the threads. Idempotent.
  void shutdown();

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace referkit::http

#endif  // REFERKIT_EXAMPLES_SHARED_HTTP_WORKER_POOL_HPP
