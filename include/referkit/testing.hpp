// Test seams for the tracker: replace its clocks, its backoff sleeper, its random seed and its
// transport. For tests only; production code opens trackers with Tracker::open(), whose options
// carry no seams.
//
// The clocks reach everything the tracker and its spool read: with all three replaced, a test
// can make events old, batches due and backoff pass without sleeping. Waits with a deadline
// (flush(), shutdown(), block_timeout) still measure real time: they are promises to the caller.
#ifndef REFERKIT_TESTING_HPP
#define REFERKIT_TESTING_HPP

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "referkit/export.hpp"
#include "referkit/status.hpp"
#include "referkit/time.hpp"
#include "referkit/tracker.hpp"
#include "referkit/transport.hpp"

namespace referkit {
inline namespace v1 {
namespace testing {

// Thread safety: a plain struct. The functions it holds are called from the tracker's threads
// (the caller's, the worker, the side thread), so they must be safe to call from any thread.
struct TrackerSeams {
  // Unset means libcurl with TrackerOptions::http.
  std::shared_ptr<Transport> transport;
  // Wall clock: event timestamps, sentAt, batch ids and the spool's event ages.
  std::function<TimePoint()> wall_clock;
  // Monotonic clock: when events were queued (flush_interval), how long retries took, how fresh
  // a body encoded ahead is.
  std::function<std::chrono::steady_clock::time_point()> steady_clock;
  // Time since boot, as the spool's expiry reads it (a wall-clock step never moves it).
  std::function<std::chrono::milliseconds()> boot_clock;
  // Backoff waits, instead of a timed wait.
  std::function<void(std::chrono::milliseconds)> sleeper;
  // Jitter; 0 seeds from the OS.
  std::uint64_t random_seed = 0;
};

// Tracker::open() with seams: the same checks, the same tracker.
REFERKIT_EXPORT Result<Tracker> open_tracker(TrackerOptions options, TrackerSeams seams);

}  // namespace testing
}  // namespace v1
}  // namespace referkit

#endif  // REFERKIT_TESTING_HPP
