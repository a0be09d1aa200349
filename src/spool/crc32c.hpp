// CRC-32C (Castagnoli), the checksum of spool records. Hardware-accelerated where the CPU has
// it (SSE 4.2 on x86-64), so checksumming an event costs tens of nanoseconds on track()'s path
// and recovery scans at memory speed.
#ifndef REFERKIT_SRC_SPOOL_CRC32C_HPP
#define REFERKIT_SRC_SPOOL_CRC32C_HPP

#include <cstddef>
#include <cstdint>

namespace referkit::detail {

// Continues `crc` (0 to start) over the bytes.
std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t size) noexcept;

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_SPOOL_CRC32C_HPP
