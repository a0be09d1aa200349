#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>

#include <fmt/format.h>

#include "common/text.hpp"
#include "crypto/encoding.hpp"
#include "crypto/hmac_sha256.hpp"
#include "links/link_text.hpp"
#include "links/share_code.hpp"
#include "links/token_codec.hpp"
#include "referkit/links.hpp"

namespace referkit {
inline namespace v1 {
namespace {

using detail::iequals;

using detail::HmacSha256;
using detail::Sha256Digest;

// Share codes are at most 16 + 9 symbols + 2 separators; the shortest token is 32 characters.
constexpr std::size_t kMaxShareCodeText = 27;
constexpr std::size_t kMaxUtmParams = 16;
constexpr std::size_t kMaxUtmBytes = 256;

// Independent keys for each purpose, derived from the one secret the merchant manages.
struct DerivedKey {
  std::string id;
  HmacSha256 tag;
  HmacSha256 seal;
  HmacSha256 code;
};

using Tag = std::array<char, detail::kTagBytes>;

// XORs data in place with the keystream HMAC(seal, tag || block counter): deterministic
// encryption whose IV is the authentication tag (a synthetic IV), so equal inputs give equal
// tokens and the referrer is still hidden from anyone without the key.
void apply_keystream(const HmacSha256& seal, std::string_view tag, char* data, std::size_t size) {
  // XORs one 32-byte keystream block into data from `offset`.
  auto apply = [&](std::size_t offset, const Sha256Digest& ks) {
    char* d = data + offset;
    const std::size_t n = std::min<std::size_t>(32, size - offset);
    std::size_t i = 0;
    // Eight bytes per XOR: a loop over bytes with two bounds each was ~80 instructions a mint.
    for (; i + 8 <= n; i += 8) {
      std::uint64_t text;
      std::uint64_t key;
      std::memcpy(&text, d + i, 8);
      std::memcpy(&key, ks.data() + i, 8);
      text ^= key;
      std::memcpy(d + i, &text, 8);
    }
    for (; i < n; ++i) d[i] = static_cast<char>(d[i] ^ static_cast<char>(ks[i]));
  };
  // Tag and counter in one buffer: one hash update per block instead of two. The blocks are
  // independent, so a referrer longer than 32 bytes has them made two at a time (mac_pair).
  char input[2][detail::kTagBytes + 1];
  std::memcpy(input[0], tag.data(), detail::kTagBytes);
  if (size > 32) std::memcpy(input[1], tag.data(), detail::kTagBytes);
  std::size_t block = 0;
  for (; (block + 1) * 32 < size; block += 2) {
    input[0][detail::kTagBytes] = static_cast<char>(block);
    input[1][detail::kTagBytes] = static_cast<char>(block + 1);
    const auto ks = HmacSha256::mac_pair(seal, std::string_view(input[0], sizeof input[0]), seal,
                                         std::string_view(input[1], sizeof input[1]));
    apply(block * 32, ks[0]);
    apply((block + 1) * 32, ks[1]);
  }
  if (block * 32 < size) {
    input[0][detail::kTagBytes] = static_cast<char>(block);
    apply(block * 32, seal.mac(std::string_view(input[0], sizeof input[0])));
  }
}

// The tag covers the header and the plaintext referrer, which callers lay out contiguously (as
// the token has them, before sealing) so that it is one hash update. (mint() computes it with
// mac_pair instead.)
Tag tag_of(const HmacSha256& key, std::string_view header_and_referrer) {
  const Sha256Digest full = key.mac(header_and_referrer);
  Tag tag;
  std::memcpy(tag.data(), full.data(), tag.size());
  return tag;
}

std::int64_t to_seconds(TimePoint t) {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

TimePoint from_seconds(std::int64_t s) { return TimePoint(std::chrono::seconds(s)); }

Status invalid(std::string message) { return Status(StatusCode::kInvalidArgument, std::move(message)); }

Status check_text_field(const char* name, std::string_view value, std::size_t max_bytes) {
  if (value.empty()) return invalid(std::string(name) + " is required");
  if (value.size() > max_bytes) {
    return invalid(fmt::format("{} is longer than {} bytes", name, max_bytes));
  }
  if (!detail::is_printable(value)) {
    return invalid(std::string(name) + " must be printable UTF-8 (no control characters)");
  }
  return {};
}

bool valid_base_url(std::string_view url) {
  std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return false;
  std::string_view s = url.substr(0, scheme);
  if (s != "http" && s != "https") return false;
  std::string_view host = url.substr(scheme + 3);
  if (host.empty() || host.front() == '/') return false;
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f || c == '?' || c == '#') {
      return false;
    }
  }
  return true;
}

// The host[:port] of an https base_url (already valid_base_url); empty for http, or with a user
// part (which share hosts never have).
std::string https_host_of(std::string_view base_url) {
  const std::size_t scheme = base_url.find("://");
  if (!iequals(base_url.substr(0, scheme), "https")) return {};
  std::string_view host = base_url.substr(scheme + 3);
  host = host.substr(0, host.find('/'));
  if (host.find('@') != std::string_view::npos) return {};
  return std::string(host);
}

}  // namespace

struct LinkSigner::Impl {
  std::vector<DerivedKey> keys;  // the primary first
  LinkSignerOptions options;
  detail::Blocklist blocklist;

  const DerivedKey* find(std::string_view id) const {
    for (const DerivedKey& k : keys) {
      if (k.id == id) return &k;
    }
    return nullptr;
  }

  Result<Link> mint_checked(const LinkRequest& request, std::int64_t issued_s, std::optional<std::int64_t> expires_s,
                            std::string prefix) const;
  LinkVerification verify_token(std::string_view text, QueryParams utm, TimePoint now) const;
  LinkVerification verify_share_code(std::string_view text, QueryParams utm) const;
};

LinkSigner::LinkSigner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LinkSigner::LinkSigner(LinkSigner&&) noexcept = default;
LinkSigner& LinkSigner::operator=(LinkSigner&&) noexcept = default;
LinkSigner::~LinkSigner() = default;

Result<LinkSigner> LinkSigner::create(const Keyring& keys, LinkSignerOptions options) {
  if (keys.empty()) return invalid("the keyring is empty");
  if (options.base_url.empty()) {
    return invalid("base_url is required: the scheme and host of your share links, e.g. https://refer.yourshop.com");
  }
  if (!valid_base_url(options.base_url)) {
    return invalid("base_url must be http(s)://host[/path] without query or spaces, got \"" +
                   detail::printable_excerpt(options.base_url) + "\"");
  }
  for (const std::string& host : options.share_hosts) {
    // An empty entry would match "https:///r/<token>"; a path or user part never matches anything.
    if (host.empty() || host.find_first_of("/@?# ") != std::string::npos || !detail::is_printable(host)) {
      return invalid("share_hosts entries must be host[:port], got \"" + detail::printable_excerpt(host) + "\"");
    }
  }
  if (options.max_name_prefix > detail::kMaxPrefixLetters) {
    return invalid("max_name_prefix must be at most 16");
  }
  for (const std::string& word : options.extra_blocklist) {
    if (!detail::valid_blocklist_word(word)) {
      return invalid("extra_blocklist words must be 3-8 ASCII letters, got \"" + detail::printable_excerpt(word) + "\"");
    }
  }
  std::vector<DerivedKey> derived;
  for (const Keyring::Key& k : keys.keys()) {
    HmacSha256 master(k.secret);
    derived.push_back(DerivedKey{k.id, master.derive("referkit/v1 link tag"), master.derive("referkit/v1 link seal"),
                                 master.derive("referkit/v1 share code")});
  }
  detail::Blocklist blocklist(options.extra_blocklist);
  // An https base_url's own host is a share host too, so that the signer's own links are never
  // refused for a host (or a port) the list leaves out.
  if (!options.share_hosts.empty()) {
    if (std::string own = https_host_of(options.base_url); !own.empty()) options.share_hosts.push_back(std::move(own));
  }
  return LinkSigner(std::make_unique<Impl>(Impl{std::move(derived), std::move(options), std::move(blocklist)}));
}

Result<Link> LinkSigner::mint(const LinkRequest& request) const {
  if (Status s = check_text_field("campaign", request.campaign, detail::kMaxCampaignBytes); !s.ok()) return s;
  if (Status s = check_text_field("referrer", request.referrer, detail::kMaxReferrerBytes); !s.ok()) return s;
  if (request.utm.size() > kMaxUtmParams) return invalid("at most 16 UTM parameters");
  for (const auto& [key, value] : request.utm) {
    if (Status s = check_text_field("UTM parameter name", key, kMaxUtmBytes); !s.ok()) return s;
    if (value.size() > kMaxUtmBytes || !detail::is_printable(value)) {
      return invalid("UTM parameter " + detail::printable_excerpt(key) + " must be printable UTF-8, at most 256 bytes");
    }
  }
  const TimePoint issued = request.issued_at ? *request.issued_at : now_ms();
  const std::int64_t issued_s = to_seconds(issued);
  if (issued_s < 0 || issued_s > detail::kMaxTokenSeconds) return invalid("issued_at out of range");
  std::optional<std::int64_t> expires_s;
  if (request.expires_at) {
    expires_s = to_seconds(*request.expires_at);
    if (*expires_s <= issued_s) return invalid("expires_at must be at least a second after issued_at");
    if (*expires_s > detail::kMaxTokenSeconds) return invalid("expires_at out of range");
  }
  auto prefix = detail::name_prefix(request.name, impl_->options.max_name_prefix, impl_->blocklist);
  if (!prefix) return prefix.status();

  return impl_->mint_checked(request, issued_s, expires_s, std::move(*prefix));
}

// The request is valid. One Result, returned by name, so that the Link is built where the caller
// receives it: returning a local Link moved all of its strings twice (into the Result's
// parameter, then into its optional).
Result<Link> LinkSigner::Impl::mint_checked(const LinkRequest& request, std::int64_t issued_s,
                                            std::optional<std::int64_t> expires_s, std::string prefix) const {
  Result<Link> out{Link{}};
  Link& link = *out;
  const DerivedKey& key = keys.front();
  // The raw token is built on the stack: the strings of the Link are the only allocations.
  char raw[detail::kMaxTokenBytes];
  const std::size_t header_size =
      detail::write_token_header({key.id, request.campaign, issued_s, expires_s, request.referrer.size()}, raw);
  char* referrer = raw + header_size;
  std::memcpy(referrer, request.referrer.data(), request.referrer.size());
  const std::size_t signed_size = header_size + request.referrer.size();
  // The share-code MAC does not depend on the token: it is computed together with the tag, whose
  // compressions it overlaps (HmacSha256::mac_pair).
  detail::ShareCodeInput code_input = detail::share_code_input(request.campaign, request.referrer, prefix);
  const auto [tag_mac, code_mac] =
      HmacSha256::mac_pair(key.tag, std::string_view(raw, signed_size), key.code, code_input.counter_zero());
  Tag tag;
  std::memcpy(tag.data(), tag_mac.data(), tag.size());
  apply_keystream(key.seal, std::string_view(tag.data(), tag.size()), referrer, request.referrer.size());  // sealed in place
  std::memcpy(raw + signed_size, tag.data(), tag.size());

  link.token = detail::base64url_encode(std::string_view(raw, signed_size + tag.size()));
  link.url = detail::build_link_url(options.base_url, link.token, request.utm);
  const std::uint64_t code_value = detail::share_code_value(key.code, code_input, code_mac, blocklist);
  link.share_code = detail::format_share_code({std::move(prefix), code_value});
  link.key_id = key.id;
  link.issued_at = from_seconds(issued_s);
  if (expires_s) link.expires_at = from_seconds(*expires_s);
  return out;
}

LinkVerification LinkSigner::verify(std::string_view input, TimePoint now) const {
  auto pasted = detail::parse_pasted_link(input);
  if (!pasted) return {pasted.status(), std::nullopt};
  if (!impl_->options.share_hosts.empty() && !pasted->scheme.empty()) {
    if (!iequals(pasted->scheme, "https")) {
      return {Status(StatusCode::kMalformed, "link scheme is not https: \"" + detail::printable_excerpt(pasted->scheme) + "\""),
              std::nullopt};
    }
    const auto& hosts = impl_->options.share_hosts;
    if (std::none_of(hosts.begin(), hosts.end(), [&](const std::string& h) { return iequals(pasted->authority, h); })) {
      return {Status(StatusCode::kMalformed,
                     "link host \"" + detail::printable_excerpt(pasted->authority) + "\" is not a configured share host"),
              std::nullopt};
    }
  }
  if (pasted->credential.size() <= kMaxShareCodeText) {
    return impl_->verify_share_code(pasted->credential, std::move(pasted->utm));
  }
  return impl_->verify_token(pasted->credential, std::move(pasted->utm), now);
}

LinkVerification LinkSigner::Impl::verify_token(std::string_view text, QueryParams utm, TimePoint now) const {
  // Every path returns `out` by name, so it is built in the caller's slot and never moved (with
  // other objects returned too, GCC moved it: a LinkClaims move is seven strings and a vector).
  LinkVerification out;
  // Real tokens decode on the stack; longer text is no token, but is decoded on the heap so that it
  // is refused with the same reason as ever.
  char stack[detail::kMaxTokenBytes];
  std::string heap;
  const std::size_t raw_size = detail::base64url_decoded_size(text.size());
  char* raw = stack;
  if (raw_size > sizeof stack) {
    heap.resize(raw_size);
    raw = heap.data();
  }
  if (!detail::base64url_decode_into(text, raw)) {
    out.status = Status(StatusCode::kMalformed, "token is not base64url");
    return out;
  }
  detail::TokenView view;
  if (Status s = detail::parse_token(std::string_view(raw, raw_size), view); !s.ok()) {
    out.status = std::move(s);
    return out;
  }
  const DerivedKey* key = find(view.header.key_id);
  if (key == nullptr) {
    out.status = Status(StatusCode::kUnknownKey,
                        "no key with id \"" + detail::printable_excerpt(view.header.key_id) + "\" in the keyring");
    return out;
  }
  // Unsealed in place, in our own copy of the token: the sealed referrer follows the header.
  char* referrer = raw + view.header_bytes.size();
  const std::size_t referrer_size = view.sealed_referrer.size();
  apply_keystream(key->seal, view.tag, referrer, referrer_size);
  const Tag expected = tag_of(key->tag, std::string_view(raw, view.header_bytes.size() + referrer_size));
  if (!detail::constant_time_equal(expected.data(), view.tag.data(), expected.size())) {
    out.status = Status(StatusCode::kBadSignature, "token signature does not match");
    return out;
  }
  // Built in place: the claims hold several strings, and each move of them costs. Each string is
  // constructed and moved into its empty field: assign() goes through _M_replace, which allows for
  // aliasing and cost about twice as much (~110 instructions a string).
  LinkClaims& claims = out.claims.emplace();
  claims.kind = LinkClaims::Kind::kToken;
  claims.key_id = std::string(view.header.key_id);
  claims.campaign = std::string(view.header.campaign);
  claims.referrer = std::string(referrer, referrer_size);
  claims.issued_at = from_seconds(view.header.issued_at);
  if (view.header.expires_at) claims.expires_at = from_seconds(*view.header.expires_at);
  claims.utm = std::move(utm);
  if (claims.expires_at && now >= *claims.expires_at) {
    out.status = Status(StatusCode::kExpired, "link expired at " + format_rfc3339(*claims.expires_at));
  }
  return out;
}

LinkVerification LinkSigner::Impl::verify_share_code(std::string_view text, QueryParams utm) const {
  LinkVerification out;  // returned by name on every path, as in verify_token
  auto code = detail::parse_share_code(text);
  if (!code) {
    out.status = code.status();
    return out;
  }
  LinkClaims& claims = out.claims.emplace();
  claims.kind = LinkClaims::Kind::kShareCode;
  claims.share_code = detail::format_share_code(*code);
  claims.name_prefix = std::move(code->prefix);
  claims.utm = std::move(utm);
  return out;
}

bool LinkSigner::share_code_matches(std::string_view code, std::string_view campaign,
                                    std::string_view referrer) const {
  auto parsed = detail::parse_share_code(detail::trim(code));
  if (!parsed || campaign.size() > detail::kMaxCampaignBytes || referrer.size() > detail::kMaxReferrerBytes) {
    return false;
  }
  bool match = false;
  for (const DerivedKey& key : impl_->keys) {
    std::uint64_t expected = detail::share_code_value(key.code, campaign, referrer, parsed->prefix, impl_->blocklist);
    // Compare all keys' values without an early exit, so timing does not tell which key matched.
    match |= detail::constant_time_equal(&expected, &parsed->value, sizeof expected);
  }
  return match;
}

}  // namespace v1
}  // namespace referkit
