// GET /metrics of `referkit serve`: the tracker's figures per lane and the intake counters, in
// Prometheus' text exposition format (version 0.0.4), so any scraper reads them as they are.
#ifndef REFERKIT_EXAMPLES_CLI_SIDECAR_METRICS_HPP
#define REFERKIT_EXAMPLES_CLI_SIDECAR_METRICS_HPP

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "referkit/tracker.hpp"

namespace referkit::cli {

struct IntakeCounters;

// When each lane last had events acknowledged. The tracker reports each 2xx (on_delivery) but not
// its lane, so a lane's time is that of the latest delivery seen while its acknowledged count
// grew: exact with one lane delivering, at worst the other lane's time within one scrape.
// Thread safety: delivered() from the tracker's worker, seconds_since() from any thread.
class LastSuccess {
 public:
  void delivered() noexcept;
  // Seconds per lane (indexed by Lane), or -1 when nothing was acknowledged since the start.
  std::array<double, kLaneCount> seconds_since(const TrackerStats& stats);

 private:
  using Clock = std::chrono::steady_clock;
  std::atomic<Clock::rep> last_delivery_{0};  // ticks since the clock's epoch; 0: none yet
  std::mutex mutex_;
  std::array<std::uint64_t, kLaneCount> seen_acknowledged_{};
  std::array<Clock::rep, kLaneCount> lane_success_{};
};

std::string render_metrics(const TrackerStats& stats, const IntakeCounters& intake,
                           const std::array<double, kLaneCount>& since_success, double uptime_seconds);

}  // namespace referkit::cli

#endif  // REFERKIT_EXAMPLES_CLI_SIDECAR_METRICS_HPP
