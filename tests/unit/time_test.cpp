#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <limits>
#include <random>
#include <string>
#include <string_view>

#include "referkit/time.hpp"

using referkit::format_rfc3339;
using referkit::parse_rfc3339;
using referkit::StatusCode;
using referkit::TimePoint;

namespace {

TimePoint at_ms(std::int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

std::int64_t ms_of(TimePoint t) { return t.time_since_epoch().count(); }

constexpr std::int64_t kMinMs = -62'167'219'200'000;  // 0000-01-01T00:00:00.000Z
constexpr std::int64_t kMaxMs = 253'402'300'799'999;  // 9999-12-31T23:59:59.999Z

// Parses text that must be valid; returns the instant in milliseconds since the epoch.
std::int64_t parsed_ms(std::string_view text) {
  auto r = parse_rfc3339(text);
  INFO("input: ", std::string(text), " status: ", r.status().to_string());
  REQUIRE(r.ok());
  return ms_of(*r);
}

bool is_malformed(std::string_view text) {
  auto r = parse_rfc3339(text);
  return !r.ok() && r.status().code() == StatusCode::kMalformed;
}

// An independent oracle: the C library's proleptic Gregorian calendar.
std::string format_with_gmtime(std::int64_t ms) {
  std::int64_t seconds = ms / 1000;
  std::int64_t millis = ms % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return "gmtime_r failed";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  return buf;
}

}  // namespace

TEST_SUITE("time") {

TEST_CASE("format_rfc3339 of the epoch and of millisecond instants") {
  CHECK(format_rfc3339(at_ms(0)) == "1970-01-01T00:00:00.000Z");
  CHECK(format_rfc3339(at_ms(1)) == "1970-01-01T00:00:00.001Z");
  CHECK(format_rfc3339(at_ms(999)) == "1970-01-01T00:00:00.999Z");
  CHECK(format_rfc3339(at_ms(1'000)) == "1970-01-01T00:00:01.000Z");
  CHECK(format_rfc3339(at_ms(1'764'400'000'123)) == "2025-11-29T07:06:40.123Z");
  CHECK(format_rfc3339(at_ms(951'782'400'000)) == "2000-02-29T00:00:00.000Z");
  CHECK(format_rfc3339(at_ms(1'709'251'199'999)) == "2024-02-29T23:59:59.999Z");
}

TEST_CASE("format_rfc3339 before 1970") {
  CHECK(format_rfc3339(at_ms(-1)) == "1969-12-31T23:59:59.999Z");
  CHECK(format_rfc3339(at_ms(-1'000)) == "1969-12-31T23:59:59.000Z");
  CHECK(format_rfc3339(at_ms(-86'400'000)) == "1969-12-31T00:00:00.000Z");
  CHECK(format_rfc3339(at_ms(-86'400'001)) == "1969-12-30T23:59:59.999Z");
  CHECK(format_rfc3339(at_ms(-2'208'988'800'000)) == "1900-01-01T00:00:00.000Z");
  CHECK(format_rfc3339(at_ms(kMinMs)) == "0000-01-01T00:00:00.000Z");
}

TEST_CASE("format_rfc3339 clamps to years 0000 to 9999") {
  CHECK(format_rfc3339(at_ms(kMaxMs)) == "9999-12-31T23:59:59.999Z");
  CHECK(format_rfc3339(at_ms(kMaxMs + 1)) == "9999-12-31T23:59:59.999Z");
  CHECK(format_rfc3339(at_ms(std::numeric_limits<std::int64_t>::max())) == "9999-12-31T23:59:59.999Z");
  CHECK(format_rfc3339(at_ms(kMinMs - 1)) == "0000-01-01T00:00:00.000Z");
  CHECK(format_rfc3339(at_ms(std::numeric_limits<std::int64_t>::min())) == "0000-01-01T00:00:00.000Z");
}

TEST_CASE("parse_rfc3339 of the epoch and millisecond precision") {
  CHECK(parsed_ms("1970-01-01T00:00:00Z") == 0);
  CHECK(parsed_ms("1970-01-01T00:00:00.000Z") == 0);
  CHECK(parsed_ms("1970-01-01T00:00:00.001Z") == 1);
  CHECK(parsed_ms("1970-01-01T00:00:01.5Z") == 1'500);
  CHECK(parsed_ms("1970-01-01T00:00:01.25Z") == 1'250);
  CHECK(parsed_ms("2025-11-29T07:06:40.123Z") == 1'764'400'000'123);
  CHECK(parsed_ms("9999-12-31T23:59:59.999Z") == kMaxMs);
  CHECK(parsed_ms("0000-01-01T00:00:00Z") == kMinMs);
}

TEST_CASE("parse_rfc3339 before 1970") {
  CHECK(parsed_ms("1969-12-31T23:59:59.999Z") == -1);
  CHECK(parsed_ms("1969-12-31T23:59:59Z") == -1'000);
  CHECK(parsed_ms("1900-01-01T00:00:00Z") == -2'208'988'800'000);
  // Truncating the fraction keeps the digits as written: .9999 is 999 ms after the second.
  CHECK(parsed_ms("1969-12-31T23:59:59.9999Z") == -1);
}

TEST_CASE("leap days") {
  CHECK(parsed_ms("2024-02-29T12:00:00Z") == 1'709'208'000'000);
  CHECK(parsed_ms("2000-02-29T00:00:00Z") == 951'782'400'000);  // divisible by 400
  CHECK(is_malformed("2023-02-29T12:00:00Z"));
  CHECK(is_malformed("1900-02-29T00:00:00Z"));  // divisible by 100, not by 400
  CHECK(is_malformed("2100-02-29T00:00:00Z"));
  CHECK(is_malformed("2024-02-30T00:00:00Z"));
  CHECK(parsed_ms("2023-02-28T23:59:59.999Z") + 1 == parsed_ms("2023-03-01T00:00:00Z"));
  CHECK(parsed_ms("2024-02-29T23:59:59.999Z") + 1 == parsed_ms("2024-03-01T00:00:00Z"));
}

TEST_CASE("days per month are checked") {
  CHECK(parsed_ms("2024-01-31T00:00:00Z") > 0);
  CHECK(is_malformed("2024-04-31T00:00:00Z"));
  CHECK(is_malformed("2024-06-31T00:00:00Z"));
  CHECK(is_malformed("2024-09-31T00:00:00Z"));
  CHECK(is_malformed("2024-11-31T00:00:00Z"));
  CHECK(is_malformed("2024-12-32T00:00:00Z"));
  CHECK(is_malformed("2024-01-00T00:00:00Z"));
  CHECK(parsed_ms("2024-12-31T00:00:00Z") > 0);
}

TEST_CASE("offsets are converted to UTC") {
  CHECK(parsed_ms("2024-03-10T12:00:00+05:30") == parsed_ms("2024-03-10T06:30:00Z"));
  CHECK(parsed_ms("2024-03-10T12:00:00-08:00") == parsed_ms("2024-03-10T20:00:00Z"));
  CHECK(parsed_ms("2024-03-10T12:00:00+00:00") == parsed_ms("2024-03-10T12:00:00Z"));
  CHECK(parsed_ms("2024-03-10T12:00:00-00:00") == parsed_ms("2024-03-10T12:00:00Z"));
  // Across a day, a month and a leap day.
  CHECK(parsed_ms("2024-03-01T01:00:00+02:00") == parsed_ms("2024-02-29T23:00:00Z"));
  CHECK(parsed_ms("2023-12-31T20:00:00.250-05:00") == parsed_ms("2024-01-01T01:00:00.250Z"));
  CHECK(parsed_ms("1970-01-01T00:00:00+01:00") == -3'600'000);
  CHECK(parsed_ms("2024-03-10T12:00:00+23:59") == parsed_ms("2024-03-09T12:01:00Z"));
  CHECK(format_rfc3339(at_ms(parsed_ms("2024-03-10T12:00:00+05:30"))) == "2024-03-10T06:30:00.000Z");
}

TEST_CASE("fractions beyond milliseconds are truncated") {
  CHECK(parsed_ms("2024-01-01T00:00:00.1234Z") % 1000 == 123);
  CHECK(parsed_ms("2024-01-01T00:00:00.123999Z") % 1000 == 123);
  CHECK(parsed_ms("2024-01-01T00:00:00.999999999Z") % 1000 == 999);
  CHECK(parsed_ms("2024-01-01T00:00:00.000999Z") % 1000 == 0);
  CHECK(parsed_ms("2024-01-01T00:00:00.123456789+01:00") == parsed_ms("2023-12-31T23:00:00.123Z"));
  CHECK(parsed_ms("2024-01-01T00:00:00.9Z") % 1000 == 900);
}

TEST_CASE("lowercase t and z and a space separator are accepted") {
  const std::int64_t expected = parsed_ms("2024-05-06T07:08:09.010Z");
  CHECK(parsed_ms("2024-05-06t07:08:09.010z") == expected);
  CHECK(parsed_ms("2024-05-06T07:08:09.010z") == expected);
  CHECK(parsed_ms("2024-05-06t07:08:09.010Z") == expected);
  CHECK(parsed_ms("2024-05-06 07:08:09.010Z") == expected);
}

TEST_CASE("malformed timestamps are kMalformed") {
  const char* const inputs[] = {
      "",
      "2024",
      "2024-01-01",
      "2024-01-01T00:00",
      "2024-01-01T00:00:00",  // no zone
      "2024-01-01T00:00:00.",
      "2024-01-01T00:00:00.Z",  // a dot without digits
      "2024-13-01T00:00:00Z",
      "2024-00-01T00:00:00Z",
      "2024-01-01T24:00:00Z",
      "2024-01-01T23:60:00Z",
      "2024-01-01T23:59:60Z",  // leap seconds are refused
      "2024-01-01T00:00:00UTC",
      "2024-01-01T00:00:00Zulu",
      "2024-01-01T00:00:00ZZ",
      "2024-01-01T00:00:00+0530",
      "2024-01-01T00:00:00+05",
      "2024-01-01T00:00:00+5:30",
      "2024-01-01T00:00:00+05:3",
      "2024-01-01T00:00:00+05:30Z",
      "2024-01-01T00:00:00+24:00",
      "2024-01-01T00:00:00+05:60",
      "2024-01-01T00:00:00*05:30",
      "2024-01-01T00:00:00+a5:30",
      "2024-01-01X00:00:00Z",
      "2024/01/01T00:00:00Z",
      "2024-01-01T00-00-00Z",
      "2O24-01-01T00:00:00Z",
      "-024-01-01T00:00:00Z",
      "+2024-01-01T00:00:00Z",
      " 2024-01-01T00:00:00Z",
      "2024-01-01T00:00:00Z ",
      "2024-1-01T00:00:00Z",
      "2024-01-01T0:00:00Z",
      "2024-01-01T00:00:00.12a3Z",
      "2024-01-01T00:00:00,123Z",
      "not a timestamp at all",
  };
  for (const char* input : inputs) {
    auto r = parse_rfc3339(input);
    CAPTURE(input);
    CHECK_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kMalformed);
  }
  // A NUL byte inside is not a digit or a zone.
  CHECK(is_malformed(std::string_view("2024-01-01T00:00:00\0Z", 21)));
  CHECK(is_malformed(std::string_view("2024-01-01T00:00:0\0Z", 20)));
}

TEST_CASE("inputs of 41 characters or more are refused and 40 are accepted") {
  // 19 characters of date and time, '.', 19 fraction digits and 'Z': exactly 40.
  const std::string forty = "2024-01-01T00:00:00." + std::string(19, '1') + "Z";
  REQUIRE(forty.size() == 40);
  CHECK(parsed_ms(forty) == parsed_ms("2024-01-01T00:00:00.111Z"));
  const std::string forty_one = "2024-01-01T00:00:00." + std::string(20, '1') + "Z";
  REQUIRE(forty_one.size() == 41);
  CHECK(is_malformed(forty_one));
  CHECK(is_malformed("2024-01-01T00:00:00." + std::string(1000, '0') + "Z"));
}

TEST_CASE("the malformed message quotes the input") {
  auto r = parse_rfc3339("2024-13-01T00:00:00Z");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("2024-13-01T00:00:00Z") != std::string::npos);
}

TEST_CASE("format agrees with the C library calendar") {
  std::mt19937_64 rng(1764400000);
  std::uniform_int_distribution<std::int64_t> any(kMinMs, kMaxMs);
  for (int i = 0; i < 5000; ++i) {
    const std::int64_t ms = any(rng);
    CAPTURE(ms);
    CHECK(format_rfc3339(at_ms(ms)) == format_with_gmtime(ms));
  }
}

TEST_CASE("format then parse round trips random instants from 1970 to 9999") {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::int64_t> any(0, kMaxMs);
  for (int i = 0; i < 20000; ++i) {
    const std::int64_t ms = any(rng);
    const std::string text = format_rfc3339(at_ms(ms));
    CAPTURE(text);
    REQUIRE(text.size() == 24);
    auto back = parse_rfc3339(text);
    REQUIRE(back.ok());
    CHECK(ms_of(*back) == ms);
  }
  // And the boundaries of each day, month and year near the ends of the range.
  for (std::int64_t ms : {std::int64_t{0}, std::int64_t{86'399'999}, std::int64_t{86'400'000}, kMaxMs,
                          kMaxMs - 86'400'000, kMinMs, kMinMs + 1, std::int64_t{-1}}) {
    CAPTURE(ms);
    auto back = parse_rfc3339(format_rfc3339(at_ms(ms)));
    REQUIRE(back.ok());
    CHECK(ms_of(*back) == ms);
  }
}

TEST_CASE("now_ms has millisecond precision and is near the system clock") {
  const auto before = std::chrono::time_point_cast<std::chrono::milliseconds>(referkit::Clock::now());
  const TimePoint now = referkit::now_ms();
  const auto after = referkit::Clock::now();
  CHECK(now >= before);
  CHECK(now <= after);
}

}  // TEST_SUITE
