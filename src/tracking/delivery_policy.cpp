#include "tracking/delivery_policy.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace referkit::detail {

Outcome classify(const HttpResponse& response) {
  if (!response.status.ok()) return Outcome::kRetry;  // no HTTP answer at all
  const int code = response.code;
  if (code >= 200 && code < 300) return Outcome::kDelivered;
  if (code == 400 || code == 413) return Outcome::kSplit;
  if (code == 429) return Outcome::kThrottled;
  if (code == 408) return Outcome::kRetry;
  if (code >= 500 && code != 501 && code != 505) return Outcome::kRetry;
  return Outcome::kHold;
}

namespace {

int month_index(std::string_view m) {
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (m == kMonths[i]) return static_cast<int>(i) + 1;
  }
  return 0;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, TimePoint now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\r')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return std::chrono::milliseconds(std::chrono::hours(24 * 365));  // absurd: clamp later
    std::int64_t seconds = 0;
    for (char c : value) seconds = seconds * 10 + (c - '0');
    return std::chrono::milliseconds(seconds * 1000);
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" is exactly 29 characters.
  if (value.size() != 29 || value.substr(25) != " GMT" || value[3] != ',') return std::nullopt;
  const int month = month_index(value.substr(8, 3));
  if (month == 0) return std::nullopt;
  char iso[] = "YYYY-MM-DDTHH:MM:SSZ";
  std::memcpy(iso, value.data() + 12, 4);
  iso[5] = static_cast<char>('0' + month / 10);
  iso[6] = static_cast<char>('0' + month % 10);
  std::memcpy(iso + 8, value.data() + 5, 2);
  std::memcpy(iso + 11, value.data() + 17, 8);
  auto at = parse_rfc3339(iso);
  if (!at) return std::nullopt;
  return std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(*at - now));
}

Backoff::Backoff(const RetryPolicy& policy, std::uint64_t seed) : policy_(policy), rng_(seed) {}

std::chrono::milliseconds Backoff::delay(unsigned retry, std::optional<std::chrono::milliseconds> floor) {
  const auto initial = std::max<std::int64_t>(1, policy_.initial_backoff.count());
  const auto cap = std::max<std::int64_t>(initial, policy_.max_backoff.count());
  // initial * 2^retry, without overflowing for large retry counts.
  std::int64_t ceiling = initial;
  for (unsigned i = 0; i < retry && ceiling < cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, cap);
  std::uniform_int_distribution<std::int64_t> jitter(0, ceiling);
  std::chrono::milliseconds wait(jitter(rng_));
  if (floor) wait = std::max(wait, std::min(*floor, policy_.max_retry_after));
  return wait;
}

}  // namespace referkit::detail
