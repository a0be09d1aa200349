// track() latency in memory and durable mode, and producer throughput, against a transport that
// accepts everything at once, so what is measured is the SDK, not a server.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "bench_harness.hpp"
#include "support/temp_dir.hpp"
#include "referkit/tracker.hpp"

namespace referkit::bench {
namespace {

Tracker open_tracker(const std::string& spool_dir = {}) {
  TrackerOptions o;
  o.endpoint = "http://127.0.0.1:9";
  o.write_key = "bench";
  o.transport = std::make_shared<AcceptAll>();
  o.max_queue_bytes = 256u << 20;
  o.spool_dir = spool_dir;
  return std::move(Tracker::open(o).value());
}

// Latency of each call, one thread; `prefix` names the figures.
void track_latency(Tracker& t, std::vector<Event> events, const std::string& prefix, Figures& f) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> ns;
  ns.reserve(events.size());
  for (Event& e : events) {
    const auto start = Clock::now();
    Status s = t.track(e);
    ns.push_back(std::chrono::duration<double, std::nano>(Clock::now() - start).count());
    keep(s);
  }
  (void)t.flush(std::chrono::seconds(60));
  f[prefix + "_ns_median"] = percentile(ns, 0.5);
  f[prefix + "_ns_p99"] = percentile(ns, 0.99);
  f[prefix + "_ns_p999"] = percentile(ns, 0.999);
}

}  // namespace

Figures track_benchmarks() {
  using Clock = std::chrono::steady_clock;
  Figures f;
  constexpr int kEvents = 200'000;
  std::vector<Event> events;
  events.reserve(kEvents);
  for (int i = 0; i < kEvents; ++i) events.push_back(order_completed(i));

  {
    Tracker t = open_tracker();
    track_latency(t, events, "track", f);
  }
  {
    test::TempDir tmp;
    Tracker t = open_tracker((tmp.path() / "spool").string());
    track_latency(t, events, "durable_track", f);
  }

  {
    // Two producers sharing one tracker: events accepted per second in total.
    Tracker t = open_tracker();
    constexpr int kPerThread = 200'000;
    std::vector<std::vector<Event>> inputs(2);
    for (int th = 0; th < 2; ++th) {
      for (int i = 0; i < kPerThread; ++i) inputs[static_cast<std::size_t>(th)].push_back(order_completed(th * kPerThread + i));
    }
    std::atomic<bool> go{false};
    std::vector<std::thread> producers;
    for (int th = 0; th < 2; ++th) {
      producers.emplace_back([&, th] {
        while (!go.load()) std::this_thread::yield();
        for (Event& e : inputs[static_cast<std::size_t>(th)]) keep(t.track(std::move(e)));
      });
    }
    const auto start = Clock::now();
    go = true;
    for (auto& p : producers) p.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    (void)t.flush(std::chrono::seconds(60));
    f["two_thread_events_per_s"] = 2.0 * kPerThread / seconds;
  }
  return f;
}

}  // namespace referkit::bench
