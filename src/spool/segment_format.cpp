#include "spool/segment_format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>

#include "spool/crc32c.hpp"

namespace referkit::detail {
namespace {

constexpr unsigned char kSegmentMagic[8] = {'R', 'K', 'S', 'P', 'O', 'O', 'L', 0};
constexpr std::uint32_t kRecordMagic = 0x56454B52u;  // "RKEV" as little-endian bytes

void put32(unsigned char* p, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
void put64(unsigned char* p, std::uint64_t v) noexcept {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
std::uint32_t get32(const unsigned char* p) noexcept {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
std::uint64_t get64(const unsigned char* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
std::uint16_t get16(const unsigned char* p) noexcept {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}

// v2: the header's checksum covers everything but itself and the acked word.
std::uint32_t header_crc_v2(const unsigned char* h) noexcept { return crc32c(crc32c(0, h, 36), h + 48, 16); }

// The acked word as a little-endian 64-bit value: the offset, then its checksum, which is seeded
// with the header's so a word copied from another segment does not verify.
std::uint64_t acked_word(std::uint32_t header_crc, std::uint32_t offset) noexcept {
  unsigned char bytes[4];
  put32(bytes, offset);
  return std::uint64_t{offset} | std::uint64_t{crc32c(header_crc, bytes, 4)} << 32;
}

std::uint32_t record_crc(std::uint32_t seed, const unsigned char* header, std::string_view payload) noexcept {
  return crc32c(crc32c(seed, header + 4, 16), payload.data(), payload.size());
}

// The header layouts of v2 and v3 are the same; v1 differs.
bool has_v2_layout(std::uint32_t version) noexcept { return version == 2 || version == 3; }

}  // namespace

void encode_segment_header(unsigned char* out, const SegmentHeader& h) noexcept {
  std::memset(out, 0, kSegmentHeaderBytes);
  std::memcpy(out, kSegmentMagic, sizeof kSegmentMagic);
  put32(out + 8, h.version);
  put32(out + 12, h.number);
  put64(out + 16, h.owner);
  put64(out + 24, static_cast<std::uint64_t>(h.created_ms));
  if (h.version == 1) {  // only tests write v1 (old segments to read)
    put32(out + 32, crc32c(0, out, 32));
    put64(out + kSegmentAckedOffsetAt, h.acked_offset);
    return;
  }
  put32(out + 32, h.capacity);
  put64(out + 48, h.boot_id);
  put64(out + 56, static_cast<std::uint64_t>(h.created_boot_ms));
  const std::uint32_t crc = header_crc_v2(out);
  put32(out + 36, crc);
  put64(out + kSegmentAckedOffsetAt, acked_word(crc, static_cast<std::uint32_t>(h.acked_offset)));
}

Result<SegmentHeader> decode_segment_header(const unsigned char* data, std::size_t size) {
  if (size < kSegmentHeaderBytes || std::memcmp(data, kSegmentMagic, sizeof kSegmentMagic) != 0) {
    return Status(StatusCode::kDataLoss, "not a referkit spool segment");
  }
  SegmentHeader h;
  h.version = get32(data + 8);
  // The checksum first: a flipped bit in the version field must read as damage (this segment is
  // recovered from), not as a newer format (which would refuse the whole spool). A version this
  // library does not know has a checksum it cannot test, so a known one must verify.
  const bool v1_ok = get32(data + 32) == crc32c(0, data, 32);
  const std::uint32_t crc = header_crc_v2(data);
  const bool v2_ok = get32(data + 36) == crc;
  if (h.version > kSpoolFormatVersion && (v1_ok || v2_ok)) {
    return Status(StatusCode::kFailedPrecondition,
                  fmt::format("spool segment has format version {}, newer than this library's ({}); use a newer "
                              "referkit to read it",
                              h.version, kSpoolFormatVersion));
  }
  if (!(h.version == 1 && v1_ok) && !(has_v2_layout(h.version) && v2_ok)) {
    return Status(StatusCode::kDataLoss, "spool segment header is corrupt");
  }
  h.number = get32(data + 12);
  h.owner = get64(data + 16);
  h.created_ms = static_cast<std::int64_t>(get64(data + 24));
  const std::size_t readable = size & ~std::size_t{7};
  if (h.version == 1) {
    h.acked_offset = get64(data + kSegmentAckedOffsetAt);
    if (h.acked_offset < kSegmentHeaderBytes || h.acked_offset > size || h.acked_offset % 8 != 0) {
      h.acked_offset = kSegmentHeaderBytes;
    }
    return h;
  }
  h.capacity = get32(data + 32);
  if (h.capacity < kSegmentHeaderBytes || h.capacity > kMaxSegmentFileBytes || h.capacity % 8 != 0) {
    return Status(StatusCode::kDataLoss, "spool segment header is corrupt");
  }
  h.boot_id = get64(data + 48);
  h.created_boot_ms = static_cast<std::int64_t>(get64(data + 56));
  const std::uint64_t word = get64(data + kSegmentAckedOffsetAt);
  const auto offset = static_cast<std::uint32_t>(word);
  if (word != acked_word(crc, offset) || offset < kSegmentHeaderBytes || offset > h.capacity || offset % 8 != 0) {
    h.acked_damaged = true;
    h.acked_offset = kSegmentHeaderBytes;
  } else {
    h.acked_offset = std::min<std::uint64_t>(offset, readable);
  }
  return h;
}

bool is_unused_header(const unsigned char* data, std::size_t size) noexcept {
  if (size < kSegmentHeaderBytes) return false;
  for (std::size_t i = 0; i < kSegmentHeaderBytes; ++i) {
    if (data[i] != 0) return false;
  }
  return true;
}

void store_acked_offset(unsigned char* header, std::uint64_t offset) noexcept {
  if (get32(header + 8) == 1) {
    put64(header + kSegmentAckedOffsetAt, offset);
    return;
  }
  std::uint64_t word = acked_word(get32(header + 36), static_cast<std::uint32_t>(offset));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  word = __builtin_bswap64(word);
#endif
  // One aligned store: a crash or power loss leaves the old word or the new one, never half.
  __atomic_store_n(reinterpret_cast<std::uint64_t*>(header + kSegmentAckedOffsetAt), word, __ATOMIC_RELAXED);
}

RecordFormat record_format(const SegmentHeader& header, const unsigned char* data) noexcept {
  if (header.version < 3) return {};
  return RecordFormat{get32(data + 36), true};
}

RecordFormat record_format(const unsigned char* data, std::size_t size) noexcept {
  if (auto header = decode_segment_header(data, size)) return record_format(*header, data);
  if (size < kSegmentHeaderBytes + kRecordHeaderBytes) return {};
  // A damaged v3 header: the seed is its stored checksum, or (when that is what the damage hit)
  // the checksum of the rest of it, if any record verifies with it. An earlier use's record
  // verifies only with that use's seed, which differs (CRC is affine in its seed).
  for (const std::uint32_t seed : {get32(data + 36), header_crc_v2(data)}) {
    const RecordFormat v3{seed, true};
    RecordView any;
    if (SegmentReader(data, size, kSegmentHeaderBytes, v3).next(any)) return v3;
  }
  return {};
}

void mark_end(unsigned char* segment, std::size_t end, std::size_t capacity) noexcept {
  if (end + kEndMarkBytes <= capacity) std::memset(segment + end, 0, kEndMarkBytes);
  // Before the record that follows, even if the compiler sees both (kill -9 sees program order).
  std::atomic_signal_fence(std::memory_order_release);
}

void encode_record(unsigned char* out, std::string_view json, const RecordMeta& meta, RecordFormat format) noexcept {
  const std::size_t total = record_size(json.size());
  put32(out + 4, static_cast<std::uint32_t>(json.size()));
  put64(out + 8, static_cast<std::uint64_t>(meta.tracked_ms));
  out[16] = static_cast<unsigned char>(meta.id_offset);
  out[17] = static_cast<unsigned char>(meta.id_offset >> 8);
  out[18] = static_cast<unsigned char>(meta.id_size);
  out[19] = static_cast<unsigned char>(meta.id_size >> 8);
  std::memcpy(out + kRecordHeaderBytes, json.data(), json.size());
  std::memset(out + kRecordHeaderBytes + json.size(), 0, total - kRecordHeaderBytes - json.size());
  put32(out + 20, record_crc(format.crc_seed, out, json));
  std::atomic_signal_fence(std::memory_order_release);  // the magic last: a record is whole once it has one
  put32(out, kRecordMagic);
}

SegmentReader::SegmentReader(const unsigned char* data, std::size_t size, std::size_t start, RecordFormat format,
                             bool verify_checksums) noexcept
    : data_(data), size_(size & ~std::size_t{7}), pos_(start), format_(format), verify_(verify_checksums) {}

bool SegmentReader::valid_at(std::size_t pos, RecordView& out) const noexcept {
  if (pos + kRecordHeaderBytes > size_) return false;
  const unsigned char* h = data_ + pos;
  if (get32(h) != kRecordMagic) return false;
  const std::size_t payload = get32(h + 4);
  if (payload == 0 || payload > kMaxRecordPayload || record_size(payload) > size_ - pos) return false;
  RecordMeta meta;
  meta.tracked_ms = static_cast<std::int64_t>(get64(h + 8));
  meta.id_offset = get16(h + 16);
  meta.id_size = get16(h + 18);
  if (std::size_t{meta.id_offset} + meta.id_size > payload) return false;
  const std::string_view json(reinterpret_cast<const char*>(h + kRecordHeaderBytes), payload);
  if (verify_ && get32(h + 20) != record_crc(format_.crc_seed, h, json)) return false;
  out.json = json;
  out.meta = meta;
  out.offset = pos;
  out.end = pos + record_size(payload);
  return true;
}

bool SegmentReader::zeros_from(std::size_t pos) const noexcept {
  for (; pos + 8 <= size_; pos += 8) {
    if (get64(data_ + pos) != 0) return false;
  }
  return true;
}

bool SegmentReader::next(RecordView& out) noexcept {
  if (pos_ % 8 != 0) pos_ = (pos_ + 7) & ~std::size_t{7};
  if (pos_ >= size_ || zeros_from(pos_)) {
    pos_ = std::min(pos_, size_);
    return false;
  }
  if (valid_at(pos_, out)) {
    pos_ = out.end;
    return true;
  }
  // A damaged stretch: resume at the next aligned position that holds a valid record.
  for (std::size_t p = pos_ + 8; p + kRecordHeaderBytes <= size_; p += 8) {
    if (valid_at(p, out)) {
      ++corrupt_;
      corrupt_bytes_ += p - pos_;
      pos_ = out.end;
      return true;
    }
  }
  // None of this segment's records follows. In a reused file (v3), a zero magic is the end of the
  // data, and what follows it is the file's earlier use, not damage. Otherwise (and for a record
  // that does not verify, even the last one) the stretch is damage.
  if (format_.reused_file && pos_ + 4 <= size_ && get32(data_ + pos_) == 0) return false;
  ++corrupt_;
  const std::size_t damage_end = format_.reused_file ? next_zero_word(pos_ + 8) : end_of_nonzero(pos_);
  corrupt_bytes_ += std::max(damage_end, pos_ + 8) - pos_;
  pos_ = size_;
  return false;
}

std::size_t SegmentReader::end_of_nonzero(std::size_t from) const noexcept {
  std::size_t end = size_;
  while (end > from && end - from >= 8 && get64(data_ + end - 8) == 0) end -= 8;
  return end;
}

// In a reused file, damage at the end is counted up to the zero word that ended the data (what
// follows it is the file's earlier use); from an aligned `from`.
std::size_t SegmentReader::next_zero_word(std::size_t from) const noexcept {
  for (std::size_t p = from; p + 8 <= size_; p += 8) {
    if (get64(data_ + p) == 0) return p;
  }
  return size_;
}

Result<SegmentScan> scan_segment(const unsigned char* data, std::size_t size) {
  SegmentScan scan;
  std::size_t readable = size;
  auto header = decode_segment_header(data, size);
  if (header) {
    scan.header = *header;
    scan.start = header->acked_offset;
    if (header->acked_damaged) {
      ++scan.corrupt;
      scan.corrupt_bytes += 8;
    }
    if (header->capacity != 0 && size != header->capacity) {
      scan.truncated = size < header->capacity;
      scan.truncated_bytes = scan.truncated ? header->capacity - size : 0;
      readable = std::min<std::size_t>(size, header->capacity);  // nothing past the segment is ours
    }
  } else if (header.status().code() == StatusCode::kFailedPrecondition) {
    return header.status();
  } else if (size < kSegmentHeaderBytes) {
    scan.truncated = true;  // segments are born whole: something cut this one
  } else if (is_unused_header(data, size)) {
    // Never taken into use, or a reused file whose new header did not reach the disk: what
    // follows is no event of this segment (an earlier use's records, at most).
    scan.unused = true;
    return scan;
  } else {
    ++scan.corrupt;
    scan.corrupt_bytes += kSegmentHeaderBytes;
  }
  scan.start = std::min(scan.start, readable & ~std::size_t{7});
  scan.format = scan.header ? record_format(*scan.header, data) : record_format(data, readable);
  SegmentReader reader(data, readable, scan.start, scan.format);
  RecordView rec;
  bool first = true;
  while (reader.next(rec)) {
    ++scan.records;
    scan.payload_bytes += rec.json.size();
    if (first || rec.meta.tracked_ms < scan.oldest_ms) scan.oldest_ms = rec.meta.tracked_ms;
    first = false;
  }
  scan.end = reader.position();
  scan.corrupt += reader.corrupt();
  scan.corrupt_bytes += reader.corrupt_bytes();
  return scan;
}

}  // namespace referkit::detail
