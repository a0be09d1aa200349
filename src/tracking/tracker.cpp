// The producer side of the tracker: open(), track(), flush(), shutdown(), stats(), fork.
#include <fmt/format.h>

#include <algorithm>

#include "common/utf8.hpp"
#include "crypto/encoding.hpp"
#include "events/event_serializer.hpp"
#include "referkit/version.hpp"
#include "tracking/tracker_impl.hpp"

namespace referkit {
inline namespace v1 {
namespace {

constexpr std::size_t kApiMaxBatchEvents = 2'500;
constexpr std::size_t kApiMaxBatchBytes = 500'000;
constexpr std::size_t kMinQueueBytes = 64 * 1024;
constexpr std::size_t kMinSegmentBytes = 64 * 1024;
constexpr std::size_t kMaxSegmentBytes = 1u << 30;

Status invalid(std::string message) { return Status(StatusCode::kInvalidArgument, std::move(message)); }

bool printable_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

Status validate(const TrackerOptions& o) {
  std::string_view endpoint = o.endpoint;
  if (endpoint.rfind("http://", 0) != 0 && endpoint.rfind("https://", 0) != 0) {
    return invalid("endpoint must start with http:// or https://");
  }
  if (!printable_ascii(endpoint) || endpoint.find(' ') != std::string_view::npos) {
    return invalid("endpoint must be printable ASCII without spaces");
  }
  if (o.write_key.empty() || !printable_ascii(o.write_key)) {
    return invalid("write_key is required (printable ASCII)");
  }
  if (o.max_batch_events < 1 || o.max_batch_events > kApiMaxBatchEvents) {
    return invalid("max_batch_events must be 1-2500");
  }
  if (o.max_batch_bytes < kMaxEventBytes + detail::kBatchEnvelopeBytes || o.max_batch_bytes > kApiMaxBatchBytes) {
    return invalid("max_batch_bytes must be 32928-500000 (a batch must hold the largest event)");
  }
  if (o.max_queue_bytes < kMinQueueBytes) return invalid("max_queue_bytes must be at least 64 KiB");
  if (o.gzip_level < 1 || o.gzip_level > 9) return invalid("gzip_level must be 1-9");
  if (o.flush_interval.count() < 0 || o.block_timeout.count() < 0) {
    return invalid("flush_interval and block_timeout must not be negative");
  }
  if (o.http.connect_timeout.count() <= 0 || o.http.total_timeout.count() <= 0) {
    return invalid("http timeouts must be positive");
  }
  if (!o.spool_dir.empty()) {
    if (o.spool_segment_bytes < kMinSegmentBytes || o.spool_segment_bytes > kMaxSegmentBytes) {
      return invalid("spool_segment_bytes must be 64 KiB - 1 GiB");
    }
    if (o.max_spool_bytes < o.spool_segment_bytes) return invalid("max_spool_bytes must hold at least one segment");
    if (o.spool_commit_interval.count() <= 0 || o.max_event_age.count() < 0) {
      return invalid("spool_commit_interval must be positive and max_event_age not negative");
    }
  }
  const RetryPolicy& r = o.retry;
  if (r.initial_backoff.count() <= 0 || r.max_backoff < r.initial_backoff || r.auth_backoff.count() <= 0 ||
      r.max_retry_after.count() < 0 || r.max_retry_duration.count() < 0) {
    return invalid("retry: need 0 < initial_backoff <= max_backoff, auth_backoff > 0, no negative durations");
  }
  return {};
}

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

Tracker::Impl::Impl(TrackerOptions opts, std::shared_ptr<Transport> t)
    : options(std::move(opts)),
      transport(std::move(t)),
      batch_event_bytes(options.max_batch_bytes - detail::kBatchEnvelopeBytes),
      work_cv(std::make_unique<std::condition_variable>()),
      space_cv(std::make_unique<std::condition_variable>()),
      done_cv(std::make_unique<std::condition_variable>()) {
  std::string endpoint = options.endpoint;
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  url = endpoint + "/v1/batch";
  std::string agent = "referkit-cpp/" REFERKIT_VERSION_STRING;
  if (!options.user_agent_suffix.empty()) agent += " " + options.user_agent_suffix;
  base_headers = {{"Authorization", "Basic " + detail::base64_encode(options.write_key + ":")},
                  {"Content-Type", "application/json"},
                  {"User-Agent", agent}};
  if (!options.clock) options.clock = now_ms;
  detail::register_fork_aware(this);
}

Tracker::Impl::~Impl() { detail::unregister_fork_aware(this); }

Status Tracker::Impl::open_pending() {
  if (options.spool_dir.empty()) {
    pending = std::make_unique<detail::EventQueue>(options.max_queue_bytes, options.max_batch_events, batch_event_bytes);
    return {};
  }
  detail::SpoolQueueOptions so;
  so.dir = options.spool_dir;
  so.segment_bytes = options.spool_segment_bytes;
  so.max_bytes = options.max_spool_bytes;
  so.max_event_age = options.max_event_age;
  so.commit_interval = options.spool_commit_interval;
  so.batch_events = options.max_batch_events;
  so.batch_bytes = batch_event_bytes;
  so.first_seq = next_seq;
  so.clock = options.clock;
  {
    // Until `pending` holds the queue, a fork would copy its descriptors where after_fork_child
    // cannot find them: fork() waits (and no user callback runs meanwhile).
    detail::SpoolOpenForkGuard no_fork_meanwhile;
    auto opened = detail::SpoolQueue::open(std::move(so));
    if (!opened) return opened.status();
    spool = opened->get();
    pending = std::move(*opened);
  }
  const detail::SpoolQueue::Recovery& found = spool->recovery();
  next_seq += found.events;
  stats.recovered += found.events;
  stats.corrupt_records += found.corrupt;
  stats.corrupt_bytes += found.corrupt_bytes;
  stats.truncated_segments += found.truncated_segments;
  stats.truncated_bytes += found.truncated_bytes;
  stats.skipped_spool_entries += found.skipped.size();
  stats.spool_bytes = spool->bytes();
  if (found.events > 0 || found.corrupt > 0 || found.truncated_segments > 0) {
    log(found.corrupt > 0 || found.truncated_segments > 0 ? LogLevel::kWarn : LogLevel::kInfo,
        fmt::format("spool {}: {} events recovered; {} damaged stretches ({} bytes) skipped; {} truncated "
                    "segments ({} bytes missing)",
                    spool->path(), found.events, found.corrupt, found.corrupt_bytes, found.truncated_segments,
                    found.truncated_bytes));
  }
  for (const std::string& why : found.skipped) log(LogLevel::kWarn, fmt::format("spool entry skipped: {}", why));
  return {};
}

void Tracker::Impl::log(LogLevel level, std::string_view message) const {
  if (options.logger) options.logger(level, message);
}

bool Tracker::Impl::resolved_through(std::uint64_t seq) const {
  const bool inflight_done = inflight_min_seq == 0 || inflight_min_seq > seq;
  const bool queue_done = !pending || pending->empty() || pending->front().seq > seq;
  return inflight_done && queue_done && reports_pending == 0;
}

Status Tracker::Impl::refuse(std::unique_lock<std::mutex>& lk, std::string why) {
  ++stats.dropped_queue_full;
  const bool first_unreported = unreported_queue_full++ == 0;
  lk.unlock();
  if (first_unreported) work_cv->notify_one();  // the worker reports drops to on_drop
  return Status(StatusCode::kResourceExhausted, std::move(why));
}

void Tracker::Impl::before_fork() { mu.lock(); }
void Tracker::Impl::after_fork_parent() { mu.unlock(); }

void Tracker::Impl::after_fork_child() {
  // The child has one thread: the worker does not exist here, and the parent's queue is the
  // parent's to deliver. Abandon (never destroy) what other threads may have been using.
  (void)worker.release();
  (void)work_cv.release();
  (void)space_cv.release();
  (void)done_cv.release();
  work_cv = std::make_unique<std::condition_variable>();
  space_cv = std::make_unique<std::condition_variable>();
  done_cv = std::make_unique<std::condition_variable>();
  if (spool != nullptr) {
    // The parent's spool files and committer stay the parent's; the child opens its own spool
    // (as a new owner) on its first track().
    spool->abandon_after_fork();
    (void)pending.release();
    spool = nullptr;
  } else if (pending) {  // none yet: forked again before the first track(), or during open()
    pending->forget();  // the parent's events, and the in-flight bytes of the parent's worker
  }
  inflight_min_seq = 0;
  inflight_count = 0;
  flush_through = 0;
  unreported_queue_full = 0;
  reports_pending = 0;
  blocked_producers = 0;
  stats = TrackerStats{};
  worker_exited = false;
  worker_detached = false;
  if (accepting) needs_worker.store(true, std::memory_order_relaxed);
  mu.unlock();
}

Tracker::Tracker(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tracker::Tracker(Tracker&&) noexcept = default;
Tracker& Tracker::operator=(Tracker&& other) noexcept {
  if (this != &other) {
    if (impl_) shutdown(std::chrono::seconds(5));
    impl_ = std::move(other.impl_);
  }
  return *this;
}
Tracker::~Tracker() {
  if (!impl_) return;
  shutdown(std::chrono::seconds(5));
  // A worker that shutdown() had to leave running is still inside libcurl (and OpenSSL): the
  // caller may be about to exit, and exit's cleanups (OpenSSL's atexit handler) would free what
  // it is using. It got cancel(), so it is on its way out; wait for that a bounded while more.
  // Seen with a TLS handshake under ThreadSanitizer: a crash at exit after "kept in the spool".
  constexpr std::chrono::seconds kDetachedWorkerWait{2};
  Impl& s = *impl_;
  std::unique_lock<std::mutex> lk(s.mu);
  if (s.worker_detached) s.done_cv->wait_for(lk, kDetachedWorkerWait, [&] { return s.worker_exited; });
}

Result<Tracker> Tracker::open(TrackerOptions options) {
  if (Status s = validate(options); !s.ok()) return s;
  std::shared_ptr<Transport> transport = options.transport;
  if (!transport) {
    auto curl = make_curl_transport(options.http);
    if (!curl) return curl.status();
    transport = std::move(*curl);
  }
  auto impl = std::make_shared<Impl>(std::move(options), std::move(transport));
  if (Status s = impl->open_pending(); !s.ok()) return s;
  impl->start_worker();
  return Tracker(std::move(impl));
}

Status Tracker::Impl::enqueue(Result<detail::SerializedEvent> serialized) {
  Impl& s = *this;
  if (s.needs_worker.load(std::memory_order_relaxed)) {
    // First track() in a forked child.
    std::lock_guard<std::mutex> lk(s.mu);
    if (s.needs_worker.load()) {
      if (!s.pending) {
        if (Status st = s.open_pending(); !st.ok()) return st;
      }
      s.needs_worker.store(false);
      s.start_worker();
    }
  }
  if (!serialized) return serialized.status();
  detail::QueuedEvent q;
  q.json = std::move(serialized->json);
  q.id_offset = static_cast<std::uint32_t>(serialized->message_id_at);
  q.id_size = static_cast<std::uint32_t>(serialized->message_id_size);
  q.enqueued = SteadyClock::now();

  std::unique_lock<std::mutex> lk(s.mu);
  if (!s.accepting) return Status(StatusCode::kFailedPrecondition, "the tracker is shut down");
  if (!s.pending->fits(q)) {
    if (s.options.overflow == OverflowPolicy::kDropOldest) {
      const std::size_t evicted = s.pending->evict_for(q);
      s.stats.dropped_queue_full += evicted;
      s.lost += evicted;
      s.unreported_queue_full += evicted;
    } else if (s.options.overflow == OverflowPolicy::kBlock) {
      ++s.blocked_producers;
      s.space_cv->wait_for(lk, s.options.block_timeout, [&] { return !s.accepting || s.pending->fits(q); });
      --s.blocked_producers;
      if (!s.accepting) return Status(StatusCode::kFailedPrecondition, "the tracker is shut down");
    }
    if (!s.pending->fits(q)) {
      return s.refuse(lk, s.spool ? fmt::format("spool full (max_spool_bytes {}): the endpoint is not keeping up; "
                                                "event refused",
                                                s.options.max_spool_bytes)
                                  : fmt::format("event queue full (max_queue_bytes {}): the endpoint is not keeping "
                                                "up; event dropped",
                                                s.options.max_queue_bytes));
    }
  }
  q.seq = s.next_seq;
  const bool was_empty = s.pending->empty();
  const bool was_full = s.pending->front_batch_full();
  if (Status pushed = s.pending->push(std::move(q)); !pushed.ok()) {
    return s.refuse(lk, "cannot add the event to the spool: " + pushed.message());
  }
  ++s.next_seq;
  ++s.stats.tracked;
  // Wake the worker only when it has something new to decide (a first event, a first full
  // batch), not on every event.
  const bool wake = was_empty || (!was_full && s.pending->front_batch_full());
  lk.unlock();
  if (wake) s.work_cv->notify_one();
  return {};
}

Status Tracker::track(const Event& event) {
  if (event.message_id.find_first_of("\"\\") != std::string::npos) {
    // The id is matched against server replies by its text inside the event's JSON.
    return Status(StatusCode::kInvalidArgument, "message_id must not contain '\"' or '\\'");
  }
  return impl_->enqueue(
      detail::serialize_event(event, impl_->options.clock(), &detail::write_uuid_v7, impl_->options.ip_policy));
}

Status Tracker::track(const ReferralLinkCreated& e) { return impl_->track_typed(e); }
Status Tracker::track(const ReferralLinkShared& e) { return impl_->track_typed(e); }
Status Tracker::track(const ReferralLinkClicked& e) { return impl_->track_typed(e); }
Status Tracker::track(const RefereeSignedUp& e) { return impl_->track_typed(e); }
Status Tracker::track(const OrderCompleted& e) { return impl_->track_typed(e); }
Status Tracker::track(const OrderRefunded& e) { return impl_->track_typed(e); }
Status Tracker::track(const OrderCancelled& e) { return impl_->track_typed(e); }
Status Tracker::track(const RewardIssued& e) { return impl_->track_typed(e); }

Status Tracker::flush(std::chrono::milliseconds timeout) {
  Impl& s = *impl_;
  const auto deadline = SteadyClock::now() + timeout;
  std::unique_lock<std::mutex> lk(s.mu);
  const std::uint64_t target = s.next_seq - 1;
  const std::uint64_t lost_before = s.lost;
  auto outcome = [&]() -> Status {
    const std::uint64_t lost = s.lost - lost_before;
    if (lost == 0) return {};
    return Status(StatusCode::kDataLoss,
                  fmt::format("{} events were dropped or refused by the server while flushing; see stats()", lost));
  };
  if (!s.resolved_through(target)) {
    s.flush_through = std::max(s.flush_through, target);
    s.work_cv->notify_one();
  }
  if (s.spool != nullptr && s.accepting) {
    // Durable before delivered: once flush() returns, power loss cannot take these events.
    lk.unlock();
    Status committed = s.spool->commit(deadline);
    lk.lock();
    if (!committed.ok()) return committed;
  }
  if (s.resolved_through(target)) return outcome();
  if (s.done_cv->wait_until(lk, deadline, [&] { return s.resolved_through(target); })) return outcome();
  const std::uint64_t waiting = s.pending->size() + s.inflight_count;
  return Status(StatusCode::kDeadlineExceeded,
                fmt::format("flush timed out with {} events pending{}{}", waiting,
                            s.stats.last_error.empty() ? "" : "; last error: ", s.stats.last_error));
}

ShutdownReport Tracker::shutdown(std::chrono::milliseconds timeout) {
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
    s.transport->cancel();
    lk.lock();
    const auto exit_by = std::max(deadline, SteadyClock::now() + kCancelAllowance);
    exited = s.done_cv->wait_until(lk, exit_by, [&] { return s.worker_exited; });
  }
  std::unique_ptr<std::thread> worker = std::move(s.worker);
  s.worker_detached = worker != nullptr && !exited;
  std::uint64_t undelivered = s.inflight_count;
  if (s.spool != nullptr) {
    // Its last commit can take a while (msync): not under the mutex, which stats() and the
    // worker need meanwhile. Nothing is appended any more (accepting is false).
    lk.unlock();
    s.spool->stop_committer();
    lk.lock();
  }
  // What a detached worker still holds is no longer ours; durable mode commits and keeps it all.
  if (s.pending) undelivered += s.pending->forget();
  s.inflight_count = 0;
  s.inflight_min_seq = 0;
  ShutdownReport report;
  report.undelivered = undelivered;
  report.kept_in_spool = s.spool != nullptr;
  if (!report.kept_in_spool) s.stats.dropped_shutdown += undelivered;
  if (undelivered > 0) {
    report.status = Status(StatusCode::kDeadlineExceeded,
                           fmt::format("{} events undelivered at shutdown{}{}{}{}", undelivered,
                                       report.kept_in_spool ? "; kept in the spool " : "",
                                       report.kept_in_spool ? s.options.spool_dir : std::string(),
                                       s.stats.last_error.empty() ? "" : "; last error: ", s.stats.last_error));
  }
  s.shutdown_report = report;
  lk.unlock();
  if (worker) {
    // A worker stuck in a transport that ignores cancel() is left to finish on its own; it
    // holds a reference to the state it uses, so nothing is freed under it.
    if (exited) worker->join(); else worker->detach();
  }
  if (undelivered > 0 && !report.kept_in_spool && s.options.on_drop) s.options.on_drop(DropReason::kShutdown, undelivered, report.status);
  return report;
}

TrackerStats Tracker::stats() const {
  const Impl& s = *impl_;
  std::lock_guard<std::mutex> lk(s.mu);
  TrackerStats out = s.stats;
  if (!s.pending) return out;  // a forked child before its first track()
  out.queued = s.pending->size() + s.inflight_count;
  if (s.spool != nullptr) {
    out.spool_bytes = s.pending->bytes();
  } else {
    out.queued_bytes = s.pending->bytes();
  }
  return out;
}

}  // namespace v1
}  // namespace referkit
