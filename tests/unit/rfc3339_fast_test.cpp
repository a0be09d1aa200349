#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>

#include "time/rfc3339_fast.hpp"
#include "referkit/time.hpp"

using referkit::format_rfc3339;
using referkit::TimePoint;
using referkit::detail::append_rfc3339;

namespace {

constexpr std::int64_t kMinMs = -62'167'219'200'000;  // 0000-01-01T00:00:00.000Z
constexpr std::int64_t kMaxMs = 253'402'300'799'999;  // 9999-12-31T23:59:59.999Z
constexpr std::int64_t kMsPerDay = 86'400'000;

std::string fast(std::int64_t ms) {
  std::string out = "prefix:";
  append_rfc3339(out, TimePoint(std::chrono::milliseconds(ms)));
  return out.substr(7);
}

// The judge: parse_rfc3339, written independently (days_from_civil, signed arithmetic), must read
// the text back as the same instant. format_rfc3339 is this writer now, so it cannot be the judge.
bool reads_back(std::int64_t ms) {
  const auto parsed = referkit::parse_rfc3339(fast(ms));
  return parsed && parsed->time_since_epoch().count() == ms;
}

}  // namespace

TEST_SUITE("time") {

TEST_CASE("append_rfc3339 on known instants") {
  CHECK(fast(0) == "1970-01-01T00:00:00.000Z");
  CHECK(fast(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(fast(1'795'771'800'123) == "2026-11-27T09:30:00.123Z");
  CHECK(fast(951'782'400'000) == "2000-02-29T00:00:00.000Z");
  CHECK(fast(kMinMs) == "0000-01-01T00:00:00.000Z");
  CHECK(fast(kMaxMs) == "9999-12-31T23:59:59.999Z");
  CHECK(fast(kMinMs - 1) == "0000-01-01T00:00:00.000Z");  // clamped
  CHECK(fast(INT64_MIN) == "0000-01-01T00:00:00.000Z");
  CHECK(fast(kMaxMs + 1) == "9999-12-31T23:59:59.999Z");
  CHECK(fast(INT64_MAX) == "9999-12-31T23:59:59.999Z");
}

TEST_CASE("format_rfc3339 is the fast writer's text") {
  for (std::int64_t ms : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1'795'771'800'123}, kMinMs - 1, kMaxMs + 1}) {
    CHECK(format_rfc3339(TimePoint(std::chrono::milliseconds(ms))) == fast(ms));
  }
}

TEST_CASE("append_rfc3339 reads back through parse_rfc3339 around every day boundary of the tricky years") {
  // Year 0 (before the algorithm's March-based era start), whole 400-year eras around 2000
  // (1600, 1700, 1800, 1900 and 2100 are not leap years, 2000 is), and the top of the range.
  struct Years {
    std::int64_t first_day;
    std::int64_t last_day;
  };
  const Years ranges[] = {{kMinMs / kMsPerDay, kMinMs / kMsPerDay + 401 * 366},
                          {-135'140, 47'482},  // 1600-01-01 .. 2100-01-01
                          {kMaxMs / kMsPerDay - 401 * 366, kMaxMs / kMsPerDay}};
  int mismatches = 0;
  for (const Years& r : ranges) {
    for (std::int64_t day = r.first_day; day <= r.last_day; ++day) {
      for (std::int64_t ms : {day * kMsPerDay, day * kMsPerDay - 1, day * kMsPerDay + 43'210'987}) {
        if (ms < kMinMs || ms > kMaxMs) continue;
        if (!reads_back(ms) && ++mismatches < 5) CHECK(reads_back(ms));
      }
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE("append_rfc3339's per-second cache: within a second, across seconds, backwards, at the clamps") {
  // The date and time to the second are cached per thread: every write must still read back,
  // whichever second the previous write was in.
  const std::int64_t t0 = 1'795'771'799'998;
  const std::int64_t steps[] = {t0, t0 + 1, t0 + 2, t0 + 3, t0 + 1'000, t0 - 1'000, t0, t0 + 2,
                                -1, -1'000, -1'001, 0, 999, 1'000, kMinMs, kMinMs - 5, kMinMs + 999,
                                kMaxMs, kMaxMs + 5, kMaxMs - 999, t0 + kMsPerDay, t0 + 2};
  for (const std::int64_t ms : steps) {
    INFO(ms);
    const auto parsed = referkit::parse_rfc3339(fast(ms));
    REQUIRE(parsed);
    CHECK(parsed->time_since_epoch().count() == std::clamp(ms, kMinMs, kMaxMs));
  }
  CHECK(fast(t0) == "2026-11-27T09:29:59.998Z");
  CHECK(fast(t0 + 2) == "2026-11-27T09:30:00.000Z");
  CHECK(fast(t0 + 1) == "2026-11-27T09:29:59.999Z");
}

TEST_CASE("append_rfc3339 reads back through parse_rfc3339 on random instants") {
  std::mt19937_64 rng(1127);
  std::uniform_int_distribution<std::int64_t> anywhere(kMinMs - 1'000'000, kMaxMs + 1'000'000);
  std::uniform_int_distribution<std::int64_t> recent(0, 4'102'444'800'000);  // 1970-2100
  int mismatches = 0;
  for (int i = 0; i < 200'000; ++i) {
    for (std::int64_t ms : {anywhere(rng), recent(rng)}) {
      const std::int64_t in_range = std::clamp(ms, kMinMs, kMaxMs);  // the writer clamps
      const auto parsed = referkit::parse_rfc3339(fast(ms));
      const bool ok = parsed && parsed->time_since_epoch().count() == in_range;
      if (!ok && ++mismatches < 5) CHECK(ok);
    }
  }
  CHECK(mismatches == 0);
}

}  // TEST_SUITE
