// The kernel's coarse monotonic clock: steady_clock's time base, read at the last timer tick
// (1-4 ms old). A read costs about 6 ns, where steady_clock::now() costs 30-45 ns on the KVM
// machines we measure on (docs/performance.md): worth it where millisecond precision is all a
// reading needs and it happens for every event.
#ifndef REFERKIT_SRC_TIME_COARSE_CLOCK_HPP
#define REFERKIT_SRC_TIME_COARSE_CLOCK_HPP

#include <time.h>

#include <chrono>

namespace referkit::detail {

inline std::chrono::steady_clock::time_point coarse_steady_now() noexcept {
  timespec ts{};
  if (::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0) return std::chrono::steady_clock::now();
  return std::chrono::steady_clock::time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
}

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_TIME_COARSE_CLOCK_HPP
