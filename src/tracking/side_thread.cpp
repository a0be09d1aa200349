#include "tracking/side_thread.hpp"

#include <utility>

#include "common/background_thread.hpp"

namespace referkit::detail {

SideThread::SideThread(int nice) : thread_([this, nice] { run(nice); }) {}

SideThread::~SideThread() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void SideThread::start(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    job_ = std::move(job);
    busy_ = true;
  }
  cv_.notify_all();
}

void SideThread::wait() {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [this] { return !busy_; });
}

bool SideThread::busy() {
  std::lock_guard<std::mutex> lk(mu_);
  return busy_;
}

void SideThread::run(int nice) {
  become_background_thread("rk-encode", nice);
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    cv_.wait(lk, [this] { return busy_ || stop_; });
    if (busy_) {
      std::function<void()> job = std::move(job_);
      job_ = nullptr;
      lk.unlock();
      job();
      lk.lock();
      busy_ = false;
      cv_.notify_all();
      continue;
    }
    return;  // stop_, and nothing left to run
  }
}

}  // namespace referkit::detail
