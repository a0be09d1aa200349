#include "transport/gzip.hpp"

#include <libdeflate.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

#include <fmt/format.h>

namespace referkit::detail {
namespace {

// The level scale is zlib's, which is what users of gzip levels know: -1 asks for the default (6).
constexpr int kDefaultLevel = -1;
constexpr int kMaxLevel = 9;

const unsigned char* in_bytes(const char* p) { return reinterpret_cast<const unsigned char*>(p); }

Status malformed(const char* why) { return Status(StatusCode::kMalformed, std::string("gzip: ") + why); }

// RFC 1952 header flags.
constexpr unsigned char kFlagHeaderCrc = 0x02;
constexpr unsigned char kFlagExtra = 0x04;
constexpr unsigned char kFlagName = 0x08;
constexpr unsigned char kFlagComment = 0x10;

// libdeflate skips a member's optional header CRC-16 (FHCRC) without checking it. Checking it
// here keeps "anything not checksum-valid is malformed" true for the header too (rare: senders
// do not set FHCRC). A header cut short is left to libdeflate, which reports it as malformed.
bool header_crc_mismatch(const unsigned char* p, std::size_t n) {
  if (n < 10 || p[0] != 0x1f || p[1] != 0x8b || (p[3] & kFlagHeaderCrc) == 0) return false;
  std::size_t at = 10;
  if ((p[3] & kFlagExtra) != 0) {
    if (n - at < 2) return false;
    at += 2 + (std::size_t{p[at]} | std::size_t{p[at + 1]} << 8);
  }
  for (const unsigned char zero_terminated : {kFlagName, kFlagComment}) {
    if ((p[3] & zero_terminated) == 0) continue;
    while (at < n && p[at] != 0) ++at;
    ++at;  // the terminator
  }
  if (at > n || n - at < 2) return false;
  const std::uint32_t crc = libdeflate_crc32(0, p, at);
  return (crc & 0xffff) != (std::uint32_t{p[at]} | std::uint32_t{p[at + 1]} << 8);
}

}  // namespace

// libdeflate compresses a whole buffer in one call, which is all a batch needs, at twice zlib's
// speed at level 1 with a slightly better ratio (measured on the bench's batches: 430 against
// 200 MB/s, 7.4 against 6.5; docs/performance.md). At 600,000 events a second zlib alone would
// need more than the worker's core.
struct GzipCompressor::Stream {
  libdeflate_compressor* c;
  explicit Stream(int level) : c(libdeflate_alloc_compressor(level)) {
    if (c == nullptr) throw std::bad_alloc();  // with a valid level the only failure is memory
  }
  ~Stream() { libdeflate_free_compressor(c); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
};

GzipCompressor::GzipCompressor(int level) : level_(std::clamp(level, kDefaultLevel, kMaxLevel)) {
  stream_ = std::make_unique<Stream>(level_ == kDefaultLevel ? 6 : level_);
}
GzipCompressor::~GzipCompressor() = default;
GzipCompressor::GzipCompressor(GzipCompressor&&) noexcept = default;
GzipCompressor& GzipCompressor::operator=(GzipCompressor&&) noexcept = default;

void GzipCompressor::compress(std::string_view data, std::string& out) {
  // The bound is exact enough that compressing never fails for lack of room.
  const std::size_t bound = std::max<std::size_t>(libdeflate_gzip_compress_bound(stream_->c, data.size()), 64);
  if (buffer_.size() < bound) buffer_.resize(bound);  // zeroes only what it grows by
  const std::size_t produced = libdeflate_gzip_compress(stream_->c, data.data(), data.size(), buffer_.data(), bound);
  if (produced == 0) std::abort();  // cannot happen with a buffer of the bound's size
  out.assign(buffer_.data(), produced);
}

std::string gzip_compress(std::string_view data, int level) { return GzipCompressor(level).compress(data); }

Result<std::string> gzip_decompress(std::string_view data, std::size_t max_output) {
  if (data.empty()) return malformed("empty input");
  // libdeflate inflates whole buffers, about twice as fast as zlib's inflate() with its CRC-32
  // (gunzip was 13% of referkit-ingest's request CPU in the e2e profile; docs/performance.md).
  // It never writes past the room it is given, so the bound holds without streaming: a member
  // that does not fit is decoded again, from its start, into a doubled buffer, which never grows
  // past max_output + 1 (one byte past the cap tells "exactly max_output" from "more"). As the
  // buffer only doubles, the decoding thrown away stays within about twice the cap.
  const std::size_t limit = max_output == SIZE_MAX ? max_output : max_output + 1;
  // The first size is a guess. The size the gzip trailer declares (ISIZE, the last four bytes,
  // little-endian) is only a hint, capped like everything else: with it a well-formed
  // single-member body is inflated into one buffer of the right size, with no second pass.
  std::size_t guess = std::max<std::size_t>(4096, data.size() * 4);
  if (data.size() >= 18) {  // a 10-byte header, an empty deflate stream at least, the trailer
    const auto* t = in_bytes(data.data() + data.size() - 4);
    const std::size_t declared = std::size_t{t[0]} | std::size_t{t[1]} << 8 | std::size_t{t[2]} << 16 | std::size_t{t[3]} << 24;
    // Deflate expands at most 1032:1, so a larger claim is a lie (a hostile one, maybe) and
    // must not size an allocation. +1: a member that fills its buffer exactly is not retried.
    guess = std::max<std::size_t>(4096, std::min(declared, data.size() * 1032) + 1);
  }
  const std::unique_ptr<libdeflate_decompressor, void (*)(libdeflate_decompressor*)> d(
      libdeflate_alloc_decompressor(), &libdeflate_free_decompressor);
  if (!d) throw std::bad_alloc();
  std::string out(std::min(limit, guess), '\0');
  std::size_t produced = 0;
  std::size_t in_at = 0;
  for (;;) {
    const unsigned char* member = in_bytes(data.data() + in_at);
    if (header_crc_mismatch(member, data.size() - in_at)) return malformed("header CRC mismatch");
    std::size_t in_used = 0;
    std::size_t out_made = 0;
    // With the two out-parameters libdeflate decodes exactly one member and says where it ended.
    const libdeflate_result rc = libdeflate_gzip_decompress_ex(d.get(), member, data.size() - in_at, &out[produced],
                                                               out.size() - produced, &in_used, &out_made);
    if (rc == LIBDEFLATE_INSUFFICIENT_SPACE) {
      if (out.size() >= limit) {
        return Status(StatusCode::kResourceExhausted, fmt::format("gzip: decompressed body exceeds {} bytes", max_output));
      }
      out.resize(out.size() <= limit / 2 ? out.size() * 2 : limit);
      continue;  // this member again, from its start, into more room
    }
    // Not gzip, corrupt, truncated, or a CRC-32 or ISIZE that does not match the data.
    if (rc != LIBDEFLATE_SUCCESS) return malformed("corrupt or truncated stream");
    produced += out_made;
    in_at += in_used;
    if (produced > max_output) {
      return Status(StatusCode::kResourceExhausted, fmt::format("gzip: decompressed body exceeds {} bytes", max_output));
    }
    if (in_at == data.size()) break;
    // RFC 1952 lets members be concatenated; anything else after a member is garbage.
    const auto* next = in_bytes(data.data() + in_at);
    if (data.size() - in_at < 2 || next[0] != 0x1f || next[1] != 0x8b) return malformed("trailing bytes after the stream");
  }
  out.resize(produced);
  return out;
}

}  // namespace referkit::detail
