// How the uploader reacts to each answer of the ingest API (the table in DESIGN.md), and how long
// it waits before trying again.
#ifndef REFERKIT_SRC_TRACKING_DELIVERY_POLICY_HPP
#define REFERKIT_SRC_TRACKING_DELIVERY_POLICY_HPP

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string_view>

#include "referkit/tracker.hpp"

namespace referkit::detail {

enum class Outcome {
  kDelivered,  // 2xx: acknowledged (per-event rejections aside)
  kSplit,      // 400 or 413: split the batch to isolate what the server refuses
  kRetry,      // 408, 5xx (but 501/505), timeouts, connection errors: back off and retry
  kThrottled,  // 429: pause all uploads, at least Retry-After
  kHold,       // 401/403, other 4xx, 3xx, 501/505: our setup is wrong; keep everything, retry slowly
};

Outcome classify(const HttpResponse& response);

// Retry-After as delta-seconds ("120") or an IMF-fixdate ("Sun, 29 Nov 2026 08:49:37 GMT"),
// relative to now; nullopt when absent or unreadable.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, TimePoint now);

// Full-jitter exponential backoff.
class Backoff {
 public:
  Backoff(const RetryPolicy& policy, std::uint64_t seed);
  // The wait before retry number `retry` (0 for the first retry), at least `floor`, where floor
  // is a server's Retry-After (clamped to max_retry_after).
  std::chrono::milliseconds delay(unsigned retry, std::optional<std::chrono::milliseconds> floor);

 private:
  RetryPolicy policy_;
  std::mt19937_64 rng_;
};

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_TRACKING_DELIVERY_POLICY_HPP
