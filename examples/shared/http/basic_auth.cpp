#include "http/basic_auth.hpp"

#include <array>
#include <cstdint>

#include "common/text.hpp"

namespace referkit::http {
namespace {

// RFC 4648 section 4 alphabet; -1 for anything else.
constexpr std::array<std::int8_t, 256> make_decode_table() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
  }
  return t;
}
constexpr auto kDecode = make_decode_table();

// Padded base64; credentials are short, so anything over 4 KiB is refused outright.
std::optional<std::string> base64_decode(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0 || in.size() > 4096) return std::nullopt;
  std::size_t padding = 0;
  if (in.back() == '=') ++padding;
  if (in.size() >= 2 && in[in.size() - 2] == '=') ++padding;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    std::uint32_t group = 0;
    const bool last = i + 4 == in.size();
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = in[i + j];
      std::int8_t v = kDecode[static_cast<unsigned char>(c)];
      if (c == '=' && last && j >= 4 - padding) v = 0;
      if (v < 0) return std::nullopt;
      group = (group << 6) | static_cast<std::uint32_t>(v);
    }
    out += static_cast<char>((group >> 16) & 0xFF);
    out += static_cast<char>((group >> 8) & 0xFF);
    out += static_cast<char>(group & 0xFF);
  }
  out.resize(out.size() - padding);
  return out;
}

}  // namespace

std::optional<std::string> basic_auth_user(std::string_view authorization) {
  const std::size_t space = authorization.find(' ');
  if (space == std::string_view::npos || !detail::iequals(authorization.substr(0, space), "Basic")) return std::nullopt;
  std::string_view token = authorization.substr(space + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  auto decoded = base64_decode(token);
  if (!decoded) return std::nullopt;
  const std::size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  decoded->resize(colon);
  return decoded;
}

bool WriteKeys::accepts(std::string_view key) const {
  bool match = false;
  for (const std::string& k : keys_) {
    // Lengths are not secret (keys are typically of one fixed length); the bytes are.
    if (k.size() != key.size()) continue;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < k.size(); ++i) {
      diff = static_cast<unsigned char>(diff | (static_cast<unsigned char>(k[i]) ^ static_cast<unsigned char>(key[i])));
    }
    match = match || diff == 0;
  }
  return match;
}

}  // namespace referkit::http
