// The bounded in-memory queue between track() (many producer threads) and the upload worker
// (one consumer). It owns the memory bound: bytes of queued and in-flight events together never
// exceed max_bytes, and every event it refuses or evicts is counted by the caller.
//
// Events are kept in chunks that are already batches: a chunk closes when it reaches the batch
// limits, so the worker takes a whole batch by swapping one vector, in constant time, and
// producers never wait behind a long copy under the mutex.
#ifndef REFERKIT_SRC_TRACKING_EVENT_QUEUE_HPP
#define REFERKIT_SRC_TRACKING_EVENT_QUEUE_HPP

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace referkit::detail {

struct QueuedEvent {
  std::string json;             // the serialized event, as it goes into the batch
  std::uint32_t id_offset = 0;  // messageId's position inside json (no second allocation)
  std::uint32_t id_size = 0;
  std::uint64_t seq = 0;        // tracking order, for flush()
  std::chrono::steady_clock::time_point enqueued;

  std::string_view message_id() const { return std::string_view(json).substr(id_offset, id_size); }
  // What an event costs against max_queue_bytes: its text plus bookkeeping.
  std::size_t cost() const { return json.size() + sizeof(QueuedEvent); }
};

// Not thread-safe by itself: the tracker guards it with its mutex.
class EventQueue {
 public:
  // batch_events / batch_bytes: when a chunk is a full batch (bytes as in the request body).
  EventQueue(std::size_t max_bytes, std::size_t batch_events, std::size_t batch_bytes);

  bool fits(std::size_t cost) const { return bytes_ + cost <= max_bytes_; }
  void push(QueuedEvent event);
  // Evicts queued (not in-flight) events, oldest first, until `cost` fits; returns how many.
  std::size_t evict_for(std::size_t cost);

  // Whether the oldest chunk is a complete batch (more events would not fit in it).
  bool front_batch_full() const { return chunks_.size() > 1; }
  // Moves the oldest chunk into out (cleared first). Its bytes stay charged until release().
  void take(std::vector<QueuedEvent>& out);
  void release(std::size_t bytes) { bytes_ -= bytes; }
  // Drops everything queued (not in flight); returns how many.
  std::size_t clear();

  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  std::size_t bytes() const { return bytes_; }  // queued + in flight
  const QueuedEvent& front() const { return chunks_.front().events[chunks_.front().head]; }

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
