#include "time/rfc3339_fast.hpp"

#include <cstdint>
#include <cstring>

#include "common/text.hpp"

namespace referkit::detail {
namespace {

// Days from 0000-03-01 (the start of a 400-year era with the leap day last) to 1970-01-01.
constexpr std::int64_t kEpochShiftDays = 719'468;
// One more era, so January and February of year 0 (before 0000-03-01) are non-negative too.
constexpr std::int64_t kDaysPerEra = 146'097;

void put2(char* out, unsigned v) { std::memcpy(out, kDecimalPairs.text + 2 * v, 2); }

constexpr std::int64_t kSecondsPerDay = 86'400;
constexpr std::size_t kHeadSize = 20;  // "2026-11-27T09:30:00."

// The first kHeadSize characters for a whole second in the clamped range.
void write_head(char* out, std::int64_t second) noexcept {
  // Shift to a non-negative day count from -0400-03-01 so all the arithmetic below is unsigned:
  // the clamp guarantees it, and unsigned division by constants is the cheapest kind.
  const std::int64_t floor_days = (second >= 0 ? second : second - (kSecondsPerDay - 1)) / kSecondsPerDay;
  const auto seconds = static_cast<std::uint32_t>(second - floor_days * kSecondsPerDay);
  const auto z = static_cast<std::uint32_t>(floor_days + kEpochShiftDays + kDaysPerEra);

  // The civil-from-days algorithm (Howard Hinnant's derivation), specialised to z >= 0.
  const std::uint32_t era = z / 146'097;
  const std::uint32_t doe = z - era * 146'097;                                  // [0, 146096]
  const std::uint32_t yoe = (doe - doe / 1'460 + doe / 36'524 - doe / 146'096) / 365;  // [0, 399]
  const std::uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);             // [0, 365]
  const std::uint32_t mp = (5 * doy + 2) / 153;                                  // March = 0
  const std::uint32_t day = doy - (153 * mp + 2) / 5 + 1;
  const std::uint32_t month = mp < 10 ? mp + 3 : mp - 9;
  const std::uint32_t year = yoe + era * 400 + (month <= 2 ? 1 : 0) - 400;  // undo the extra era

  put2(out, year / 100);
  put2(out + 2, year % 100);
  out[4] = '-';
  put2(out + 5, month);
  out[7] = '-';
  put2(out + 8, day);
  out[10] = 'T';
  put2(out + 11, seconds / 3600);
  out[13] = ':';
  put2(out + 14, seconds / 60 % 60);
  out[16] = ':';
  put2(out + 17, seconds % 60);
  out[19] = '.';
}

// The last second written on this thread and its head: track() stamps events many times a
// second, and the calendar arithmetic above is most of a timestamp's cost. Constant-initialized,
// so the thread_local needs no guard.
struct HeadCache {
  std::int64_t second = kRfc3339MinMs / 1000 - 1;  // below the clamp range: matches nothing
  char head[kHeadSize] = {};
};
thread_local HeadCache t_head;

}  // namespace

void write_rfc3339(char* out, TimePoint t) noexcept {
  std::int64_t ms = t.time_since_epoch().count();
  if (ms < kRfc3339MinMs) ms = kRfc3339MinMs;
  if (ms > kRfc3339MaxMs) ms = kRfc3339MaxMs;
  const std::int64_t second = (ms >= 0 ? ms : ms - 999) / 1000;
  const auto millis = static_cast<std::uint32_t>(ms - second * 1000);
  HeadCache& cache = t_head;
  if (cache.second != second) {
    write_head(cache.head, second);
    cache.second = second;
  }
  std::memcpy(out, cache.head, kHeadSize);
  out[20] = static_cast<char>('0' + millis / 100);
  put2(out + 21, millis % 100);
  out[23] = 'Z';
}

void append_rfc3339(std::string& out, TimePoint t) {
  char buf[kRfc3339Size];
  write_rfc3339(buf, t);
  out.append(buf, kRfc3339Size);
}

}  // namespace referkit::detail
