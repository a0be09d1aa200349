// track() latency in memory and durable mode, from a prebuilt Event and from the typed
// OrderCompleted, and from one and two producer threads, against a transport that
// accepts everything at once, so what is measured is the SDK, not a server.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "bench_harness.hpp"
#include "time/rfc3339_fast.hpp"
#include "support/temp_dir.hpp"
#include "referkit/testing.hpp"
#include "referkit/tracker.hpp"

namespace referkit::bench {
namespace {

Tracker open_tracker(const std::string& spool_dir = {}) {
  TrackerOptions o;
  o.endpoint = "http://127.0.0.1:9";
  o.write_key = "bench";
  o.conversions.max_queue_bytes = 256u << 20;
  o.engagement.max_queue_bytes = 256u << 20;
  o.spool_dir = spool_dir;
  testing::TrackerSeams seams;
  seams.transport = std::make_shared<AcceptAll>();
  return std::move(testing::open_tracker(o, seams).value());
}

using Clock = std::chrono::steady_clock;

// Calls track() on each input, timing every call; returns the nanoseconds per call. With an
// interval, calls start on a fixed schedule (a steady load, as a server's requests give) rather
// than back to back (the producer saturating a core, its own background threads competing).
template <typename Input>
std::vector<double> timed_calls(Tracker& t, const std::vector<Input>& inputs,
                                std::chrono::nanoseconds interval = std::chrono::nanoseconds(0)) {
  std::vector<double> ns;
  ns.reserve(inputs.size());
  auto slot = Clock::now();
  for (const Input& in : inputs) {
    if (interval.count() > 0) {
      slot += interval;
      while (Clock::now() < slot) {
      }
    }
    const auto start = Clock::now();
    Status s = t.track(in);
    ns.push_back(std::chrono::duration<double, std::nano>(Clock::now() - start).count());
    keep(s);
  }
  return ns;
}

void add_percentiles(std::vector<double>& ns, const std::string& prefix, Figures& f) {
  f[prefix + "_ns_median"] = percentile(ns, 0.5);
  f[prefix + "_ns_p99"] = percentile(ns, 0.99);
  f[prefix + "_ns_p999"] = percentile(ns, 0.999);
}

// Latency of each call, one thread, on a fresh tracker; `prefix` names the figures.
template <typename Input>
void track_latency(const std::vector<Input>& inputs, const std::string& spool_dir, const std::string& prefix,
                   Figures& f, std::chrono::nanoseconds interval = std::chrono::nanoseconds(0)) {
  Tracker t = open_tracker(spool_dir);
  std::vector<double> ns = timed_calls(t, inputs, interval);
  (void)t.flush(std::chrono::seconds(60));
  add_percentiles(ns, prefix, f);
}

}  // namespace

Figures track_benchmarks() {
  Figures f;
  constexpr int kEvents = 200'000;
  std::vector<Event> events;
  std::vector<OrderCompleted> typed;
  events.reserve(kEvents);
  typed.reserve(kEvents);
  for (int i = 0; i < kEvents; ++i) {
    typed.push_back(typed_order_completed(i));
    events.push_back(order_completed(i));
  }

  track_latency(events, "", "track", f);
  // What the merchant's code calls: track(OrderCompleted), which builds the Event first.
  track_latency(typed, "", "typed_track", f);
  {
    test::TempDir tmp;
    track_latency(events, (tmp.path() / "spool").string(), "durable_track", f);
  }
  // The same at a steady 100,000 calls a second (one every 10 us): far above what one merchant
  // process tracks at peak, but with the cores not saturated by the benchmark itself.
  constexpr std::chrono::nanoseconds kPace(10'000);
  track_latency(typed, "", "paced_typed_track", f, kPace);
  {
    test::TempDir tmp;
    track_latency(typed, (tmp.path() / "spool").string(), "paced_durable_typed_track", f, kPace);
  }

  {
    // Two producers sharing one tracker: each call timed, and events accepted per second in total.
    Tracker t = open_tracker();
    constexpr int kPerThread = 200'000;
    std::vector<std::vector<Event>> inputs(2);
    std::vector<std::vector<double>> ns(2);
    for (int th = 0; th < 2; ++th) {
      for (int i = 0; i < kPerThread; ++i) inputs[static_cast<std::size_t>(th)].push_back(order_completed(th * kPerThread + i));
    }
    std::atomic<bool> go{false};
    std::vector<std::thread> producers;
    for (std::size_t th = 0; th < 2; ++th) {
      producers.emplace_back([&, th] {
        while (!go.load()) std::this_thread::yield();
        ns[th] = timed_calls(t, inputs[th]);
      });
    }
    const auto start = Clock::now();
    go = true;
    for (auto& p : producers) p.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    (void)t.flush(std::chrono::seconds(60));
    f["two_thread_events_per_s"] = 2.0 * kPerThread / seconds;
    ns[0].insert(ns[0].end(), ns[1].begin(), ns[1].end());
    add_percentiles(ns[0], "two_thread_track", f);
  }

  // One timestamp writer serves both: format_rfc3339 (the public call, a new string each time)
  // and the writer track() uses (fixed digits into a reused buffer), same text. The difference is
  // the allocation. (Until issue 14 format_rfc3339 went through fmt, at 390-812 ns: see
  // docs/performance.md.)
  TimePoint when = now_ms();
  f["rfc3339_format_ns"] = median_ns_per_op([&] {
    when += std::chrono::milliseconds(1);
    keep(format_rfc3339(when));
  });
  std::string stamp;
  f["rfc3339_hot_path_ns"] = median_ns_per_op([&] {
    when += std::chrono::milliseconds(1);
    stamp.clear();
    detail::append_rfc3339(stamp, when);
    keep(stamp);
  });
  return f;
}

}  // namespace referkit::bench
