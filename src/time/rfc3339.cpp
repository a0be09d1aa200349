#include <cstdint>

#include <fmt/format.h>

#include "referkit/time.hpp"
#include "time/rfc3339_fast.hpp"

namespace referkit {
inline namespace v1 {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (the era-based civil calendar formula).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned mp = m > 2 ? m - 3 : m + 9;  // March-based month
  const unsigned doy = (153 * mp + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool is_leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(std::int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

using detail::kMsPerDay;
using detail::kRfc3339MaxMs;
using detail::kRfc3339MinMs;

// Reads exactly `width` digits at text[pos]; -1 if any is not a digit or the text is too short.
int read_digits(std::string_view text, std::size_t pos, std::size_t width) {
  if (text.size() < pos + width) return -1;
  int v = 0;
  for (std::size_t i = 0; i < width; ++i) {
    char c = text[pos + i];
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

Status malformed(std::string_view text) {
  return Status(StatusCode::kMalformed, fmt::format("not an RFC 3339 timestamp: \"{}\"", text.substr(0, 64)));
}

}  // namespace

TimePoint now_ms() noexcept {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(Clock::now());
}

// The fast writer, into a string of its own: one formatter for the hot path and for everyone else.
std::string format_rfc3339(TimePoint t) {
  std::string out(detail::kRfc3339Size, '\0');
  detail::write_rfc3339(out.data(), t);
  return out;
}

Result<TimePoint> parse_rfc3339(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS is 19 characters; the zone needs at least one more.
  if (text.size() < 20 || text.size() > 40) return malformed(text);
  const int year = read_digits(text, 0, 4);
  const int month = read_digits(text, 5, 2);
  const int day = read_digits(text, 8, 2);
  const int hour = read_digits(text, 11, 2);
  const int minute = read_digits(text, 14, 2);
  const int second = read_digits(text, 17, 2);
  const char sep = text[10];
  if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 ||
      minute > 59 || second < 0 || second > 59 || text[4] != '-' || text[7] != '-' ||
      text[13] != ':' || text[16] != ':' || (sep != 'T' && sep != 't' && sep != ' ')) {
    return malformed(text);
  }
  if (static_cast<unsigned>(day) > days_in_month(year, static_cast<unsigned>(month))) {
    return malformed(text);
  }
  std::size_t pos = 19;
  int millis = 0;
  if (text[pos] == '.') {
    ++pos;
    std::size_t digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 3) millis = millis * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return malformed(text);
    for (std::size_t i = digits; i < 3; ++i) millis *= 10;
  }
  std::int64_t offset_minutes = 0;
  std::string_view zone = text.substr(pos);
  if (zone == "Z" || zone == "z") {
    // UTC
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    const int oh = read_digits(zone, 1, 2);
    const int om = read_digits(zone, 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return malformed(text);
    offset_minutes = (zone[0] == '+' ? 1 : -1) * (oh * 60 + om);
  } else {
    return malformed(text);
  }
  std::int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  std::int64_t ms = days * kMsPerDay + ((hour * 60 + minute - offset_minutes) * 60 + second) * 1000 + millis;
  // An offset can push a year-0000 or year-9999 local time out of what UTC text can show.
  if (ms < kRfc3339MinMs || ms > kRfc3339MaxMs) return malformed(text);
  return TimePoint(std::chrono::milliseconds(ms));
}

}  // namespace v1
}  // namespace referkit
