#include "bench_harness.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

namespace referkit::bench {

double median_ns_per_op(const std::function<void()>& op, std::size_t batch, int rounds) {
  using Clock = std::chrono::steady_clock;
  for (std::size_t i = 0; i < batch; ++i) op();  // warm caches, branch predictors, allocators
  std::vector<double> per_op;
  for (int r = 0; r < rounds; ++r) {
    auto start = Clock::now();
    for (std::size_t i = 0; i < batch; ++i) op();
    std::chrono::duration<double, std::nano> elapsed = Clock::now() - start;
    per_op.push_back(elapsed.count() / static_cast<double>(batch));
  }
  std::nth_element(per_op.begin(), per_op.begin() + rounds / 2, per_op.end());
  return per_op[static_cast<std::size_t>(rounds / 2)];
}

}  // namespace referkit::bench
