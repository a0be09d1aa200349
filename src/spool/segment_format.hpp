// The on-disk format of spool segments. A segment is a preallocated file: a 64-byte header, then
// 8-byte-aligned records appended in tracking order, then zeros.
//
//   header v3 (written) as v2, with version 3; only its records' checksums differ
//   header v2 (read)    [0,8) "RKSPOOL\0" | [8,12) version | [12,16) segment number |
//           [16,24) owner id | [24,32) created (Unix ms) | [32,36) capacity (the file's size) |
//           [36,40) CRC-32C of [0,36) and [48,64) | [40,48) the acked word: [40,44) acked offset,
//           [44,48) CRC-32C of [40,44) seeded with the header's CRC | [48,56) boot id (a hash of
//           the kernel's boot_id) | [56,64) created (ms of CLOCK_BOOTTIME in that boot)
//   header v1 (read)    [0,32) as v2 | [32,36) CRC-32C of [0,32) | [40,48) acked offset, unchecked
//   record  [0,4) magic "RKEV" | [4,8) payload size | [8,16) tracked at (Unix ms) |
//           [16,18) messageId offset | [18,20) messageId size | [20,24) CRC-32C of [4,20)+payload |
//           payload (the event's JSON) | zero padding to 8 bytes
//           v3: the CRC-32C starts from the header's checksum (the value at [36,40)), not from 0
//   end     v3: an aligned zero word follows the last record (written before the record)
//
// v3 lets a file be used again once all of its events are resolved (SpoolCommitter recycles it as
// the next spare: no file to create, reserve, zero and later free, about half the spool's CPU per
// segment). Its bytes are not cleared, so after the data's end there may be records of the file's
// earlier use. They never pass for this segment's: their checksums start from the earlier header's
// checksum (another segment number, creation time, owner). So in v3 the data ends at a record
// position whose magic is zero and after which no record of this segment verifies; the bytes after
// it are not damage. A zero magic with records of this segment after it is damage, as in v2 (a
// page lost to power loss), and so is a record that does not verify, even as the last one.
//
// The acked offset is the only field rewritten in place: records before it were acknowledged
// (or otherwise resolved) and are skipped by recovery. In v2 it decides what is sent, so it has its
// own checksum, and offset and checksum are one aligned 8-byte word written with a single store: a
// torn or damaged word reads as "nothing acknowledged" (a resend, which the ingest side removes by
// messageId) and is reported, never as a skip. The capacity lets a reader tell a truncated file
// from a whole one, and bounds what it reads. The boot fields give an age no wall-clock step
// can move (see SpoolQueue's expiry).
//
// Versions: this library writes v2 and reads v1 and v2; a library that knows only v1 refuses a v2
// segment with a clear error. A later version must keep [0,40) as in v2 (its checksum at
// [36,40) over the same span) so that this library recognizes it as newer, not as damage. All
// integers are little-endian.
#ifndef REFERKIT_SRC_SPOOL_SEGMENT_FORMAT_HPP
#define REFERKIT_SRC_SPOOL_SEGMENT_FORMAT_HPP

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "referkit/status.hpp"

namespace referkit::detail {

inline constexpr std::uint32_t kSpoolFormatVersion = 3;
inline constexpr std::size_t kSegmentHeaderBytes = 64;
inline constexpr std::size_t kSegmentAckedOffsetAt = 40;
// The largest segment the tracker makes (TrackerOptions::spool_segment_bytes); a bigger file named
// like a segment is not one, and is never read.
inline constexpr std::size_t kMaxSegmentFileBytes = std::size_t{1} << 30;
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
  std::uint32_t capacity = 0;      // v2: the file's size as created; 0 in v1 (unknown)
  std::uint64_t boot_id = 0;       // v2: which boot created_boot_ms counts in; 0 when unknown
  std::int64_t created_boot_ms = 0;
  std::uint64_t acked_offset = kSegmentHeaderBytes;
  bool acked_damaged = false;      // v2: the acked word's checksum failed; read from the start
};

void encode_segment_header(unsigned char* out, const SegmentHeader& header) noexcept;
// kDataLoss for bytes that are not a segment header, kFailedPrecondition for a segment of a newer
// format version. A damaged or out-of-range acked offset reads as "nothing acknowledged" (v2 sets
// acked_damaged); one past the end of a truncated file reads as the end of what is left.
Result<SegmentHeader> decode_segment_header(const unsigned char* data, std::size_t size);
// All zeros: a segment whose header never reached the disk (power loss right after it was taken
// into use; a reused file's header is cleared and synced before it takes a segment's name). It
// holds no events and is not damaged, whatever bytes follow the header. A file shorter than a
// header is not unused: segments are born whole, so it was truncated.
bool is_unused_header(const unsigned char* data, std::size_t size) noexcept;
// Rewrites the acked offset in the header's own format version; in v2 with one 8-byte store (the
// header must be 8-byte aligned, as a mapping is).
void store_acked_offset(unsigned char* header, std::uint64_t offset) noexcept;

struct RecordMeta {
  std::int64_t tracked_ms = 0;
  std::uint16_t id_offset = 0;
  std::uint16_t id_size = 0;
};

// How a segment's records are checked, from its header.
struct RecordFormat {
  std::uint32_t crc_seed = 0;   // v3: the header's checksum; v1, v2: 0
  bool reused_file = false;     // v3: bytes after the data may be records of the file's earlier use
};
RecordFormat record_format(const SegmentHeader& header, const unsigned char* data) noexcept;
// For any segment bytes, a damaged header included: a damaged v3 header's stored checksum, or the
// checksum of the rest of the header, seeds its records when any record verifies with it
// (otherwise v2's rules apply).
RecordFormat record_format(const unsigned char* data, std::size_t size) noexcept;

// Writes a whole record (record_size(json.size()) bytes, padding included) at out.
void encode_record(unsigned char* out, std::string_view json, const RecordMeta& meta, RecordFormat format) noexcept;
// Writes the zero word that ends the data at `end` when the segment has room for it. A writer
// calls it before the record that ends there, so the data always has an end, even while a record
// is half written (its magic is stored last).
void mark_end(unsigned char* segment, std::size_t end, std::size_t capacity) noexcept;
inline constexpr std::size_t kEndMarkBytes = 8;

struct RecordView {
  std::string_view json;
  RecordMeta meta;
  std::size_t offset = 0;  // where the record starts in the segment
  std::size_t end = 0;     // where the next one starts
};

// Reads records from a segment's bytes, skipping damaged stretches: a record whose checksum or
// fields do not hold is counted as corrupt and reading resumes at the next valid record. Zeros
// where a record should start mean the end of the data, unless more data follows them (in v3:
// unless a record of this segment follows them).
class SegmentReader {
 public:
  // verify_checksums false trusts records that look whole (magic and bounds): for bytes this
  // process wrote itself and that were never read back from a disk.
  SegmentReader(const unsigned char* data, std::size_t size, std::size_t start, RecordFormat format,
                bool verify_checksums = true) noexcept;

  // The next valid record; false at the end of the data.
  bool next(RecordView& out) noexcept;
  // Damaged stretches skipped so far, and the bytes they span (up to the next valid record, or
  // to the last non-zero byte for damage that runs to the end).
  std::uint64_t corrupt() const noexcept { return corrupt_; }
  std::uint64_t corrupt_bytes() const noexcept { return corrupt_bytes_; }
  // Where reading stopped: the end of the last record returned or skipped.
  std::size_t position() const noexcept { return pos_; }

 private:
  bool valid_at(std::size_t pos, RecordView& out) const noexcept;
  bool zeros_from(std::size_t pos) const noexcept;
  std::size_t end_of_nonzero(std::size_t from) const noexcept;
  std::size_t next_zero_word(std::size_t from) const noexcept;

  const unsigned char* data_;
  std::size_t size_;
  std::size_t pos_;
  RecordFormat format_;
  bool verify_;
  std::uint64_t corrupt_ = 0;
  std::uint64_t corrupt_bytes_ = 0;
};

// What a whole segment file holds, as recovery and inspection see it.
struct SegmentScan {
  std::optional<SegmentHeader> header;  // nullopt when damaged (or unused)
  RecordFormat format;                  // how its records were read
  bool unused = false;                  // an all-zero header: never used, not damaged
  std::size_t start = kSegmentHeaderBytes;  // where the first unacknowledged record is
  std::size_t end = kSegmentHeaderBytes;    // where the data ends
  std::uint64_t records = 0;                // valid records from start to end
  std::uint64_t payload_bytes = 0;          // their JSON
  std::int64_t oldest_ms = 0;               // the earliest tracked-at among them (when any)
  // Damage: stretches (a damaged header or acked word counts as one) and the bytes they span.
  std::uint64_t corrupt = 0;
  std::uint64_t corrupt_bytes = 0;
  // Shorter than its header, or (v2) than the capacity its header gives: what is missing may
  // have held events, and nobody can say how many; truncated_bytes is how much is missing (0
  // when unknown).
  bool truncated = false;
  std::uint64_t truncated_bytes = 0;
};

// Reads the header (bounding what is read by the capacity it gives) and counts the records.
// kFailedPrecondition for a segment of a newer format version.
Result<SegmentScan> scan_segment(const unsigned char* data, std::size_t size);

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_SPOOL_SEGMENT_FORMAT_HPP
