#include "crypto/encoding.hpp"

#include <array>
#include <cstdint>

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

std::string base64_encode_with(std::string_view bytes, const char* alphabet, bool pad) {
  const std::size_t full = bytes.size() / 3;
  const std::size_t rest = bytes.size() % 3;
  std::string out(full * 4 + (rest == 0 ? 0 : (pad ? 4 : rest + 1)), '\0');
  char* o = out.data();
  const auto* in = reinterpret_cast<const unsigned char*>(bytes.data());
  for (std::size_t i = 0; i < full; ++i, in += 3) {
    const std::uint32_t n = std::uint32_t{in[0]} << 16 | std::uint32_t{in[1]} << 8 | in[2];
    *o++ = alphabet[n >> 18 & 63];
    *o++ = alphabet[n >> 12 & 63];
    *o++ = alphabet[n >> 6 & 63];
    *o++ = alphabet[n & 63];
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
  return base64_encode_with(bytes, kBase64Url, false);
}

std::string base64_encode(std::string_view bytes) {
  return base64_encode_with(bytes, kBase64Std, true);
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
  for (std::size_t i = 0; i < text.size() / 4; ++i, in += 4) {
    const std::uint32_t a = value(in[0]), b = value(in[1]), c = value(in[2]), d = value(in[3]);
    if ((a | b | c | d) == 0xff || ((a | b | c | d) & 0xc0) != 0) return false;
    const std::uint32_t n = a << 18 | b << 12 | c << 6 | d;
    *o++ = static_cast<char>(n >> 16);
    *o++ = static_cast<char>(n >> 8 & 0xff);
    *o++ = static_cast<char>(n & 0xff);
  }
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
