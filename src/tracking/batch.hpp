// One upload: a set of queued events under a batch id that stays the same across its retries,
// the request body that carries them, and what a 2xx reply says about them.
#ifndef REFERKIT_SRC_TRACKING_BATCH_HPP
#define REFERKIT_SRC_TRACKING_BATCH_HPP

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "referkit/time.hpp"
#include "referkit/tracker.hpp"
#include "tracking/pending_events.hpp"

namespace referkit::detail {

struct Batch {
  std::string id;
  std::vector<QueuedEvent> events;
  unsigned attempts = 0;
  // Time spent on this batch's failed attempts and backoff waits, against max_retry_duration.
  std::chrono::milliseconds retry_elapsed{0};
};

// The envelope around the events, without them: what max_batch_bytes must leave room for.
inline constexpr std::size_t kBatchEnvelopeBytes = 160;

// {"batch":[<events>],"sentAt":"<sent_at>","context":{"library":{"name":"referkit-cpp","version":..}}}
std::string batch_body(const Batch& batch, TimePoint sent_at);

// The per-event rejections of a 2xx reply ({"rejected":[{"messageId":..,"reason":..}]}). A
// reply that is empty, not JSON or of another shape rejects nothing.
std::vector<DeadLetter> parse_rejections(std::string_view reply_body);

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_TRACKING_BATCH_HPP
