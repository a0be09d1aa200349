// The spool segment header on arbitrary bytes, with the acknowledged-offset word: decoding never
// reads out of bounds, never gives an offset outside the data, and a damaged acked word is always
// caught (reads as "nothing acknowledged", flagged) rather than skipping records. A header that
// decodes must survive a rewrite of its acked offset, and any one-bit change of the word after it.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "spool/segment_format.hpp"

using namespace referkit::detail;

namespace {

void check_decoded(const SegmentHeader& h, std::size_t size) {
  if (h.acked_offset < kSegmentHeaderBytes || h.acked_offset > size || h.acked_offset % 8 != 0) std::abort();
  if (h.acked_damaged && h.acked_offset != kSegmentHeaderBytes) std::abort();
  if (h.version >= 2 && (h.capacity < kSegmentHeaderBytes || h.capacity > kMaxSegmentFileBytes)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // An aligned, writable copy: the acked word is stored with one aligned 8-byte store.
  std::vector<std::uint64_t> words(size / 8 + 1, 0);
  auto* bytes = reinterpret_cast<unsigned char*>(words.data());
  if (size > 0) std::memcpy(bytes, data, size);

  auto header = decode_segment_header(bytes, size);
  auto scan = scan_segment(bytes, size);
  // Only a newer format makes a scan fail, and then decoding says so too.
  if (header.ok() && !scan.ok()) std::abort();
  if (!header.ok() && header.status().code() == referkit::StatusCode::kFailedPrecondition && scan.ok()) std::abort();
  if (scan.ok()) {
    if (scan->start > size || scan->end > size || scan->corrupt_bytes > size) std::abort();
    if (scan->truncated_bytes > kMaxSegmentFileBytes) std::abort();
  }
  if (!header) return 0;
  check_decoded(*header, size);
  if (header->version < 2 || size < kSegmentHeaderBytes) return 0;

  // Rewrite the acked offset to somewhere valid: it must read back exactly.
  const std::size_t limit = std::min<std::size_t>(size, header->capacity) & ~std::size_t{7};
  const std::size_t offset = limit <= kSegmentHeaderBytes ? kSegmentHeaderBytes
                                                          : kSegmentHeaderBytes + (size % (limit - kSegmentHeaderBytes + 8)) / 8 * 8;
  if (offset > limit) return 0;
  store_acked_offset(bytes, offset);
  auto again = decode_segment_header(bytes, size);
  if (!again || again->acked_damaged || again->acked_offset != offset) std::abort();
  // CRC-32C catches every one-bit error: a flipped bit in the word never moves the offset.
  const std::size_t bit = size % 64;
  bytes[kSegmentAckedOffsetAt + bit / 8] ^= static_cast<unsigned char>(1u << (bit % 8));
  auto flipped = decode_segment_header(bytes, size);
  if (!flipped || !flipped->acked_damaged || flipped->acked_offset != kSegmentHeaderBytes) std::abort();
  return 0;
}
