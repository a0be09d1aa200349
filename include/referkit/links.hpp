// Referral links and share codes, minted and verified locally with no network call.
//
// A link is https://<share host>/r/<token>[?utm_...]. The token is self-verifying: it carries a
// version, the key id, the campaign, the issue time, an optional expiry and the referrer,
// encrypted deterministically (an HMAC-SHA256 synthetic IV, SIV-style) and authenticated by a
// 96-bit truncated HMAC-SHA256 tag. The referrer is never visible in clear; the holder of the
// key recovers it. The same inputs and key give the same token, so re-issuing needs no database.
//
// A share code is a short, human-typable code for the same referral ("JANE-7KQ3-M9XTV"): an
// optional name prefix, 40 bits of a keyed hash of (campaign, referrer, prefix) in Crockford
// base32, and a check symbol that catches every single-character typo. It is a lookup key, not
// a container: 40 bits cannot hold the referrer, so the platform (or `share_code_matches`) maps a
// code back to its referrer. Without the key, codes cannot be enumerated.
#ifndef REFERKIT_LINKS_HPP
#define REFERKIT_LINKS_HPP

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "referkit/export.hpp"
#include "referkit/status.hpp"
#include "referkit/time.hpp"

namespace referkit {
inline namespace v1 {

// Link signing keys: key id -> secret. The first key added is the primary (it signs new links);
// every key verifies, which is how rotation works: add the new key first, keep the old ones until
// their links have expired.
//
// Text format (files and REFERKIT_LINK_KEYS): `key_id:secret` entries separated by newlines or
// commas; `#` starts a comment; blanks are ignored. A key id is 1-16 characters of [A-Za-z0-9._-];
// a secret is hex, 32-128 digits (128 to 512 bits).
//
// Thread safety: a plain value. Const methods may be called from any number of threads at once;
// add(), add_hex() and set_primary() must not run while another thread uses the same Keyring.
// LinkSigner and Attributor copy what they need at create(), so a Keyring may change or go away
// afterwards without affecting them.
class REFERKIT_EXPORT Keyring {
 public:
  struct Key {
    std::string id;
    std::string secret;  // raw bytes
  };

  static Result<Keyring> parse(std::string_view text);
  static Result<Keyring> from_file(const std::string& path);
  // Reads the variable (REFERKIT_LINK_KEYS by default); kNotFound when it is unset or empty.
  static Result<Keyring> from_env(const char* variable = "REFERKIT_LINK_KEYS");

  // Adds a key; the first one becomes the primary. Refuses bad ids, duplicate ids and secrets
  // shorter than 16 bytes.
  Status add(std::string id, std::string secret);
  Status add_hex(std::string id, std::string_view hex_secret);
  Status set_primary(std::string_view id);

  [[nodiscard]] bool empty() const noexcept { return keys_.empty(); }
  [[nodiscard]] const std::vector<Key>& keys() const noexcept { return keys_; }  // the primary first
  [[nodiscard]] const Key* find(std::string_view id) const noexcept;

 private:
  std::vector<Key> keys_;
};

using QueryParams = std::vector<std::pair<std::string, std::string>>;

struct LinkRequest {
  std::string campaign;  // required: 1-64 bytes of printable UTF-8, carried in the token
  std::string referrer;  // required: 1-128 bytes of printable UTF-8, encrypted in the token
  std::string name;      // optional: the referrer's display name, for the share code prefix
  // When the link counts as issued. Unset means now; set it (to the customer's enrolment time,
  // say) to re-issue byte-identical links without storing them.
  std::optional<TimePoint> issued_at;
  std::optional<TimePoint> expires_at;  // unset: never expires
  QueryParams utm;  // appended to the URL in order, e.g. {"utm_source","email"}; not signed
};

struct Link {
  std::string url;
  std::string token;
  std::string share_code;
  std::string key_id;
  TimePoint issued_at;
  std::optional<TimePoint> expires_at;
};

struct LinkClaims {
  enum class Kind { kToken, kShareCode };
  Kind kind = Kind::kToken;
  // Tokens: all fields below except share_code/name_prefix. Share codes: share_code and
  // name_prefix only (the rest is looked up by the platform).
  std::string key_id;
  std::string campaign;
  std::string referrer;
  TimePoint issued_at{};
  std::optional<TimePoint> expires_at;
  QueryParams utm;  // the utm_* parameters of a pasted URL
  std::string share_code;  // canonical spelling
  std::string name_prefix;
};

// The outcome of verify(). status is OK, or kMalformed, kBadSignature, kUnknownKey or kExpired.
// claims is set when OK, and also when expired (the claims are then authentic but stale).
struct [[nodiscard]] LinkVerification {
  Status status;
  std::optional<LinkClaims> claims;
  [[nodiscard]] bool ok() const noexcept { return status.ok(); }
};

struct LinkSignerOptions {
  // Required: scheme and host (and optional path prefix) of the share links, e.g.
  // "https://refer.yourshop.com"; "/r/<token>" is appended. No default: a placeholder host would
  // mint links that look fine and lead nowhere.
  std::string base_url;
  // Longest share-code name prefix, in letters (0 disables prefixes).
  std::size_t max_name_prefix = 8;
  // Extra words (ASCII letters, at least three) refused in share codes, on top of the built-in list.
  std::vector<std::string> extra_blocklist;
  // When not empty, verify() accepts a full URL only if it is https:// and its host (with ":port"
  // if it has one) is one of these, or base_url's own when base_url is https, compared
  // case-insensitively; anything else, such as javascript://x/r/<token> or a look-alike host, is
  // kMalformed. Bare tokens and share codes are unaffected. Empty (the default): any scheme and
  // host, as before.
  std::vector<std::string> share_hosts;
};

// Thread safety: immutable after create() (it holds no caches or counters); every method is const
// and may be called from any number of threads at once. Share one instance per process.
class REFERKIT_EXPORT LinkSigner {
 public:
  // Fails (kInvalidArgument) on an empty keyring, a missing base_url or one that is not
  // http(s)://host[...], or a share_hosts entry that is not host[:port].
  static Result<LinkSigner> create(const Keyring& keys, LinkSignerOptions options = {});

  LinkSigner(LinkSigner&&) noexcept;
  LinkSigner& operator=(LinkSigner&&) noexcept;
  LinkSigner(const LinkSigner&) = delete;
  LinkSigner& operator=(const LinkSigner&) = delete;
  ~LinkSigner();

  // Mints a link with the primary key. Fails (kInvalidArgument) on a missing or oversized
  // campaign or referrer, invalid UTF-8, an expiry not after the issue time, or bad UTM pairs.
  // (Named mint, not create: create() is the factory, as for every public class.)
  Result<Link> mint(const LinkRequest& request) const;

  // Accepts a full URL (any host unless options.share_hosts is set, /r/<token-or-code>, any
  // query), a bare token or a share code,
  // trimming surrounding whitespace and a trailing slash. Never reads past the input; compares
  // tags in constant time. A share code is checked for form and check symbol only.
  LinkVerification verify(std::string_view url_or_token_or_code, TimePoint now = now_ms()) const;

  // Whether `code` (any accepted spelling, with the prefix it carries) is the share code of this
  // referral under any key of the keyring. Constant-time in the compared hash.
  [[nodiscard]] bool share_code_matches(std::string_view code, std::string_view campaign,
                          std::string_view referrer) const;

 private:
  struct Impl;
  explicit LinkSigner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace v1
}  // namespace referkit

#endif  // REFERKIT_LINKS_HPP
