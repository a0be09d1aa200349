#include "fault_injector.hpp"

namespace referkit::ingest {

bool FaultInjector::draw(double rate) {
  // Always draw, even at rate 0, so the sequence for one fault does not depend on the others.
  const double u = std::generate_canonical<double, 53>(rng_);
  return u < rate;
}

FaultPlan FaultInjector::next() {
  std::lock_guard<std::mutex> lock(mutex_);
  FaultPlan plan;
  plan.throttle = draw(options_.throttle_rate);
  plan.fail = draw(options_.fail_rate) && !plan.throttle;
  plan.drop = draw(options_.drop_rate);
  return plan;
}

}  // namespace referkit::ingest
