// The bounded in-memory queue between track() (many producer threads) and the upload worker
// (one consumer). It owns the memory bound: bytes of queued and in-flight events together never
// exceed max_bytes, and every event it refuses or evicts is counted by the caller.
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
  std::string json;          // the serialized event, as it goes into the batch
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
  explicit EventQueue(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  bool fits(std::size_t cost) const { return bytes_ + cost <= max_bytes_; }
  void push(QueuedEvent event);
  // Evicts queued (not in-flight) events from the front until `cost` fits; returns how many.
  std::size_t evict_for(std::size_t cost);

  // Moves up to max_events / max_bytes (at least one event) from the front into out. The bytes
  // stay charged until release().
  void take(std::size_t max_events, std::size_t max_bytes, std::vector<QueuedEvent>& out);
  void release(std::size_t bytes) { bytes_ -= bytes; }
  // Drops everything queued (not in flight); returns how many.
  std::size_t clear();

  bool empty() const { return events_.empty(); }
  std::size_t size() const { return events_.size(); }
  std::size_t bytes() const { return bytes_; }  // queued + in flight
  std::size_t queued_bytes() const { return queued_bytes_; }
  const QueuedEvent& front() const { return events_.front(); }

 private:
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::size_t queued_bytes_ = 0;
  std::deque<QueuedEvent> events_;
};

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_TRACKING_EVENT_QUEUE_HPP
