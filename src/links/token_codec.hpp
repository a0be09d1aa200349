// The binary layout of a link token, before base64url:
//
//   version(1) flags(1) key_id_len(1) key_id campaign_len(1) campaign issued_at(5)
//   [expires_at(5) if flags bit 0] referrer_len(1) | sealed_referrer | tag(12)
//
// Times are unix seconds, big-endian. Everything before '|' is the header, authenticated by the
// tag together with the plaintext referrer. Length-prefixed fields make the encoding unambiguous.
#ifndef REFERKIT_SRC_LINKS_TOKEN_CODEC_HPP
#define REFERKIT_SRC_LINKS_TOKEN_CODEC_HPP

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "referkit/status.hpp"

namespace referkit::detail {

inline constexpr std::uint8_t kTokenVersion = 1;
inline constexpr std::size_t kTagBytes = 12;  // 96-bit truncated HMAC-SHA256
inline constexpr std::size_t kMaxKeyIdBytes = 16;
inline constexpr std::size_t kMaxCampaignBytes = 64;
inline constexpr std::size_t kMaxReferrerBytes = 128;
inline constexpr std::int64_t kMaxTokenSeconds = (std::int64_t{1} << 40) - 1;
// Version, flags and key id length; key id; campaign length; campaign; two times; referrer length.
inline constexpr std::size_t kMaxTokenHeaderBytes = 3 + kMaxKeyIdBytes + 1 + kMaxCampaignBytes + 5 + 5 + 1;
inline constexpr std::size_t kMaxTokenBytes = kMaxTokenHeaderBytes + kMaxReferrerBytes + kTagBytes;

struct TokenHeader {
  std::string_view key_id;
  std::string_view campaign;
  std::int64_t issued_at = 0;
  std::optional<std::int64_t> expires_at;
  std::size_t referrer_len = 0;
};

// Writes the header bytes to out, which has room for kMaxTokenHeaderBytes, and returns their
// number. Callers have checked the field bounds above.
std::size_t write_token_header(const TokenHeader& header, char* out);

struct TokenView {
  TokenHeader header;
  std::string_view header_bytes;
  std::string_view sealed_referrer;
  std::string_view tag;
};

// Parses raw token bytes into out (every field is set on success) without trusting any length
// in them. kMalformed on any deviation. An out-parameter rather than a Result: copying the view
// through a Result cost as much as the parse itself on the verify path.
Status parse_token(std::string_view raw, TokenView& out);

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_LINKS_TOKEN_CODEC_HPP
