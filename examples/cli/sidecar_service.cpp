#include "sidecar_service.hpp"

#include <simdjson.h>

#include <string>
#include <vector>

#include "common/text.hpp"
#include "http/body.hpp"
#include "json/json_writer.hpp"

namespace referkit::cli {
namespace {

// Segment's single-event paths and the type each implies.
constexpr std::pair<std::string_view, std::string_view> kSinglePaths[] = {
    {"/v1/track", "track"}, {"/v1/identify", "identify"}, {"/v1/page", "page"},
    {"/v1/screen", "screen"}, {"/v1/group", "group"},      {"/v1/alias", "alias"},
};

http::Response unauthorized(std::string_view reason) { return http::Response::unauthorized(reason, "referkit serve"); }

simdjson::dom::parser& thread_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

// A single-event body as a one-event batch, so that both kinds of request go through the same
// rules. The path gives the type: a body without "type" gets it, one with another type is refused.
std::optional<http::Response> wrap_single(std::string_view type, std::string& json) {
  simdjson::dom::element root;
  if (auto error = thread_parser().parse(json).get(root)) {
    return http::Response::error(400, std::string("malformed JSON: ") + simdjson::error_message(error));
  }
  simdjson::dom::object object;
  if (root.get_object().get(object)) return http::Response::error(400, "the body is not a JSON object");
  std::string_view given;
  const auto found = object["type"].get_string().get(given);
  if (found == simdjson::SUCCESS && given != type) {
    return http::Response::error(400, "this path takes \"type\":\"" + std::string(type) + "\" events");
  }
  if (found != simdjson::SUCCESS && found != simdjson::NO_SUCH_FIELD) {
    return http::Response::error(400, "type must be a string");
  }
  const std::size_t brace = json.find('{');  // the parser accepted an object: it starts here
  std::string wrapped = "{\"batch\":[";
  if (found == simdjson::NO_SUCH_FIELD) {
    wrapped += "{\"type\":\"" + std::string(type) + "\"";
    // An empty object stays an (incomplete) event for the validator to report.
    const std::size_t next = json.find_first_not_of(" \t\r\n", brace + 1);
    if (next != std::string::npos && json[next] != '}') wrapped += ',';
    wrapped.append(json, brace + 1, std::string::npos);
  } else {
    wrapped += json;
  }
  wrapped += "]}";
  json = std::move(wrapped);
  return std::nullopt;
}

// {"accepted":N,"rejected":[{"messageId":..,"reason":..}]}, as referkit-ingest reports them.
std::string intake_reply(std::size_t accepted, const std::vector<batch::EventRejection>& rejected) {
  std::string out;
  detail::JsonWriter w(out);
  w.begin_object();
  w.key("accepted").value(static_cast<std::uint64_t>(accepted));
  w.key("rejected").begin_array();
  for (const batch::EventRejection& r : rejected) {
    w.begin_object().key("messageId").value(r.message_id).key("reason").value(r.reason).end_object();
  }
  w.end_array();
  w.end_object();
  return out;
}

}  // namespace

SidecarService::SidecarService(SidecarConfig config, Tracker& tracker, LastSuccess& last_success)
    : config_(std::move(config)), tracker_(tracker), last_success_(last_success), started_(std::chrono::steady_clock::now()) {}

http::Response SidecarService::handle(http::Request& request) {
  const std::string_view path = request.path();
  if (path == "/v1/batch" || path == "/v1/import") {  // /v1/import: Segment's older name for batch
    if (request.method != "POST") return http::Response::method_not_allowed("POST");
    return intake(request, {});
  }
  for (const auto& [single, type] : kSinglePaths) {
    if (path != single) continue;
    if (request.method != "POST") return http::Response::method_not_allowed("POST");
    return intake(request, type);
  }
  if (path == "/healthz") {
    if (request.method != "GET") return http::Response::method_not_allowed("GET");
    if (stopping_.load()) return http::Response::text(503, "stopping\n");
    return http::Response::text(200, "ok\n");
  }
  if (path == "/metrics") {
    if (request.method != "GET") return http::Response::method_not_allowed("GET");
    http::Response r = http::Response::text(200, metrics_text());
    r.headers[0].second = "text/plain; version=0.0.4; charset=utf-8";
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  }
  if (path == "/v1/links" || path == "/v1/links/verify" || path == "/v1/webhooks/verify") {
    if (!config_.keyed) return http::Response::error(404, "links and webhook checks need `referkit serve --keys FILE`");
    if (request.method != "POST") return http::Response::method_not_allowed("POST");
    return config_.keyed(request);
  }
  return http::Response::error(404, "no such endpoint; events go to POST /v1/batch");
}

http::Response SidecarService::intake(http::Request& request, std::string_view single_type) {
  counters_.requests.fetch_add(1, std::memory_order_relaxed);
  if (stopping_.load()) {
    counters_.failed.fetch_add(1, std::memory_order_relaxed);
    http::Response r = http::Response::error(503, "the agent is stopping");
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  const auto authorization = request.header("Authorization");
  const auto user = authorization ? http::basic_auth_user(*authorization) : std::nullopt;
  if (authorization && (!user || !config_.accept_keys.accepts(*user))) {
    counters_.unauthorized.fetch_add(1, std::memory_order_relaxed);
    return unauthorized(user ? "unknown write key" : "malformed Authorization header: expected Basic base64(writeKey + \":\")");
  }
  std::string json;
  if (auto refusal = http::decode_body(request, config_.max_decoded_bytes, json)) {
    counters_.bad_requests.fetch_add(1, std::memory_order_relaxed);
    return std::move(*refusal);
  }
  if (!authorization) {
    // Some Segment libraries send the key as "writeKey" in the body instead.
    std::string_view key;
    simdjson::dom::element root;
    if (thread_parser().parse(json).get(root) || root["writeKey"].get_string().get(key) ||
        !config_.accept_keys.accepts(key)) {
      counters_.unauthorized.fetch_add(1, std::memory_order_relaxed);
      return unauthorized("no credentials: send HTTP Basic with the write key as user name, or \"writeKey\" in the body");
    }
  }
  if (!single_type.empty()) {
    if (auto refusal = wrap_single(single_type, json)) {
      counters_.bad_requests.fetch_add(1, std::memory_order_relaxed);
      return std::move(*refusal);
    }
  }
  // The ingest API's own rules first (so nothing is spooled that it would refuse as a batch),
  // then each event through track_json, the SDK's rules, which spools it byte for byte.
  batch::BatchVerdict verdict = batch::validate_batch(json, thread_parser(), config_.batch);
  if (verdict.refused()) {
    counters_.bad_requests.fetch_add(1, std::memory_order_relaxed);
    return http::Response::error(400, verdict.error);
  }
  std::size_t accepted = 0;
  for (const batch::AcceptedEvent& event : verdict.accepted) {
    const Status s = tracker_.track_json(event.json);
    if (s.ok()) {
      ++accepted;
      continue;
    }
    if (s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kMalformed) {
      verdict.rejected.push_back(batch::EventRejection{std::string(event.message_id), s.message()});
      continue;
    }
    // The spool cannot take it. What this request already spooled stays (the client's retry of
    // the whole batch is deduplicated downstream by messageId); nothing is dropped silently.
    counters_.events_accepted.fetch_add(accepted, std::memory_order_relaxed);
    if (s.code() == StatusCode::kResourceExhausted) {
      counters_.throttled.fetch_add(1, std::memory_order_relaxed);
      http::Response r = http::Response::error(429, "the spool is full: " + s.message());
      r.headers.emplace_back("Retry-After", std::to_string(config_.retry_after.count()));
      return r;
    }
    counters_.failed.fetch_add(1, std::memory_order_relaxed);
    return http::Response::error(503, "could not spool the events: " + s.message());
  }
  counters_.events_accepted.fetch_add(accepted, std::memory_order_relaxed);
  counters_.events_rejected.fetch_add(verdict.rejected.size(), std::memory_order_relaxed);
  if (config_.durable_ack && accepted > 0) {
    if (Status committed = tracker_.commit(config_.commit_timeout); !committed.ok()) {
      // In the spool, but not yet safe from power loss: the client must not count on it.
      counters_.failed.fetch_add(1, std::memory_order_relaxed);
      return http::Response::error(503, "the spool's commit failed: " + committed.message());
    }
  }
  return http::Response::json(200, intake_reply(accepted, verdict.rejected));
}

std::string SidecarService::metrics_text() {
  const TrackerStats stats = tracker_.stats();
  return render_metrics(stats, counters_, last_success_.seconds_since(stats),
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
}

}  // namespace referkit::cli
