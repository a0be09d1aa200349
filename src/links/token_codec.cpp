#include "links/token_codec.hpp"

#include <cstring>

namespace referkit::detail {
namespace {

constexpr std::uint8_t kFlagExpiry = 0x01;
constexpr std::size_t kTimeBytes = 5;

char* write_time(std::int64_t seconds, char* out) {
  for (int shift = 32; shift >= 0; shift -= 8) {
    *out++ = static_cast<char>(static_cast<std::uint64_t>(seconds) >> shift & 0xff);
  }
  return out;
}

char* write_field(std::string_view field, char* out) {
  *out++ = static_cast<char>(field.size());
  std::memcpy(out, field.data(), field.size());
  return out + field.size();
}

// Five big-endian bytes; the caller has checked that they are there.
std::int64_t read_time(const unsigned char* p) {
  return static_cast<std::int64_t>(std::uint64_t{p[0]} << 32 | std::uint64_t{p[1]} << 24 | std::uint64_t{p[2]} << 16 |
                                   std::uint64_t{p[3]} << 8 | p[4]);
}

Status malformed(const char* why) { return Status(StatusCode::kMalformed, why); }

}  // namespace

std::size_t write_token_header(const TokenHeader& header, char* out) {
  char* o = out;
  *o++ = static_cast<char>(kTokenVersion);
  *o++ = static_cast<char>(header.expires_at ? kFlagExpiry : 0);
  o = write_field(header.key_id, o);
  o = write_field(header.campaign, o);
  o = write_time(header.issued_at, o);
  if (header.expires_at) o = write_time(*header.expires_at, o);
  *o++ = static_cast<char>(header.referrer_len);
  return static_cast<std::size_t>(o - out);
}

// Straight-line reads, each behind one bounds test on what is left. (Through a cursor class GCC
// kept every read out of line, judging the calls cold, and they were ~5% of a URL verify.)
Status parse_token(std::string_view raw, TokenView& out) {
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  const std::size_t size = raw.size();
  if (size == 0) return malformed("token is empty");
  if (p[0] != kTokenVersion) return malformed("unsupported token version");
  if (size < 2 || (p[1] & ~kFlagExpiry) != 0) return malformed("bad token flags");
  const bool has_expiry = (p[1] & kFlagExpiry) != 0;
  std::size_t pos = 2;
  // A length byte of 1..max, then that many bytes.
  auto field = [&](std::size_t max, std::string_view& field_out) {
    if (pos >= size) return false;
    const std::size_t len = p[pos];
    if (len == 0 || len > max || size - pos - 1 < len) return false;
    field_out = raw.substr(pos + 1, len);
    pos += 1 + len;
    return true;
  };
  if (!field(kMaxKeyIdBytes, out.header.key_id)) return malformed("bad key id field");
  if (!field(kMaxCampaignBytes, out.header.campaign)) return malformed("bad campaign field");
  if (size - pos < kTimeBytes) return malformed("token truncated in issue time");
  out.header.issued_at = read_time(p + pos);
  pos += kTimeBytes;
  if (has_expiry) {
    if (size - pos < kTimeBytes) return malformed("token truncated in expiry");
    out.header.expires_at = read_time(p + pos);
    pos += kTimeBytes;
  } else {
    out.header.expires_at.reset();
  }
  if (pos >= size || p[pos] == 0 || p[pos] > kMaxReferrerBytes) return malformed("bad referrer field");
  const std::size_t len = p[pos++];
  out.header.referrer_len = len;
  out.header_bytes = raw.substr(0, pos);
  if (size - pos != len + kTagBytes) return malformed("token length does not match its fields");
  out.sealed_referrer = raw.substr(pos, len);
  out.tag = raw.substr(pos + len, kTagBytes);
  return {};
}

}  // namespace referkit::detail
