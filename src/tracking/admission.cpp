// Admission: what track() does once the event is serialized. It starts a forked child's worker,
// applies the overflow policy of the event's lane, and stores the event in the lane's storage,
// numbered. No file I/O and no network here: the spool's append is a copy into a mapped page.
#include <fmt/format.h>

#include "events/json_event.hpp"
#include "time/coarse_clock.hpp"
#include "tracking/tracker_impl.hpp"

namespace referkit {
inline namespace v1 {

namespace {

void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield" ::: "memory");
#endif
}

}  // namespace

std::unique_lock<std::mutex> Tracker::Impl::lock_for_admission() {
  // Producers on different cores meet here for well under a microsecond each. std::mutex (glibc)
  // puts a thread that finds it taken to sleep at once, and its holder then pays a futex wake
  // (an IPI, a VM exit here) on unlock: with two producers flat out that was 4% of all samples,
  // and two producers scaled to 1.0-1.6x one (1.3x median). Trying again for a short while
  // first, as an adaptive mutex does, lets the holder finish instead (1.6x median, same minutes;
  // docs/performance.md). Bounded, at 1,024 pause instructions (microseconds): a holder that was
  // preempted, or the worker, whose turns under the mutex are longer, is then waited for asleep.
  std::unique_lock<std::mutex> lk(mu, std::defer_lock);
  for (int attempt = 0; attempt < kAdmissionSpins; ++attempt) {
    if (lk.try_lock()) return lk;
    for (int i = 0; i < 16; ++i) cpu_relax();
  }
  lk.lock();
  return lk;
}

Status Tracker::Impl::admit(Lane lane, Result<detail::SerializedEvent> serialized, std::string* text_buffer) {
  if (needs_worker.load(std::memory_order_relaxed)) {
    // First track() in a forked child: its worker opens what the child needs.
    std::lock_guard<std::mutex> lk(mu);
    if (needs_worker.load()) {
      needs_worker.store(false);
      start_worker();
    }
  }
  if (!serialized) return serialized.status();
  detail::QueuedEvent q;
  q.json = std::move(serialized->json);
  q.id_offset = static_cast<std::uint32_t>(serialized->message_id_at);
  q.id_size = static_cast<std::uint32_t>(serialized->message_id_size);
  q.enqueued = coarse_enqueue_clock ? detail::coarse_steady_now() : seams.steady_clock();

  std::unique_lock<std::mutex> lk = lock_for_admission();
  if (!accepting) return Status(StatusCode::kFailedPrecondition, "the tracker is shut down");
  detail::LaneSlot& slot = lanes[lane];
  auto refuse = [&](std::string why) {
    const bool first_unreported = reporter.queue_full(lane, 1);
    lk.unlock();
    if (first_unreported) work_cv->notify_one();  // the worker reports drops to on_drop
    return Status(StatusCode::kResourceExhausted, std::move(why));
  };
  if (!slot.events->fits(q)) {
    if (options.overflow == OverflowPolicy::kDropOldest) {
      const std::size_t evicted = slot.events->evict_for(q);
      if (evicted > 0 && reporter.queue_full(lane, evicted)) work_cv->notify_one();
    } else if (options.overflow == OverflowPolicy::kBlock) {
      ++blocked_producers;
      space_cv->wait_for(lk, options.block_timeout, [&] { return !accepting || slot.events->fits(q); });
      --blocked_producers;
      if (!accepting) return Status(StatusCode::kFailedPrecondition, "the tracker is shut down");
    }
    if (!slot.events->fits(q)) return refuse(slot.events->full_message());
  }
  q.seq = slot.next_seq;
  const bool was_empty = slot.events->empty();
  const bool was_full = slot.events->front_batch_full();
  if (Status pushed = slot.events->push(std::move(q)); !pushed.ok()) {
    return refuse("cannot add the event to the spool: " + pushed.message());
  }
  ++slot.next_seq;
  reporter.tracked(lane);
  // A constant-time swap: the buffer of a delivered event for this thread's next one.
  if (text_buffer != nullptr) slot.events->lend_text_buffer(*text_buffer);
  // Wake the worker only when it has something new to decide (a first event, a first full
  // batch), not on every event.
  const bool wake = was_empty || (!was_full && slot.events->front_batch_full());
  lk.unlock();
  if (wake) work_cv->notify_one();
  return {};
}

Status Tracker::Impl::admit_json(std::string_view json, std::optional<Lane> lane) {
  auto event = detail::serialize_json_event(json, wall_now(), &detail::write_uuid_v7, options.ip_policy);
  if (!event) return admit(lane.value_or(Lane::kEngagement), event.status());
  const Lane chosen = lane.value_or(event->lane);
  return admit(chosen, std::move(event->serialized));
}

}  // namespace v1
}  // namespace referkit
