// What track() appends to and the upload worker takes batches from: events accepted and not yet
// resolved (acknowledged, dead-lettered or dropped). Two implementations: EventQueue keeps them in
// memory (bounded by max_queue_bytes); SpoolQueue keeps them in a durable spool on disk. The
// tracker's mutex guards every call.
#ifndef REFERKIT_SRC_TRACKING_PENDING_EVENTS_HPP
#define REFERKIT_SRC_TRACKING_PENDING_EVENTS_HPP

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "referkit/status.hpp"

namespace referkit::detail {

using SteadyTime = std::chrono::steady_clock::time_point;

struct QueuedEvent {
  std::string json;             // the serialized event, as it goes into the batch
  std::uint32_t id_offset = 0;  // messageId's position inside json (no second allocation)
  std::uint32_t id_size = 0;
  std::uint64_t seq = 0;        // tracking order, for flush()
  SteadyTime enqueued;
  // Durable mode: the segment holding the event, and where the next record starts after it.
  std::uint32_t segment = 0;
  std::uint32_t segment_end = 0;

  std::string_view message_id() const { return std::string_view(json).substr(id_offset, id_size); }
};

struct PendingFront {
  std::uint64_t seq = 0;
  SteadyTime enqueued;
};

// What take() passed over instead of returning.
struct TakeReport {
  std::size_t expired = 0;  // older than max_event_age
  std::size_t corrupt = 0;  // records that can no longer be read (their file was removed)
  Status error;             // nothing taken for now (e.g. out of file descriptors): try again later
};

class PendingEvents {
 public:
  virtual ~PendingEvents() = default;

  // Whether the event fits within the bound now.
  virtual bool fits(const QueuedEvent& event) const = 0;
  // Evicts the oldest events not yet taken until `event` fits; returns how many.
  virtual std::size_t evict_for(const QueuedEvent& event) = 0;
  // Appends (the event's seq is set by the caller). Fails only when storage fails.
  virtual Status push(QueuedEvent&& event) = 0;

  // Whether the oldest events form a batch that should go now without waiting for more.
  virtual bool front_batch_full() const = 0;
  virtual bool empty() const = 0;        // nothing waiting to be taken
  virtual std::size_t size() const = 0;  // events waiting to be taken
  virtual std::size_t bytes() const = 0; // what counts against the bound, in flight included
  virtual PendingFront front() const = 0;
  // Moves the oldest batch into out (cleared first); they stay pending until resolved().
  virtual void take(std::vector<QueuedEvent>& out, TakeReport& report) = 0;
  // Called by the worker after take(), without the mutex: finishes what take() left to do
  // outside it (durable mode copies the events' text out of the spool here).
  virtual void materialize(std::vector<QueuedEvent>& /*taken*/) {}
  // The worker is done with these events (the oldest in flight, in order).
  virtual void resolved(const std::vector<QueuedEvent>& done) = 0;
  // Lets go of everything (at shutdown, or in a forked child): memory mode drops the events,
  // durable mode leaves them on disk for the next start. Returns how many were waiting.
  virtual std::size_t forget() = 0;
};

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_TRACKING_PENDING_EVENTS_HPP
