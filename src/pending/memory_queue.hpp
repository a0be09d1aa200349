// The bounded in-memory queue of one lane, between track() (many producer threads) and the upload
// worker (one consumer). It owns the memory bound: bytes of queued and in-flight events together
// never exceed max_bytes, and every event it refuses or evicts is counted by the caller.
//
// Events are kept in chunks that are already batches: a chunk closes when it reaches the batch
// limits, so the worker takes a whole batch by swapping one vector, in constant time, and
// producers never wait behind a long copy under the mutex.
#ifndef REFERKIT_SRC_PENDING_MEMORY_QUEUE_HPP
#define REFERKIT_SRC_PENDING_MEMORY_QUEUE_HPP

#include <cstdint>
#include <deque>
#include <vector>

#include "pending/pending_events.hpp"

namespace referkit::detail {

// Not thread-safe by itself: the tracker guards it with its mutex.
class MemoryQueue final : public PendingEvents {
 public:
  // batch_events / batch_bytes: when a chunk is a full batch (bytes as in the request body).
  MemoryQueue(std::size_t max_bytes, std::size_t batch_events, std::size_t batch_bytes);

  // What an event costs against max_bytes: its text plus bookkeeping.
  static std::size_t cost(const QueuedEvent& e) { return e.json.size() + sizeof(QueuedEvent); }

  bool fits(const QueuedEvent& event) const override { return bytes_ + cost(event) <= max_bytes_; }
  std::size_t evict_for(const QueuedEvent& event) override;
  Status push(QueuedEvent&& event) override;
  std::string full_message() const override;

  // The oldest chunk is a complete batch when a newer one exists (more events would not fit).
  bool front_batch_full() const override { return chunks_.size() > 1; }
  bool empty() const override { return size_ == 0; }
  std::size_t size() const override { return size_; }
  PendingFront front() const override;
  // Swaps the oldest chunk out, in constant time. Its bytes stay charged until resolved().
  void take(std::vector<QueuedEvent>& out, TakeReport& report) override;
  void resolved(const std::vector<QueuedEvent>& done) override;
  // Keeps one delivered batch (its vector and its events' strings) for reuse while the last one
  // kept is used up; otherwise leaves `done` to be freed by its owner.
  void recycle(std::vector<QueuedEvent>& done) override {
    if (spare_.empty()) spare_.swap(done);
  }
  void lend_text_buffer(std::string& text) override {
    if (spare_.empty()) return;
    text.swap(spare_.back().json);
    spare_.pop_back();
  }
  Status record_refused(const std::vector<RefusedEvent>&, TimePoint) override { return {}; }
  std::chrono::milliseconds retry_cap(std::chrono::milliseconds configured) const override { return configured; }

  Status commit(SteadyTime) override { return {}; }
  PendingUsage usage() const override { return PendingUsage{bytes_, 0}; }  // queued + in flight
  const PendingRecovery& recovery() const override { return recovery_; }
  bool keeps_undelivered() const override { return false; }
  std::size_t forget() override;
  void abandon_after_fork() noexcept override { forget(); }

 private:
  struct Chunk {
    std::vector<QueuedEvent> events;
    std::size_t head = 0;        // events before it were evicted
    std::size_t wire_bytes = 0;  // JSON plus separators, against batch_bytes
  };
  void drop_front_event();

  std::size_t max_bytes_;
  std::size_t batch_events_;
  std::size_t batch_bytes_;
  std::size_t bytes_ = 0;
  std::size_t size_ = 0;
  std::deque<Chunk> chunks_;  // the back one is open for producers
  // A delivered batch (recycle()): its strings are lent to track() one by one, and once they are
  // all lent, its vector becomes the next chunk's. At most one batch's worth (max_batch_bytes of
  // text), outside max_bytes, like the capacity of a chunk's vector.
  std::vector<QueuedEvent> spare_;
  PendingRecovery recovery_;  // always empty: memory outlives nothing
};

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_PENDING_MEMORY_QUEUE_HPP
