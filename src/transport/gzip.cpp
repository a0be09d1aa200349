#include "transport/gzip.hpp"

// next_in becomes a pointer to const, so no const_cast is needed to feed a string_view.
#define ZLIB_CONST
#include <zlib.h>

#include <libdeflate.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <new>

#include <fmt/format.h>

namespace referkit::detail {
namespace {

constexpr int kGzipWindowBits = 15 + 16;  // 32 KiB window; +16 selects the gzip wrapper only

// zlib counts bytes in uInt (32 bits), so larger buffers are fed in pieces.
uInt chunk(std::size_t n) { return static_cast<uInt>(std::min<std::size_t>(n, UINT_MAX)); }

const Bytef* in_bytes(const char* p) { return reinterpret_cast<const Bytef*>(p); }
Bytef* out_bytes(std::string& s, std::size_t at) { return reinterpret_cast<Bytef*>(&s[at]); }

Status malformed(const char* why) { return Status(StatusCode::kMalformed, std::string("gzip: ") + why); }

// inflateEnd on every exit path of gzip_decompress.
struct InflateGuard {
  z_stream* z;
  ~InflateGuard() { inflateEnd(z); }
};

}  // namespace

// libdeflate compresses a whole buffer in one call, which is all a batch needs, at twice zlib's
// speed at level 1 with a slightly better ratio (measured on the bench's batches: 430 against
// 200 MB/s, 7.4 against 6.5; docs/performance.md). At 600,000 events a second zlib alone would
// need more than the worker's core. zlib stays for decompression, which must stream with a bound.
struct GzipCompressor::Stream {
  libdeflate_compressor* c;
  explicit Stream(int level) : c(libdeflate_alloc_compressor(level)) {
    if (c == nullptr) throw std::bad_alloc();  // with a valid level the only failure is memory
  }
  ~Stream() { libdeflate_free_compressor(c); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
};

GzipCompressor::GzipCompressor(int level)
    : level_(std::clamp(level, Z_DEFAULT_COMPRESSION, Z_BEST_COMPRESSION)) {
  stream_ = std::make_unique<Stream>(level_ == Z_DEFAULT_COMPRESSION ? 6 : level_);
}
GzipCompressor::~GzipCompressor() = default;
GzipCompressor::GzipCompressor(GzipCompressor&&) noexcept = default;
GzipCompressor& GzipCompressor::operator=(GzipCompressor&&) noexcept = default;

void GzipCompressor::compress(std::string_view data, std::string& out) {
  // The bound is exact enough that compressing never fails for lack of room.
  out.resize(std::max<std::size_t>(libdeflate_gzip_compress_bound(stream_->c, data.size()), 64));
  const std::size_t produced = libdeflate_gzip_compress(stream_->c, data.data(), data.size(), out.data(), out.size());
  if (produced == 0) std::abort();  // cannot happen with a buffer of the bound's size
  out.resize(produced);
}

std::string gzip_compress(std::string_view data, int level) { return GzipCompressor(level).compress(data); }

Result<std::string> gzip_decompress(std::string_view data, std::size_t max_output) {
  if (data.empty()) return malformed("empty input");
  z_stream z{};
  if (inflateInit2(&z, kGzipWindowBits) != Z_OK) throw std::bad_alloc();
  InflateGuard guard{&z};

  // The output grows by doubling from a first guess. The size the gzip trailer declares (ISIZE,
  // the last four bytes, little-endian) is only a hint, capped like everything else: with it a
  // well-formed body is inflated into one buffer of the right size, with no regrowth and copy.
  // One byte of room past the cap tells "exactly max_output" from "more".
  const std::size_t limit = max_output == SIZE_MAX ? max_output : max_output + 1;
  std::size_t guess = std::max<std::size_t>(4096, data.size() * 4);
  if (data.size() >= 18) {  // a 10-byte header, an empty deflate stream at least, the trailer
    const auto* t = in_bytes(data.data() + data.size() - 4);
    const std::size_t declared = std::size_t{t[0]} | std::size_t{t[1]} << 8 | std::size_t{t[2]} << 16 | std::size_t{t[3]} << 24;
    // Deflate expands at most 1032:1, so a larger claim is a lie (a hostile one, maybe) and
    // must not size an allocation. +1: the end of the stream is then seen without regrowth.
    guess = std::max<std::size_t>(4096, std::min(declared, data.size() * 1032) + 1);
  }
  std::string out(std::min(limit, guess), '\0');
  std::size_t produced = 0;
  std::size_t in_left = data.size();
  z.next_in = in_bytes(data.data());
  for (;;) {
    if (produced == out.size()) out.resize(std::min(limit, out.size() * 2));
    const uInt in_chunk = chunk(in_left);
    const uInt out_chunk = chunk(out.size() - produced);
    z.avail_in = in_chunk;
    z.next_out = out_bytes(out, produced);
    z.avail_out = out_chunk;
    const int rc = inflate(&z, Z_NO_FLUSH);
    in_left -= in_chunk - z.avail_in;
    produced += out_chunk - z.avail_out;
    if (produced > max_output) {
      return Status(StatusCode::kResourceExhausted,
                    fmt::format("gzip: decompressed body exceeds {} bytes", max_output));
    }
    if (rc == Z_STREAM_END) {
      if (in_left == 0) break;
      // RFC 1952 lets members be concatenated; anything else after a member is garbage.
      const auto* next = in_bytes(data.data() + (data.size() - in_left));
      if (in_left < 2 || next[0] != 0x1f || next[1] != 0x8b) return malformed("trailing bytes after the stream");
      if (inflateReset(&z) != Z_OK) std::abort();
      continue;
    }
    if (rc == Z_OK) continue;
    // No progress: out of room, the loop grows the buffer; otherwise the input ended early.
    if (rc == Z_BUF_ERROR && z.avail_out == 0) continue;
    if (rc == Z_BUF_ERROR) return malformed("truncated stream");
    if (rc == Z_MEM_ERROR) throw std::bad_alloc();
    return malformed(z.msg != nullptr ? z.msg : "corrupt stream");  // Z_DATA_ERROR, Z_NEED_DICT
  }
  out.resize(produced);
  return out;
}

}  // namespace referkit::detail
