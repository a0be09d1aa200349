// A minimal harness: each benchmark reports named figures; main prints them as one JSON object.
#ifndef REFERKIT_TESTS_BENCH_BENCH_HARNESS_HPP
#define REFERKIT_TESTS_BENCH_BENCH_HARNESS_HPP

#include <cstddef>
#include <functional>
#include <map>
#include <string>

namespace referkit::bench {

using Figures = std::map<std::string, double>;

// Median nanoseconds per call of op over `rounds` rounds of `batch` calls, after a warm-up.
double median_ns_per_op(const std::function<void()>& op, std::size_t batch = 2000, int rounds = 21);

// Keeps the optimizer from discarding a result.
template <typename T>
inline void keep(const T& value) {
  asm volatile("" : : "g"(&value) : "memory");
}

Figures link_benchmarks();
Figures track_benchmarks();

}  // namespace referkit::bench

#endif  // REFERKIT_TESTS_BENCH_BENCH_HARNESS_HPP
