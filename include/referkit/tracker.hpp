// The tracker: track() validates, serializes and enqueues an event without I/O; one background
// worker batches, compresses and uploads to the ingest API (Segment-compatible POST /v1/batch),
// retrying what can be retried, and reports everything it could not deliver.
//
// Durable mode (spool_dir set): every accepted event is kept in a spool on local disk until the
// ingest API acknowledges it, so an outage, a restart, kill -9 or (after the group commit) power
// loss loses nothing; the next tracker opened on the directory delivers what is left. See
// referkit/spool.hpp to inspect a spool without opening a tracker.
//
// Fork: a child process gets a working tracker (a new worker starts on its first track()) with
// an empty queue, so it never resends the parent's events; the parent carries on unaffected.
#ifndef REFERKIT_TRACKER_HPP
#define REFERKIT_TRACKER_HPP

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "referkit/events.hpp"
#include "referkit/export.hpp"
#include "referkit/status.hpp"
#include "referkit/transport.hpp"

namespace referkit {
inline namespace v1 {

// What track() does when max_queue_bytes is reached.
enum class OverflowPolicy {
  kDropNewest,  // refuse the new event: track() returns kResourceExhausted (default)
  kDropOldest,  // evict the oldest queued events to make room; track() returns OK
  kBlock,       // wait up to block_timeout for room, then refuse like kDropNewest
};

enum class DropReason {
  kQueueFull,         // refused or evicted by the overflow policy
  kRetriesExhausted,  // max_retry_duration passed without a delivery
  kShutdown,          // still queued when shutdown() gave up (memory mode)
  kExpired,           // older than max_event_age when its turn to be sent came (durable mode)
};

REFERKIT_EXPORT std::string_view to_string(DropReason reason) noexcept;

// One lane's share of the queue (memory mode) and of the spool (durable mode), and whether its
// uploads start paused.
// Thread safety: a plain value, with no synchronization of its own.
struct LaneBudget {
  std::size_t max_queue_bytes = 16u << 20;       // serialized events held in memory, in flight included
  std::uint64_t max_spool_bytes = 512ull << 20;  // segments holding events; plus a spare and a kept file
  // Open with this lane's uploads paused, as if pause(lane) had been called before the worker
  // started: what a spool holds for the lane stays there until resume(lane). (A pause() right
  // after open() races the worker, which may already have taken a recovered batch.)
  bool start_paused = false;
};

// Thread safety: a plain value, with no synchronization of its own.
struct RetryPolicy {
  // Backoff before retry n is uniform in [0, min(max_backoff, initial_backoff * 2^n)] (full
  // jitter), and never less than a server's Retry-After (clamped to max_retry_after).
  std::chrono::milliseconds initial_backoff{250};
  std::chrono::milliseconds max_backoff{30'000};
  std::chrono::milliseconds max_retry_after{300'000};
  // A batch still undelivered this long after its first attempt is dropped (counted, reported).
  // Zero retries forever. Credential failures (401/403) never count against it. Durable mode
  // ignores it: spooled events wait out any outage, bounded by max_event_age and max_spool_bytes.
  std::chrono::milliseconds max_retry_duration{std::chrono::minutes(30)};
  // The wait between attempts while the server refuses our credentials.
  std::chrono::milliseconds auth_backoff{60'000};
};

// One lane's share of the figures (see Lane).
// Thread safety: a plain value, with no synchronization of its own.
struct LaneStats {
  std::uint64_t tracked = 0;       // accepted by track()
  std::uint64_t queued = 0;        // waiting or in flight, not yet resolved
  std::uint64_t queued_bytes = 0;  // memory mode: against max_queue_bytes
  std::uint64_t spool_bytes = 0;   // durable mode: against max_spool_bytes
  std::uint64_t acknowledged = 0;
  std::uint64_t dead_lettered = 0;
  std::uint64_t dropped = 0;       // every DropReason
  std::uint64_t retried = 0;       // requests of this lane repeated after a failure
  bool paused = false;
};

// Thread safety: a plain value, with no synchronization of its own.
struct TrackerStats {
  std::uint64_t tracked = 0;       // accepted by track()
  std::uint64_t queued = 0;        // waiting or in flight, not yet resolved
  std::uint64_t queued_bytes = 0;
  std::uint64_t sent = 0;          // events sent in requests, retries included
  std::uint64_t acknowledged = 0;  // confirmed by a 2xx
  std::uint64_t retried = 0;       // requests repeated after a failure
  std::uint64_t requests = 0;      // HTTP requests made
  std::uint64_t dead_lettered = 0; // refused by the server (per-event rejection or 400), not retried
  std::uint64_t dead_letters_unrecorded = 0;  // durable mode: of those, not written to the dead-letter
                                              // file (a full disk); logged, and on_dead_letter had them
  std::uint64_t dropped_queue_full = 0;
  std::uint64_t dropped_retries_exhausted = 0;
  std::uint64_t dropped_shutdown = 0;
  std::uint64_t dropped_expired = 0;
  // Durable mode.
  std::uint64_t recovered = 0;       // pending events found in the spool at open()
  std::uint64_t spool_bytes = 0;     // disk space the spool's segments take now
  std::uint64_t corrupt_records = 0; // damaged stretches skipped (found at open() or while reading)
  std::uint64_t corrupt_bytes = 0;   // the bytes those stretches span: how much was lost to damage
  std::uint64_t truncated_segments = 0;  // segment files found cut short: what is missing may have held events
  std::uint64_t truncated_bytes = 0;     // how much is missing from them (where the header says)
  std::uint64_t skipped_spool_entries = 0;  // entries named like segments left alone (not regular
                                            // files of this user, unreadable...); logged, each with why
  std::uint64_t bytes_uncompressed = 0;  // request bodies before gzip
  std::uint64_t bytes_sent = 0;          // request bodies as sent
  std::string last_error;                // empty when the last request succeeded
  // The same figures per lane, indexed by Lane.
  LaneStats lanes[kLaneCount];

  std::uint64_t dropped() const noexcept {
    return dropped_queue_full + dropped_retries_exhausted + dropped_shutdown + dropped_expired;
  }
  const LaneStats& lane(Lane l) const noexcept { return lanes[static_cast<std::size_t>(l)]; }
  LaneStats& lane(Lane l) noexcept { return lanes[static_cast<std::size_t>(l)]; }
};

// One per request that got a 2xx.
// Thread safety: a plain value, with no synchronization of its own.
struct DeliveryReport {
  std::string batch_id;
  std::size_t events = 0;
  std::size_t rejected = 0;  // per-event rejections in the reply (dead-lettered)
  int attempt = 0;
  int http_status = 0;
};

// An event the server refused, with its reason; it is counted and not retried.
// Thread safety: a plain value, with no synchronization of its own.
struct DeadLetter {
  std::string message_id;
  std::string reason;
};

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// Thread safety: a plain value, with no synchronization of its own.
struct TrackerOptions {
  std::string endpoint;        // "https://ingest.example.com": requests go to {endpoint}/v1/batch
  std::string write_key;       // sent as HTTP Basic user name
  std::string signing_secret;  // when set, every body is signed (X-Referkit-Signature)

  std::size_t max_batch_events = 500;      // at most 2,500 (the API's limit)
  std::size_t max_batch_bytes = 500'000;   // uncompressed; at most 500,000 (the API's limit)
  std::chrono::milliseconds flush_interval{1'000};  // a partial batch waits at most this long

  // Each lane's budget (see Lane): a flood in one lane never takes the other's room.
  LaneBudget conversions;
  LaneBudget engagement;
  LaneBudget& budget(Lane lane) noexcept { return lane == Lane::kConversions ? conversions : engagement; }
  const LaneBudget& budget(Lane lane) const noexcept {
    return lane == Lane::kConversions ? conversions : engagement;
  }
  OverflowPolicy overflow = OverflowPolicy::kDropNewest;
  std::chrono::milliseconds block_timeout{100};  // kBlock only

  bool gzip = true;
  std::size_t gzip_min_bytes = 1024;  // smaller bodies go uncompressed
  int gzip_level = 1;                 // gzip (DEFLATE) level 1-9; 1 keeps the worker cheap at peak

  // Durable mode: a directory (created 0700 if its parent exists) for the spool, with one
  // sub-directory per lane (conversions/, engagement/). Events then count against each lane's
  // max_spool_bytes instead of max_queue_bytes; kDropOldest acts as kDropNewest there, because
  // the spool never discards an accepted event to make room.
  std::string spool_dir;
  // 64 KiB - 1 GiB; the spool grows and shrinks by these. Each lane's spool also keeps one spare
  // file of this size ready, from the moment it opens, so that no track() waits for a file.
  std::size_t spool_segment_bytes = 4u << 20;
  // How often appended events are made durable against power loss (fsync), at most.
  std::chrono::milliseconds spool_commit_interval{50};
  // Events older than this when their turn comes are dropped (DropReason::kExpired). Zero: never.
  // The age is checked on the boot clock too, so a wall-clock step expires nothing; after a
  // reboot, events left from before it are never expired (they may be resent instead).
  std::chrono::milliseconds max_event_age{std::chrono::hours(24 * 7)};

  // context.ip of every event (typed events' RequestContext::ip, or an Event's context "ip"):
  // truncated to its network (/24, /48) by default, kept, or dropped. With kTruncate an ip that
  // is not an address is refused at track() rather than sent whole.
  IpPolicy ip_policy = IpPolicy::kTruncate;

  // The nice value, 0-19, of the tracker's own threads: the upload worker and its encoder, and in
  // durable mode each lane's spool committer and preparer (Linux sets it per thread: the
  // application's threads keep theirs). Above 0 they give way to the threads that call track()
  // when the CPU is short, so uploads, encoding and write-back do not preempt a checkout; in
  // exchange, events wait longer while the CPU is busy (within their lane's budgets). 0 leaves
  // them at the process's own. Whatever the value, those threads run under SCHED_BATCH (unless
  // they inherit another policy than the default, which they keep): they keep their share of
  // the CPU but never preempt a running thread when they wake (they run at the next scheduler
  // tick, or at once on an idle core).
  int background_nice = 0;

  HttpOptions http;
  RetryPolicy retry;
  std::string user_agent_suffix;  // appended to "referkit-cpp/<version>"

  // Every callback runs on the tracker's worker thread, one at a time, never on a thread calling
  // track(), flush() or shutdown(). Keep them quick and never call back into the tracker. The
  // one exception to delivery: when shutdown() has to leave a stuck worker behind, what it could
  // not deliver is reported in its ShutdownReport only.
  std::function<void(const DeliveryReport&)> on_delivery;
  std::function<void(DropReason, std::size_t count, const Status& why)> on_drop;
  // Durable mode also appends each one, with its event, to <spool_dir>/dead-letters.jsonl.
  std::function<void(const DeadLetter&)> on_dead_letter;
  // The library prints nothing by itself; this receives its diagnostics. Called from the
  // worker thread and, for problems found at open(), from the thread calling open().
  std::function<void(LogLevel, std::string_view)> logger;

  // The clocks, the sleeper, the random seed and the transport can be replaced in tests only,
  // through referkit/testing.hpp: production options carry no test seams.
};

// What shutdown() could not deliver.
// Thread safety: a plain value, with no synchronization of its own.
struct ShutdownReport {
  Status status;  // OK when everything tracked was delivered or dead-lettered
  std::uint64_t undelivered = 0;
  bool kept_in_spool = false;  // durable mode: the undelivered events wait on disk for the next start
};

class Tracker;
namespace testing {
struct TrackerSeams;
// Declared in referkit/testing.hpp, for tests only.
REFERKIT_EXPORT Result<Tracker> open_tracker(TrackerOptions options, TrackerSeams seams);
}  // namespace testing

// Thread safety: every member function may be called from any number of threads at once, and
// from a forked child (see above). A moved-from Tracker is safe to call: its calls return
// kFailedPrecondition (shutdown() a report saying so; stats() zeros).
class REFERKIT_EXPORT Tracker {
 public:
  // Validates the options (kInvalidArgument names the bad one), opens the spool in durable mode
  // (recovering what earlier runs left: kPermissionDenied, kFailedPrecondition for a spool of a
  // newer format, each naming the path) and starts the worker. No segment is reserved until the
  // first event, so a full disk shows at track() (kResourceExhausted), and a tracker that only
  // delivers what is in the spool works on a full disk.
  [[nodiscard]] static Result<Tracker> open(TrackerOptions options);

  Tracker(Tracker&&) noexcept;
  Tracker& operator=(Tracker&&) noexcept;
  Tracker(const Tracker&) = delete;
  Tracker& operator=(const Tracker&) = delete;
  // Calls shutdown(5 s) if the caller did not. If shutdown() had to leave the worker running (a
  // transport slow to honour cancel()), waits up to 2 s more for it to leave the transport, so
  // that it is not inside libcurl or OpenSSL when the process exits.
  ~Tracker();

  // Validates, serializes and enqueues. Never does network I/O or fsync; never blocks unless the
  // overflow policy is kBlock. kInvalidArgument for a bad event (invalid UTF-8, no user id, too
  // big...), kResourceExhausted when the queue or spool is full (or the disk is), kFailedPrecondition
  // after shutdown. In durable mode an OK means the event is in the spool.
  [[nodiscard]] Status track(const Event& event);
  // The typed referral events: the same as track(to_event(e).value()), with to_event()'s errors,
  // but written straight to JSON without building an Event first (several times faster).
  [[nodiscard]] Status track(const ReferralLinkCreated& e);
  [[nodiscard]] Status track(const ReferralLinkShared& e);
  [[nodiscard]] Status track(const ReferralLinkClicked& e);
  [[nodiscard]] Status track(const RefereeSignedUp& e);
  [[nodiscard]] Status track(const OrderCompleted& e);
  [[nodiscard]] Status track(const OrderRefunded& e);
  [[nodiscard]] Status track(const OrderCancelled& e);
  [[nodiscard]] Status track(const RewardIssued& e);

  // One Segment-style event given as JSON text (from another language, a file, a Segment
  // library), validated as track(Event) validates it: one JSON object and nothing after it,
  // UTF-8, "type" track (the default), identify, or Segment's page, screen, group and alias, the
  // required fields and their limits, the 32 KiB limit. Sent byte for byte, except that a missing
  // "messageId" and "timestamp" are added and context.ip follows ip_policy. kMalformed for text that is not JSON, kInvalidArgument
  // naming the field otherwise. Its lane is the one its name gives ("Order Completed" and the
  // other typed conversions' names are conversions, any other name engagement), or `lane`.
  [[nodiscard]] Status track_json(std::string_view json);
  [[nodiscard]] Status track_json(std::string_view json, Lane lane);

  // Waits until every event tracked before the call is resolved, and says whether it was
  // delivered: OK when all were acknowledged; kDataLoss when events were dropped or refused by
  // the server while it waited (stats() and the callbacks say which); kDeadlineExceeded when the
  // timeout passed first. Never waits longer than the timeout. In durable mode the events are
  // committed to disk (safe from power loss) before it waits for delivery.
  // Events of a paused lane are not waited for: flush() then returns as soon as the other lanes
  // are done, with kFailedPrecondition naming the paused lane and how many of its events wait.
  [[nodiscard]] Status flush(std::chrono::milliseconds timeout);

  // Durable mode: waits until every event tracked before the call is on disk (the group commit
  // that covers it has completed), so power loss cannot take it; delivery is not waited for.
  // OK at once in memory mode. kDeadlineExceeded when the timeout passes first, kFailedPrecondition
  // after shutdown, or the disk's error. The sidecar's --durable-ack answers only after it.
  [[nodiscard]] Status commit(std::chrono::milliseconds timeout);

  // Stops (pause) and restarts (resume) the uploads of one lane, for an emergency on the
  // platform's side. A paused lane still accepts events into its budget (and its spool in
  // durable mode); a batch of it already in flight finishes. Both return at once.
  void pause(Lane lane);
  void resume(Lane lane);

  // Stops accepting events, sends what it can within the timeout, cancels what is in flight,
  // and stops the worker. Bounded by the timeout even when the server never answers; a timeout
  // under 200 ms (0 included: cancel at once) may be exceeded by at most 50 ms, the time a
  // cancelled transfer gets to stop. Durable mode commits and keeps what is undelivered in the
  // spool (not counted as dropped). To bound flush() and shutdown() together, give shutdown()
  // what is left of the flush's budget, not a fresh one.
  ShutdownReport shutdown(std::chrono::milliseconds timeout);

  [[nodiscard]] TrackerStats stats() const;

 private:
  struct Impl;
  explicit Tracker(std::shared_ptr<Impl> impl);
  friend Result<Tracker> testing::open_tracker(TrackerOptions options, testing::TrackerSeams seams);
  std::shared_ptr<Impl> impl_;
};

}  // namespace v1
}  // namespace referkit

#endif  // REFERKIT_TRACKER_HPP
