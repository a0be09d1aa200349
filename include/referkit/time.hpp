// Timestamps as the wire shows them: RFC 3339 in UTC with millisecond precision.
#ifndef REFERKIT_TIME_HPP
#define REFERKIT_TIME_HPP

#include <chrono>
#include <string>
#include <string_view>

#include "referkit/export.hpp"
#include "referkit/status.hpp"

namespace referkit {
inline namespace v1 {

using Clock = std::chrono::system_clock;
using TimePoint = std::chrono::time_point<Clock, std::chrono::milliseconds>;

// Now, truncated to milliseconds (the wire precision).
[[nodiscard]] REFERKIT_EXPORT TimePoint now_ms() noexcept;

// "2026-11-27T09:30:00.123Z". Years 0000-9999 only; other times are clamped to that range.
[[nodiscard]] REFERKIT_EXPORT std::string format_rfc3339(TimePoint t);

// Accepts "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)", 't'/'z' and a space separator too.
// Fractions beyond milliseconds are truncated. Leap second 60 is refused.
REFERKIT_EXPORT Result<TimePoint> parse_rfc3339(std::string_view text);

}  // namespace v1
}  // namespace referkit

#endif  // REFERKIT_TIME_HPP
