#include "tracking/event_queue.hpp"

namespace referkit::detail {

EventQueue::EventQueue(std::size_t max_bytes, std::size_t batch_events, std::size_t batch_bytes)
    : max_bytes_(max_bytes), batch_events_(batch_events), batch_bytes_(batch_bytes) {}

void EventQueue::push(QueuedEvent event) {
  const std::size_t wire = event.json.size() + 1;  // plus its comma in the batch
  if (chunks_.empty() || chunks_.back().events.size() == batch_events_ ||
      (chunks_.back().wire_bytes > 0 && chunks_.back().wire_bytes + wire > batch_bytes_)) {
    chunks_.emplace_back();
    // One allocation per batch instead of regrowth (and its moves) under the mutex.
    chunks_.back().events.reserve(batch_events_);
  }
  Chunk& open = chunks_.back();
  bytes_ += event.cost();
  open.wire_bytes += wire;
  open.events.push_back(std::move(event));
  ++size_;
}

void EventQueue::drop_front_event() {
  Chunk& front = chunks_.front();
  QueuedEvent& e = front.events[front.head++];
  bytes_ -= e.cost();
  front.wire_bytes -= e.json.size() + 1;
  std::string().swap(e.json);  // free its memory now, not when the chunk goes
  --size_;
  if (front.head == front.events.size()) chunks_.pop_front();
}

std::size_t EventQueue::evict_for(std::size_t cost) {
  std::size_t evicted = 0;
  while (size_ > 0 && !fits(cost)) {
    drop_front_event();
    ++evicted;
  }
  return evicted;
}

void EventQueue::take(std::vector<QueuedEvent>& out) {
  out.clear();
  if (chunks_.empty()) return;
  Chunk& front = chunks_.front();
  if (front.head > 0) front.events.erase(front.events.begin(), front.events.begin() + static_cast<std::ptrdiff_t>(front.head));
  size_ -= front.events.size();
  out.swap(front.events);
  chunks_.pop_front();
}

std::size_t EventQueue::clear() {
  const std::size_t n = size_;
  while (size_ > 0) drop_front_event();
  return n;
}

}  // namespace referkit::detail
