// The tracker's reporter: its figures (TrackerStats, in total and per lane, always updated
// together) and its callbacks (on_delivery, on_drop, on_dead_letter, logger).
//
// Every callback runs on the worker thread. Drops found on other threads (track() refusing or
// evicting an event) are counted at once and reported later by the worker (take_queue_full());
// flush() waits for reports in progress, so whoever sees a flush return has seen every report
// about its events.
//
// Not thread-safe: the counting calls need the tracker's mutex; the callback calls must be made
// without it, from the worker.
#ifndef REFERKIT_SRC_TRACKING_REPORTER_HPP
#define REFERKIT_SRC_TRACKING_REPORTER_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pending/pending_events.hpp"
#include "referkit/tracker.hpp"

namespace referkit::detail {

class Reporter {
 public:
  explicit Reporter(const TrackerOptions& options) : options_(options) {}

  // ---- counting, under the tracker's mutex
  void tracked(Lane lane);
  // Refused or evicted by the overflow policy (at track()): reported on the worker later. True
  // when no such drop was waiting to be reported before (the worker needs waking).
  bool queue_full(Lane lane, std::uint64_t n);
  // Passed over when taken: expired (reported now by the caller) or unreadable.
  void expired(Lane lane, std::uint64_t n);
  void corrupt(Lane lane, std::uint64_t n);
  void recovered(const PendingRecovery& found);
  // last_error: what the reply said (empty for a delivery); nullopt keeps the one before.
  void request(Lane lane, std::size_t events, bool retry, std::size_t raw_bytes, std::size_t sent_bytes,
               std::optional<std::string> last_error);
  // A (sub-)batch is resolved: acknowledged, refused by the server, or dropped.
  void resolved(Lane lane, std::size_t acknowledged, std::size_t dead_lettered, std::size_t unrecorded,
                std::size_t retries_exhausted);
  void dropped_at_shutdown(Lane lane, std::uint64_t n);
  void set_last_error(std::string why) { stats_.last_error = std::move(why); }
  const std::string& last_error() const { return stats_.last_error; }
  // Events lost so far (dropped or refused), for flush()'s outcome.
  std::uint64_t lost() const { return lost_; }
  // Queue-full drops not yet passed to on_drop; resets the count.
  std::uint64_t take_queue_full() { return std::exchange(unreported_queue_full_, 0); }
  bool has_queue_full() const { return unreported_queue_full_ > 0; }
  // The figures, without the per-lane storage sizes (the tracker adds those).
  const TrackerStats& stats() const { return stats_; }
  // A forked child starts with zeros.
  void reset() {
    stats_ = TrackerStats{};
    unreported_queue_full_ = 0;
  }

  // ---- callbacks, on the worker thread, without the mutex
  void on_delivery(const DeliveryReport& report) const;
  void on_drop(DropReason why, std::size_t count, const Status& status) const;
  void on_dead_letter(const DeadLetter& dead) const;
  void log(LogLevel level, std::string_view message) const;

 private:
  LaneStats& lane(Lane l) { return stats_.lane(l); }

  const TrackerOptions& options_;
  TrackerStats stats_;
  std::uint64_t lost_ = 0;
  std::uint64_t unreported_queue_full_ = 0;
};

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_TRACKING_REPORTER_HPP
