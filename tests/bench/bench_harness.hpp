// A minimal harness: each benchmark reports named figures; main prints them as one JSON object.
#ifndef REFERKIT_TESTS_BENCH_BENCH_HARNESS_HPP
#define REFERKIT_TESTS_BENCH_BENCH_HARNESS_HPP

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "referkit/events.hpp"
#include "referkit/transport.hpp"

namespace referkit::bench {

using Figures = std::map<std::string, double>;

// Median nanoseconds per call of op over `rounds` rounds of `batch` calls, after a warm-up.
double median_ns_per_op(const std::function<void()>& op, std::size_t batch = 2000, int rounds = 21);

// Keeps the optimizer from discarding a result.
template <typename T>
inline void keep(const T& value) {
  asm volatile("" : : "g"(&value) : "memory");
}

// The p-quantile (0..1) of the samples (reorders them).
double percentile(std::vector<double>& samples, double p);

// A transport that acknowledges everything at once, so what is measured is the SDK.
class AcceptAll : public Transport {
 public:
  HttpResponse send(const HttpRequest&) override;
};
// A transport for an outage: every request fails at once with 503.
class AlwaysDown : public Transport {
 public:
  HttpResponse send(const HttpRequest&) override;
};

// The benchmarks' event: a typical referred Order Completed with the buyer's email (~420 bytes
// serialized, the email as email_sha256), as the
// merchant's code fills it in, and as the Event that to_event() makes of it.
OrderCompleted typed_order_completed(int i);
Event order_completed(int i);

Figures link_benchmarks();
// Each timed track() call over 1 ms, one line each: its start (steady_clock, which is
// CLOCK_MONOTONIC: `perf record -k CLOCK_MONOTONIC` stamps samples on the same clock), its length
// in ns, the thread id and its index in the run; "# <run>" before each run. False if the file
// cannot be created.
bool write_slow_calls_to(const char* path);
Figures track_benchmarks();
Figures durable_stall_benchmark();
Figures admission_benchmark();  // admission's scaling alone (part of track_benchmarks())
Figures spool_benchmarks();
Figures e2e_benchmarks();  // only with REFERKIT_BENCH_E2E (referkit-ingest is built)
// One long outage (the endpoint always 503) in durable or memory mode; returns the peak RSS in MiB.
double run_outage(bool durable);

}  // namespace referkit::bench

#endif  // REFERKIT_TESTS_BENCH_BENCH_HARNESS_HPP
