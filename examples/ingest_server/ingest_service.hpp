// The ingest API itself, on top of plain HTTP requests: authentication, content encoding and
// limits, the signature, fault injection, validation, storage and the reply; plus the stats
// endpoint and the funnel page. Thread-safe: the server calls handle() from several workers.
#ifndef REFERKIT_INGEST_INGEST_SERVICE_HPP
#define REFERKIT_INGEST_INGEST_SERVICE_HPP

#include <cstddef>
#include <optional>

#include "http/basic_auth.hpp"
#include "batch/batch_validator.hpp"
#include "event_store.hpp"
#include "fault_injector.hpp"
#include "http/response.hpp"
#include "ingest_stats.hpp"
#include "referkit/webhooks.hpp"

namespace referkit::ingest {

struct IngestConfig {
  http::WriteKeys write_keys{{}};
  std::optional<WebhookVerifier> signature;  // set: every batch must carry a valid signature
  FaultOptions faults;
  std::size_t max_decoded_bytes = 500'000;  // the contract's 500 KB batch limit, after gunzip
  batch::BatchLimits batch;
};

class IngestService {
 public:
  IngestService(IngestConfig config, EventStore& store);

  http::Response handle(http::Request& request);

  CounterSnapshot counters() const { return snapshot(counters_); }

 private:
  http::Response batch(http::Request& request);
  http::Response stats();
  http::Response page();
  // Write key, then signature; nullopt when the request may go on. Without an Authorization
  // header, key_in_body is set: the key must then be the body's "writeKey" (body_key_refusal).
  std::optional<http::Response> authenticate(const http::Request& request, bool& key_in_body);
  std::optional<http::Response> body_key_refusal(const std::string& json);

  IngestConfig config_;
  EventStore& store_;
  FaultInjector faults_;
  IngestCounters counters_;
};

}  // namespace referkit::ingest

#endif  // REFERKIT_INGEST_INGEST_SERVICE_HPP
