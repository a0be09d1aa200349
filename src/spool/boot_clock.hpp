// A clock no wall-clock step can move, and which boot it counts in: CLOCK_BOOTTIME (which, unlike
// CLOCK_MONOTONIC, keeps counting through suspend) and a hash of the kernel's boot_id. Two readings
// with the same boot id are comparable; across a reboot they are not.
#ifndef REFERKIT_SRC_SPOOL_BOOT_CLOCK_HPP
#define REFERKIT_SRC_SPOOL_BOOT_CLOCK_HPP

#include <cstdint>

namespace referkit::detail {

struct BootTime {
  std::uint64_t boot_id = 0;  // 0: unknown (no /proc), never equal to another reading's
  std::int64_t ms = 0;
};

BootTime boot_time_now() noexcept;

// How long ago `then` was, if that can be known: same boot; otherwise -1.
inline std::int64_t boot_ms_since(const BootTime& then, const BootTime& now) noexcept {
  if (then.boot_id == 0 || then.boot_id != now.boot_id || now.ms < then.ms) return -1;
  return now.ms - then.ms;
}

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_SPOOL_BOOT_CLOCK_HPP
