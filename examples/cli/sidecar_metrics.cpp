#include "sidecar_metrics.hpp"

#include <fmt/format.h>

#include <iterator>

#include "sidecar_service.hpp"

namespace referkit::cli {
namespace {

// One metric family: its HELP and TYPE lines, then its samples.
class Family {
 public:
  Family(std::string& out, std::string_view name, std::string_view type, std::string_view help)
      : out_(out), name_(name) {
    fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  Family& sample(double value) {
    fmt::format_to(std::back_inserter(out_), "{} {}\n", name_, value);
    return *this;
  }
  Family& sample(std::uint64_t value) {
    fmt::format_to(std::back_inserter(out_), "{} {}\n", name_, value);
    return *this;
  }
  Family& sample(std::string_view label, std::string_view label_value, double value) {
    // Label values here are fixed words (lane and reason names): nothing to escape.
    fmt::format_to(std::back_inserter(out_), "{}{{{}=\"{}\"}} {}\n", name_, label, label_value, value);
    return *this;
  }
  Family& sample(std::string_view label, std::string_view label_value, std::uint64_t value) {
    fmt::format_to(std::back_inserter(out_), "{}{{{}=\"{}\"}} {}\n", name_, label, label_value, value);
    return *this;
  }

 private:
  std::string& out_;
  std::string_view name_;
};

template <typename Field>
void per_lane(std::string& out, std::string_view name, std::string_view type, std::string_view help,
              const TrackerStats& stats, Field field) {
  Family f(out, name, type, help);
  for (std::size_t i = 0; i < kLaneCount; ++i) {
    f.sample("lane", to_string(static_cast<Lane>(i)), static_cast<std::uint64_t>(field(stats.lanes[i])));
  }
}

}  // namespace

void LastSuccess::delivered() noexcept {
  const Clock::rep now = Clock::now().time_since_epoch().count();
  last_delivery_.store(now == 0 ? 1 : now, std::memory_order_relaxed);
}

std::array<double, kLaneCount> LastSuccess::seconds_since(const TrackerStats& stats) {
  std::lock_guard<std::mutex> lock(mutex_);
  const Clock::rep last = last_delivery_.load(std::memory_order_relaxed);
  const Clock::rep now = Clock::now().time_since_epoch().count();
  std::array<double, kLaneCount> out{};
  for (std::size_t i = 0; i < kLaneCount; ++i) {
    if (stats.lanes[i].acknowledged > seen_acknowledged_[i] && last != 0) {
      seen_acknowledged_[i] = stats.lanes[i].acknowledged;
      lane_success_[i] = last;
    }
    out[i] = lane_success_[i] == 0
                 ? -1.0
                 : std::chrono::duration<double>(Clock::duration(now - lane_success_[i])).count();
  }
  return out;
}

std::string render_metrics(const TrackerStats& st, const IntakeCounters& in,
                           const std::array<double, kLaneCount>& since_success, double uptime_seconds) {
  std::string out;
  out.reserve(4096);
  per_lane(out, "referkit_lane_queued_events", "gauge", "Events waiting or in flight.", st,
           [](const LaneStats& l) { return l.queued; });
  per_lane(out, "referkit_lane_spool_bytes", "gauge", "Disk space the lane's spool segments take.", st,
           [](const LaneStats& l) { return l.spool_bytes; });
  per_lane(out, "referkit_lane_tracked_total", "counter", "Events accepted into the lane.", st,
           [](const LaneStats& l) { return l.tracked; });
  per_lane(out, "referkit_lane_acknowledged_total", "counter", "Events the ingest API acknowledged.", st,
           [](const LaneStats& l) { return l.acknowledged; });
  per_lane(out, "referkit_lane_dead_lettered_total", "counter", "Events the ingest API refused (dead letters).", st,
           [](const LaneStats& l) { return l.dead_lettered; });
  per_lane(out, "referkit_lane_dropped_total", "counter", "Events dropped, every reason.", st,
           [](const LaneStats& l) { return l.dropped; });
  per_lane(out, "referkit_lane_retries_total", "counter", "Requests repeated after a failure.", st,
           [](const LaneStats& l) { return l.retried; });
  per_lane(out, "referkit_lane_paused", "gauge", "1 while the lane's uploads are paused.", st,
           [](const LaneStats& l) { return l.paused ? 1u : 0u; });
  {
    Family f(out, "referkit_lane_seconds_since_last_success", "gauge",
             "Seconds since events of the lane were last acknowledged; -1 before the first.");
    for (std::size_t i = 0; i < kLaneCount; ++i) f.sample("lane", to_string(static_cast<Lane>(i)), since_success[i]);
  }
  Family(out, "referkit_dropped_total", "counter", "Events dropped, by reason (all lanes).")
      .sample("reason", to_string(DropReason::kQueueFull), st.dropped_queue_full)
      .sample("reason", to_string(DropReason::kRetriesExhausted), st.dropped_retries_exhausted)
      .sample("reason", to_string(DropReason::kShutdown), st.dropped_shutdown)
      .sample("reason", to_string(DropReason::kExpired), st.dropped_expired);
  Family(out, "referkit_requests_total", "counter", "HTTP requests made to the ingest API.").sample(st.requests);
  Family(out, "referkit_recovered_events", "gauge", "Events found in the spool at start-up.").sample(st.recovered);
  Family(out, "referkit_spool_corrupt_records_total", "counter", "Damaged spool records skipped.")
      .sample(st.corrupt_records);
  const auto get = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  Family(out, "referkit_intake_requests_total", "counter", "Intake requests received (batch and single-event).")
      .sample(get(in.requests));
  Family(out, "referkit_intake_events_accepted_total", "counter", "Events put into the spool.")
      .sample(get(in.events_accepted));
  Family(out, "referkit_intake_events_rejected_total", "counter", "Events refused one by one in a 200 reply.")
      .sample(get(in.events_rejected));
  Family(out, "referkit_intake_refused_total", "counter", "Intake requests refused, by status.")
      .sample("status", "401", get(in.unauthorized))
      .sample("status", "4xx", get(in.bad_requests))
      .sample("status", "429", get(in.throttled))
      .sample("status", "5xx", get(in.failed));
  Family(out, "referkit_uptime_seconds", "gauge", "Seconds since the agent started.").sample(uptime_seconds);
  return out;
}

}  // namespace referkit::cli
