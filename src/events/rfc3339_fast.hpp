// The event timestamp writer of the hot path: the same text as referkit::format_rfc3339, without
// snprintf or a temporary string (format_rfc3339 costs more than the rest of serialization).
#ifndef REFERKIT_SRC_EVENTS_RFC3339_FAST_HPP
#define REFERKIT_SRC_EVENTS_RFC3339_FAST_HPP

#include <cstddef>
#include <string>

#include "referkit/time.hpp"

namespace referkit::detail {

inline constexpr std::size_t kRfc3339Size = 24;  // "2026-11-27T09:30:00.123Z"

// Writes exactly kRfc3339Size characters at out; years outside 0000-9999 are clamped like
// format_rfc3339 does.
void write_rfc3339(char* out, TimePoint t) noexcept;
void append_rfc3339(std::string& out, TimePoint t);

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_EVENTS_RFC3339_FAST_HPP
