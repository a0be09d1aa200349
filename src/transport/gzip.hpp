// gzip (RFC 1952) bodies for the ingest API. Compression runs on the tracker's worker for every
// batch; decompression runs on the server side (the reference ingest server, the test server),
// where the input is untrusted, so it is bounded and strict.
//
// libdeflate stays out of this header, so code including it does not need libdeflate's header.
#ifndef REFERKIT_SRC_TRANSPORT_GZIP_HPP
#define REFERKIT_SRC_TRANSPORT_GZIP_HPP

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "referkit/status.hpp"

namespace referkit::detail {

// Compresses whole buffers into single gzip members (with libdeflate). It keeps one compressor
// and one output buffer between calls, which saves their allocation per batch: a buffer as big as
// the input's bound, new each time, is fresh pages to fault in and zero (on the VMs CI runs on a
// page fault costs ~10 us: 57% of `referkit track`'s faults were there). The buffer keeps the
// largest bound seen, a little more than the largest input. Not thread-safe, one per worker.
// Allocation failure throws std::bad_alloc, like any std::string growth would.
class GzipCompressor {
 public:
  // level: 1 (fastest) to 9 (smallest), 0 stores, -1 is the default (6): gzip(1)'s scale.
  // Values out of range are clamped.
  explicit GzipCompressor(int level);
  ~GzipCompressor();
  GzipCompressor(GzipCompressor&&) noexcept;
  GzipCompressor& operator=(GzipCompressor&&) noexcept;
  GzipCompressor(const GzipCompressor&) = delete;
  GzipCompressor& operator=(const GzipCompressor&) = delete;

  int level() const noexcept { return level_; }

  // Replaces `out` with the compressed `data`; reusing `out` across calls reuses its capacity.
  void compress(std::string_view data, std::string& out);
  std::string compress(std::string_view data) {
    std::string out;
    compress(data, out);
    return out;
  }

 private:
  struct Stream;
  std::unique_ptr<Stream> stream_;
  int level_;
  std::string buffer_;  // compressed into, then copied out at its size
};

// One-shot form of GzipCompressor (sets up a fresh compressor each call).
std::string gzip_compress(std::string_view data, int level);

// Decompresses a gzip body of one or more members (RFC 1952 allows concatenation). Stops with
// kResourceExhausted as soon as the output would exceed `max_output` bytes (a small input can
// inflate a thousandfold), and returns kMalformed for anything that is not exactly a complete,
// checksum-valid gzip stream: not gzip, corrupt, truncated, or followed by other bytes.
Result<std::string> gzip_decompress(std::string_view data, std::size_t max_output);

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_TRANSPORT_GZIP_HPP
