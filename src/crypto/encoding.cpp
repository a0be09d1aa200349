#include "crypto/encoding.hpp"

#include <array>
#include <cstdint>
#include <cstring>

namespace referkit::detail {
namespace {

constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr char kBase64Std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// 0xff marks a character outside the alphabet.
constexpr std::array<std::uint8_t, 256> make_base64url_table() {
  std::array<std::uint8_t, 256> table{};
  for (auto& v : table) v = 0xff;
  for (std::uint8_t i = 0; i < 64; ++i) table[static_cast<unsigned char>(kBase64Url[i])] = i;
  return table;
}
constexpr auto kBase64UrlTable = make_base64url_table();

// For whole groups of four characters: each character's six bits already shifted to their place
// in the group's 24, and bit 31 set for a character outside the alphabet. A group is four loads
// ORed together, and the whole text's validity one test at the end: a test and branch per group
// was most of a token's decode.
struct GroupTables {
  std::uint32_t at[4][256];
};
constexpr std::uint32_t kNotBase64Url = 0x80000000;
constexpr GroupTables make_group_tables() {
  GroupTables t{};
  for (unsigned pos = 0; pos < 4; ++pos) {
    for (unsigned c = 0; c < 256; ++c) {
      const std::uint32_t v = kBase64UrlTable[c];
      t.at[pos][c] = v == 0xff ? kNotBase64Url : v << (18 - 6 * pos);
    }
  }
  return t;
}
constexpr GroupTables kGroupTables = make_group_tables();

// The two characters of every 12-bit value: a group of three bytes is two lookups and two
// two-byte stores instead of four and four (a token is some twenty groups, encoded every mint).
struct PairTable {
  char pair[4096][2];
};
constexpr PairTable make_pair_table(const char* alphabet) {
  PairTable t{};
  for (unsigned v = 0; v < 4096; ++v) {
    t.pair[v][0] = alphabet[v >> 6];
    t.pair[v][1] = alphabet[v & 63];
  }
  return t;
}
constexpr PairTable kBase64UrlPairs = make_pair_table(kBase64Url);
constexpr PairTable kBase64StdPairs = make_pair_table(kBase64Std);

std::string base64_encode_with(std::string_view bytes, const char* alphabet, const PairTable& pairs, bool pad) {
  const std::size_t full = bytes.size() / 3;
  const std::size_t rest = bytes.size() % 3;
  std::string out(full * 4 + (rest == 0 ? 0 : (pad ? 4 : rest + 1)), '\0');
  char* o = out.data();
  const auto* in = reinterpret_cast<const unsigned char*>(bytes.data());
  for (std::size_t i = 0; i < full; ++i, in += 3, o += 4) {
    const std::uint32_t n = std::uint32_t{in[0]} << 16 | std::uint32_t{in[1]} << 8 | in[2];
    std::memcpy(o, pairs.pair[n >> 12], 2);
    std::memcpy(o + 2, pairs.pair[n & 0xfff], 2);
  }
  if (rest > 0) {
    const std::uint32_t n = std::uint32_t{in[0]} << 16 | (rest == 2 ? std::uint32_t{in[1]} << 8 : 0);
    *o++ = alphabet[n >> 18 & 63];
    *o++ = alphabet[n >> 12 & 63];
    if (rest == 2) *o++ = alphabet[n >> 6 & 63];
    if (pad) {
      *o++ = '=';
      if (rest == 1) *o++ = '=';
    }
  }
  return out;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  return base64_encode_with(bytes, kBase64Url, kBase64UrlPairs, false);
}

std::string base64_encode(std::string_view bytes) {
  return base64_encode_with(bytes, kBase64Std, kBase64StdPairs, true);
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string out(base64url_decoded_size(text.size()), '\0');
  if (!base64url_decode_into(text, out.data())) return std::nullopt;
  return out;
}

bool base64url_decode_into(std::string_view text, char* out) {
  const std::size_t rest = text.size() % 4;
  if (rest == 1) return false;  // no byte count encodes to 4k+1 characters
  char* o = out;
  const char* in = text.data();
  auto value = [](char c) { return kBase64UrlTable[static_cast<unsigned char>(c)]; };
  auto at = [](std::size_t pos, char c) { return kGroupTables.at[pos][static_cast<unsigned char>(c)]; };
  std::uint32_t any = 0;
  for (std::size_t i = 0; i < text.size() / 4; ++i, in += 4) {
    const std::uint32_t n = at(0, in[0]) | at(1, in[1]) | at(2, in[2]) | at(3, in[3]);
    any |= n;
    *o++ = static_cast<char>(n >> 16 & 0xff);
    *o++ = static_cast<char>(n >> 8 & 0xff);
    *o++ = static_cast<char>(n & 0xff);
  }
  if ((any & kNotBase64Url) != 0) return false;
  if (rest > 0) {
    const std::uint32_t a = value(in[0]), b = value(in[1]), c = rest == 3 ? value(in[2]) : 0;
    if (((a | b | c) & 0xc0) != 0) return false;
    const std::uint32_t n = a << 18 | b << 12 | c << 6;
    // Left-over bits must be zero, otherwise two spellings would decode to the same bytes.
    if ((rest == 2 ? n & 0xffff : n & 0xff) != 0) return false;
    *o++ = static_cast<char>(n >> 16);
    if (rest == 3) *o++ = static_cast<char>(n >> 8 & 0xff);
  }
  return true;
}

}  // namespace referkit::detail
