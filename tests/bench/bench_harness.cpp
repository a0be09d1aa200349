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

double percentile(std::vector<double>& samples, double p) {
  const auto k = static_cast<std::size_t>(p * static_cast<double>(samples.size() - 1));
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(k), samples.end());
  return samples[k];
}

HttpResponse AcceptAll::send(const HttpRequest&) {
  HttpResponse r;
  r.code = 200;
  return r;
}

HttpResponse AlwaysDown::send(const HttpRequest&) {
  HttpResponse r;
  r.code = 503;
  return r;
}

OrderCompleted typed_order_completed(int i) {
  OrderCompleted o;
  o.customer.user_id = "customer-" + std::to_string(100000 + i);
  o.order_id = "order-" + std::to_string(i);
  o.total = Money{12999, "EUR"};
  o.subtotal = Money{10999, "EUR"};
  o.coupon = "JANE-GS7Z-0TX3X";
  o.new_customer = true;
  o.referral_code = "JANE-GS7Z-0TX3X";
  // Real orders carry the buyer's address: its SHA-256 (the only form that leaves) is part of
  // what track() costs.
  o.email = "Customer." + std::to_string(100000 + i) + "@Example.com";
  return o;
}

Event order_completed(int i) { return to_event(typed_order_completed(i)).value(); }

}  // namespace referkit::bench
