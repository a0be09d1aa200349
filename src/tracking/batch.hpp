// One upload: a set of queued events under a batch id that stays the same across its retries,
// the request body that carries them, and what a 2xx reply says about them.
#ifndef REFERKIT_SRC_TRACKING_BATCH_HPP
#define REFERKIT_SRC_TRACKING_BATCH_HPP

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "referkit/time.hpp"
#include "referkit/tracker.hpp"
#include "pending/pending_events.hpp"
#include "transport/gzip.hpp"

namespace referkit::detail {

// A batch's request body as it goes on the wire.
struct EncodedBody {
  std::string bytes;
  std::size_t raw_size = 0;  // before compression
  bool gzipped = false;
  TimePoint sent_at;  // the body's sentAt
  std::chrono::steady_clock::time_point made;
};

struct Batch {
  std::string id;
  Lane lane = Lane::kConversions;
  std::vector<QueuedEvent> events;
  unsigned attempts = 0;
  // Time spent on this batch's failed attempts and backoff waits, against max_retry_duration.
  std::chrono::milliseconds retry_elapsed{0};
  // Encoded ahead, on the side thread, while the previous batch was in flight: the first
  // attempt sends it if it is still fresh (its sentAt is close enough to now).
  std::optional<EncodedBody> encoded;
};

// The envelope around the events, without them: what max_batch_bytes must leave room for.
inline constexpr std::size_t kBatchEnvelopeBytes = 160;

// {"batch":[<events>],"sentAt":"<sent_at>","context":{"library":{"name":"referkit-cpp","version":..}}},
// replacing `body` (whose capacity is reused).
void batch_body(const Batch& batch, TimePoint sent_at, std::string& body);

// What encoding keeps from one batch to the next, one per thread that encodes: the compressor,
// and the buffer an uncompressed body is built in before it is compressed (a batch is up to
// max_batch_bytes: reused, its pages are not faulted in again for every batch).
struct BatchEncoder {
  explicit BatchEncoder(int gzip_level) : gzip(gzip_level) {}
  GzipCompressor gzip;
  std::string raw;
};

// The body, gzipped when `gzip` is on and it has at least gzip_min_bytes; `made` is now on the
// steady clock.
EncodedBody encode_batch(const Batch& batch, TimePoint sent_at, SteadyTime made, bool gzip,
                         std::size_t gzip_min_bytes, BatchEncoder& encoder);

// The per-event rejections of a 2xx reply ({"rejected":[{"messageId":..,"reason":..}]}). A
// reply that is empty, not JSON or of another shape rejects nothing.
std::vector<DeadLetter> parse_rejections(std::string_view reply_body);

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_TRACKING_BATCH_HPP
