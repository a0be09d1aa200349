#include "ingest_service.hpp"

#include "common/text.hpp"
#include "funnel_page.hpp"
#include "http/body.hpp"
#include "json/json_writer.hpp"
#include "referkit/time.hpp"
#include "stats_json.hpp"

namespace referkit::ingest {
namespace {

http::Response unauthorized(std::string_view reason) { return http::Response::unauthorized(reason, "referkit-ingest"); }

// {"accepted":N,"duplicates":M,"rejected":[{"messageId":..,"reason":..}]}
std::string batch_reply(const StoreResult& stored, const std::vector<batch::EventRejection>& rejected) {
  std::string out;
  detail::JsonWriter w(out);
  w.begin_object();
  w.key("accepted").value(stored.inserted);
  w.key("duplicates").value(stored.duplicates);
  w.key("rejected").begin_array();
  // messageIds come from validated JSON strings, so they are valid UTF-8 as the writer requires.
  for (const batch::EventRejection& r : rejected) {
    w.begin_object().key("messageId").value(r.message_id).key("reason").value(r.reason).end_object();
  }
  w.end_array();
  w.end_object();
  return out;
}

// One parser per worker thread: its buffers are reused from batch to batch.
simdjson::dom::parser& thread_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

}  // namespace

IngestService::IngestService(IngestConfig config, EventStore& store)
    : config_(std::move(config)), store_(store), faults_(config_.faults) {}

http::Response IngestService::handle(http::Request& request) {
  const std::string_view path = request.path();
  if (path == "/v1/batch") {
    if (request.method != "POST") return http::Response::method_not_allowed("POST");
    return batch(request);
  }
  if (path == "/v1/stats") {
    if (request.method != "GET") return http::Response::method_not_allowed("GET");
    return stats();
  }
  if (path == "/") {
    if (request.method != "GET") return http::Response::method_not_allowed("GET");
    return page();
  }
  return http::Response::error(404, "no such endpoint; the API is POST /v1/batch");
}

std::optional<http::Response> IngestService::authenticate(const http::Request& request, bool& key_in_body) {
  const auto authorization = request.header("Authorization");
  const auto user = authorization ? http::basic_auth_user(*authorization) : std::nullopt;
  const char* failure = nullptr;
  // Segment's newer SDKs send the write key in the body ("writeKey") instead of Basic
  // credentials; that is checked once the body is decoded.
  key_in_body = !authorization;
  if (!authorization) {
    // checked in batch()
  } else if (!user) {
    failure = "malformed Authorization header: expected Basic base64(writeKey + \":\")";
  } else if (!config_.write_keys.accepts(*user)) {
    failure = "unknown write key";
  }
  if (failure == nullptr && config_.signature) {
    // Verified over the body exactly as received (compressed, if it was): that is what was signed.
    const auto header = request.header(kSignatureHeader);
    if (!header) {
      failure = "missing signature";
    } else {
      auto verified = config_.signature->verify(*header, request.body);
      if (!verified) failure = verified.status().code() == StatusCode::kExpired ? "stale signature" : "bad signature";
    }
  }
  if (failure == nullptr) return std::nullopt;
  ++counters_.auth_failures;
  return unauthorized(failure);
}

std::optional<http::Response> IngestService::body_key_refusal(const std::string& json) {
  simdjson::dom::parser& parser = thread_parser();
  std::string_view key;
  simdjson::dom::element root;
  if (parser.parse(json).get(root) || root["writeKey"].get_string().get(key) || !config_.write_keys.accepts(key)) {
    ++counters_.auth_failures;
    return unauthorized("no credentials: send HTTP Basic with the write key as user name, or \"writeKey\" in the body");
  }
  return std::nullopt;
}

http::Response IngestService::batch(http::Request& request) {
  ++counters_.requests;
  bool key_in_body = false;
  if (auto refusal = authenticate(request, key_in_body)) return std::move(*refusal);
  // A key in the body can only be read once the body is decoded; that comes first then, so that
  // every request is authenticated before the fault draws.
  std::string json;
  bool decoded = false;
  if (key_in_body) {
    if (auto refusal = http::decode_body(request, config_.max_decoded_bytes, json)) {
      ++counters_.bad_requests;
      return std::move(*refusal);
    }
    decoded = true;
    if (auto refusal = body_key_refusal(json)) return std::move(*refusal);
  }

  // Faults come after authentication (a wrong key is always reported as such) and, for the usual
  // Basic credentials, before any work, like an overloaded server that sheds load at the door.
  const FaultPlan plan = faults_.next();
  if (plan.throttle) {
    ++counters_.throttle_faults;
    http::Response r = http::Response::error(429, "throttled (fault injection)");
    r.headers.emplace_back("Retry-After", std::to_string(config_.faults.retry_after.count()));
    return r;
  }
  if (plan.fail) {
    ++counters_.fail_faults;
    return http::Response::error(503, "unavailable (fault injection)");
  }

  if (!decoded) {
    if (auto refusal = http::decode_body(request, config_.max_decoded_bytes, json)) {
      ++counters_.bad_requests;
      return std::move(*refusal);
    }
  }
  const batch::BatchVerdict verdict = batch::validate_batch(json, thread_parser(), config_.batch);
  if (verdict.refused()) {
    ++counters_.bad_requests;
    return http::Response::error(400, verdict.error);
  }
  auto stored = store_.store(verdict.accepted, format_rfc3339(now_ms()));
  if (!stored) {
    // 500 is retried by the SDK; the transaction was rolled back, so the retry loses nothing.
    return http::Response::error(500, "could not store the batch: " + stored.status().message());
  }
  ++counters_.batches;
  counters_.duplicates += stored->duplicates;
  counters_.rejected += verdict.rejected.size();

  http::Response response = http::Response::json(200, batch_reply(*stored, verdict.rejected));
  if (plan.drop) {
    ++counters_.drop_faults;
    response.drop_connection = true;  // stored, but the client never hears so and sends it again
  }
  response.delay = config_.faults.delay;
  return response;
}

http::Response IngestService::stats() {
  http::Response r = http::Response::json(200, render_stats_json(counters(), store_.counts()));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

http::Response IngestService::page() {
  http::Response r;
  r.status = 200;
  r.headers.emplace_back("Content-Type", "text/html; charset=utf-8");
  r.headers.emplace_back("Cache-Control", "no-store");
  // The page is self-contained: forbid loading anything else, even if text in it were hostile.
  r.headers.emplace_back("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.body = render_funnel_page(counters(), store_.counts());
  return r;
}

}  // namespace referkit::ingest
