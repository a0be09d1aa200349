// See hmac_sha256.cpp for why the deprecated low-level SHA256 functions.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "crypto/sha256_compress.hpp"

#include <openssl/sha.h>

#include <cstddef>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define REFERKIT_SHA_NI 1
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace referkit::detail {
namespace {

// OpenSSL's compression: its SHA256_Transform reads and updates only the chaining value h.
void compress_openssl(std::uint32_t h[8], const unsigned char* block) {
  SHA256_CTX ctx;
  std::memcpy(ctx.h, h, sizeof ctx.h);
  SHA256_Transform(&ctx, block);
  std::memcpy(h, ctx.h, sizeof ctx.h);
}

#ifdef REFERKIT_SHA_NI

bool cpu_has_sha_ni() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) == 0) return false;
  const bool ssse3 = (c >> 9 & 1) != 0;
  const bool sse41 = (c >> 19 & 1) != 0;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0) return false;
  return ssse3 && sse41 && (b >> 29 & 1) != 0;
}

// The 64 round constants of FIPS 180-4 (cube roots of the first 64 primes), four per round group.
alignas(16) constexpr std::uint32_t kRound[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

// N independent compressions, their steps interleaved in one loop body so that the out-of-order
// core overlaps their SHA256RNDS2 chains. The instructions want the state split as ABEF and CDGH
// (a in the top lane) and the message words in big-endian order.
struct ShaNiLane {
  __m128i abef, cdgh;
  __m128i w0, w1, w2, w3;  // the words of the next four groups of four rounds, w0 the current one
};

template <std::size_t N>
__attribute__((target("sha,sse4.1"))) inline void compress_sha_ni(std::uint32_t* const (&h)[N],
                                                                   const unsigned char* const (&block)[N]) {
  const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  // Named fields rather than indexed arrays, rotated each group: GCC kept indexed vector arrays
  // on the stack, and the two-block version ran at half the speed of two single ones.
  ShaNiLane lane[N];
#pragma GCC unroll 2
  for (std::size_t n = 0; n < N; ++n) {
    const __m128i cdab = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h[n])), 0xb1);
    const __m128i efgh = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h[n] + 4)), 0x1b);
    const auto* words = reinterpret_cast<const __m128i*>(block[n]);
    lane[n] = {_mm_alignr_epi8(cdab, efgh, 8), _mm_blend_epi16(efgh, cdab, 0xf0),
               _mm_shuffle_epi8(_mm_loadu_si128(words), byte_swap), _mm_shuffle_epi8(_mm_loadu_si128(words + 1), byte_swap),
               _mm_shuffle_epi8(_mm_loadu_si128(words + 2), byte_swap), _mm_shuffle_epi8(_mm_loadu_si128(words + 3), byte_swap)};
  }
#pragma GCC unroll 16
  for (int g = 0; g < 16; ++g) {
    const __m128i k = _mm_load_si128(reinterpret_cast<const __m128i*>(kRound + 4 * g));
#pragma GCC unroll 2
    for (std::size_t n = 0; n < N; ++n) {
      ShaNiLane& s = lane[n];
      const __m128i wk = _mm_add_epi32(s.w0, k);
      s.cdgh = _mm_sha256rnds2_epu32(s.cdgh, s.abef, wk);  // two rounds: now the new ABEF
      s.abef = _mm_sha256rnds2_epu32(s.abef, s.cdgh, _mm_shuffle_epi32(wk, 0x0e));
      if (g < 12) {
        // The words of group g + 4: W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16]. MSG1
        // adds s0 to W[t-16], the add brings W[t-7], MSG2 adds s1 (over the words being made).
        const __m128i partial = _mm_add_epi32(_mm_sha256msg1_epu32(s.w0, s.w1), _mm_alignr_epi8(s.w3, s.w2, 4));
        s.w0 = s.w1;
        s.w1 = s.w2;
        s.w2 = s.w3;
        s.w3 = _mm_sha256msg2_epu32(partial, s.w2);
      } else {
        s.w0 = s.w1;
        s.w1 = s.w2;
        s.w2 = s.w3;
      }
    }
  }
#pragma GCC unroll 2
  for (std::size_t n = 0; n < N; ++n) {
    // Back to h[0..7] order, then the feed-forward: the input chaining value, still in h, is added.
    const __m128i feba = _mm_shuffle_epi32(lane[n].abef, 0x1b);
    const __m128i dchg = _mm_shuffle_epi32(lane[n].cdgh, 0xb1);
    auto* out = reinterpret_cast<__m128i*>(h[n]);
    _mm_storeu_si128(out, _mm_add_epi32(_mm_loadu_si128(out), _mm_blend_epi16(feba, dchg, 0xf0)));
    _mm_storeu_si128(out + 1, _mm_add_epi32(_mm_loadu_si128(out + 1), _mm_alignr_epi8(dchg, feba, 8)));
  }
}

// Out of line, one per width: target-specific code cannot be inlined into the generic callers.
__attribute__((target("sha,sse4.1"))) void compress_one_sha_ni(std::uint32_t h[8], const unsigned char* block) {
  compress_sha_ni<1>({h}, {block});
}

__attribute__((target("sha,sse4.1"))) void compress_two_sha_ni(std::uint32_t ha[8], const unsigned char* a,
                                                              std::uint32_t hb[8], const unsigned char* b) {
  compress_sha_ni<2>({ha, hb}, {a, b});
}

// Asked once: CPUID is a serializing instruction of some hundred cycles.
bool has_sha_ni() {
  static const bool has = cpu_has_sha_ni();
  return has;
}

#endif  // REFERKIT_SHA_NI

}  // namespace

void sha256_compress(std::uint32_t h[8], const unsigned char* block) {
#ifdef REFERKIT_SHA_NI
  if (has_sha_ni()) return compress_one_sha_ni(h, block);
#endif
  compress_openssl(h, block);
}

void sha256_compress_pair(std::uint32_t ha[8], const unsigned char* a, std::uint32_t hb[8], const unsigned char* b) {
#ifdef REFERKIT_SHA_NI
  if (has_sha_ni()) return compress_two_sha_ni(ha, a, hb, b);
#endif
  compress_openssl(ha, a);
  compress_openssl(hb, b);
}

bool sha256_uses_sha_ni() {
#ifdef REFERKIT_SHA_NI
  return has_sha_ni();
#else
  return false;
#endif
}

}  // namespace referkit::detail
