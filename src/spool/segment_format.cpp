#include "spool/segment_format.hpp"

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

std::uint32_t record_crc(const unsigned char* header, std::string_view payload) noexcept {
  return crc32c(crc32c(0, header + 4, 16), payload.data(), payload.size());
}

}  // namespace

void encode_segment_header(unsigned char* out, const SegmentHeader& h) noexcept {
  std::memset(out, 0, kSegmentHeaderBytes);
  std::memcpy(out, kSegmentMagic, sizeof kSegmentMagic);
  put32(out + 8, h.version);
  put32(out + 12, h.number);
  put64(out + 16, h.owner);
  put64(out + 24, static_cast<std::uint64_t>(h.created_ms));
  put32(out + 32, crc32c(0, out, 32));
  put64(out + kSegmentAckedOffsetAt, h.acked_offset);
}

Result<SegmentHeader> decode_segment_header(const unsigned char* data, std::size_t size) {
  if (size < kSegmentHeaderBytes || std::memcmp(data, kSegmentMagic, sizeof kSegmentMagic) != 0) {
    return Status(StatusCode::kDataLoss, "not a referkit spool segment");
  }
  // The checksum first: a flipped bit in the version field must read as damage (this segment is
  // recovered from), not as a newer format (which would refuse the whole spool).
  if (get32(data + 32) != crc32c(0, data, 32)) return Status(StatusCode::kDataLoss, "spool segment header is corrupt");
  SegmentHeader h;
  h.version = get32(data + 8);
  if (h.version > kSpoolFormatVersion) {
    return Status(StatusCode::kFailedPrecondition,
                  "spool segment has format version " + std::to_string(h.version) + ", newer than this library's (" +
                      std::to_string(kSpoolFormatVersion) + "); use a newer referkit to read it");
  }
  if (h.version == 0) return Status(StatusCode::kDataLoss, "spool segment header is corrupt");
  h.number = get32(data + 12);
  h.owner = get64(data + 16);
  h.created_ms = static_cast<std::int64_t>(get64(data + 24));
  h.acked_offset = get64(data + kSegmentAckedOffsetAt);
  if (h.acked_offset < kSegmentHeaderBytes || h.acked_offset > size || h.acked_offset % 8 != 0) {
    h.acked_offset = kSegmentHeaderBytes;
  }
  return h;
}

bool is_unused_header(const unsigned char* data, std::size_t size) noexcept {
  if (size < kSegmentHeaderBytes) return size == 0;
  for (std::size_t i = 0; i < kSegmentHeaderBytes; ++i) {
    if (data[i] != 0) return false;
  }
  return true;
}

void store_acked_offset(unsigned char* header, std::uint64_t offset) noexcept {
  put64(header + kSegmentAckedOffsetAt, offset);
}

void encode_record(unsigned char* out, std::string_view json, const RecordMeta& meta) noexcept {
  const std::size_t total = record_size(json.size());
  put32(out + 4, static_cast<std::uint32_t>(json.size()));
  put64(out + 8, static_cast<std::uint64_t>(meta.tracked_ms));
  out[16] = static_cast<unsigned char>(meta.id_offset);
  out[17] = static_cast<unsigned char>(meta.id_offset >> 8);
  out[18] = static_cast<unsigned char>(meta.id_size);
  out[19] = static_cast<unsigned char>(meta.id_size >> 8);
  std::memcpy(out + kRecordHeaderBytes, json.data(), json.size());
  std::memset(out + kRecordHeaderBytes + json.size(), 0, total - kRecordHeaderBytes - json.size());
  put32(out + 20, record_crc(out, json));
  put32(out, kRecordMagic);
}

SegmentReader::SegmentReader(const unsigned char* data, std::size_t size, std::size_t start,
                             bool verify_checksums) noexcept
    : data_(data), size_(size & ~std::size_t{7}), pos_(start), verify_(verify_checksums) {}

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
  if (verify_ && get32(h + 20) != record_crc(h, json)) return false;
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
  ++corrupt_;
  for (std::size_t p = pos_ + 8; p + kRecordHeaderBytes <= size_; p += 8) {
    if (valid_at(p, out)) {
      pos_ = out.end;
      return true;
    }
  }
  pos_ = size_;
  return false;
}

}  // namespace referkit::detail
