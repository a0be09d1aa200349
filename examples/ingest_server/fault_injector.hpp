// Fault injection for tests and demos: makes the server fail the way production servers do, at
// configured rates, reproducibly. Every batch request draws from one seeded generator in a fixed
// order, so a client that sends sequentially (the tracker does) sees the same faults on every run
// with the same --seed.
#ifndef REFERKIT_INGEST_FAULT_INJECTOR_HPP
#define REFERKIT_INGEST_FAULT_INJECTOR_HPP

#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>

namespace referkit::ingest {

struct FaultOptions {
  double fail_rate = 0;      // 503 before storing
  double drop_rate = 0;      // store, then close the connection without a reply
  double throttle_rate = 0;  // 429 with Retry-After
  std::chrono::seconds retry_after{1};
  std::chrono::milliseconds delay{0};  // before every batch reply
  std::uint64_t seed = 0;

  bool any() const { return fail_rate > 0 || drop_rate > 0 || throttle_rate > 0 || delay.count() > 0; }
};

struct FaultPlan {
  bool throttle = false;
  bool fail = false;
  bool drop = false;
};

class FaultInjector {
 public:
  explicit FaultInjector(const FaultOptions& options) : options_(options), rng_(options.seed) {}

  const FaultOptions& options() const { return options_; }

  // The faults for the next batch request: throttling wins over failing; dropping applies only
  // to a request that is then stored.
  FaultPlan next();

 private:
  bool draw(double rate);

  FaultOptions options_;
  std::mutex mutex_;
  std::mt19937_64 rng_;
};

}  // namespace referkit::ingest

#endif  // REFERKIT_INGEST_FAULT_INJECTOR_HPP
