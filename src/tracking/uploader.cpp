#include "tracking/uploader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <random>

#include "crypto/encoding.hpp"
#include "referkit/version.hpp"
#include "referkit/webhooks.hpp"

namespace referkit::detail {
namespace {

std::uint64_t seed_from(std::uint64_t configured) {
  if (configured != 0) return configured;
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

std::string describe(const HttpResponse& r) {
  if (!r.status.ok()) return r.status.to_string();
  if (r.body.empty()) return fmt::format("HTTP {}", r.code);
  return fmt::format("HTTP {}: {}", r.code, std::string_view(r.body).substr(0, 200));
}

}  // namespace

Uploader::Uploader(const TrackerOptions& options, const testing::TrackerSeams& seams,
                   std::shared_ptr<Transport> transport)
    : options_(options),
      seams_(seams),
      transport_(std::move(transport)),
      backoff_(options.retry, seed_from(seams.random_seed)),
      encoder_(options.gzip_level) {
  std::string endpoint = options.endpoint;
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  url_ = endpoint + "/v1/batch";
  std::string agent = "referkit-cpp/" REFERKIT_VERSION_STRING;
  if (!options.user_agent_suffix.empty()) agent += " " + options.user_agent_suffix;
  base_headers_ = {{"Authorization", "Basic " + base64_encode(options.write_key + ":")},
                   {"Content-Type", "application/json"},
                   {"User-Agent", agent}};
}

UploadOutcome Uploader::send(Batch& batch) {
  ++batch.attempts;
  EncodedBody body;
  const SteadyTime now = seams_.steady_clock();
  if (batch.attempts == 1 && batch.encoded && now - batch.encoded->made < kMaxEncodedAge) {
    body = std::move(*batch.encoded);
  } else {
    body = encode_batch(batch, seams_.wall_clock(), now, options_.gzip, options_.gzip_min_bytes, encoder_);
  }
  batch.encoded.reset();

  HttpRequest request;
  request.url = url_;
  request.headers = base_headers_;
  request.headers.emplace_back("X-Referkit-Batch-Id", batch.id);
  request.headers.emplace_back("X-Referkit-Attempt", std::to_string(batch.attempts));
  if (body.gzipped) request.headers.emplace_back("Content-Encoding", "gzip");
  if (!options_.signing_secret.empty()) {
    const auto t = std::chrono::duration_cast<std::chrono::seconds>(body.sent_at.time_since_epoch()).count();
    request.headers.emplace_back(std::string(kSignatureHeader), sign_payload(options_.signing_secret, t, body.bytes));
  }
  UploadOutcome out;
  out.raw_bytes = body.raw_size;
  out.sent_bytes = body.bytes.size();
  request.body = std::move(body.bytes);

  const SteadyTime started = seams_.steady_clock();
  const HttpResponse response = transport_->send(request);
  out.took = std::chrono::duration_cast<std::chrono::milliseconds>(seams_.steady_clock() - started);
  out.outcome = classify(response);
  out.http_status = response.code;
  if (out.outcome == Outcome::kDelivered) {
    out.rejected = parse_rejections(response.body);
    // Only ids that are in this batch count: a confused server cannot make us lose others.
    out.rejected.erase(std::remove_if(out.rejected.begin(), out.rejected.end(),
                                      [&](const DeadLetter& d) {
                                        return std::none_of(batch.events.begin(), batch.events.end(),
                                                            [&](const QueuedEvent& e) { return e.message_id() == d.message_id; });
                                      }),
                       out.rejected.end());
    return out;
  }
  out.error = describe(response);
  out.cancelled = response.status.code() == StatusCode::kFailedPrecondition;  // Transport's contract
  if (out.outcome == Outcome::kSplit) return out;
  // No delivery: how long before the same batch (same id, same messageIds) goes again.
  std::optional<std::chrono::milliseconds> retry_after;
  if (response.retry_after) retry_after = parse_retry_after(*response.retry_after, seams_.wall_clock());
  if (out.outcome == Outcome::kHold) {
    out.wait = options_.retry.auth_backoff;
  } else {
    if (out.outcome == Outcome::kThrottled && !retry_after) retry_after = options_.retry.initial_backoff;
    out.wait = backoff_.delay(batch.attempts - 1, retry_after);
  }
  return out;
}

}  // namespace referkit::detail
