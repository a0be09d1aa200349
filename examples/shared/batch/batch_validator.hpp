// Segment batch bodies (POST /v1/batch) as referkit-ingest and the `referkit serve` sidecar both
// read them. The batch endpoint's input rules, as one pure function from body bytes to a verdict: the batch
// is refused as a whole (400 with a reason), or split into events to store and events rejected
// one by one with a reason (the batch still gets 200). No I/O, no clock, no globals, so it is
// fuzzed directly (tests/fuzz/ingest_batch.cpp).
#ifndef REFERKIT_EXAMPLES_SHARED_BATCH_BATCH_VALIDATOR_HPP
#define REFERKIT_EXAMPLES_SHARED_BATCH_BATCH_VALIDATOR_HPP

#include <simdjson.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace referkit::batch {

// The wire contract's limits (DESIGN.md, "The ingest API").
struct BatchLimits {
  std::size_t max_events = 2'500;
  std::size_t max_event_bytes = 32 * 1024;  // the event's JSON text as received
  std::size_t max_message_id_chars = 100;   // Unicode code points
};

// One event to store. Every view points into the body or into the parser that validated it, so
// it is valid until either is changed or destroyed.
struct AcceptedEvent {
  std::string_view message_id;
  std::string_view type;
  std::optional<std::string_view> event;  // track: the event name
  std::optional<std::string_view> user_id;
  std::optional<std::string_view> anonymous_id;
  std::optional<std::string_view> timestamp;  // as sent; the server does not reinterpret it
  std::string_view json;                      // the event's original text
};

struct EventRejection {
  std::string message_id;  // empty when the event has no string messageId
  std::string reason;
};

struct BatchVerdict {
  // Non-empty: the whole batch is refused (400) for this reason; the lists below are empty.
  std::string error;
  std::vector<AcceptedEvent> accepted;
  std::vector<EventRejection> rejected;

  bool refused() const { return !error.empty(); }
};

// Validates a decoded (not gzipped) body. The parser is reused across calls to keep its buffers;
// one per thread. Never throws for any input (allocation failure aside).
BatchVerdict validate_batch(std::string_view body, simdjson::dom::parser& parser,
                            const BatchLimits& limits = {});

}  // namespace referkit::batch

#endif  // REFERKIT_EXAMPLES_SHARED_BATCH_BATCH_VALIDATOR_HPP
