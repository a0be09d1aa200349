// Pending storage: what track() appends to and the upload worker takes batches from, for one
// lane. Events stay in it from acceptance until they are resolved (acknowledged, dead-lettered
// or dropped). Two implementations: MemoryQueue (pending/memory_queue.hpp) keeps them in memory;
// SpoolQueue (spool/spool_queue.hpp) keeps them in a durable spool on disk.
//
// Everything that differs between the two is behind this interface (the bound and its message,
// commit, the dead-letter record, the retry cap, what survives the tracker, recovery, fork), so
// that the tracker never asks which one it has. This folder sits below both tracking/ and spool/.
//
// Not thread-safe: the tracker's mutex guards every call, except where a method says otherwise.
#ifndef REFERKIT_SRC_PENDING_PENDING_EVENTS_HPP
#define REFERKIT_SRC_PENDING_PENDING_EVENTS_HPP

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "referkit/status.hpp"
#include "referkit/time.hpp"

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
  // Nothing taken yet: call prepare_take() without the tracker's mutex, then take() again.
  bool prepare_first = false;
};

// What opening the storage found from earlier runs (durable mode; all zero in memory).
struct PendingRecovery {
  std::uint64_t events = 0;
  std::uint64_t corrupt = 0;        // damaged stretches
  std::uint64_t corrupt_bytes = 0;  // the bytes they span
  std::uint64_t truncated_segments = 0;
  std::uint64_t truncated_bytes = 0;
  std::vector<std::string> skipped;  // entries left alone, each with why
};

// What the storage takes now, for stats: memory for the queue, disk for the spool.
struct PendingUsage {
  std::uint64_t memory_bytes = 0;
  std::uint64_t disk_bytes = 0;
};

// An event the server refused, as the dead-letter record keeps it.
struct RefusedEvent {
  std::string_view message_id;
  std::string_view reason;
  std::string_view json;
};

class PendingEvents {
 public:
  virtual ~PendingEvents() = default;

  // ---- admission (track())
  // Whether the event fits within the bound now.
  virtual bool fits(const QueuedEvent& event) const = 0;
  // Evicts the oldest events not yet taken until `event` fits; returns how many. Storage that
  // never discards an accepted event returns 0.
  virtual std::size_t evict_for(const QueuedEvent& event) = 0;
  // Appends (the event's seq is set by the caller). Fails only when storage fails.
  virtual Status push(QueuedEvent&& event) = 0;
  // Why fits() said no, for the Status track() returns.
  virtual std::string full_message() const = 0;

  // ---- the worker
  // Whether the oldest events form a batch that should go now without waiting for more.
  virtual bool front_batch_full() const = 0;
  virtual bool empty() const = 0;        // nothing waiting to be taken
  virtual std::size_t size() const = 0;  // events waiting to be taken
  virtual PendingFront front() const = 0;
  // Moves the oldest batch into out (cleared first); they stay pending until resolved().
  virtual void take(std::vector<QueuedEvent>& out, TakeReport& report) = 0;
  // What take() asked for (TakeReport::prepare_first), done without the tracker's mutex: work
  // that can wait milliseconds, like mapping a spool segment (an mmap waits for the process's
  // memory-map lock), must not hold up track(). The worker thread calls both.
  virtual void prepare_take() {}
  // Called after take(), without the mutex: finishes what take() left to do outside it (the
  // spool copies the events' text out of its segment here). The worker and the look-ahead
  // thread may each be materializing a batch of their own at the same time.
  virtual void materialize(std::vector<QueuedEvent>& /*taken*/) {}
  // The worker is done with these events (the oldest in flight, in order).
  virtual void resolved(const std::vector<QueuedEvent>& done) = 0;
  // After resolved(): storage that keeps events' text in heap strings may take the resolved
  // events (swapping `done` with what it gives back) to lend their buffers to later track()
  // calls, so that an event's text is not allocated by the producer and freed by the worker
  // (the two threads then meet on glibc's arena lock). The default keeps nothing.
  virtual void recycle(std::vector<QueuedEvent>& /*done*/) {}
  // Admission, after a push: puts a buffer recycled from a delivered event into `text` (which
  // the caller has emptied) for the caller's next event, if there is one. The default lends none.
  virtual void lend_text_buffer(std::string& /*text*/) {}
  // Keeps a record of events the server refused, before they are resolved. Called without the
  // mutex, by the worker only. The memory queue keeps none.
  virtual Status record_refused(const std::vector<RefusedEvent>& refused, TimePoint at) = 0;
  // How long a batch may go undelivered before it is dropped, given the configured cap; zero
  // never drops (the spool keeps events through any outage, bounded by age and size instead).
  virtual std::chrono::milliseconds retry_cap(std::chrono::milliseconds configured) const = 0;

  // ---- flush, stats, shutdown, fork
  // Waits until what was pushed so far survives power loss, or the deadline passes. Called
  // without the mutex.
  virtual Status commit(SteadyTime deadline) = 0;
  virtual PendingUsage usage() const = 0;
  virtual const PendingRecovery& recovery() const = 0;
  // Whether what is still pending outlives the tracker (kept on disk for the next start) rather
  // than being lost with it.
  virtual bool keeps_undelivered() const = 0;
  // Finishes background work (the spool's last commit). Called without the mutex once nothing
  // is pushed any more; forget() does it too.
  virtual void stop() {}
  // Lets go of everything: memory drops the events, the spool leaves them on disk for the next
  // start. Returns how many were waiting (in flight not counted).
  virtual std::size_t forget() = 0;
  // In a forked child: lets go of the parent's events, files and threads without touching them.
  virtual void abandon_after_fork() noexcept = 0;
};

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_PENDING_PENDING_EVENTS_HPP
