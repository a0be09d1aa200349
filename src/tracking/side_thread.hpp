// One job at a time on a thread of its own. The upload worker encodes the next batch here
// (reads it from the spool, writes the body, gzips it) while it waits for the server's reply to
// the current one: the two take about as long as each other, so side by side they nearly halve
// the time per batch.
#ifndef REFERKIT_SRC_TRACKING_SIDE_THREAD_HPP
#define REFERKIT_SRC_TRACKING_SIDE_THREAD_HPP

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace referkit::detail {

class SideThread {
 public:
  // `nice`: the thread's nice value (0 leaves it as it is).
  explicit SideThread(int nice = 0);
  // Waits for the job in progress, then joins.
  ~SideThread();
  SideThread(const SideThread&) = delete;
  SideThread& operator=(const SideThread&) = delete;

  // Starts `job`; the previous one must have been waited for.
  void start(std::function<void()> job);
  // Returns once the started job has finished (at once if none was started). What the job
  // wrote is then visible to the caller.
  void wait();
  // Whether the started job is still running (false once wait() would return at once).
  bool busy();

 private:
  void run(int nice);

  std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> job_;
  bool busy_ = false;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the members it uses exist
};

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_TRACKING_SIDE_THREAD_HPP
