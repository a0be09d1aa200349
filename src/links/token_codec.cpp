#include "links/token_codec.hpp"

namespace referkit::detail {
namespace {

constexpr std::uint8_t kFlagExpiry = 0x01;
constexpr std::size_t kTimeBytes = 5;

void append_time(std::int64_t seconds, std::string& out) {
  for (int shift = 32; shift >= 0; shift -= 8) {
    out += static_cast<char>(static_cast<std::uint64_t>(seconds) >> shift & 0xff);
  }
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

void append_token_header(const TokenHeader& header, std::string& out) {
  out += static_cast<char>(kTokenVersion);
  out += static_cast<char>(header.expires_at ? kFlagExpiry : 0);
  out += static_cast<char>(header.key_id.size());
  out += header.key_id;
  out += static_cast<char>(header.campaign.size());
  out += header.campaign;
  append_time(header.issued_at, out);
  if (header.expires_at) append_time(*header.expires_at, out);
  out += static_cast<char>(header.referrer_len);
}

Result<TokenView> parse_token(std::string_view raw) {
  Reader r(raw);
  TokenView v;
  std::uint8_t version = 0;
  std::uint8_t flags = 0;
  std::uint8_t len = 0;
  if (!r.byte(version)) return malformed("token is empty");
  if (version != kTokenVersion) return malformed("unsupported token version");
  if (!r.byte(flags) || (flags & ~kFlagExpiry) != 0) return malformed("bad token flags");
  if (!r.byte(len) || len == 0 || len > kMaxKeyIdBytes || !r.bytes(len, v.header.key_id)) {
    return malformed("bad key id field");
  }
  if (!r.byte(len) || len == 0 || len > kMaxCampaignBytes || !r.bytes(len, v.header.campaign)) {
    return malformed("bad campaign field");
  }
  if (!r.time(v.header.issued_at)) return malformed("token truncated in issue time");
  if (flags & kFlagExpiry) {
    std::int64_t expires = 0;
    if (!r.time(expires)) return malformed("token truncated in expiry");
    v.header.expires_at = expires;
  }
  if (!r.byte(len) || len == 0 || len > kMaxReferrerBytes) return malformed("bad referrer field");
  v.header.referrer_len = len;
  v.header_bytes = raw.substr(0, r.pos());
  if (r.remaining() != len + kTagBytes) return malformed("token length does not match its fields");
  r.bytes(len, v.sealed_referrer);
  r.bytes(kTagBytes, v.tag);
  return v;
}

}  // namespace referkit::detail
