#include "tracking/event_queue.hpp"

namespace referkit::detail {

void EventQueue::push(QueuedEvent event) {
  const std::size_t cost = event.cost();
  bytes_ += cost;
  queued_bytes_ += cost;
  events_.push_back(std::move(event));
}

std::size_t EventQueue::evict_for(std::size_t cost) {
  std::size_t evicted = 0;
  while (!events_.empty() && !fits(cost)) {
    const std::size_t c = events_.front().cost();
    bytes_ -= c;
    queued_bytes_ -= c;
    events_.pop_front();
    ++evicted;
  }
  return evicted;
}

void EventQueue::take(std::size_t max_events, std::size_t max_bytes, std::vector<QueuedEvent>& out) {
  std::size_t taken_bytes = 0;
  while (!events_.empty() && out.size() < max_events) {
    const std::size_t size = events_.front().json.size() + 1;  // plus its comma in the batch
    if (!out.empty() && taken_bytes + size > max_bytes) break;
    taken_bytes += size;
    queued_bytes_ -= events_.front().cost();
    out.push_back(std::move(events_.front()));
    events_.pop_front();
  }
}

std::size_t EventQueue::clear() {
  const std::size_t n = events_.size();
  bytes_ -= queued_bytes_;
  queued_bytes_ = 0;
  events_.clear();
  return n;
}

}  // namespace referkit::detail
