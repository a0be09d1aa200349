#include <doctest/doctest.h>

#include <string>

#include "common/text.hpp"
#include "crypto/encoding.hpp"
#include "referkit/attribution.hpp"
#include "referkit/links.hpp"

using namespace referkit;
using namespace std::chrono_literals;

namespace {

constexpr const char* kKeyA = "k1:000102030405060708090a0b0c0d0e0f";
constexpr const char* kKeyB = "k2:f0e0d0c0b0a090807060504030201000";

const TimePoint kClick = parse_rfc3339("2026-11-27T09:00:00Z").value();

Keyring ring(const char* keys) {
  auto r = Keyring::parse(keys);
  REQUIRE(r.ok());
  return std::move(*r);
}

LinkSigner signer_for(const Keyring& keys) {
  LinkSignerOptions options;
  options.base_url = "https://refer.example";
  auto s = LinkSigner::create(keys, options);
  REQUIRE(s.ok());
  return std::move(*s);
}

Attributor attributor_for(const Keyring& keys, AttributionOptions options = {}) {
  auto a = Attributor::create(keys, std::move(options));
  REQUIRE_MESSAGE(a.ok(), a.status().to_string());
  return std::move(*a);
}

Link mint(const LinkSigner& s, const std::string& referrer, std::optional<TimePoint> expires = std::nullopt) {
  LinkRequest r;
  r.campaign = "bf-2026";
  r.referrer = referrer;
  r.name = "Jane";
  r.issued_at = kClick - 24h;
  r.expires_at = expires;
  auto link = s.mint(r);
  REQUIRE(link.ok());
  return std::move(*link);
}

// Decodes a cookie value's payload, lets `edit` change it, and re-encodes it with the old tag.
std::string with_payload_edit(const std::string& cookie, void (*edit)(std::string&)) {
  const auto dot = cookie.find('.');
  std::string payload = detail::base64url_decode(cookie.substr(0, dot)).value();
  edit(payload);
  return detail::base64url_encode(payload) + cookie.substr(dot);
}

}  // namespace

TEST_CASE("attribution: a token landing round-trips through the cookie with campaign, code, times and no referrer id") {
  const Keyring keys = ring(kKeyA);
  const LinkSigner links = signer_for(keys);
  const Attributor attr = attributor_for(keys);
  const Link link = mint(links, "cust-42");

  auto landed = attr.on_landing(links, link.url, "", kClick);
  REQUIRE_MESSAGE(landed.ok(), landed.status().to_string());
  CHECK(landed->campaign == "bf-2026");
  CHECK(landed->referral_code == link.token);
  CHECK(landed->clicked_at == kClick);
  CHECK(landed->window_end == kClick + std::chrono::hours(24 * 30));
  CHECK(landed->has_referrer_tag);

  const std::string value = attr.cookie_value(*landed);
  CHECK(value.find("cust-42") == std::string::npos);
  const std::string payload = detail::base64url_decode(value.substr(0, value.find('.'))).value();
  CHECK(payload.find("cust-42") == std::string::npos);  // no raw referrer id, even decoded

  auto read = attr.read(value, kClick + 10 * 24h);
  REQUIRE_MESSAGE(read.ok(), read.status().to_string());
  CHECK(read->campaign == "bf-2026");
  CHECK(read->referral_code == link.token);
  CHECK(read->clicked_at == kClick);
  CHECK(read->window_end == landed->window_end);
  CHECK(read->key_id == "k1");
}

TEST_CASE("attribution: a share code landing carries the canonical code, and ?ref= and /r/ forms both work") {
  const Keyring keys = ring(kKeyA);
  const LinkSigner links = signer_for(keys);
  const Attributor attr = attributor_for(keys);
  const Link link = mint(links, "cust-42");
  const std::string lower = referkit::detail::ascii_lowercase(link.share_code);

  for (const std::string& input : {lower, "https://refer.example/r/" + link.share_code}) {
    auto landed = attr.on_landing(links, input, "", kClick);
    REQUIRE_MESSAGE(landed.ok(), landed.status().to_string());
    CHECK(landed->referral_code == link.share_code);
    CHECK(landed->campaign.empty());
    CHECK_FALSE(landed->has_referrer_tag);
    CHECK(attr.read(attr.cookie_value(*landed), kClick).ok());
  }
}

TEST_CASE("attribution: each refusal has its own reason") {
  const Keyring keys = ring(kKeyA);
  const LinkSigner links = signer_for(keys);
  const Attributor attr = attributor_for(keys);
  const std::string value = attr.cookie_value(attr.on_landing(links, mint(links, "cust-42").url, "", kClick).value());

  SUBCASE("tampered: a payload byte changed under the old tag") {
    const std::string forged = with_payload_edit(value, [](std::string& p) { p[p.find("bf-2026")] = 'x'; });
    CHECK(attr.read(forged, kClick).status().code() == StatusCode::kBadSignature);
    const std::string later_window = with_payload_edit(value, [](std::string& p) { p[p.size() - 13] ^= 0x10; });
    CHECK(attr.read(later_window, kClick).status().code() == StatusCode::kBadSignature);
  }
  SUBCASE("tampered: the tag changed") {
    std::string forged = value;
    forged.back() = forged.back() == 'A' ? 'B' : 'A';
    const auto code = attr.read(forged, kClick).status().code();
    CHECK((code == StatusCode::kBadSignature || code == StatusCode::kMalformed));  // last char may break canonical base64
    std::string mid = value;
    mid[mid.size() - 5] = mid[mid.size() - 5] == 'A' ? 'B' : 'A';
    CHECK(attr.read(mid, kClick).status().code() == StatusCode::kBadSignature);
  }
  SUBCASE("window over") {
    auto r = attr.read(value, kClick + std::chrono::hours(24 * 30));
    CHECK(r.status().code() == StatusCode::kExpired);
    CHECK(attr.read(value, kClick + std::chrono::hours(24 * 30) - 1ms).ok());
  }
  SUBCASE("unknown key: the keyring no longer holds the signing key") {
    const Attributor rotated_away = attributor_for(ring(kKeyB));
    CHECK(rotated_away.read(value, kClick).status().code() == StatusCode::kUnknownKey);
  }
  SUBCASE("malformed") {
    for (const std::string& bad :
         {std::string(), std::string("."), std::string("abc"), value + ".x", value.substr(0, value.find('.')),
          std::string("!!!.AAAA"), std::string(5000, 'A') + ".AAAA", value.substr(0, value.find('.')) + ".AAAA",
          with_payload_edit(value, [](std::string& p) { p[0] = 2; }),
          with_payload_edit(value, [](std::string& p) { p.push_back('x'); }),
          with_payload_edit(value, [](std::string& p) { p.pop_back(); })}) {
      CAPTURE(bad);
      CHECK(attr.read(bad, kClick).status().code() == StatusCode::kMalformed);
    }
  }
}

TEST_CASE("attribution: key rotation - old cookies read while their key remains, new ones use the primary") {
  const Keyring old_keys = ring(kKeyA);
  const LinkSigner links = signer_for(old_keys);
  const std::string old_cookie =
      attributor_for(old_keys).cookie_value(attributor_for(old_keys).on_landing(links, mint(links, "c").url, "", kClick).value());

  const Keyring rotated = ring((std::string(kKeyB) + "\n" + kKeyA).c_str());
  const Attributor attr = attributor_for(rotated);
  auto read = attr.read(old_cookie, kClick);
  REQUIRE(read.ok());
  CHECK(read->key_id == "k1");
  CHECK(attr.read(attr.cookie_value(*read), kClick)->key_id == "k2");
}

TEST_CASE("attribution: last touch replaces, first touch keeps a valid cookie, both replace an invalid one") {
  const Keyring keys = ring(kKeyA);
  const LinkSigner links = signer_for(keys);
  const Link first = mint(links, "cust-1");
  const Link second = mint(links, "cust-2");

  const Attributor last = attributor_for(keys);
  const std::string cookie = last.cookie_value(last.on_landing(links, first.url, "", kClick).value());
  CHECK(last.on_landing(links, second.url, cookie, kClick + 1h)->referral_code == second.token);

  AttributionOptions options;
  options.touch = TouchPolicy::kFirstTouch;
  const Attributor first_touch = attributor_for(keys, options);
  auto kept = first_touch.on_landing(links, second.url, cookie, kClick + 1h);
  REQUIRE(kept.ok());
  CHECK(kept->referral_code == first.token);
  CHECK(kept->clicked_at == kClick);
  // Once the first window is over, a new click counts.
  CHECK(first_touch.on_landing(links, second.url, cookie, kClick + std::chrono::hours(24 * 31))->referral_code ==
        second.token);
  CHECK(first_touch.on_landing(links, second.url, "garbage", kClick)->referral_code == second.token);
  // A bad link never replaces anything.
  CHECK(last.on_landing(links, second.url + "x", cookie, kClick).status().code() == StatusCode::kMalformed);
}

TEST_CASE("attribution: the window ends at the link's expiry when that is sooner") {
  const Keyring keys = ring(kKeyA);
  const LinkSigner links = signer_for(keys);
  const Attributor attr = attributor_for(keys);
  auto landed = attr.on_landing(links, mint(links, "c", kClick + 48h).url, "", kClick);
  REQUIRE(landed.ok());
  CHECK(landed->window_end == kClick + 48h);
  CHECK(attr.on_landing(links, mint(links, "c", kClick - 1h).url, "", kClick).status().code() == StatusCode::kExpired);
}

TEST_CASE("attribution: Set-Cookie carries Secure, HttpOnly, SameSite=Lax, Path=/ and the window as Max-Age") {
  const Keyring keys = ring(kKeyA);
  const LinkSigner links = signer_for(keys);
  const Attributor attr = attributor_for(keys);
  const Attribution a = attr.on_landing(links, mint(links, "c").url, "", kClick).value();
  const std::string header = attr.set_cookie_header(a, kClick);
  CHECK(header == "rk_ref=" + attr.cookie_value(a) + "; Max-Age=2592000; Path=/; Secure; HttpOnly; SameSite=Lax");
  CHECK(attr.set_cookie_header(a, kClick + 24h).find("Max-Age=2505600;") != std::string::npos);
}

TEST_CASE("attribution: self-referral by user id (token links) and by normalized email") {
  const Keyring keys = ring(kKeyA);
  const LinkSigner links = signer_for(keys);
  const Attributor attr = attributor_for(keys);
  const Attribution a = attr.read(attr.cookie_value(attr.on_landing(links, mint(links, "cust-42").url, "", kClick).value()),
                                  kClick)
                            .value();
  CHECK(attr.is_self_referral(a, Customer{"cust-42", ""}));
  CHECK_FALSE(attr.is_self_referral(a, Customer{"cust-43", ""}));
  CHECK_FALSE(attr.is_self_referral(a, Customer{"cust-4", ""}));
  CHECK_FALSE(attr.is_self_referral(a, Customer{"", ""}));
  CHECK(attr.is_self_referral(a, Customer{"someone-else", " Jane@Example.com"}, "jane@example.com "));
  CHECK_FALSE(attr.is_self_referral(a, Customer{"someone-else", "friend@example.com"}, "jane@example.com"));

  // A share code does not carry the referrer: only the email check can say.
  const Attribution code = attr.on_landing(links, mint(links, "cust-42").share_code, "", kClick).value();
  CHECK_FALSE(attr.is_self_referral(code, Customer{"cust-42", ""}));
  CHECK(attr.is_self_referral(code, Customer{"cust-42", "jane@example.com"}, "JANE@example.com"));
}

TEST_CASE("attribution: options are checked") {
  const Keyring keys = ring(kKeyA);
  AttributionOptions o;
  o.window = 30min;
  CHECK(Attributor::create(keys, o).status().code() == StatusCode::kInvalidArgument);
  o = {};
  o.cookie_name = "a b";
  CHECK(Attributor::create(keys, o).status().code() == StatusCode::kInvalidArgument);
  CHECK(Attributor::create(Keyring{}).status().code() == StatusCode::kInvalidArgument);
}
