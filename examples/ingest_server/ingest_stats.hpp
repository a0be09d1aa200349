// Delivery counters since the server started (the stored events themselves are counted from the
// database, so they survive restarts; these do not).
#ifndef REFERKIT_INGEST_INGEST_STATS_HPP
#define REFERKIT_INGEST_INGEST_STATS_HPP

#include <atomic>
#include <cstdint>

namespace referkit::ingest {

struct IngestCounters {
  std::atomic<std::uint64_t> requests{0};       // POST /v1/batch requests received
  std::atomic<std::uint64_t> batches{0};        // of those, stored and answered 200
  std::atomic<std::uint64_t> duplicates{0};     // events whose messageId was already stored
  std::atomic<std::uint64_t> rejected{0};       // events refused one by one (listed in a 200 reply)
  std::atomic<std::uint64_t> bad_requests{0};   // batches refused whole: 400, 413, 415
  std::atomic<std::uint64_t> auth_failures{0};  // 401: write key or signature
  std::atomic<std::uint64_t> fail_faults{0};
  std::atomic<std::uint64_t> drop_faults{0};
  std::atomic<std::uint64_t> throttle_faults{0};
};

// A plain copy for rendering. Fields are loaded one by one, so under load they may be a few
// requests apart; they are monitoring figures, not a ledger.
struct CounterSnapshot {
  std::uint64_t requests = 0, batches = 0, duplicates = 0, rejected = 0, bad_requests = 0, auth_failures = 0;
  std::uint64_t fail_faults = 0, drop_faults = 0, throttle_faults = 0;

  std::uint64_t faults_injected() const { return fail_faults + drop_faults + throttle_faults; }
};

inline CounterSnapshot snapshot(const IngestCounters& c) {
  CounterSnapshot s;
  s.requests = c.requests.load();
  s.batches = c.batches.load();
  s.duplicates = c.duplicates.load();
  s.rejected = c.rejected.load();
  s.bad_requests = c.bad_requests.load();
  s.auth_failures = c.auth_failures.load();
  s.fail_faults = c.fail_faults.load();
  s.drop_faults = c.drop_faults.load();
  s.throttle_faults = c.throttle_faults.load();
  return s;
}

}  // namespace referkit::ingest

#endif  // REFERKIT_INGEST_INGEST_STATS_HPP
