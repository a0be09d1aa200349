// The worker: one thread that asks the lanes which batch is due (conversions first), has the
// batch source take it and the uploader send it, and resolves the outcome: acknowledged,
// dead-lettered, split, retried after a backoff, or dropped. It never holds the mutex across I/O,
// so track() is never slowed by the network, and it is the one thread that runs callbacks.
//
// Encoding (the batch's JSON, then gzip) is most of the CPU an event costs after track(), more
// than one thread keeps up with in a flood (~880 us per 500-event body at gzip level 1 on the
// build machine). So while a request is in flight the next batch is encoded ahead on a side
// thread, and while that is still at it, the worker encodes the batch after it itself: two
// cores encode. Each lane's batches still go, and resolve, in the order taken.
#include <fmt/format.h>

#include "common/background_thread.hpp"
#include "tracking/batch_source.hpp"
#include "tracking/tracker_impl.hpp"
#include "tracking/uploader.hpp"

namespace referkit {
inline namespace v1 {

using detail::Batch;
using detail::Outcome;
using detail::QueuedEvent;
using std::chrono::milliseconds;

namespace {

// Of the batches taken ahead or beside, the one to send now: not in a paused lane, not outranked
// by a lane that has a batch due, the earliest of its lane (a lane resolves its batches in
// order), conversions first. nullopt when none may go yet: priority and pause hold until the
// moment a batch is sent.
std::optional<std::size_t> pick_ready(const std::vector<Batch>& ready, const detail::Lanes& lanes,
                                      std::optional<Lane> due) {
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < ready.size(); ++i) {
    const Batch& b = ready[i];
    if (lanes[b.lane].paused || (due && detail::Lanes::outranks(*due, b.lane))) continue;
    if (best) {
      const Batch& o = ready[*best];
      const bool before = o.lane == b.lane ? b.events.front().seq < o.events.front().seq
                                           : detail::Lanes::outranks(b.lane, o.lane);
      if (!before) continue;
    }
    best = i;
  }
  return best;
}

// The first event of each batch still in flight besides the one being delivered.
std::vector<detail::InFlight> others_in_flight(const detail::BatchSource& source, const std::vector<Batch>& ready) {
  std::vector<detail::InFlight> others;
  if (source.has_ahead()) others.push_back({source.ahead_lane(), source.ahead_first_seq()});
  for (const Batch& b : ready) others.push_back({b.lane, b.events.front().seq});
  return others;
}

}  // namespace

void Tracker::Impl::start_worker() {
  worker_exited = false;
  // The thread keeps the state alive, so shutdown() may detach a worker stuck in a transport.
  worker = std::make_unique<std::thread>([self = shared_from_this()] { self->run_worker(); });
}

void Tracker::Impl::run_worker() {
  detail::become_background_thread("rk-worker", options.background_nice);
  open_staged_lanes();
  detail::Uploader uploader(options, seams, seams.transport);
  detail::BatchSource source(options, seams);
  // Taken ahead or beside and encoded, waiting for their turn (two at most).
  std::vector<Batch> ready;
  std::unique_lock<std::mutex> lk(mu);
  for (;;) {
    if (reporter.has_queue_full()) {
      const std::uint64_t n = reporter.take_queue_full();
      lk.unlock();
      reporter.on_drop(DropReason::kQueueFull, n, Status(StatusCode::kResourceExhausted, "event queue full"));
      lk.lock();
      continue;
    }
    if (source.has_ahead()) {
      if (ready.empty()) encode_beside(lk, source, ready);
      lk.unlock();
      ready.push_back(source.finish_ahead());
      lk.lock();
    }
    Batch batch;
    bool have = false;
    const detail::SteadyTime now = seams.steady_clock();
    const std::optional<Lane> due = lanes.due(now, due_policy());
    if (!ready.empty()) {
      if (past_stop_deadline()) break;  // their events still count in flight: reported at shutdown
      if (const std::optional<std::size_t> i = pick_ready(ready, lanes, due)) {
        batch = std::move(ready[*i]);
        ready.erase(ready.begin() + static_cast<std::ptrdiff_t>(*i));
        have = true;
        lk.unlock();
      }
    }
    if (!have) {
      if (stopping && (lanes.idle() || past_stop_deadline())) break;
      if (!due) {
        const std::optional<detail::SteadyTime> next = lanes.next_due(due_policy());
        if (next) {
          work_cv->wait_for(lk, *next - now);
        } else {
          work_cv->wait(lk);
        }
        continue;
      }
      const detail::TakeReport report = source.take(lanes, *due, batch);
      if (report.prepare_first) {
        detail::PendingEvents& storage = *lanes[*due].events;  // replaced only by this thread
        lk.unlock();
        storage.prepare_take();
        lk.lock();
        continue;
      }
      if (!report.error.ok()) {
        reporter.set_last_error(report.error.to_string());
        lk.unlock();  // the logger may call stats()
        reporter.log(LogLevel::kError,
                     fmt::format("cannot read the spool: {}; retrying in 1 s", report.error.to_string()));
        lk.lock();
        work_cv->wait_for(lk, std::chrono::seconds(1));
        continue;
      }
      report_passed_over(lk, *due, report);
      if (batch.events.empty()) continue;
      detail::PendingEvents& storage = *lanes[*due].events;
      lk.unlock();
      detail::BatchSource::materialize(storage, batch);
    }
    // The next batch is taken and encoded on the side while this one is in flight (none while
    // batches taken earlier wait their turn).
    if (!source.has_ahead() && ready.empty()) look_ahead(source);
    const bool resolved = deliver(std::move(batch), uploader, others_in_flight(source, ready));
    lk.lock();
    if (!resolved) break;  // the shutdown deadline: shutdown() counts what is left
  }
  if (source.has_ahead()) {
    // Its job reads from the storage: it must be over before the worker is. Its events stay in
    // flight, and are counted at shutdown with the rest.
    lk.unlock();
    (void)source.finish_ahead();
    lk.lock();
  }
  if (stopping) finish_at_shutdown(lk);
  worker_exited = true;
  done_cv->notify_all();
}

void Tracker::Impl::report_passed_over(std::unique_lock<std::mutex>& lk, Lane lane, const detail::TakeReport& report) {
  if (report.corrupt > 0) reporter.corrupt(lane, report.corrupt);
  if (report.expired == 0) return;
  reporter.expired(lane, report.expired);
  // flush() waits for this report too: whoever sees the flush return has seen the drop.
  ++reports_pending;
  lk.unlock();
  reporter.on_drop(DropReason::kExpired, report.expired, Status(StatusCode::kExpired, "older than max_event_age"));
  lk.lock();
  --reports_pending;
  done_cv->notify_all();
}

Batch Tracker::Impl::take_to_encode(std::unique_lock<std::mutex>& lk, detail::BatchSource& source, bool beside) {
  // A spool asks for preparation twice at most before it hands out a batch: a segment to map,
  // then its records to read, each without the mutex.
  for (int round = 0; round < 3; ++round) {
    // Beside only while the side thread is still at it: a batch it has finished goes first.
    if (past_stop_deadline() || (beside && !source.ahead_busy())) return {};
    const std::optional<Lane> lane = lanes.due(seams.steady_clock(), due_policy());
    if (!lane) return {};
    Batch batch;
    const detail::TakeReport report = source.take(lanes, *lane, batch);
    if (report.prepare_first) {
      detail::PendingEvents& storage = *lanes[*lane].events;  // replaced only by this thread
      lk.unlock();
      storage.prepare_take();
      lk.lock();
      continue;
    }
    if (!report.error.ok()) return {};  // the main loop meets the error again and reports it
    report_passed_over(lk, *lane, report);
    return batch;
  }
  return {};
}

void Tracker::Impl::look_ahead(detail::BatchSource& source) {
  std::unique_lock<std::mutex> lk(mu);
  Batch batch = take_to_encode(lk, source, false);
  if (batch.events.empty()) return;
  detail::PendingEvents& storage = *lanes[batch.lane].events;
  lk.unlock();
  source.start_ahead(storage, std::move(batch));
}

void Tracker::Impl::encode_beside(std::unique_lock<std::mutex>& lk, detail::BatchSource& source,
                                  std::vector<Batch>& ready) {
  Batch batch = take_to_encode(lk, source, true);
  if (batch.events.empty()) return;
  detail::PendingEvents& storage = *lanes[batch.lane].events;
  lk.unlock();
  source.encode_beside(storage, batch);
  lk.lock();
  ready.push_back(std::move(batch));
}

bool Tracker::Impl::wait_for_retry(milliseconds wait) {
  std::unique_lock<std::mutex> lk(mu);
  if (seams.sleeper) {
    if (stopping && SteadyClock::now() + wait >= stop_deadline) return false;
    lk.unlock();
    seams.sleeper(wait);
    return true;
  }
  const auto wake_at = SteadyClock::now() + wait;
  // Woken early by shutdown() (or a producer): re-check whether the wait still fits.
  while (SteadyClock::now() < wake_at) {
    if (stopping && wake_at >= stop_deadline) return false;
    work_cv->wait_until(lk, wake_at);
  }
  return true;
}

bool Tracker::Impl::deliver(Batch root, detail::Uploader& uploader, const std::vector<detail::InFlight>& others) {
  const Lane lane = root.lane;
  detail::PendingEvents* storage = nullptr;
  {
    std::lock_guard<std::mutex> lk(mu);
    storage = lanes[lane].events.get();
  }
  const milliseconds retry_cap = storage->retry_cap(options.retry.max_retry_duration);
  // Sub-batches still to send, the earliest on top: splitting pushes the second half first.
  std::vector<Batch> todo;
  todo.push_back(std::move(root));
  // Finishes the top sub-batch: acknowledged (minus dead letters) or dropped. Callbacks run
  // first, so a flush() that returns has seen every report about its events.
  auto resolve = [&](std::size_t acknowledged, std::vector<DeadLetter> dead, std::size_t dropped, const Status& why) {
    std::size_t unrecorded = 0;
    if (!dead.empty()) {
      std::vector<detail::RefusedEvent> refused;
      for (const DeadLetter& d : dead) {
        for (const QueuedEvent& e : todo.back().events) {
          if (e.message_id() == d.message_id) refused.push_back({d.message_id, d.reason, e.json});
        }
      }
      // Recorded before the events are resolved, so a crash in between cannot lose them.
      if (Status s = storage->record_refused(refused, seams.wall_clock()); !s.ok()) {
        // A full disk, say. Retrying would resend events the server refused; the messageIds and
        // reasons still reach on_dead_letter, and the loss of the record is counted and logged.
        unrecorded = dead.size();
        const std::string msg = fmt::format("cannot record {} dead letters: {}", dead.size(), s.to_string());
        reporter.log(LogLevel::kError, msg);
        std::lock_guard<std::mutex> lk(mu);
        reporter.set_last_error(msg);
      }
    }
    for (const DeadLetter& d : dead) reporter.on_dead_letter(d);
    reporter.on_drop(DropReason::kRetriesExhausted, dropped, why);
    Batch done = std::move(todo.back());
    todo.pop_back();
    {
      std::lock_guard<std::mutex> lk(mu);
      if (lanes_closed) return;  // shutdown() let go of the storage and counted everything
      reporter.resolved(lane, acknowledged, dead.size(), unrecorded, dropped);
      storage->resolved(done.events);
      detail::LaneSlot& slot = lanes[lane];
      slot.inflight_count -= done.events.size();
      // The lane's next unresolved event: the rest of this batch, or the earliest of its batches
      // taken since (they follow this one).
      std::uint64_t next = 0;
      for (const detail::InFlight& o : others) {
        if (o.lane == lane && (next == 0 || o.first_seq < next)) next = o.first_seq;
      }
      slot.inflight_min_seq = !todo.empty() ? todo.back().events.front().seq : next;
      // Last, as it may empty done.events: the memory queue lends their strings to track().
      storage->recycle(done.events);
      if (blocked_producers > 0) space_cv->notify_all();
    }
    done_cv->notify_all();
  };

  while (!todo.empty()) {
    {
      std::lock_guard<std::mutex> lk(mu);
      if (past_stop_deadline()) break;
    }
    Batch& batch = todo.back();
    detail::UploadOutcome result = uploader.send(batch);
    {
      std::lock_guard<std::mutex> lk(mu);
      reporter.request(lane, batch.events.size(), batch.attempts > 1, result.raw_bytes, result.sent_bytes,
                       result.cancelled ? std::nullopt : std::optional<std::string>(result.error));
    }

    if (result.outcome == Outcome::kDelivered) {
      reporter.on_delivery(DeliveryReport{batch.id, batch.events.size(), result.rejected.size(),
                                          static_cast<int>(batch.attempts), result.http_status});
      const std::size_t acked = batch.events.size() - result.rejected.size();
      resolve(acked, std::move(result.rejected), 0, {});
      continue;
    }
    if (result.outcome == Outcome::kSplit) {
      if (batch.events.size() == 1) {
        // The server refuses this one event: isolate it so the rest still goes.
        std::vector<DeadLetter> dead{{std::string(batch.events.front().message_id()), result.error}};
        reporter.log(LogLevel::kWarn, fmt::format("event {} dead-lettered: {}", dead.front().message_id, result.error));
        resolve(0, std::move(dead), 0, {});
        continue;
      }
      Batch first;
      Batch second;
      first.lane = second.lane = lane;
      const auto half = static_cast<std::ptrdiff_t>(batch.events.size() / 2);
      first.events.assign(std::make_move_iterator(batch.events.begin()), std::make_move_iterator(batch.events.begin() + half));
      second.events.assign(std::make_move_iterator(batch.events.begin() + half), std::make_move_iterator(batch.events.end()));
      // New sets of events get new ids: a batch id always names the same events.
      first.id = detail::make_uuid_v7(seams.wall_clock());
      second.id = detail::make_uuid_v7(seams.wall_clock());
      todo.pop_back();
      todo.push_back(std::move(second));
      todo.push_back(std::move(first));
      continue;
    }

    // No delivery: wait, then try the same batch again (same id, same messageIds).
    if (result.outcome == Outcome::kHold) {
      reporter.log(LogLevel::kError,
                   fmt::format("ingest API refused the upload ({}); keeping events and retrying", result.error));
    } else {
      batch.retry_elapsed += result.took + result.wait;
      if (retry_cap.count() > 0 && batch.retry_elapsed > retry_cap) {
        const std::size_t n = batch.events.size();
        reporter.log(LogLevel::kError, fmt::format("dropping {} events after retrying for {} ms: {}", n,
                                                   batch.retry_elapsed.count(), result.error));
        resolve(0, {}, n, Status(StatusCode::kUnavailable, "retries exhausted: " + result.error));
        continue;
      }
    }
    if (!wait_for_retry(result.wait)) break;  // the shutdown deadline comes first
  }
  return todo.empty();
}

void Tracker::Impl::finish_at_shutdown(std::unique_lock<std::mutex>& lk) {
  const std::uint64_t dropped = count_left_at_shutdown();
  if (dropped == 0) return;
  const Status why = shutdown_status();
  lk.unlock();
  reporter.on_drop(DropReason::kShutdown, dropped, why);
  lk.lock();
}

}  // namespace v1
}  // namespace referkit
