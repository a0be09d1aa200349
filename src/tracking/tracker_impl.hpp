// The tracker's shared state, and the path of one event through it:
//
//   track() ─ admission ─► lanes (pending storage: memory queue or spool, one per lane)
//                                   │ batch source: take (conversions first), materialize, look ahead
//                                   ▼
//                           worker ─ uploader: one batch, one outcome ─► transport
//                                   │ resolve: acknowledge, dead-letter, split, retry, drop
//                                   ▼
//                           reporter: stats and callbacks, on the worker thread
//
// Producers (track) and the worker meet under one mutex; the network, encoding, fsync and the
// callbacks happen outside it. Files: tracker.cpp (the public side, flush, shutdown, fork),
// admission.cpp, pending_storage.cpp (the one place that knows memory from spool), worker.cpp,
// and the parts named above, each in its own files.
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

#include "events/event_serializer.hpp"
#include "events/referral_fields.hpp"
#include "events/typed_serializer.hpp"
#include "referkit/testing.hpp"
#include "referkit/tracker.hpp"
#include "tracking/batch.hpp"
#include "common/fork_registry.hpp"
#include "tracking/lanes.hpp"
#include "tracking/reporter.hpp"

namespace referkit::detail {
class BatchSource;
class Uploader;
}  // namespace referkit::detail

namespace referkit {
inline namespace v1 {

using SteadyClock = std::chrono::steady_clock;

struct Tracker::Impl final : detail::ForkAware, std::enable_shared_from_this<Tracker::Impl> {
  Impl(TrackerOptions opts, testing::TrackerSeams seams_in);
  ~Impl() override;

  // ---- fixed at open()
  TrackerOptions options;
  // admit() stamps each event with the coarse clock (time/coarse_clock.hpp) unless a test set
  // the steady clock: the stamp only measures how long an event has waited (flush_interval,
  // max_event_age), where a few milliseconds do not matter, and it is read for every event.
  bool coarse_enqueue_clock = false;
  bool system_wall_clock = false;  // no test replaced the wall clock: wall_now() calls now_ms()
  testing::TrackerSeams seams;  // every clock, the sleeper, the seed and the transport, filled in
  std::size_t batch_event_bytes;  // max_batch_bytes less the envelope

  // ---- guarded by mu
  mutable std::mutex mu;
  // Heap-allocated so a forked child can abandon the parent's (possibly mid-wait) instances.
  std::unique_ptr<std::condition_variable> work_cv;   // wakes the worker
  std::unique_ptr<std::condition_variable> space_cv;  // producers blocked by kBlock
  std::unique_ptr<std::condition_variable> done_cv;   // flush() and shutdown() waiters
  detail::Lanes lanes;
  detail::Reporter reporter;
  // A forked child's worker: a spool just opened for a staged lane, until it takes the lane's
  // place. Guarded by the no-fork guard (common/fork_registry.hpp), not by mu.
  std::unique_ptr<detail::PendingEvents> opening[kLaneCount];
  // Storage replaced while flush() may still hold it (a child's staged queues): freed with us.
  std::vector<std::unique_ptr<detail::PendingEvents>> retired;
  detail::LaneSeqs flush_through{};  // send events up to these without waiting for a full batch
  int reports_pending = 0;          // drop reports the worker is passing to on_drop right now
  int blocked_producers = 0;
  bool accepting = true;
  bool stopping = false;
  SteadyClock::time_point stop_deadline;  // real time: shutdown()'s promise to its caller
  bool worker_exited = false;
  bool worker_detached = false;  // shutdown() left it running: its transport was slow to cancel
  std::optional<ShutdownReport> shutdown_report;
  bool lanes_closed = false;    // shutdown counted what is left: nothing is resolved any more
  bool lanes_released = false;  // and let go of the storage
  std::uint64_t undelivered_at_close = 0;
  bool kept_at_close = false;  // every lane keeps what is left (durable mode)
  std::unique_ptr<std::thread> worker;
  std::atomic<bool> needs_worker{false};  // a forked child starts its worker on first track()

  // ---- pending storage (pending_storage.cpp): the only code that knows memory from spool
  // Opens every lane's storage, numbering recovered events first. Needs mu (or no other thread
  // yet).
  Status open_lanes();
  // A forked child of a durable tracker: on the worker, opens the child's spool for each staged
  // lane and moves what was tracked meanwhile into it. Takes mu itself.
  void open_staged_lanes();
  // In a forked child (after_fork_child): lets go of the parent's events and files, and stages
  // the lanes of a durable tracker in memory until the child's worker opens its own spool.
  void abandon_lanes_after_fork();

  // ---- admission (admission.cpp)
  // mu, for a producer: tries again for a bounded while (microseconds) before sleeping on it.
  std::unique_lock<std::mutex> lock_for_admission();
  static constexpr int kAdmissionSpins = 64;
  // What track() does once the event is serialized: checks, applies the overflow policy, and
  // stores it in its lane; or says why not. With `text_buffer` (the calling thread's, emptied by
  // the serializer), the lane's storage may lend it a recycled buffer for the thread's next event.
  Status admit(Lane lane, Result<detail::SerializedEvent> serialized, std::string* text_buffer = nullptr);
  // track_json(): the event's own lane (by its name) unless `lane` is given.
  Status admit_json(std::string_view json, std::optional<Lane> lane);
  // The event's timestamp: the system clock, unless a test replaced it (a std::function call
  // saved on every track()).
  TimePoint wall_now() const { return system_wall_clock ? now_ms() : seams.wall_clock(); }
  // The text of the calling thread's next typed event goes into this buffer when admit() got
  // one from the memory queue, recycled from a delivered event (MemoryQueue::recycle): then no
  // allocation on this thread and no free on the worker's. Thread-local, so producers never
  // share one: one buffer of one event's size per thread, whichever tracker lent it.
  static std::string& thread_text_buffer() {
    thread_local std::string buffer;
    return buffer;
  }
  template <typename Typed>
  Status track_typed(const Typed& event) {
    std::string& buffer = thread_text_buffer();
    return admit(detail::lane_of(event),
                 detail::serialize_typed(event, wall_now(), &detail::write_uuid_v7, options.ip_policy, &buffer), &buffer);
  }

  // ---- the worker (worker.cpp)
  void start_worker();
  void run_worker();
  // Delivers one batch, splitting and retrying as the replies ask; stops early only when the
  // shutdown deadline passes. Returns whether it resolved the whole batch. `others`: the batches
  // taken ahead or beside, what stays in flight once this one is resolved.
  bool deliver(detail::Batch batch, detail::Uploader& uploader, const std::vector<detail::InFlight>& others);
  // With lk held: takes the next due batch to encode ahead (or beside: only while the side
  // thread is still encoding), preparing a spool's take without the mutex when it asks. An
  // empty batch when none is due, the deadline passed, or the storage cannot be read now.
  detail::Batch take_to_encode(std::unique_lock<std::mutex>& lk, detail::BatchSource& source, bool beside);
  // Takes the next due batch into the look-ahead, if there is one. Without mu.
  void look_ahead(detail::BatchSource& source);
  // With lk held, while the side thread encodes the batch ahead: takes the next due batch and
  // encodes it on the worker, into `ready`.
  void encode_beside(std::unique_lock<std::mutex>& lk, detail::BatchSource& source, std::vector<detail::Batch>& ready);
  // Reports what take() passed over; may unlock lk to call on_drop.
  void report_passed_over(std::unique_lock<std::mutex>& lk, Lane lane, const detail::TakeReport& report);
  // Sleeps before a retry; false when the shutdown deadline would pass first.
  bool wait_for_retry(std::chrono::milliseconds wait);
  // What the worker does last when shutdown() stopped it: memory mode drops what is left and
  // reports it (on the worker, as every callback). Needs lk; unlocks it to report.
  void finish_at_shutdown(std::unique_lock<std::mutex>& lk);
  // Counts what is left in every lane, once (the worker as it exits, or shutdown() when the
  // worker was left behind): memory mode drops it, durable mode keeps it. Needs mu. Returns how
  // many were dropped.
  std::uint64_t count_left_at_shutdown();
  // shutdown(), after the worker: lets go of every lane's storage (the spool's last commit
  // first, without mu). Needs lk.
  void release_lanes(std::unique_lock<std::mutex>& lk);
  // What shutdown() says about undelivered_at_close. Needs mu.
  Status shutdown_status() const;
  bool past_stop_deadline() const { return stopping && SteadyClock::now() >= stop_deadline; }
  detail::DuePolicy due_policy() const {
    return detail::DuePolicy{options.flush_interval, flush_through, stopping};
  }

  // ---- fork handling (ForkAware)
  void before_fork() override;
  void after_fork_parent() override;
  void after_fork_child() override;
};

}  // namespace v1
}  // namespace referkit

#endif  // REFERKIT_SRC_TRACKING_TRACKER_IMPL_HPP
