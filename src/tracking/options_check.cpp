#include "tracking/options_check.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "tracking/batch.hpp"

namespace referkit::detail {
namespace {

constexpr std::size_t kApiMaxBatchEvents = 2'500;
constexpr std::size_t kApiMaxBatchBytes = 500'000;
constexpr std::size_t kMinQueueBytes = 64 * 1024;
constexpr std::size_t kMinSegmentBytes = 64 * 1024;
constexpr std::size_t kMaxSegmentBytes = 1u << 30;

Status invalid(std::string message) { return Status(StatusCode::kInvalidArgument, std::move(message)); }

bool printable_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

}  // namespace

Status check_options(const TrackerOptions& o) {
  std::string_view endpoint = o.endpoint;
  if (endpoint.rfind("http://", 0) != 0 && endpoint.rfind("https://", 0) != 0) {
    return invalid("endpoint must start with http:// or https://");
  }
  if (!printable_ascii(endpoint) || endpoint.find(' ') != std::string_view::npos) {
    return invalid("endpoint must be printable ASCII without spaces");
  }
  if (o.write_key.empty() || !printable_ascii(o.write_key)) {
    return invalid("write_key is required (printable ASCII)");
  }
  if (o.max_batch_events < 1 || o.max_batch_events > kApiMaxBatchEvents) {
    return invalid("max_batch_events must be 1-2500");
  }
  if (o.max_batch_bytes < kMaxEventBytes + kBatchEnvelopeBytes || o.max_batch_bytes > kApiMaxBatchBytes) {
    return invalid("max_batch_bytes must be 32928-500000 (a batch must hold the largest event)");
  }
  for (Lane lane : {Lane::kConversions, Lane::kEngagement}) {
    if (o.budget(lane).max_queue_bytes < kMinQueueBytes) {
      return invalid(fmt::format("{}.max_queue_bytes must be at least 64 KiB", to_string(lane)));
    }
  }
  if (o.gzip_level < 1 || o.gzip_level > 9) return invalid("gzip_level must be 1-9");
  if (o.flush_interval.count() < 0 || o.block_timeout.count() < 0) {
    return invalid("flush_interval and block_timeout must not be negative");
  }
  if (o.http.connect_timeout.count() <= 0 || o.http.total_timeout.count() <= 0) {
    return invalid("http timeouts must be positive");
  }
  if (!o.spool_dir.empty()) {
    if (o.spool_segment_bytes < kMinSegmentBytes || o.spool_segment_bytes > kMaxSegmentBytes) {
      return invalid("spool_segment_bytes must be 64 KiB - 1 GiB");
    }
    for (Lane lane : {Lane::kConversions, Lane::kEngagement}) {
      if (o.budget(lane).max_spool_bytes < o.spool_segment_bytes) {
        return invalid(fmt::format("{}.max_spool_bytes must hold at least one segment", to_string(lane)));
      }
    }
    if (o.spool_commit_interval.count() <= 0 || o.max_event_age.count() < 0) {
      return invalid("spool_commit_interval must be positive and max_event_age not negative");
    }
  }
  if (o.background_nice < 0 || o.background_nice > 19) return invalid("background_nice must be 0-19");
  const RetryPolicy& r = o.retry;
  if (r.initial_backoff.count() <= 0 || r.max_backoff < r.initial_backoff || r.auth_backoff.count() <= 0 ||
      r.max_retry_after.count() < 0 || r.max_retry_duration.count() < 0) {
    return invalid("retry: need 0 < initial_backoff <= max_backoff, auth_backoff > 0, no negative durations");
  }
  return {};
}


}  // namespace referkit::detail
