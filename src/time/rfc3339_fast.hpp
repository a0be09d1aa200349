// The one RFC 3339 writer: fixed-width digit writes, no fmt, no temporary string. The event
// serializer's hot path writes timestamps with it straight into its buffer, and
// referkit::format_rfc3339 (the public, allocating form) is a thin wrapper around it.
#ifndef REFERKIT_SRC_TIME_RFC3339_FAST_HPP
#define REFERKIT_SRC_TIME_RFC3339_FAST_HPP

#include <cstddef>
#include <cstdint>
#include <string>

#include "referkit/time.hpp"

namespace referkit::detail {

inline constexpr std::size_t kRfc3339Size = 24;  // "2026-11-27T09:30:00.123Z"
inline constexpr std::int64_t kMsPerDay = 86'400'000;
// 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: what four year digits can show, so the
// writer's clamp range and the parser's accepted range.
inline constexpr std::int64_t kRfc3339MinMs = -62'167'219'200'000;
inline constexpr std::int64_t kRfc3339MaxMs = 253'402'300'799'999;

// Writes exactly kRfc3339Size characters at out; instants outside years 0000-9999 are clamped to
// the nearest one four year digits can show.
void write_rfc3339(char* out, TimePoint t) noexcept;
void append_rfc3339(std::string& out, TimePoint t);

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_TIME_RFC3339_FAST_HPP
