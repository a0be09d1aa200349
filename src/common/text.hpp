// The small ASCII text helpers every layer needs: case-insensitive comparison (header names,
// schemes, hosts), trimming, and hex. One set, here, so that "what counts as whitespace" and
// "which case hex is written in" are decided once. All of them work on bytes and ignore the
// locale (std::tolower and std::isspace depend on it, and neither is right for wire formats).
#ifndef REFERKIT_SRC_COMMON_TEXT_HPP
#define REFERKIT_SRC_COMMON_TEXT_HPP

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace referkit::detail {

inline constexpr char kLowerHexDigits[] = "0123456789abcdef";
// "00".."ff": each byte's two lowercase digits, copied as one 2-byte unit (hex_encode_to's
// last bytes; whole 16- and 8-byte blocks go through write_hex_u128 and write_hex_u64).
struct HexPairs {
  char text[512];
  constexpr HexPairs() : text() {
    for (int i = 0; i < 256; ++i) {
      text[2 * i] = kLowerHexDigits[i >> 4];
      text[2 * i + 1] = kLowerHexDigits[i & 15];
    }
  }
};
inline constexpr HexPairs kHexPairs;
// "00".."99": each number below 100 as two decimal digits, copied as one 2-byte unit: half the
// divisions of digit-by-digit output (timestamps, money amounts).
struct DecimalPairs {
  char text[200];
  constexpr DecimalPairs() : text() {
    for (int i = 0; i < 100; ++i) {
      text[2 * i] = static_cast<char>('0' + i / 10);
      text[2 * i + 1] = static_cast<char>('0' + i % 10);
    }
  }
};
inline constexpr DecimalPairs kDecimalPairs;
inline constexpr char kUpperHexDigits[] = "0123456789ABCDEF";

// What trim() removes by default: the ASCII whitespace of C's isspace in the "C" locale.
inline constexpr std::string_view kAsciiWhitespace = " \t\n\r\f\v";
// HTTP's optional whitespace (OWS, RFC 9110 section 5.6.3) around field values and list items.
inline constexpr std::string_view kHttpWhitespace = " \t";

constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// ASCII case-insensitive equality; bytes from 0x80 up compare exactly.
bool iequals(std::string_view a, std::string_view b);
std::string ascii_lowercase(std::string_view s);
// The same into `out`, which has room for s.size() bytes (no allocation).
void ascii_lowercase_to(char* out, std::string_view s);

// An RFC 9110 token (header names, methods, list items): one or more of A-Z a-z 0-9 and
// !#$%&'*+-.^_`|~. Anything else in a header name could split or smuggle a header.
bool is_http_token(std::string_view s);

// One of kAsciiWhitespace: space, or \t \n \v \f \r (9-13).
constexpr bool is_ascii_whitespace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static_assert(is_ascii_whitespace(' ') && is_ascii_whitespace('\t') && is_ascii_whitespace('\n') &&
              is_ascii_whitespace('\v') && is_ascii_whitespace('\f') && is_ascii_whitespace('\r') &&
              kAsciiWhitespace.size() == 6 && !is_ascii_whitespace('\b') && !is_ascii_whitespace('\x0e'));

// s without leading and trailing kAsciiWhitespace. Inline, with a range test rather than a
// loop over the set: an order's email is trimmed in every track().
inline std::string_view trim(std::string_view s) {
  std::size_t first = 0;
  std::size_t end = s.size();
  while (first < end && is_ascii_whitespace(s[first])) ++first;
  while (end > first && is_ascii_whitespace(s[end - 1])) --end;
  return std::string_view(s.data() + first, end - first);  // an all-trimmed s gives an empty view inside it
}
// s without leading and trailing characters from `chars`.
std::string_view trim(std::string_view s, std::string_view chars);

// The value of one hex digit (either case), or -1.
int hex_value(char c);
// v as exactly 16 lowercase digits at out, most significant first (no terminator). Each half
// is spread one nibble per byte of a 64-bit word and turned into digits there, all at once,
// rather than looked up byte by byte: UUIDs and hashes are written on every track().
inline void write_hex_u64(char* out, std::uint64_t v) noexcept {
  constexpr std::uint64_t kOnes = 0x0101010101010101;
  for (int half = 0; half < 2; ++half) {
    std::uint64_t x = half == 0 ? v >> 32 : v & 0xffffffff;
    x = (x | x << 16) & 0x0000ffff0000ffff;
    x = (x | x << 8) & 0x00ff00ff00ff00ff;
    x = (x | x << 4) & 0x0f0f0f0f0f0f0f0f;  // byte k holds nibble k, the lowest first
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    x = __builtin_bswap64(x);  // the highest nibble goes first in memory
#endif
    const std::uint64_t letters = ((x + 6 * kOnes) >> 4) & kOnes;  // 1 in each byte holding 10-15
    x += '0' * kOnes + letters * ('a' - '0' - 10);
    std::memcpy(out + 8 * half, &x, 8);
  }
}
// hi then lo as exactly 32 lowercase digits at out (a UUID's 128 bits). With SSE2 all 16 bytes
// are turned into digits at once in one register (about 15 instructions, where two
// write_hex_u64 calls take about 90); otherwise it is those two calls.
void write_hex_u128(char* out, std::uint64_t hi, std::uint64_t lo) noexcept;
// Two lowercase digits per byte.
std::string hex_encode(std::string_view bytes);
// The same into `out`, which has room for 2 * bytes.size() characters (no allocation).
void hex_encode_to(char* out, std::string_view bytes);
// Lower- or upper-case hex of even length; nullopt on anything else.
std::optional<std::string> hex_decode(std::string_view text);
// v as exactly 16 lowercase digits (fixed-width names that sort like the numbers).
std::string hex_u64(std::uint64_t v);

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_COMMON_TEXT_HPP
