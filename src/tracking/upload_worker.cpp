// The consumer side of the tracker: one worker thread that forms batches by count, bytes and
// time, uploads them, and applies the reply table of DESIGN.md. It never holds the mutex across
// I/O, so track() is never slowed by the network.
#include <fmt/format.h>

#include <algorithm>

#include "events/uuid.hpp"
#include "referkit/webhooks.hpp"
#include "tracking/tracker_impl.hpp"
#include "transport/gzip.hpp"
#include "spool/dead_letters.hpp"

namespace referkit {
inline namespace v1 {
namespace {

using detail::Batch;
using detail::Outcome;
using detail::QueuedEvent;
using std::chrono::milliseconds;

std::uint64_t seed_from(std::uint64_t configured) {
  if (configured != 0) return configured;
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

std::string describe(const HttpResponse& r) {
  if (!r.status.ok()) return r.status.to_string();
  if (r.body.empty()) return fmt::format("HTTP {}", r.code);
  return fmt::format("HTTP {}: {}", r.code, std::string_view(r.body).substr(0, 200));
}

}  // namespace

void Tracker::Impl::start_worker() {
  worker_exited = false;
  // The thread keeps the state alive, so shutdown() may detach a worker stuck in a transport.
  worker = std::make_unique<std::thread>([self = shared_from_this()] { self->run_worker(); });
}

void Tracker::Impl::run_worker() {
  detail::Backoff backoff(options.retry, seed_from(options.random_seed));
  detail::GzipCompressor gzip(options.gzip_level);
  Lookahead ahead(options.gzip_level);
  std::unique_lock<std::mutex> lk(mu);
  for (;;) {
    if (unreported_queue_full > 0 && options.on_drop) {
      const std::uint64_t n = std::exchange(unreported_queue_full, 0);
      lk.unlock();
      options.on_drop(DropReason::kQueueFull, n, Status(StatusCode::kResourceExhausted, "event queue full"));
      lk.lock();
      continue;
    }
    unreported_queue_full = 0;
    const bool past_deadline = stopping && SteadyClock::now() >= stop_deadline;
    Batch batch;
    if (ahead.taken) {
      if (past_deadline) break;  // its events are still counted in flight: shutdown() reports them
      lk.unlock();
      ahead.thread->wait();
      batch = std::exchange(ahead.batch, Batch());
      ahead.taken = false;
    } else {
      if (stopping && (pending->empty() || past_deadline)) break;
      if (pending->empty()) {
        work_cv->wait(lk);
        continue;
      }
      if (!batch_due(SteadyClock::now())) {
        work_cv->wait_until(lk, pending->front().enqueued + options.flush_interval);
        continue;
      }
      if (!take_batch(lk, batch)) {
        work_cv->wait_for(lk, std::chrono::seconds(1));
        continue;
      }
      if (batch.events.empty()) continue;
      batch.id = detail::make_uuid_v7(options.clock());
      lk.unlock();
      pending->materialize(batch.events);
    }
    std::vector<QueuedEvent> unresolved = deliver(std::move(batch), backoff, gzip, ahead);
    lk.lock();
    if (!unresolved.empty()) break;  // shutdown deadline: shutdown() accounts for them
  }
  if (ahead.taken) {
    // Its job reads from the spool: it must be over before the worker is.
    lk.unlock();
    ahead.thread->wait();
    lk.lock();
  }
  worker_exited = true;
  done_cv->notify_all();
}

bool Tracker::Impl::batch_due(SteadyClock::time_point now) const {
  if (pending->empty()) return false;
  const detail::PendingFront front = pending->front();
  return stopping || pending->front_batch_full() || front.seq <= flush_through ||
         now >= front.enqueued + options.flush_interval;
}

bool Tracker::Impl::take_batch(std::unique_lock<std::mutex>& lk, Batch& batch) {
  detail::TakeReport passed_over;
  pending->take(batch.events, passed_over);
  if (!passed_over.error.ok()) {
    log(LogLevel::kError, fmt::format("cannot read the spool: {}; retrying in 1 s", passed_over.error.to_string()));
    stats.last_error = passed_over.error.to_string();
    return false;
  }
  stats.corrupt_records += passed_over.corrupt;
  lost += passed_over.corrupt;
  if (!batch.events.empty()) {
    if (inflight_min_seq == 0) inflight_min_seq = batch.events.front().seq;
    inflight_count += batch.events.size();
  }
  if (passed_over.expired > 0) {
    stats.dropped_expired += passed_over.expired;
    lost += passed_over.expired;
    // flush() waits for this report too: whoever sees the flush return has seen the drop.
    ++reports_pending;
    lk.unlock();
    if (options.on_drop) {
      options.on_drop(DropReason::kExpired, passed_over.expired, Status(StatusCode::kExpired, "older than max_event_age"));
    }
    lk.lock();
    --reports_pending;
    done_cv->notify_all();
  }
  return true;
}

void Tracker::Impl::prefetch(Lookahead& ahead) {
  detail::PendingEvents* events = nullptr;
  {
    std::unique_lock<std::mutex> lk(mu);
    if (stopping && SteadyClock::now() >= stop_deadline) return;
    if (!batch_due(SteadyClock::now()) || !take_batch(lk, ahead.batch) || ahead.batch.events.empty()) return;
    events = pending.get();
  }
  ahead.taken = true;
  ahead.first_seq = ahead.batch.events.front().seq;
  ahead.batch.id = detail::make_uuid_v7(options.clock());
  if (!ahead.thread) ahead.thread.emplace();
  ahead.thread->start([this, events, &ahead] {
    events->materialize(ahead.batch.events);
    ahead.batch.encoded = detail::encode_batch(ahead.batch, options.clock(), options.gzip, options.gzip_min_bytes, ahead.gzip);
  });
}

std::size_t Tracker::Impl::record_dead_letters(const Batch& batch, const std::vector<DeadLetter>& dead) {
  std::string lines;
  const TimePoint at = options.clock();
  for (const DeadLetter& d : dead) {
    for (const QueuedEvent& e : batch.events) {
      if (e.message_id() == d.message_id) detail::append_dead_letter_line(lines, at, d.message_id, d.reason, e.json);
    }
  }
  // Written before the events leave the spool, so a crash in between cannot lose them.
  if (Status s = spool->append_dead_letters(lines); !s.ok()) {
    // A full disk, say. Retrying would resend events the server refused; the messageIds and
    // reasons still reach on_dead_letter, and the loss of the record is counted and logged.
    const std::string why = fmt::format("cannot record {} dead letters in the spool: {}", dead.size(), s.to_string());
    log(LogLevel::kError, why);
    std::lock_guard<std::mutex> lk(mu);
    stats.last_error = why;
    return dead.size();
  }
  return 0;
}

bool Tracker::Impl::wait_for_retry(milliseconds wait) {
  std::unique_lock<std::mutex> lk(mu);
  if (options.sleeper) {
    if (stopping && SteadyClock::now() + wait >= stop_deadline) return false;
    lk.unlock();
    options.sleeper(wait);
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

std::vector<QueuedEvent> Tracker::Impl::deliver(Batch root, detail::Backoff& backoff,
                                                detail::GzipCompressor& gzip, Lookahead& ahead) {
  // Sub-batches still to send, the earliest on top: splitting pushes the second half first.
  std::vector<Batch> todo;
  todo.push_back(std::move(root));
  // Finishes the top sub-batch: acknowledged (minus dead letters) or dropped. Callbacks run
  // first, so a flush() that returns has seen every report about its events.
  auto resolve = [&](std::size_t acknowledged, std::vector<DeadLetter> dead, std::size_t dropped, DropReason why,
                     const Status& status) {
    const std::size_t unrecorded = spool != nullptr && !dead.empty() ? record_dead_letters(todo.back(), dead) : 0;
    for (const DeadLetter& d : dead) {
      if (options.on_dead_letter) options.on_dead_letter(d);
    }
    if (dropped > 0 && options.on_drop) options.on_drop(why, dropped, status);
    Batch done = std::move(todo.back());
    todo.pop_back();
    {
      std::lock_guard<std::mutex> lk(mu);
      if (shutdown_report) return;  // shutdown() already accounted for everything
      stats.acknowledged += acknowledged;
      stats.dead_lettered += dead.size();
      stats.dead_letters_unrecorded += unrecorded;
      if (why == DropReason::kRetriesExhausted) stats.dropped_retries_exhausted += dropped;
      lost += dead.size() + dropped;
      pending->resolved(done.events);
      inflight_count -= done.events.size();
      inflight_min_seq = !todo.empty() ? todo.back().events.front().seq : ahead.taken ? ahead.first_seq : 0;
      if (blocked_producers > 0) space_cv->notify_all();
    }
    done_cv->notify_all();
  };

  while (!todo.empty()) {
    {
      std::lock_guard<std::mutex> lk(mu);
      if (stopping && SteadyClock::now() >= stop_deadline) break;
    }
    Batch& batch = todo.back();
    ++batch.attempts;
    // A body encoded ahead is used only while its sentAt is close to the truth: the ingest side
    // corrects client clocks by comparing sentAt with when the request arrived.
    constexpr auto kMaxEncodedAge = std::chrono::seconds(1);
    detail::EncodedBody body;
    if (batch.attempts == 1 && batch.encoded && SteadyClock::now() - batch.encoded->made < kMaxEncodedAge) {
      body = std::move(*batch.encoded);
    } else {
      body = detail::encode_batch(batch, options.clock(), options.gzip, options.gzip_min_bytes, gzip);
    }
    batch.encoded.reset();
    HttpRequest request;
    request.url = url;
    request.headers = base_headers;
    request.headers.emplace_back("X-Referkit-Batch-Id", batch.id);
    request.headers.emplace_back("X-Referkit-Attempt", std::to_string(batch.attempts));
    if (body.gzipped) request.headers.emplace_back("Content-Encoding", "gzip");
    if (!options.signing_secret.empty()) {
      const auto t = std::chrono::duration_cast<std::chrono::seconds>(body.sent_at.time_since_epoch()).count();
      request.headers.emplace_back(std::string(kSignatureHeader), sign_payload(options.signing_secret, t, body.bytes));
    }
    const std::size_t raw_size = body.raw_size;
    const std::size_t sent_size = body.bytes.size();
    request.body = std::move(body.bytes);

    // The next batch is read and encoded on the side while this one is in flight.
    if (!ahead.taken) prefetch(ahead);
    const auto started = SteadyClock::now();
    HttpResponse response = transport->send(request);
    const auto took = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - started);
    const Outcome outcome = detail::classify(response);
    {
      std::lock_guard<std::mutex> lk(mu);
      ++stats.requests;
      stats.sent += batch.events.size();
      if (batch.attempts > 1) ++stats.retried;
      stats.bytes_uncompressed += raw_size;
      stats.bytes_sent += sent_size;
      stats.last_error = outcome == Outcome::kDelivered ? std::string() : describe(response);
    }

    if (outcome == Outcome::kDelivered) {
      std::vector<DeadLetter> rejected = detail::parse_rejections(response.body);
      // Only ids that are in this batch count: a confused server cannot make us lose others.
      rejected.erase(std::remove_if(rejected.begin(), rejected.end(),
                                    [&](const DeadLetter& d) {
                                      return std::none_of(batch.events.begin(), batch.events.end(),
                                                          [&](const QueuedEvent& e) { return e.message_id() == d.message_id; });
                                    }),
                     rejected.end());
      if (options.on_delivery) {
        options.on_delivery(DeliveryReport{batch.id, batch.events.size(), rejected.size(),
                                           static_cast<int>(batch.attempts), response.code});
      }
      const std::size_t acked = batch.events.size() - rejected.size();
      resolve(acked, std::move(rejected), 0, DropReason::kShutdown, {});
      continue;
    }
    if (outcome == Outcome::kSplit) {
      if (batch.events.size() == 1) {
        // The server refuses this one event: isolate it so the rest still goes.
        std::vector<DeadLetter> dead{{std::string(batch.events.front().message_id()), describe(response)}};
        log(LogLevel::kWarn, fmt::format("event {} dead-lettered: {}", dead.front().message_id, dead.front().reason));
        resolve(0, std::move(dead), 0, DropReason::kShutdown, {});
        continue;
      }
      Batch first;
      Batch second;
      const auto half = static_cast<std::ptrdiff_t>(batch.events.size() / 2);
      first.events.assign(std::make_move_iterator(batch.events.begin()), std::make_move_iterator(batch.events.begin() + half));
      second.events.assign(std::make_move_iterator(batch.events.begin() + half), std::make_move_iterator(batch.events.end()));
      // New sets of events get new ids: a batch id always names the same events.
      first.id = detail::make_uuid_v7(options.clock());
      second.id = detail::make_uuid_v7(options.clock());
      todo.pop_back();
      todo.push_back(std::move(second));
      todo.push_back(std::move(first));
      continue;
    }

    // No delivery: wait, then try the same batch again (same id, same messageIds).
    std::optional<milliseconds> retry_after;
    if (response.retry_after) retry_after = detail::parse_retry_after(*response.retry_after, options.clock());
    milliseconds wait;
    if (outcome == Outcome::kHold) {
      wait = options.retry.auth_backoff;
      log(LogLevel::kError, fmt::format("ingest API refused the upload ({}); keeping events and retrying", describe(response)));
    } else {
      if (outcome == Outcome::kThrottled && !retry_after) retry_after = options.retry.initial_backoff;
      wait = backoff.delay(batch.attempts - 1, retry_after);
      batch.retry_elapsed += took + wait;
      // Durable mode keeps retrying: its events are bounded by max_event_age and the spool size.
      const auto cap = spool != nullptr ? milliseconds(0) : options.retry.max_retry_duration;
      if (cap.count() > 0 && batch.retry_elapsed > cap) {
        const std::size_t n = batch.events.size();
        log(LogLevel::kError, fmt::format("dropping {} events after retrying for {} ms: {}", n,
                                          batch.retry_elapsed.count(), describe(response)));
        resolve(0, {}, n, DropReason::kRetriesExhausted,
                Status(StatusCode::kUnavailable, "retries exhausted: " + describe(response)));
        continue;
      }
    }
    if (!wait_for_retry(wait)) break;  // the shutdown deadline comes first
  }
  std::vector<QueuedEvent> unresolved;
  for (Batch& b : todo) {
    for (QueuedEvent& e : b.events) unresolved.push_back(std::move(e));
  }
  return unresolved;
}

}  // namespace v1
}  // namespace referkit
