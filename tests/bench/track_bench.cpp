// track() latency and producer throughput in memory mode, against a transport that accepts
// everything at once, so what is measured is the SDK, not a server.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "bench_harness.hpp"
#include "referkit/tracker.hpp"

namespace referkit::bench {
namespace {

class AcceptAll : public Transport {
 public:
  HttpResponse send(const HttpRequest&) override {
    HttpResponse r;
    r.code = 200;
    return r;
  }
};

Event order_completed(int i) {
  OrderCompleted o;
  o.customer.user_id = "customer-" + std::to_string(100000 + i);
  o.order_id = "order-" + std::to_string(i);
  o.total = Money{12999, "EUR"};
  o.subtotal = Money{10999, "EUR"};
  o.coupon = "JANE-GS7Z-0TX3X";
  o.new_customer = true;
  o.referral_code = "JANE-GS7Z-0TX3X";
  return to_event(o).value();
}

Tracker open_tracker() {
  TrackerOptions o;
  o.endpoint = "http://127.0.0.1:9";
  o.write_key = "bench";
  o.transport = std::make_shared<AcceptAll>();
  o.max_queue_bytes = 256u << 20;
  return std::move(Tracker::open(o).value());
}

double percentile(std::vector<double>& v, double p) {
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
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
    std::vector<double> ns;
    ns.reserve(kEvents);
    for (int i = 0; i < kEvents; ++i) {
      const auto start = Clock::now();
      Status s = t.track(std::move(events[static_cast<std::size_t>(i)]));
      ns.push_back(std::chrono::duration<double, std::nano>(Clock::now() - start).count());
      keep(s);
    }
    (void)t.flush(std::chrono::seconds(60));
    f["track_ns_median"] = percentile(ns, 0.5);
    f["track_ns_p99"] = percentile(ns, 0.99);
    f["track_ns_p999"] = percentile(ns, 0.999);
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
