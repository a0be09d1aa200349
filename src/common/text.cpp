#include "common/text.hpp"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace referkit::detail {
namespace {

#if defined(__SSE2__)
// The 16 bytes of v, in memory order, as 32 lowercase digits at out: the high and the low
// nibbles of every byte go to two registers, are interleaved (the high digit first), and each
// nibble becomes its digit with one compare and two adds. Every track() writes a UUID and, for
// an order with an email, a SHA-256 in hex: whole registers instead of 8 bytes at a time.
inline void write_hex_block(char* out, __m128i v) noexcept {
  const __m128i nibble = _mm_set1_epi8(0x0f);
  const __m128i high = _mm_and_si128(_mm_srli_epi16(v, 4), nibble);  // bits from the next byte masked off
  const __m128i low = _mm_and_si128(v, nibble);
  const auto digits = [](__m128i x) {
    const __m128i letter = _mm_cmpgt_epi8(x, _mm_set1_epi8(9));  // 0xff where the nibble is 10-15
    return _mm_add_epi8(_mm_add_epi8(x, _mm_set1_epi8('0')), _mm_and_si128(letter, _mm_set1_epi8('a' - '0' - 10)));
  };
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), digits(_mm_unpacklo_epi8(high, low)));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16), digits(_mm_unpackhi_epi8(high, low)));
}
#endif

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

std::string ascii_lowercase(std::string_view s) {
  std::string out(s.size(), '\0');
  ascii_lowercase_to(out.data(), s);
  return out;
}

void ascii_lowercase_to(char* out, std::string_view s) {
  // Eight bytes at a time (an email is folded in every order's track()). With each byte's top
  // bit cleared first, no addition below carries into the next byte: a byte gets its top bit
  // set by + (0x80 - 'A') when it is 'A' or more, and by + (0x80 - 'Z' - 1) when it is past
  // 'Z'; bytes from 0x80 up (UTF-8) are excluded by their own top bit and stay as they are.
  constexpr std::uint64_t kOnes = 0x0101010101010101;
  constexpr std::uint64_t kHigh = 0x80 * kOnes;
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    const std::uint64_t low7 = w & ~kHigh;
    const std::uint64_t upper = (low7 + (0x80 - 'A') * kOnes) & ~(low7 + (0x80 - 'Z' - 1) * kOnes) & ~w & kHigh;
    w |= upper >> 2;  // 0x80 >> 2 is the 0x20 between 'A' and 'a'
    std::memcpy(out + i, &w, 8);
  }
  for (; i < s.size(); ++i) out[i] = ascii_lower(s[i]);
}

bool is_http_token(std::string_view s) {
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  if (s.empty()) return false;
  for (const char c : s) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && kSpecials.find(c) == std::string_view::npos) return false;
  }
  return true;
}

std::string_view trim(std::string_view s, std::string_view chars) {
  // A loop over the few characters of `chars`, not find_first_not_of: that calls memchr for
  // every byte it looks at, several times the cost on the short strings trimmed per event.
  const auto in_set = [chars](char c) {
    for (const char x : chars) {
      if (x == c) return true;
    }
    return false;
  };
  std::size_t first = 0;
  std::size_t end = s.size();
  while (first < end && in_set(s[first])) ++first;
  while (end > first && in_set(s[end - 1])) --end;
  return s.substr(first, end - first);  // an all-trimmed s gives an empty view inside it
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void write_hex_u128(char* out, std::uint64_t hi, std::uint64_t lo) noexcept {
#if defined(__SSE2__)
  // Built in a register, most significant byte first in memory order (x86 is little-endian);
  // not stored and reloaded, which would stall on store forwarding.
  write_hex_block(out, _mm_set_epi64x(static_cast<long long>(__builtin_bswap64(lo)),
                                      static_cast<long long>(__builtin_bswap64(hi))));
#else
  write_hex_u64(out, hi);
  write_hex_u64(out + 16, lo);
#endif
}

void hex_encode_to(char* out, std::string_view bytes) {
  std::size_t i = 0;
#if defined(__SSE2__)
  for (; i + 16 <= bytes.size(); i += 16, out += 32) {
    write_hex_block(out, _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes.data() + i)));
  }
#endif
  for (; i + 8 <= bytes.size(); i += 8, out += 16) {
    std::uint64_t v;
    std::memcpy(&v, bytes.data() + i, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);  // the first byte is the most significant
#endif
    write_hex_u64(out, v);
  }
  for (const char c : bytes.substr(i)) {
    std::memcpy(out, &kHexPairs.text[2 * static_cast<unsigned char>(c)], 2);
    out += 2;
  }
}

std::string hex_encode(std::string_view bytes) {
  std::string out(bytes.size() * 2, '\0');
  hex_encode_to(out.data(), bytes);
  return out;
}

std::optional<std::string> hex_decode(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  std::string out(text.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_value(text[2 * i]);
    const int lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>(hi << 4 | lo);
  }
  return out;
}

std::string hex_u64(std::uint64_t v) {
  std::string out(16, '0');
  write_hex_u64(out.data(), v);
  return out;
}

}  // namespace referkit::detail
