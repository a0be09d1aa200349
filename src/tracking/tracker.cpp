// The public side of the tracker: open(), track(), flush(), pause()/resume(), shutdown(),
// stats(), and what fork() does to it. The parts it drives are described in tracker_impl.hpp.
#include <fmt/format.h>

#include <algorithm>

#include "events/event_serializer.hpp"
#include "events/uuid.hpp"
#include "tracking/options_check.hpp"
#include "tracking/tracker_impl.hpp"

namespace referkit {
inline namespace v1 {
namespace {

Status moved_from() { return Status(StatusCode::kFailedPrecondition, "this Tracker was moved from"); }

// A forked child numbers its events from here, so that whatever its own spool recovers (numbered
// from 1) comes first, as it does on disk. See Impl::open_staged_lanes.
constexpr std::uint64_t kChildFirstSeq = 1ull << 40;

}  // namespace

std::string_view to_string(DropReason reason) noexcept {
  switch (reason) {
    case DropReason::kQueueFull: return "queue_full";
    case DropReason::kRetriesExhausted: return "retries_exhausted";
    case DropReason::kShutdown: return "shutdown";
    case DropReason::kExpired: return "expired";
  }
  return "unknown";
}

Tracker::Impl::Impl(TrackerOptions opts, testing::TrackerSeams seams_in)
    : options(std::move(opts)),
      seams(std::move(seams_in)),
      batch_event_bytes(options.max_batch_bytes - detail::kBatchEnvelopeBytes),
      work_cv(std::make_unique<std::condition_variable>()),
      space_cv(std::make_unique<std::condition_variable>()),
      done_cv(std::make_unique<std::condition_variable>()),
      reporter(options) {
  if (!seams.wall_clock) {
    seams.wall_clock = now_ms;
    system_wall_clock = true;
  }
  if (!seams.steady_clock) {
    seams.steady_clock = [] { return SteadyClock::now(); };
    coarse_enqueue_clock = true;
  }
  detail::register_fork_aware(this);
}

Tracker::Impl::~Impl() { detail::unregister_fork_aware(this); }

Tracker::Tracker(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tracker::Tracker(Tracker&&) noexcept = default;
Tracker& Tracker::operator=(Tracker&& other) noexcept {
  if (this != &other) {
    if (impl_) (void)shutdown(std::chrono::seconds(5));  // the report is for callers who ask
    impl_ = std::move(other.impl_);
  }
  return *this;
}

Tracker::~Tracker() {
  if (!impl_) return;
  (void)shutdown(std::chrono::seconds(5));  // a destructor has no one to give the report to
  // A worker that shutdown() had to leave running is still inside libcurl (and OpenSSL): the
  // caller may be about to exit, and exit's cleanups (OpenSSL's atexit handler) would free what
  // it is using. It got cancel(), so it is on its way out; wait for that a bounded while more.
  // Seen with a TLS handshake under ThreadSanitizer: a crash at exit after "kept in the spool".
  constexpr std::chrono::seconds kDetachedWorkerWait{2};
  Impl& s = *impl_;
  std::unique_lock<std::mutex> lk(s.mu);
  if (s.worker_detached) s.done_cv->wait_for(lk, kDetachedWorkerWait, [&] { return s.worker_exited; });
}

Result<Tracker> Tracker::open(TrackerOptions options) { return testing::open_tracker(std::move(options), {}); }

Result<Tracker> testing::open_tracker(TrackerOptions options, TrackerSeams seams) {
  if (Status s = detail::check_options(options); !s.ok()) return s;
  if (!seams.transport) {
    auto curl = make_curl_transport(options.http);
    if (!curl) return curl.status();
    seams.transport = std::move(*curl);
  }
  auto impl = std::make_shared<Tracker::Impl>(std::move(options), std::move(seams));
  {
    std::lock_guard<std::mutex> lk(impl->mu);
    if (Status s = impl->open_lanes(); !s.ok()) return s;
    for (Lane lane : detail::Lanes::kByPriority) impl->lanes[lane].paused = impl->options.budget(lane).start_paused;
    impl->start_worker();
  }
  return Tracker(std::move(impl));
}

Status Tracker::track(const Event& event) {
  if (!impl_) return moved_from();
  if (event.message_id.find_first_of("\"\\") != std::string::npos) {
    // The id is matched against server replies by its text inside the event's JSON.
    return Status(StatusCode::kInvalidArgument, "message_id must not contain '\"' or '\\'");
  }
  return impl_->admit(event.lane.value_or(Lane::kEngagement),
                      detail::serialize_event(event, impl_->wall_now(), &detail::write_uuid_v7,
                                              impl_->options.ip_policy));
}

Status Tracker::track_json(std::string_view json) { return impl_ ? impl_->admit_json(json, std::nullopt) : moved_from(); }
Status Tracker::track_json(std::string_view json, Lane lane) {
  return impl_ ? impl_->admit_json(json, lane) : moved_from();
}

Status Tracker::track(const ReferralLinkCreated& e) { return impl_ ? impl_->track_typed(e) : moved_from(); }
Status Tracker::track(const ReferralLinkShared& e) { return impl_ ? impl_->track_typed(e) : moved_from(); }
Status Tracker::track(const ReferralLinkClicked& e) { return impl_ ? impl_->track_typed(e) : moved_from(); }
Status Tracker::track(const RefereeSignedUp& e) { return impl_ ? impl_->track_typed(e) : moved_from(); }
Status Tracker::track(const OrderCompleted& e) { return impl_ ? impl_->track_typed(e) : moved_from(); }
Status Tracker::track(const OrderRefunded& e) { return impl_ ? impl_->track_typed(e) : moved_from(); }
Status Tracker::track(const OrderCancelled& e) { return impl_ ? impl_->track_typed(e) : moved_from(); }
Status Tracker::track(const RewardIssued& e) { return impl_ ? impl_->track_typed(e) : moved_from(); }

Status Tracker::flush(std::chrono::milliseconds timeout) {
  if (!impl_) return moved_from();
  Impl& s = *impl_;
  const auto deadline = SteadyClock::now() + timeout;
  std::unique_lock<std::mutex> lk(s.mu);
  const detail::LaneSeqs targets = s.lanes.last_seqs();
  const std::uint64_t lost_before = s.reporter.lost();
  auto done = [&] { return s.lanes.resolved_through(targets) && s.reports_pending == 0; };
  auto outcome = [&]() -> Status {
    const std::uint64_t lost = s.reporter.lost() - lost_before;
    if (lost > 0) {
      return Status(StatusCode::kDataLoss,
                    fmt::format("{} events were dropped or refused by the server while flushing; see stats()", lost));
    }
    for (Lane lane : detail::Lanes::kByPriority) {
      const detail::LaneSlot& slot = s.lanes[lane];
      const std::uint64_t waiting = slot.inflight_count + slot.events->size();
      if (slot.paused && waiting > 0) {
        return Status(StatusCode::kFailedPrecondition,
                      fmt::format("lane {} is paused: its {} events were not waited for", to_string(lane), waiting));
      }
    }
    return {};
  };
  if (!done()) {
    for (std::size_t i = 0; i < kLaneCount; ++i) s.flush_through[i] = std::max(s.flush_through[i], targets[i]);
    s.work_cv->notify_one();
  }
  if (s.accepting) {
    // Durable before delivered: once flush() returns, power loss cannot take these events.
    std::vector<detail::PendingEvents*> storages;
    for (Lane lane : detail::Lanes::kByPriority) storages.push_back(s.lanes[lane].events.get());
    lk.unlock();
    for (detail::PendingEvents* storage : storages) {
      if (Status committed = storage->commit(deadline); !committed.ok()) return committed;
    }
    lk.lock();
  }
  if (done() || s.done_cv->wait_until(lk, deadline, done)) return outcome();
  const std::uint64_t waiting = s.lanes.unresolved() - s.lanes.waiting_in_paused();
  return Status(StatusCode::kDeadlineExceeded,
                fmt::format("flush timed out with {} events pending{}{}", waiting,
                            s.reporter.last_error().empty() ? "" : "; last error: ", s.reporter.last_error()));
}

Status Tracker::commit(std::chrono::milliseconds timeout) {
  if (!impl_) return moved_from();
  Impl& s = *impl_;
  const auto deadline = SteadyClock::now() + timeout;
  std::vector<detail::PendingEvents*> storages;
  {
    std::lock_guard<std::mutex> lk(s.mu);
    // After shutdown the spool's last commit has been made (and the storage let go of).
    if (!s.accepting) return Status(StatusCode::kFailedPrecondition, "the tracker is shut down");
    for (Lane lane : detail::Lanes::kByPriority) storages.push_back(s.lanes[lane].events.get());
  }
  // As in flush(): the storage outlives the lock until shutdown(), which waits for callers.
  for (detail::PendingEvents* storage : storages) {
    if (Status committed = storage->commit(deadline); !committed.ok()) return committed;
  }
  return {};
}

void Tracker::pause(Lane lane) {
  if (!impl_) return;
  std::lock_guard<std::mutex> lk(impl_->mu);
  impl_->lanes[lane].paused = true;
  impl_->done_cv->notify_all();  // a flush() waiting for it now need not
}

void Tracker::resume(Lane lane) {
  if (!impl_) return;
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    impl_->lanes[lane].paused = false;
  }
  impl_->work_cv->notify_one();
}

std::uint64_t Tracker::Impl::count_left_at_shutdown() {
  if (lanes_closed) return 0;
  lanes_closed = true;  // from here on nothing is resolved any more: the counts are final
  std::uint64_t dropped = 0;
  kept_at_close = true;
  for (Lane lane : detail::Lanes::kByPriority) {
    const detail::LaneSlot& slot = lanes[lane];
    const std::uint64_t left = slot.inflight_count + slot.events->size();
    undelivered_at_close += left;
    if (!slot.events->keeps_undelivered()) {
      kept_at_close = false;  // a forked child's lane whose spool never opened, or memory mode
      reporter.dropped_at_shutdown(lane, left);
      dropped += left;
    }
  }
  return dropped;
}

void Tracker::Impl::release_lanes(std::unique_lock<std::mutex>& lk) {
  // The spool's last commit can take a while (msync): not under the mutex, which stats() needs
  // meanwhile. Nothing is appended any more (accepting is false).
  std::vector<detail::PendingEvents*> storages;
  for (Lane lane : detail::Lanes::kByPriority) storages.push_back(lanes[lane].events.get());
  lk.unlock();
  for (detail::PendingEvents* storage : storages) storage->stop();
  lk.lock();
  for (Lane lane : detail::Lanes::kByPriority) {
    detail::LaneSlot& slot = lanes[lane];
    (void)slot.events->forget();  // counted already; memory drops, the spool keeps
    slot.inflight_count = 0;
    slot.inflight_min_seq = 0;
  }
}

Status Tracker::Impl::shutdown_status() const {
  if (undelivered_at_close == 0) return {};
  const bool kept = kept_at_close;
  return Status(StatusCode::kDeadlineExceeded,
                fmt::format("{} events undelivered at shutdown{}{}{}{}", undelivered_at_close,
                            kept ? "; kept in the spool " : "", kept ? options.spool_dir : std::string(),
                            reporter.last_error().empty() ? "" : "; last error: ", reporter.last_error()));
}

ShutdownReport Tracker::shutdown(std::chrono::milliseconds timeout) {
  if (!impl_) return ShutdownReport{moved_from(), 0, false};
  Impl& s = *impl_;
  const auto start = SteadyClock::now();
  const auto deadline = start + timeout;
  // The worker stops starting work a little before the deadline; what is then still in flight is
  // cancelled, and the last stretch lets it notice and exit.
  const auto grace = std::min<std::chrono::milliseconds>(timeout / 4, std::chrono::milliseconds(500));
  // A cancelled transfer stops within milliseconds (the curl transport wakes its poll). With a
  // budget too short to hold that (shutdown(0) after a flush that used up the caller's time),
  // the worker still gets this long to exit, so that it is joined rather than left running
  // detached, in the middle of the spool, while the process exits.
  constexpr std::chrono::milliseconds kCancelAllowance{50};
  std::unique_lock<std::mutex> lk(s.mu);
  if (s.shutdown_report) return *s.shutdown_report;
  s.accepting = false;
  s.stopping = true;
  s.stop_deadline = deadline - grace;
  s.needs_worker.store(false);
  s.work_cv->notify_one();
  s.space_cv->notify_all();
  bool exited = !s.worker || s.done_cv->wait_until(lk, deadline - grace, [&] { return s.worker_exited; });
  if (!exited) {
    lk.unlock();
    s.seams.transport->cancel();
    lk.lock();
    const auto exit_by = std::max(deadline, SteadyClock::now() + kCancelAllowance);
    exited = s.done_cv->wait_until(lk, exit_by, [&] { return s.worker_exited; });
  }
  std::unique_ptr<std::thread> worker = std::move(s.worker);
  s.worker_detached = worker != nullptr && !exited;
  // The worker counts what is left as it exits, and reports on its own thread what memory mode
  // drops. A worker left behind (or none, in a forked child before its first track()) did not:
  // then the report below is the only one.
  (void)s.count_left_at_shutdown();
  if (!s.lanes_released) {
    s.lanes_released = true;
    s.release_lanes(lk);
  }
  ShutdownReport report;
  report.undelivered = s.undelivered_at_close;
  report.kept_in_spool = s.kept_at_close;
  report.status = s.shutdown_status();
  s.shutdown_report = report;
  lk.unlock();
  if (worker) {
    // A worker stuck in a transport that ignores cancel() is left to finish on its own; it
    // holds a reference to the state it uses, so nothing is freed under it.
    if (exited) {
      worker->join();
    } else {
      worker->detach();
    }
  }
  return report;
}

TrackerStats Tracker::stats() const {
  if (!impl_) return TrackerStats{};
  const Impl& s = *impl_;
  std::lock_guard<std::mutex> lk(s.mu);
  TrackerStats out = s.reporter.stats();
  for (Lane lane : detail::Lanes::kByPriority) {
    const detail::LaneSlot& slot = s.lanes[lane];
    LaneStats& ls = out.lane(lane);
    ls.paused = slot.paused;
    if (s.lanes_closed) continue;  // after shutdown: nothing is held any more
    ls.queued = slot.events->size() + slot.inflight_count;
    const detail::PendingUsage usage = slot.events->usage();
    ls.queued_bytes = usage.memory_bytes;
    ls.spool_bytes = usage.disk_bytes;
    out.queued += ls.queued;
    out.queued_bytes += ls.queued_bytes;
    out.spool_bytes += ls.spool_bytes;
  }
  return out;
}

void Tracker::Impl::before_fork() { mu.lock(); }
void Tracker::Impl::after_fork_parent() { mu.unlock(); }

void Tracker::Impl::after_fork_child() {
  // The child has one thread: the worker does not exist here, and the parent's events are the
  // parent's to deliver. Abandon (never destroy) what other threads may have been using.
  (void)worker.release();
  (void)work_cv.release();
  (void)space_cv.release();
  (void)done_cv.release();
  work_cv = std::make_unique<std::condition_variable>();
  space_cv = std::make_unique<std::condition_variable>();
  done_cv = std::make_unique<std::condition_variable>();
  abandon_lanes_after_fork();
  for (Lane lane : detail::Lanes::kByPriority) lanes[lane].next_seq = kChildFirstSeq;
  flush_through = {};
  reports_pending = 0;
  blocked_producers = 0;
  reporter.reset();
  worker_exited = false;
  worker_detached = false;
  if (accepting) needs_worker.store(true, std::memory_order_relaxed);
  mu.unlock();
}

}  // namespace v1
}  // namespace referkit
