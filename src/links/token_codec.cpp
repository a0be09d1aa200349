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

// A cursor that refuses to move past the end of its input.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool byte(std::uint8_t& out) {
    if (pos_ >= in_.size()) return false;
    out = static_cast<std::uint8_t>(in_[pos_++]);
    return true;
  }
  bool bytes(std::size_t n, std::string_view& out) {
    if (in_.size() - pos_ < n) return false;
    out = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool time(std::int64_t& out) {
    std::string_view raw;
    if (!bytes(kTimeBytes, raw)) return false;
    std::uint64_t v = 0;
    for (char c : raw) v = v << 8 | static_cast<std::uint8_t>(c);
    out = static_cast<std::int64_t>(v);
    return true;
  }
  std::size_t pos() const { return pos_; }
  std::size_t remaining() const { return in_.size() - pos_; }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
};

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

Status parse_token(std::string_view raw, TokenView& out) {
  Reader r(raw);
  std::uint8_t version = 0;
  std::uint8_t flags = 0;
  std::uint8_t len = 0;
  if (!r.byte(version)) return malformed("token is empty");
  if (version != kTokenVersion) return malformed("unsupported token version");
  if (!r.byte(flags) || (flags & ~kFlagExpiry) != 0) return malformed("bad token flags");
  if (!r.byte(len) || len == 0 || len > kMaxKeyIdBytes || !r.bytes(len, out.header.key_id)) {
    return malformed("bad key id field");
  }
  if (!r.byte(len) || len == 0 || len > kMaxCampaignBytes || !r.bytes(len, out.header.campaign)) {
    return malformed("bad campaign field");
  }
  if (!r.time(out.header.issued_at)) return malformed("token truncated in issue time");
  if (flags & kFlagExpiry) {
    std::int64_t expires = 0;
    if (!r.time(expires)) return malformed("token truncated in expiry");
    out.header.expires_at = expires;
  } else {
    out.header.expires_at.reset();
  }
  if (!r.byte(len) || len == 0 || len > kMaxReferrerBytes) return malformed("bad referrer field");
  out.header.referrer_len = len;
  out.header_bytes = raw.substr(0, r.pos());
  if (r.remaining() != len + kTagBytes) return malformed("token length does not match its fields");
  r.bytes(len, out.sealed_referrer);
  r.bytes(kTagBytes, out.tag);
  return {};
}

}  // namespace referkit::detail
