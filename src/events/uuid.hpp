// UUIDv7 message ids (RFC 9562): made once per event at track(), so the ingest side can
// deduplicate redeliveries. Time-ordered, so ids of one thread sort in the order they were made.
#ifndef REFERKIT_SRC_EVENTS_UUID_HPP
#define REFERKIT_SRC_EVENTS_UUID_HPP

#include <cstddef>
#include <string>
#include <string_view>

#include "referkit/time.hpp"

namespace referkit::detail {

inline constexpr std::size_t kUuidTextSize = 36;  // 8-4-4-4-12

// Writes a new UUIDv7 for the instant `now` as 36 lowercase characters at out (no terminator).
//
// Layout (RFC 9562 section 6.2, method 1, "fixed bit-length dedicated counter", 42 bits):
//   48-bit unix ms | ver 7 | 12-bit counter high | var 10 | 30-bit counter low | 32 random bits
// The counter starts at a random 41-bit value each new millisecond (the top bit stays clear so it
// cannot wrap within one) and is incremented by one for every further id in that millisecond, so
// one thread's ids are strictly increasing even with a frozen or backwards clock (the last
// millisecond is reused; on the, in practice impossible, counter overflow it is advanced by one).
// Ids of different threads and processes stay distinct through their independent seeds: 41
// random counter bits plus 32 fresh random bits per id.
//
// State is per thread (no locks, about 10 ns): a xoshiro256** generator seeded from the OS
// CSPRNG on first use, and reseeded in a forked child so it never repeats its parent's ids.
void write_uuid_v7(char* out, TimePoint now) noexcept;

void append_uuid_v7(std::string& out, TimePoint now);
std::string make_uuid_v7(TimePoint now);

// True for 36 lowercase-hex characters in 8-4-4-4-12 groups with version 7 and variant 10.
bool is_uuid_v7(std::string_view text) noexcept;

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_EVENTS_UUID_HPP
