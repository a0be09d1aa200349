// The servers' bounded gunzip (gzip_decompress) on arbitrary bytes: it must never read or write
// out of bounds, never return more than the cap, and give back exactly what was compressed.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "transport/gzip.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using referkit::StatusCode;
  using namespace referkit::detail;
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // As a body: any result is fine but one past the cap, and failures are only these two codes.
  // A small cap as well as a roomy one, so the regrow-and-retry path runs.
  for (const std::size_t cap : {std::size_t{64}, std::size_t{1} << 20}) {
    const auto body = gzip_decompress(input, cap);
    if (body.ok()) {
      if (body->size() > cap) std::abort();
    } else if (body.status().code() != StatusCode::kMalformed && body.status().code() != StatusCode::kResourceExhausted) {
      std::abort();
    }
  }

  // As data: two members of it (RFC 1952 concatenation) come back exactly, at a cap of exactly
  // their size, and one byte less is refused.
  const int level = size > 0 ? data[0] % 10 : 1;
  const std::string twice = gzip_compress(input, level) + gzip_compress(input, 1);
  const auto back = gzip_decompress(twice, 2 * size);
  if (!back.ok() || *back != std::string(input) + std::string(input)) std::abort();
  if (size > 0 && gzip_decompress(twice, 2 * size - 1).status().code() != StatusCode::kResourceExhausted) std::abort();
  return 0;
}
