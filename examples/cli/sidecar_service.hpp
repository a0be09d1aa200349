// `referkit serve`: what the sidecar answers, on top of plain HTTP requests (the shared server in
// examples/shared/http does the sockets). Segment's intake paths put events into a durable
// Tracker; the reply is 200 only once they are in its spool (and, with durable_ack, committed).
// Thread-safe: the server calls handle() from several workers at once.
#ifndef REFERKIT_EXAMPLES_CLI_SIDECAR_SERVICE_HPP
#define REFERKIT_EXAMPLES_CLI_SIDECAR_SERVICE_HPP

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "batch/batch_validator.hpp"
#include "http/basic_auth.hpp"
#include "http/response.hpp"
#include "referkit/tracker.hpp"
#include "sidecar_metrics.hpp"

namespace referkit::cli {

struct SidecarConfig {
  http::WriteKeys accept_keys{{}};
  // Wait for the spool's group commit before answering 200 (power loss then cannot take what
  // was acknowledged); without it, 200 means "in the spool", safe from a crash of the agent.
  bool durable_ack = false;
  std::chrono::milliseconds commit_timeout{5'000};
  std::size_t max_decoded_bytes = 500'000;  // Segment's 500 KB batch limit, after gunzip
  batch::BatchLimits batch;                 // the rules referkit-ingest applies: 2,500 events, 32 KiB each
  std::chrono::seconds retry_after{5};      // sent with 429 when a lane's spool budget is full
  // Links and webhook checks (--keys); unset: those paths answer 404.
  std::function<http::Response(const http::Request&)> keyed;
};

// Counters of the intake, for GET /metrics. Relaxed atomics: figures, not synchronization.
struct IntakeCounters {
  std::atomic<std::uint64_t> requests{0};         // intake requests (batch and single-event paths)
  std::atomic<std::uint64_t> events_accepted{0};  // put into the spool
  std::atomic<std::uint64_t> events_rejected{0};  // reported one by one in a 200 reply
  std::atomic<std::uint64_t> unauthorized{0};     // 401
  std::atomic<std::uint64_t> bad_requests{0};     // 400, 413, 415
  std::atomic<std::uint64_t> throttled{0};        // 429: a lane's spool budget was full
  std::atomic<std::uint64_t> failed{0};           // 500/503: the spool failed, or the agent is stopping
};

class SidecarService {
 public:
  // `last_success` is fed by the tracker's on_delivery; both outlive the service.
  SidecarService(SidecarConfig config, Tracker& tracker, LastSuccess& last_success);

  http::Response handle(http::Request& request);
  // From now on intake answers 503 (SIGTERM: the spool is about to be closed).
  void stop_intake() { stopping_.store(true); }

  const IntakeCounters& counters() const { return counters_; }

 private:
  http::Response intake(http::Request& request, std::string_view single_type);
  std::string metrics_text();

  SidecarConfig config_;
  Tracker& tracker_;
  LastSuccess& last_success_;
  IntakeCounters counters_;
  std::atomic<bool> stopping_{false};
  std::chrono::steady_clock::time_point started_;
};

}  // namespace referkit::cli

#endif  // REFERKIT_EXAMPLES_CLI_SIDECAR_SERVICE_HPP
