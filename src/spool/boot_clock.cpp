#include "spool/boot_clock.hpp"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "spool/crc32c.hpp"
#include "spool/unique_fd.hpp"

namespace referkit::detail {
namespace {

std::uint64_t read_boot_id() noexcept {
  UniqueFd fd(::open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return 0;
  char text[64];
  const ssize_t n = ::read(fd.get(), text, sizeof text);
  if (n < 32) return 0;
  const auto size = static_cast<std::size_t>(n);
  // Two CRCs of the 128-bit UUID text: a 64-bit tag; 0 stays reserved for "unknown".
  const std::uint64_t id = std::uint64_t{crc32c(0, text, size)} << 32 | crc32c(0x9e3779b9u, text, size);
  return id == 0 ? 1 : id;
}

}  // namespace

BootTime boot_time_now() noexcept {
  static const std::uint64_t boot_id = read_boot_id();
  timespec ts{};
  if (::clock_gettime(CLOCK_BOOTTIME, &ts) != 0) return {};
  return BootTime{boot_id, static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000};
}

}  // namespace referkit::detail
