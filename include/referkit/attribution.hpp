// Server-side referral attribution: a signed, first-party cookie set when a visitor lands on a
// referral link, read back at signup and checkout.
//
// Referral platforms usually do this with a script tag that sets a cookie from the browser; ad
// blockers remove the tag and browsers cap script-set cookies (Safari: 7 days). A cookie set by
// the merchant's own server in the landing response is neither blocked nor capped.
//
// The cookie value is `<payload>.<tag>` in base64url: the payload holds the key id, the campaign,
// the referral code (the share code, or the link token for a token link), the click time, the end
// of the attribution window and, for token links, a 96-bit keyed hash of the referrer id for the
// self-referral guard. No PII and no raw referrer id. The tag is a 128-bit HMAC-SHA256 under a
// key derived from the link keyring for this purpose only, so keys rotate as links do.
#ifndef REFERKIT_ATTRIBUTION_HPP
#define REFERKIT_ATTRIBUTION_HPP

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "referkit/export.hpp"
#include "referkit/links.hpp"
#include "referkit/status.hpp"
#include "referkit/time.hpp"

namespace referkit {
inline namespace v1 {

// Which click wins when a visitor lands through several referral links within a window.
enum class TouchPolicy {
  kLastTouch,   // a newer valid click replaces the cookie (the default)
  kFirstTouch,  // a valid cookie is kept until its window ends
};

struct AttributionOptions {
  std::chrono::seconds window = std::chrono::hours(24 * 30);  // 1 hour to 400 days
  TouchPolicy touch = TouchPolicy::kLastTouch;
  std::string cookie_name = "rk_ref";  // 1-64 characters of [A-Za-z0-9_-]
};

// What a valid cookie says.
struct Attribution {
  std::string key_id;
  std::string campaign;       // empty for a share-code landing: the code alone names the referral
  std::string referral_code;  // attach this to signup and order events
  TimePoint clicked_at{};
  TimePoint window_end{};     // click + window, or the link's expiry if sooner
  // A keyed hash of the referrer id (token landings only: a share code does not carry the
  // referrer), for is_self_referral(). Not reversible without the key.
  bool has_referrer_tag = false;
  std::array<unsigned char, 12> referrer_tag{};
};

// The buying (or signing-up) customer, as the merchant knows them.
struct Customer {
  std::string_view user_id;
  std::string_view email;
};

// Thread safety: immutable after create() (it holds no caches or counters); every method is const
// and may be called from any number of threads at once, with the same or different LinkSigners.
class REFERKIT_EXPORT Attributor {
 public:
  // Fails (kInvalidArgument) on an empty keyring, a window outside 1 hour to 400 days, or a bad
  // cookie name.
  static Result<Attributor> create(const Keyring& keys, AttributionOptions options = {});

  Attributor(Attributor&&) noexcept;
  Attributor& operator=(Attributor&&) noexcept;
  Attributor(const Attributor&) = delete;
  Attributor& operator=(const Attributor&) = delete;
  ~Attributor();

  // Landing: verifies the link, token or share code with `links` (offline) and returns the
  // attribution to store, given the cookie the request already carried (empty if none). With
  // kFirstTouch and a still-valid existing cookie, that one is returned unchanged. Refusals are
  // the link's own (kMalformed, kBadSignature, kUnknownKey, kExpired).
  Result<Attribution> on_landing(const LinkSigner& links, std::string_view url_token_or_code,
                                 std::string_view existing_cookie, TimePoint now = now_ms()) const;

  // The cookie value for an attribution, signed with the primary key.
  [[nodiscard]] std::string cookie_value(const Attribution& attribution) const;

  // A whole Set-Cookie header value: `<name>=<value>; Max-Age=<seconds left in the window>;
  // Path=/; Secure; HttpOnly; SameSite=Lax`.
  [[nodiscard]] std::string set_cookie_header(const Attribution& attribution, TimePoint now = now_ms()) const;

  // Signup and checkout: the attribution a cookie value carries, or why it does not count:
  // kMalformed (not a cookie of ours, or damaged), kBadSignature (tampered), kUnknownKey (signed
  // with a key no longer in the keyring), kExpired (the window is over). Never throws; reads
  // nothing past the input.
  Result<Attribution> read(std::string_view cookie_value, TimePoint now = now_ms()) const;

  // Whether the buyer is the referrer: the same user id as the referrer of a token link (by the
  // keyed hash in the cookie), or, when the merchant knows the referrer's email (from the
  // referral code, in its own records), the same normalized email. Compared as keyed hashes in
  // constant time; the referrer's email is never stored in the cookie.
  [[nodiscard]] bool is_self_referral(const Attribution& attribution, const Customer& buyer,
                        std::string_view referrer_email = {}) const;

  [[nodiscard]] const AttributionOptions& options() const noexcept;

 private:
  struct Impl;
  explicit Attributor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace v1
}  // namespace referkit

#endif  // REFERKIT_ATTRIBUTION_HPP
