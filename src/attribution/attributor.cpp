#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "crypto/encoding.hpp"
#include "crypto/hmac_sha256.hpp"
#include "links/link_text.hpp"
#include "referkit/attribution.hpp"
#include "referkit/events.hpp"

namespace referkit {
inline namespace v1 {
namespace {

using detail::HmacSha256;
using detail::Sha256Digest;

// Payload, version 1 (all integers big-endian):
//   version(1) flags(1) key_id_len(1) key_id campaign_len(1) campaign code_len(2) code
//   clicked_at_ms(6) window_end_ms(6) [referrer_tag(12) when flags & 1]
// Lengths are checked against these bounds on both sides, and nothing may follow the last field.
constexpr unsigned char kVersion = 1;
constexpr unsigned char kFlagReferrerTag = 1;
constexpr std::size_t kMaxKeyId = 16;
constexpr std::size_t kMaxCampaign = 64;
constexpr std::size_t kMaxCode = 512;  // a link token is about 60-300 characters
constexpr std::size_t kTagBytes = 16;  // 128-bit HMAC-SHA256 truncation
constexpr std::size_t kMaxPayload = 3 + kMaxKeyId + 1 + kMaxCampaign + 2 + kMaxCode + 12 + 12;
// The longest value we write, encoded, plus the separator: anything longer is not ours.
constexpr std::size_t kMaxCookieValue = (kMaxPayload + 2) / 3 * 4 + 1 + 22;
constexpr std::uint64_t kMaxMs = (std::uint64_t{1} << 48) - 1;

struct CookieKeys {
  std::string id;
  HmacSha256 cookie;         // signs cookie values
  HmacSha256 self_referral;  // keyed hashes of referrer ids and emails
};

struct Parsed {
  Attribution attribution;
  std::string_view payload;  // the decoded bytes the tag covers
};

Status malformed(std::string_view why) {
  return Status(StatusCode::kMalformed, fmt::format("not a referral attribution cookie: {}", why));
}

void put_u48(std::string& out, std::uint64_t v) {
  for (int shift = 40; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

std::uint64_t ms_of(TimePoint t) {
  const auto ms = t.time_since_epoch().count();
  return ms < 0 ? 0 : std::min<std::uint64_t>(static_cast<std::uint64_t>(ms), kMaxMs);
}

// A bounds-checked reader over the decoded payload: every take fails rather than read past it.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}
  bool byte(unsigned char& out) {
    if (rest_.empty()) return false;
    out = static_cast<unsigned char>(rest_.front());
    rest_.remove_prefix(1);
    return true;
  }
  bool bytes(std::size_t n, std::string_view& out) {
    if (rest_.size() < n) return false;
    out = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return true;
  }
  bool uint(std::size_t width, std::uint64_t& out) {
    std::string_view raw;
    if (!bytes(width, raw)) return false;
    out = 0;
    for (char c : raw) out = out << 8 | static_cast<unsigned char>(c);
    return true;
  }
  bool done() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

bool valid_key_id(std::string_view id) {
  return !id.empty() && id.size() <= kMaxKeyId && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

bool valid_cookie_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// Structure only; the tag is checked by the caller once the key is known.
Result<Parsed> parse(std::string_view payload) {
  Reader r(payload);
  Parsed out;
  Attribution& a = out.attribution;
  unsigned char version = 0, flags = 0, key_len = 0, campaign_len = 0;
  std::uint64_t code_len = 0, clicked = 0, window_end = 0;
  std::string_view key_id, campaign, code, tag;
  if (!r.byte(version) || version != kVersion) return malformed("unknown version");
  if (!r.byte(flags) || (flags & ~kFlagReferrerTag) != 0) return malformed("unknown flags");
  if (!r.byte(key_len) || key_len > kMaxKeyId || !r.bytes(key_len, key_id) || !valid_key_id(key_id)) {
    return malformed("bad key id");
  }
  if (!r.byte(campaign_len) || campaign_len > kMaxCampaign || !r.bytes(campaign_len, campaign) ||
      !detail::is_printable(campaign)) {
    return malformed("bad campaign");
  }
  if (!r.uint(2, code_len) || code_len == 0 || code_len > kMaxCode || !r.bytes(code_len, code) ||
      !detail::is_printable(code)) {
    return malformed("bad referral code");
  }
  if (!r.uint(6, clicked) || !r.uint(6, window_end) || window_end <= clicked) return malformed("bad times");
  if ((flags & kFlagReferrerTag) != 0) {
    if (!r.bytes(a.referrer_tag.size(), tag)) return malformed("truncated");
    std::memcpy(a.referrer_tag.data(), tag.data(), tag.size());
    a.has_referrer_tag = true;
  }
  if (!r.done()) return malformed("trailing bytes");
  a.key_id = std::string(key_id);
  a.campaign = std::string(campaign);
  a.referral_code = std::string(code);
  a.clicked_at = TimePoint(std::chrono::milliseconds(static_cast<std::int64_t>(clicked)));
  a.window_end = TimePoint(std::chrono::milliseconds(static_cast<std::int64_t>(window_end)));
  out.payload = payload;
  return out;
}

std::string encode_payload(const Attribution& a) {
  std::string p;
  p.reserve(kMaxPayload);
  p.push_back(static_cast<char>(kVersion));
  p.push_back(static_cast<char>(a.has_referrer_tag ? kFlagReferrerTag : 0));
  p.push_back(static_cast<char>(a.key_id.size()));
  p += a.key_id;
  p.push_back(static_cast<char>(a.campaign.size()));
  p += a.campaign;
  p.push_back(static_cast<char>(a.referral_code.size() >> 8));
  p.push_back(static_cast<char>(a.referral_code.size() & 0xff));
  p += a.referral_code;
  put_u48(p, ms_of(a.clicked_at));
  put_u48(p, ms_of(a.window_end));
  if (a.has_referrer_tag) p.append(reinterpret_cast<const char*>(a.referrer_tag.data()), a.referrer_tag.size());
  return p;
}

std::string_view as_text(const Sha256Digest& d, std::size_t n) {
  return std::string_view(reinterpret_cast<const char*>(d.data()), n);
}

}  // namespace

struct Attributor::Impl {
  std::vector<CookieKeys> keys;  // the primary first
  AttributionOptions options;

  const CookieKeys* find(std::string_view id) const {
    for (const CookieKeys& k : keys) {
      if (k.id == id) return &k;
    }
    return nullptr;
  }
};

Attributor::Attributor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Attributor::Attributor(Attributor&&) noexcept = default;
Attributor& Attributor::operator=(Attributor&&) noexcept = default;
Attributor::~Attributor() = default;

const AttributionOptions& Attributor::options() const noexcept { return impl_->options; }

Result<Attributor> Attributor::create(const Keyring& keys, AttributionOptions options) {
  if (keys.empty()) return Status(StatusCode::kInvalidArgument, "the keyring is empty");
  if (options.window < std::chrono::hours(1) || options.window > std::chrono::hours(24 * 400)) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("attribution window must be 1 hour to 400 days, got {} s", options.window.count()));
  }
  if (!valid_cookie_name(options.cookie_name)) {
    return Status(StatusCode::kInvalidArgument, "cookie name must be 1-64 characters of [A-Za-z0-9_-]");
  }
  auto impl = std::make_unique<Impl>();
  for (const Keyring::Key& k : keys.keys()) {
    HmacSha256 master(k.secret);
    impl->keys.push_back(
        CookieKeys{k.id, master.derive("referkit/v1 attribution cookie"), master.derive("referkit/v1 self-referral")});
  }
  impl->options = std::move(options);
  return Attributor(std::move(impl));
}

std::string Attributor::cookie_value(const Attribution& attribution) const {
  // Always signed with the primary key: a cookie read under an older key is re-signed when set again.
  const CookieKeys& key = impl_->keys.front();
  Attribution a = attribution;
  a.key_id = key.id;
  const std::string payload = encode_payload(a);
  const Sha256Digest tag = key.cookie.mac(payload);
  return detail::base64url_encode(payload) + "." + detail::base64url_encode(as_text(tag, kTagBytes));
}

std::string Attributor::set_cookie_header(const Attribution& attribution, TimePoint now) const {
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(attribution.window_end - now).count();
  return fmt::format("{}={}; Max-Age={}; Path=/; Secure; HttpOnly; SameSite=Lax", impl_->options.cookie_name,
                     cookie_value(attribution), std::max<std::int64_t>(left, 0));
}

Result<Attribution> Attributor::read(std::string_view value, TimePoint now) const {
  if (value.empty()) return malformed("empty");
  if (value.size() > kMaxCookieValue) return malformed("too long");
  const std::size_t dot = value.find('.');
  if (dot == std::string_view::npos || value.find('.', dot + 1) != std::string_view::npos) {
    return malformed("expected <payload>.<tag>");
  }
  const auto payload = detail::base64url_decode(value.substr(0, dot));
  const auto tag = detail::base64url_decode(value.substr(dot + 1));
  if (!payload || !tag || tag->size() != kTagBytes) return malformed("bad encoding");
  auto parsed = parse(*payload);
  if (!parsed) return parsed.status();
  const CookieKeys* key = impl_->find(parsed->attribution.key_id);
  if (key == nullptr) {
    return Status(StatusCode::kUnknownKey, fmt::format("attribution cookie signed with key \"{}\", not in the keyring",
                                                       parsed->attribution.key_id));
  }
  const Sha256Digest expected = key->cookie.mac(parsed->payload);
  if (!detail::constant_time_equal(expected.data(), tag->data(), kTagBytes)) {
    return Status(StatusCode::kBadSignature, "attribution cookie has been tampered with");
  }
  if (now >= parsed->attribution.window_end) {
    return Status(StatusCode::kExpired, fmt::format("attribution window ended at {}",
                                                    format_rfc3339(parsed->attribution.window_end)));
  }
  return std::move(parsed->attribution);
}

Result<Attribution> Attributor::on_landing(const LinkSigner& links, std::string_view input,
                                           std::string_view existing_cookie, TimePoint now) const {
  const LinkVerification v = links.verify(input, now);
  if (!v.ok()) return v.status;
  if (impl_->options.touch == TouchPolicy::kFirstTouch && !existing_cookie.empty()) {
    if (auto kept = read(existing_cookie, now)) return kept;
  }
  const LinkClaims& claims = *v.claims;
  const CookieKeys& key = impl_->keys.front();
  Attribution a;
  a.key_id = key.id;
  a.clicked_at = now;
  a.window_end = now + std::chrono::duration_cast<std::chrono::milliseconds>(impl_->options.window);
  if (claims.expires_at && *claims.expires_at < a.window_end) a.window_end = *claims.expires_at;
  if (claims.kind == LinkClaims::Kind::kShareCode) {
    a.referral_code = claims.share_code;
  } else {
    // A token names its referral by itself; verify() accepted it, so the credential is well-formed.
    auto pasted = detail::parse_pasted_link(input);
    if (!pasted) return pasted.status();
    a.referral_code = std::string(pasted->credential);
    a.campaign = claims.campaign;
    const Sha256Digest t = key.self_referral.mac({"user:", claims.referrer});
    std::memcpy(a.referrer_tag.data(), t.data(), a.referrer_tag.size());
    a.has_referrer_tag = true;
  }
  if (a.referral_code.size() > kMaxCode) return malformed("referral code too long");
  return a;
}

bool Attributor::is_self_referral(const Attribution& a, const Customer& buyer, std::string_view referrer_email) const {
  const CookieKeys* key = impl_->find(a.key_id);
  if (key == nullptr) key = &impl_->keys.front();
  bool same = false;
  if (a.has_referrer_tag && !buyer.user_id.empty()) {
    const Sha256Digest t = key->self_referral.mac({"user:", buyer.user_id});
    same |= detail::constant_time_equal(t.data(), a.referrer_tag.data(), a.referrer_tag.size());
  }
  if (!referrer_email.empty() && !buyer.email.empty()) {
    // email_sha256 normalizes (trim, ASCII lowercase), so "Jane@X.com " and "jane@x.com" match.
    const Sha256Digest mine = key->self_referral.mac({"email:", email_sha256(buyer.email)});
    const Sha256Digest theirs = key->self_referral.mac({"email:", email_sha256(referrer_email)});
    same |= detail::constant_time_equal(mine.data(), theirs.data(), mine.size());
  }
  return same;
}

}  // namespace v1
}  // namespace referkit
