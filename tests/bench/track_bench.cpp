// track() latency in memory and durable mode, from a prebuilt Event and from the typed
// OrderCompleted, and from one and two producer threads, against a transport that
// accepts everything at once, so what is measured is the SDK, not a server.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "bench_harness.hpp"
#include "events/typed_serializer.hpp"
#include "time/rfc3339_fast.hpp"
#include "support/temp_dir.hpp"
#include "referkit/testing.hpp"
#include "referkit/tracker.hpp"

namespace referkit::bench {
namespace {

Tracker open_tracker(const std::string& spool_dir = {}, int background_nice = 0) {
  TrackerOptions o;
  o.endpoint = "http://127.0.0.1:9";
  o.write_key = "bench";
  // Room for a whole run: a refused call returns early and would flatter the figures.
  o.conversions.max_queue_bytes = 1u << 30;
  o.engagement.max_queue_bytes = 1u << 30;
  o.conversions.max_spool_bytes = 4ull << 30;
  o.engagement.max_spool_bytes = 4ull << 30;
  o.spool_dir = spool_dir;
  o.background_nice = background_nice;
  testing::TrackerSeams seams;
  seams.transport = std::make_shared<AcceptAll>();
  return std::move(testing::open_tracker(o, seams).value());
}

using Clock = std::chrono::steady_clock;
// --slow-calls: where each call over 1 ms is written, or null.
FILE* slow_calls = nullptr;

// Calls track() `calls` times, cycling through `inputs`, timing every call; returns the
// nanoseconds per call. With an interval, calls start on a fixed schedule (a steady load, as a
// server's requests give) rather than back to back (the producer saturating a core, its own
// background threads competing).
template <typename Input>
std::vector<double> timed_calls(Tracker& t, const std::vector<Input>& inputs, std::size_t calls,
                                std::chrono::nanoseconds interval = std::chrono::nanoseconds(0)) {
  std::vector<double> ns;
  ns.reserve(calls);
  auto slot = Clock::now();
  for (std::size_t i = 0; i < calls; ++i) {
    if (interval.count() > 0) {
      slot += interval;
      while (Clock::now() < slot) {
      }
    }
    const Input& in = inputs[i % inputs.size()];
    const auto start = Clock::now();
    Status s = t.track(in);
    ns.push_back(std::chrono::duration<double, std::nano>(Clock::now() - start).count());
    if (slow_calls != nullptr && ns.back() > 1e6) {
      std::fprintf(slow_calls, "%lld %.0f %d %zu\n", static_cast<long long>(start.time_since_epoch().count()), ns.back(),
                   static_cast<int>(::gettid()), i);
    }
    if (!s.ok()) {
      std::fprintf(stderr, "track: %s\n", s.to_string().c_str());
      std::exit(1);  // a refused call would flatter every figure
    }
  }
  return ns;
}

// Median, p99, p999, the slowest call, and how many calls took over 1 ms: a stall of the
// merchant's request thread that a percentile of a million calls hides.
void add_latency(std::vector<double>& ns, const std::string& prefix, Figures& f) {
  f[prefix + "_ns_max"] = *std::max_element(ns.begin(), ns.end());
  f[prefix + "_calls_over_1ms"] = static_cast<double>(std::count_if(ns.begin(), ns.end(), [](double x) { return x > 1e6; }));
  f[prefix + "_ns_median"] = percentile(ns, 0.5);
  f[prefix + "_ns_p99"] = percentile(ns, 0.99);
  f[prefix + "_ns_p999"] = percentile(ns, 0.999);
}

// CPU time used so far, in nanoseconds: by the whole process, or by the calling thread.
double cpu_ns(int who) {
  rusage u {};
  ::getrusage(who, &u);
  const auto ns = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) * 1e9 + static_cast<double>(tv.tv_usec) * 1e3; };
  return ns(u.ru_utime) + ns(u.ru_stime);
}

// Latency of each call, one thread, on a fresh tracker; `prefix` names the figures. Also the CPU
// the tracker's own threads spent per event, from the first call until all were delivered (the
// process's CPU less the calling thread's, which busy-waits between paced calls): what a durable
// spool costs the machine besides track() itself.
template <typename Input>
void track_latency(const std::vector<Input>& inputs, std::size_t calls, const std::string& spool_dir,
                   const std::string& prefix, Figures& f,
                   std::chrono::nanoseconds interval = std::chrono::nanoseconds(0), int background_nice = 0) {
  if (slow_calls != nullptr) std::fprintf(slow_calls, "# %s\n", prefix.c_str());
  Tracker t = open_tracker(spool_dir, background_nice);
  const double process_before = cpu_ns(RUSAGE_SELF);
  const double thread_before = cpu_ns(RUSAGE_THREAD);
  std::vector<double> ns = timed_calls(t, inputs, calls, interval);
  (void)t.flush(std::chrono::seconds(120));
  const double background = (cpu_ns(RUSAGE_SELF) - process_before) - (cpu_ns(RUSAGE_THREAD) - thread_before);
  f[prefix + "_background_cpu_ns_per_event"] = background / static_cast<double>(calls);
  add_latency(ns, prefix, f);
}

// Resident memory of this process now, in bytes.
double rss_bytes() {
  long pages = 0;
  long resident = 0;
  if (FILE* statm = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(statm, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(statm);
  }
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

// Admission alone: both lanes paused, so no upload competes for the two cores and every event
// stays queued; events accepted per second by `threads` producers together. With one thread it
// also reports what each queued event costs in resident memory (memory mode).
double admission_events_per_s(const std::vector<OrderCompleted>& inputs, int threads, Figures* memory) {
  Tracker t = open_tracker();
  t.pause(Lane::kConversions);
  t.pause(Lane::kEngagement);
  const std::size_t per_thread = inputs.size() / static_cast<std::size_t>(threads);
  const double rss_before = rss_bytes();
  std::atomic<bool> go{false};
  std::vector<std::thread> producers;
  for (int th = 0; th < threads; ++th) {
    producers.emplace_back([&, th] {
      while (!go.load()) std::this_thread::yield();
      const std::size_t from = static_cast<std::size_t>(th) * per_thread;
      for (std::size_t i = from; i < from + per_thread; ++i) keep(t.track(inputs[i]));
    });
  }
  const auto start = Clock::now();
  go = true;
  for (auto& p : producers) p.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const std::size_t queued = per_thread * static_cast<std::size_t>(threads);
  if (memory != nullptr) (*memory)["memory_mode_bytes_per_queued_event"] = (rss_bytes() - rss_before) / static_cast<double>(queued);
  if (t.stats().queued != queued) {
    std::fprintf(stderr, "admission: %llu of %zu events queued\n", static_cast<unsigned long long>(t.stats().queued), queued);
    std::exit(1);
  }
  t.resume(Lane::kConversions);
  t.resume(Lane::kEngagement);
  (void)t.flush(std::chrono::seconds(120));
  return static_cast<double>(queued) / seconds;
}

// The machine's own ceiling for admission's scaling: the same work per event as track() but for
// the tracker (serialize, keep the text in memory), in `threads` threads that share nothing. If
// two threads are only this much faster than one, the rest of the gap is not admission's lock.
double shared_nothing_events_per_s(const std::vector<OrderCompleted>& inputs, int threads) {
  const std::size_t per_thread = inputs.size() / static_cast<std::size_t>(threads);
  std::atomic<bool> go{false};
  std::vector<std::thread> workers;
  for (int th = 0; th < threads; ++th) {
    workers.emplace_back([&, th] {
      std::vector<std::string> kept;
      kept.reserve(per_thread);
      while (!go.load()) std::this_thread::yield();
      const std::size_t from = static_cast<std::size_t>(th) * per_thread;
      for (std::size_t i = from; i < from + per_thread; ++i) {
        auto serialized = detail::serialize_typed(inputs[i], now_ms());
        if (serialized) kept.push_back(std::move(serialized->json));
      }
      keep(kept.size());
    });
  }
  const auto start = Clock::now();
  go = true;
  for (auto& w : workers) w.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return static_cast<double>(per_thread * static_cast<std::size_t>(threads)) / seconds;
}

// Admission's scaling: one producer, then two, uploads paused (typed events, memory mode), and
// the machine's ceiling for the same work sharing nothing.
void add_admission_figures(const std::vector<OrderCompleted>& typed, Figures& f) {
  const double one = admission_events_per_s(typed, 1, &f);
  const double two = admission_events_per_s(typed, 2, nullptr);
  f["admission_one_thread_events_per_s"] = one;
  f["admission_two_threads_events_per_s"] = two;
  f["admission_two_thread_speedup_pct"] = 100.0 * two / one;
  const double alone_one = shared_nothing_events_per_s(typed, 1);
  const double alone_two = shared_nothing_events_per_s(typed, 2);
  f["shared_nothing_two_thread_speedup_pct"] = 100.0 * alone_two / alone_one;
}

}  // namespace

bool write_slow_calls_to(const char* path) {
  slow_calls = std::fopen(path, "w");
  return slow_calls != nullptr;
}

Figures admission_benchmark() {
  std::vector<OrderCompleted> typed;
  for (int i = 0; i < 200'000; ++i) typed.push_back(typed_order_completed(i));
  Figures f;
  add_admission_figures(typed, f);
  return f;
}

Figures durable_stall_benchmark() {
  std::vector<OrderCompleted> typed;
  for (int i = 0; i < 200'000; ++i) typed.push_back(typed_order_completed(i));
  Figures f;
  for (int nice : {0, 10, 19}) {
    test::TempDir tmp;
    const std::string name = nice == 0 ? "durable_typed_track" : "durable_typed_track_nice" + std::to_string(nice);
    track_latency(typed, 1'000'000, (tmp.path() / "spool").string(), name, f, {}, nice);
  }
  return f;
}

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

  track_latency(events, events.size(), "", "track", f);
  // What the merchant's code calls: track(OrderCompleted), which writes the wire JSON directly.
  // A million calls in memory and then in durable mode, in the same minute: the stall budget is
  // "no more calls over 1 ms in durable mode than in memory mode".
  constexpr std::size_t kStallCalls = 1'000'000;
  track_latency(typed, kStallCalls, "", "typed_track", f);
  {
    test::TempDir tmp;
    track_latency(typed, kStallCalls, (tmp.path() / "spool").string(), "durable_typed_track", f);
  }
  {
    // The same with TrackerOptions::background_nice: the tracker's threads give way to this one.
    test::TempDir tmp;
    track_latency(typed, kStallCalls, (tmp.path() / "spool").string(), "durable_typed_track_nice10", f, {}, 10);
  }
  {
    test::TempDir tmp;
    track_latency(events, events.size(), (tmp.path() / "spool").string(), "durable_track", f);
  }
  // The same at a steady 100,000 calls a second (one every 10 us): far above what one merchant
  // process tracks at peak, but with the cores not saturated by the benchmark itself.
  constexpr std::chrono::nanoseconds kPace(10'000);
  track_latency(typed, typed.size(), "", "paced_typed_track", f, kPace);
  {
    test::TempDir tmp;
    track_latency(typed, typed.size(), (tmp.path() / "spool").string(), "paced_durable_typed_track", f, kPace);
  }
  {
    test::TempDir tmp;
    track_latency(typed, typed.size(), (tmp.path() / "spool").string(), "paced_durable_typed_track_nice10", f, kPace, 10);
  }

  {
    // Two producers sharing one tracker, uploads running: each call timed, and events accepted
    // per second in total. On two cores the worker's gzip competes with them.
    if (slow_calls != nullptr) std::fprintf(slow_calls, "# two_thread_track\n");
    Tracker t = open_tracker();
    constexpr int kPerThread = 200'000;
    std::vector<std::vector<double>> ns(2);
    std::atomic<bool> go{false};
    std::vector<std::thread> producers;
    for (std::size_t th = 0; th < 2; ++th) {
      producers.emplace_back([&, th] {
        std::vector<Event> inputs(events.begin() + static_cast<std::ptrdiff_t>(th * (kEvents / 2)),
                                  events.begin() + static_cast<std::ptrdiff_t>((th + 1) * (kEvents / 2)));
        while (!go.load()) std::this_thread::yield();
        ns[th] = timed_calls(t, inputs, kPerThread);
      });
    }
    const auto start = Clock::now();
    go = true;
    for (auto& p : producers) p.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    (void)t.flush(std::chrono::seconds(60));
    f["two_thread_events_per_s"] = 2.0 * kPerThread / seconds;
    ns[0].insert(ns[0].end(), ns[1].begin(), ns[1].end());
    add_latency(ns[0], "two_thread_track", f);
  }
  add_admission_figures(typed, f);

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
