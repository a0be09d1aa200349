// The on-disk format of spool segments (format version 1). A segment is a preallocated file:
// a 64-byte header, then 8-byte-aligned records appended in tracking order, then zeros.
//
//   header  [0,8) "RKSPOOL\0" | [8,12) version | [12,16) segment number | [16,24) owner id |
//           [24,32) created (Unix ms) | [32,36) CRC-32C of [0,32) | [40,48) acked offset
//   record  [0,4) magic "RKEV" | [4,8) payload size | [8,16) tracked at (Unix ms) |
//           [16,18) messageId offset | [18,20) messageId size | [20,24) CRC-32C of [4,20)+payload |
//           payload (the event's JSON) | zero padding to 8 bytes
//
// The acked offset is the only field rewritten in place: records before it were acknowledged
// (or otherwise resolved) and are skipped by recovery. It is outside the header checksum and
// checked for range instead, so a torn update costs at worst a duplicate resend, which the ingest
// side removes by messageId. All integers are little-endian.
#ifndef REFERKIT_SRC_SPOOL_SEGMENT_FORMAT_HPP
#define REFERKIT_SRC_SPOOL_SEGMENT_FORMAT_HPP

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "referkit/status.hpp"

namespace referkit::detail {

inline constexpr std::uint32_t kSpoolFormatVersion = 1;
inline constexpr std::size_t kSegmentHeaderBytes = 64;
inline constexpr std::size_t kSegmentAckedOffsetAt = 40;
inline constexpr std::size_t kRecordHeaderBytes = 24;
// Events are at most 32 KiB; anything claiming more than this is corrupt.
inline constexpr std::size_t kMaxRecordPayload = 64 * 1024;

constexpr std::size_t record_size(std::size_t payload) noexcept {
  return (kRecordHeaderBytes + payload + 7) & ~std::size_t{7};
}

struct SegmentHeader {
  std::uint32_t version = kSpoolFormatVersion;
  std::uint32_t number = 0;
  std::uint64_t owner = 0;
  std::int64_t created_ms = 0;
  std::uint64_t acked_offset = kSegmentHeaderBytes;
};

void encode_segment_header(unsigned char* out, const SegmentHeader& header) noexcept;
// kDataLoss for bytes that are not a segment header, kFailedPrecondition for a segment of a newer
// format version. An out-of-range acked offset reads as "nothing acknowledged".
Result<SegmentHeader> decode_segment_header(const unsigned char* data, std::size_t size);
// All zeros (or an empty file): a segment whose process died before writing its header. It was
// never used: it holds no events and is not damaged.
bool is_unused_header(const unsigned char* data, std::size_t size) noexcept;
void store_acked_offset(unsigned char* header, std::uint64_t offset) noexcept;

struct RecordMeta {
  std::int64_t tracked_ms = 0;
  std::uint16_t id_offset = 0;
  std::uint16_t id_size = 0;
};

// Writes a whole record (record_size(json.size()) bytes, padding included) at out.
void encode_record(unsigned char* out, std::string_view json, const RecordMeta& meta) noexcept;

struct RecordView {
  std::string_view json;
  RecordMeta meta;
  std::size_t offset = 0;  // where the record starts in the segment
  std::size_t end = 0;     // where the next one starts
};

// Reads records from a segment's bytes, skipping damaged stretches: a record whose checksum or
// fields do not hold is counted as corrupt and reading resumes at the next valid record. Zeros
// where a record should start mean the end of the data, unless more data follows them.
class SegmentReader {
 public:
  // verify_checksums false trusts records that look whole (magic and bounds): for bytes this
  // process wrote itself and that were never read back from a disk.
  SegmentReader(const unsigned char* data, std::size_t size, std::size_t start, bool verify_checksums = true) noexcept;

  // The next valid record; false at the end of the data.
  bool next(RecordView& out) noexcept;
  // Damaged stretches skipped so far (each counts as one corrupt record).
  std::uint64_t corrupt() const noexcept { return corrupt_; }
  // Where reading stopped: the end of the last record returned or skipped.
  std::size_t position() const noexcept { return pos_; }

 private:
  bool valid_at(std::size_t pos, RecordView& out) const noexcept;
  bool zeros_from(std::size_t pos) const noexcept;

  const unsigned char* data_;
  std::size_t size_;
  std::size_t pos_;
  bool verify_;
  std::uint64_t corrupt_ = 0;
};

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_SPOOL_SEGMENT_FORMAT_HPP
