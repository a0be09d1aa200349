// The SHA-256 compression function on a bare chaining value, with the CPU's SHA extensions when it
// has them, and two independent blocks at once: a link mints its tag and its share-code MAC
// together, and SHA256RNDS2 has a latency of several cycles that one message alone leaves idle.
#ifndef REFERKIT_SRC_CRYPTO_SHA256_COMPRESS_HPP
#define REFERKIT_SRC_CRYPTO_SHA256_COMPRESS_HPP

#include <cstdint>

namespace referkit::detail {

// h (h[0] is a) absorbs one 64-byte block.
void sha256_compress(std::uint32_t h[8], const unsigned char* block);

// sha256_compress(ha, a) and sha256_compress(hb, b), interleaved where the CPU has SHA-NI.
void sha256_compress_pair(std::uint32_t ha[8], const unsigned char* a, std::uint32_t hb[8], const unsigned char* b);

// Whether the two functions above use SHA-NI (otherwise OpenSSL's SHA256_Transform): for tests.
bool sha256_uses_sha_ni();

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_CRYPTO_SHA256_COMPRESS_HPP
