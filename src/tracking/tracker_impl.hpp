// The tracker's shared state. Producers (track) and the upload worker meet under one mutex; all
// network work happens outside it. See tracker.cpp for the public side and upload_worker.cpp for
// the worker.
#ifndef REFERKIT_SRC_TRACKING_TRACKER_IMPL_HPP
#define REFERKIT_SRC_TRACKING_TRACKER_IMPL_HPP

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "events/typed_serializer.hpp"
#include "referkit/tracker.hpp"
#include "tracking/batch.hpp"
#include "tracking/delivery_policy.hpp"
#include "tracking/event_queue.hpp"
#include "spool/spool_queue.hpp"
#include "common/fork_registry.hpp"
#include "tracking/side_thread.hpp"
#include "transport/gzip.hpp"

namespace referkit {
inline namespace v1 {

using SteadyClock = std::chrono::steady_clock;

struct Tracker::Impl final : detail::ForkAware, std::enable_shared_from_this<Tracker::Impl> {
  Impl(TrackerOptions opts, std::shared_ptr<Transport> t);
  ~Impl() override;

  // ---- fixed at open()
  TrackerOptions options;
  std::shared_ptr<Transport> transport;
  std::string url;
  HttpHeaders base_headers;
  std::size_t batch_event_bytes;  // max_batch_bytes less the envelope

  // ---- guarded by mu
  mutable std::mutex mu;
  // Heap-allocated so a forked child can abandon the parent's (possibly mid-wait) instances.
  std::unique_ptr<std::condition_variable> work_cv;   // wakes the worker
  std::unique_ptr<std::condition_variable> space_cv;  // producers blocked by kBlock
  std::unique_ptr<std::condition_variable> done_cv;   // flush() and shutdown() waiters
  std::unique_ptr<detail::PendingEvents> pending;  // EventQueue, or SpoolQueue in durable mode
  detail::SpoolQueue* spool = nullptr;             // the same object in durable mode
  std::uint64_t next_seq = 1;
  std::uint64_t inflight_min_seq = 0;  // first unresolved in-flight event; 0 when none
  std::uint64_t inflight_count = 0;
  std::uint64_t flush_through = 0;     // send events up to this seq without waiting for a full batch
  std::uint64_t unreported_queue_full = 0;  // drops at track() not yet passed to on_drop
  int reports_pending = 0;  // drop reports the worker is passing to on_drop right now
  int blocked_producers = 0;
  bool accepting = true;
  bool stopping = false;
  SteadyClock::time_point stop_deadline;
  bool worker_exited = false;
  bool worker_detached = false;  // shutdown() left it running: its transport was slow to cancel
  std::optional<ShutdownReport> shutdown_report;
  TrackerStats stats;
  std::uint64_t lost = 0;  // tracked events dropped or dead-lettered so far, for flush()
  std::unique_ptr<std::thread> worker;
  std::atomic<bool> needs_worker{false};  // a forked child starts its worker on first track()

  // Opens the spool (durable mode) or the memory queue; numbers recovered events from next_seq.
  Status open_pending();

  // ---- worker side (upload_worker.cpp)
  // The worker's look-ahead: the next batch, taken while the current one is in flight and
  // encoded on the side thread meanwhile. Events stay in flight, in order, until resolved.
  struct Lookahead {
    explicit Lookahead(int gzip_level) : gzip(gzip_level) {}
    std::optional<detail::SideThread> thread;  // started on first use
    detail::GzipCompressor gzip;
    bool taken = false;
    std::uint64_t first_seq = 0;
    detail::Batch batch;  // the side thread's until thread->wait()
  };

  void start_worker();
  void run_worker();
  // Whether the oldest pending events should go now (a full batch, a flush, the interval, a
  // shutdown). Needs mu.
  bool batch_due(SteadyClock::time_point now) const;
  // Takes the next batch and counts it in flight; reports what was passed over (may unlock lk
  // to call on_drop). False when the spool cannot be read for now.
  bool take_batch(std::unique_lock<std::mutex>& lk, detail::Batch& batch);
  // Takes the next batch if it is due and starts encoding it on the side thread. Without mu.
  void prefetch(Lookahead& ahead);
  // Delivers one batch, splitting and retrying as the replies ask; stops early only when the
  // shutdown deadline passes. Returns the events it could not resolve.
  std::vector<detail::QueuedEvent> deliver(detail::Batch batch, detail::Backoff& backoff,
                                           detail::GzipCompressor& gzip, Lookahead& ahead);
  // Sleeps before a retry; false when the shutdown deadline would pass first.
  bool wait_for_retry(std::chrono::milliseconds wait);
  // Durable mode: writes the refused events of a batch to the dead-letter file; how many could
  // not be written (they are logged and counted in stats).
  std::size_t record_dead_letters(const detail::Batch& batch, const std::vector<DeadLetter>& dead);

  // ---- producer side (tracker.cpp)
  // What track() does once the event is serialized: queue or spool it, or say why not.
  Status enqueue(Result<detail::SerializedEvent> serialized);
  template <typename Typed>
  Status track_typed(const Typed& event) {
    return enqueue(detail::serialize_typed(event, options.clock(), &detail::write_uuid_v7, options.ip_policy));
  }

  // ---- helpers used by both sides; `lk` holds mu
  // Counts an event track() refuses, makes sure on_drop hears of it, and says why. Unlocks lk.
  Status refuse(std::unique_lock<std::mutex>& lk, std::string why);
  bool resolved_through(std::uint64_t seq) const;
  void log(LogLevel level, std::string_view message) const;

  // ---- fork handling (ForkAware)
  void before_fork() override;
  void after_fork_parent() override;
  void after_fork_child() override;
};

}  // namespace v1
}  // namespace referkit

#endif  // REFERKIT_SRC_TRACKING_TRACKER_IMPL_HPP
