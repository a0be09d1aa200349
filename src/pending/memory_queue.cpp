#include "pending/memory_queue.hpp"

#include <fmt/format.h>

namespace referkit::detail {

MemoryQueue::MemoryQueue(std::size_t max_bytes, std::size_t batch_events, std::size_t batch_bytes)
    : max_bytes_(max_bytes), batch_events_(batch_events), batch_bytes_(batch_bytes) {}

std::string MemoryQueue::full_message() const {
  return fmt::format("event queue full (max_queue_bytes {}): the endpoint is not keeping up; event dropped", max_bytes_);
}

Status MemoryQueue::push(QueuedEvent&& event) {
  const std::size_t wire = event.json.size() + 1;  // plus its comma in the batch
  if (chunks_.empty() || chunks_.back().events.size() == batch_events_ ||
      (chunks_.back().wire_bytes > 0 && chunks_.back().wire_bytes + wire > batch_bytes_)) {
    chunks_.emplace_back();
    // One allocation per batch instead of regrowth (and its moves) under the mutex; none when a
    // delivered batch's vector is free to take.
    if (spare_.empty() && spare_.capacity() >= batch_events_) {
      chunks_.back().events.swap(spare_);
    } else {
      chunks_.back().events.reserve(batch_events_);
    }
  }
  Chunk& open = chunks_.back();
  bytes_ += cost(event);
  open.wire_bytes += wire;
  open.events.push_back(std::move(event));
  ++size_;
  return {};
}

void MemoryQueue::drop_front_event() {
  Chunk& front = chunks_.front();
  QueuedEvent& e = front.events[front.head++];
  bytes_ -= cost(e);
  front.wire_bytes -= e.json.size() + 1;
  std::string().swap(e.json);  // free its memory now, not when the chunk goes
  --size_;
  if (front.head == front.events.size()) chunks_.pop_front();
}

std::size_t MemoryQueue::evict_for(const QueuedEvent& event) {
  std::size_t evicted = 0;
  while (size_ > 0 && !fits(event)) {
    drop_front_event();
    ++evicted;
  }
  return evicted;
}

PendingFront MemoryQueue::front() const {
  const QueuedEvent& e = chunks_.front().events[chunks_.front().head];
  return PendingFront{e.seq, e.enqueued};
}

void MemoryQueue::take(std::vector<QueuedEvent>& out, TakeReport& /*report*/) {
  out.clear();
  if (chunks_.empty()) return;
  Chunk& front = chunks_.front();
  if (front.head > 0) front.events.erase(front.events.begin(), front.events.begin() + static_cast<std::ptrdiff_t>(front.head));
  size_ -= front.events.size();
  out.swap(front.events);
  chunks_.pop_front();
}

void MemoryQueue::resolved(const std::vector<QueuedEvent>& done) {
  for (const QueuedEvent& e : done) bytes_ -= cost(e);
}

std::size_t MemoryQueue::forget() {
  // noexcept in abandon_after_fork(): clear() and assignments do not throw.
  const std::size_t n = size_;
  chunks_.clear();
  spare_.clear();
  size_ = 0;
  bytes_ = 0;  // what is in flight is no longer charged either
  return n;
}

}  // namespace referkit::detail
