// The bounded in-memory queue between track() (many producer threads) and the upload worker
// (one consumer). It owns the memory bound: bytes of queued and in-flight events together never
// exceed max_bytes, and every event it refuses or evicts is counted by the caller.
//
// Events are kept in chunks that are already batches: a chunk closes when it reaches the batch
// limits, so the worker takes a whole batch by swapping one vector, in constant time, and
// producers never wait behind a long copy under the mutex.
#ifndef REFERKIT_SRC_TRACKING_EVENT_QUEUE_HPP
#define REFERKIT_SRC_TRACKING_EVENT_QUEUE_HPP

#include <cstdint>
#include <deque>
#include <vector>

#include "tracking/pending_events.hpp"

namespace referkit::detail {

// Not thread-safe by itself: the tracker guards it with its mutex.
class EventQueue final : public PendingEvents {
 public:
  // batch_events / batch_bytes: when a chunk is a full batch (bytes as in the request body).
  EventQueue(std::size_t max_bytes, std::size_t batch_events, std::size_t batch_bytes);

  // What an event costs against max_queue_bytes: its text plus bookkeeping.
  static std::size_t cost(const QueuedEvent& e) { return e.json.size() + sizeof(QueuedEvent); }

  bool fits(const QueuedEvent& event) const override { return bytes_ + cost(event) <= max_bytes_; }
  std::size_t evict_for(const QueuedEvent& event) override;
  Status push(QueuedEvent&& event) override;

  // The oldest chunk is a complete batch when a newer one exists (more events would not fit).
  bool front_batch_full() const override { return chunks_.size() > 1; }
  bool empty() const override { return size_ == 0; }
  std::size_t size() const override { return size_; }
  std::size_t bytes() const override { return bytes_; }  // queued + in flight
  PendingFront front() const override;
  // Swaps the oldest chunk out, in constant time. Its bytes stay charged until resolved().
  void take(std::vector<QueuedEvent>& out, TakeReport& report) override;
  void resolved(const std::vector<QueuedEvent>& done) override;
  std::size_t forget() override;

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
};

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_TRACKING_EVENT_QUEUE_HPP
