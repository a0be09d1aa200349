#include <doctest/doctest.h>

#include <random>
#include <set>

#include "common/text.hpp"
#include "common/utf8.hpp"
#include "crypto/encoding.hpp"
#include "crypto/hmac_sha256.hpp"
#include "links/link_text.hpp"
#include "links_transcript.hpp"
#include "referkit/links.hpp"

using namespace referkit;
using namespace std::chrono_literals;

namespace {

constexpr const char* kKeyA = "k1:000102030405060708090a0b0c0d0e0f";
constexpr const char* kKeyB = "k2:f0e0d0c0b0a090807060504030201000f0e0d0c0b0a09080";

const TimePoint kIssued = parse_rfc3339("2026-11-27T09:00:00Z").value();

// base_url has no default (a placeholder host would mint dead links), so every signer here names one.
LinkSignerOptions share_links() {
  LinkSignerOptions options;
  options.base_url = "https://refer.example";
  return options;
}

LinkSigner make_signer(const char* keys = kKeyA, LinkSignerOptions options = share_links()) {
  auto ring = Keyring::parse(keys);
  REQUIRE(ring.ok());
  auto signer = LinkSigner::create(*ring, std::move(options));
  REQUIRE(signer.ok());
  return std::move(*signer);
}

LinkRequest request(std::string referrer = "cust-42", std::string campaign = "bf-2026") {
  LinkRequest r;
  r.campaign = std::move(campaign);
  r.referrer = std::move(referrer);
  r.name = "Jane Smith";
  r.issued_at = kIssued;
  return r;
}

Link mint(const LinkSigner& s, const LinkRequest& r) {
  auto link = s.mint(r);
  REQUIRE_MESSAGE(link.ok(), link.status().to_string());
  return std::move(*link);
}

}  // namespace

TEST_CASE("a link verifies and recovers every claim") {
  LinkSigner signer = make_signer();
  LinkRequest r = request();
  r.expires_at = kIssued + 24h;
  r.utm = {{"utm_source", "email"}, {"utm_campaign", "black friday"}};
  Link link = mint(signer, r);
  CHECK(link.url.rfind("https://refer.example/r/" + link.token + "?", 0) == 0);
  CHECK(link.url.find("utm_campaign=black%20friday") != std::string::npos);
  CHECK(link.key_id == "k1");
  CHECK(link.issued_at == kIssued);
  CHECK(link.expires_at == kIssued + 24h);

  LinkVerification v = signer.verify(link.url, kIssued + 1h);
  REQUIRE_MESSAGE(v.ok(), v.status.to_string());
  CHECK(v.claims->kind == LinkClaims::Kind::kToken);
  CHECK(v.claims->referrer == "cust-42");
  CHECK(v.claims->campaign == "bf-2026");
  CHECK(v.claims->key_id == "k1");
  CHECK(v.claims->issued_at == kIssued);
  CHECK(v.claims->expires_at == kIssued + 24h);
  CHECK(v.claims->utm == QueryParams{{"utm_source", "email"}, {"utm_campaign", "black friday"}});
}

// Byte-for-byte vectors: tokens and share codes already handed out must keep verifying and must
// be re-issued identically, whatever the implementation does inside.
TEST_CASE("known inputs give known links, tokens and share codes") {
  LinkRequest r = request();
  r.expires_at = kIssued + 24h;
  r.utm = {{"utm_source", "email"}, {"utm_campaign", "black friday/\xc3\xbc"}};
  Link link = mint(make_signer(), r);
  CHECK(link.token == "AQECazEHYmYtMjAyNgBrCUaQAGsKmBAHrL5fnY8xF4qM10rsh4i7obQm7w");
  CHECK(link.url == "https://refer.example/r/" + link.token +
                        "?utm_source=email&utm_campaign=black%20friday%2F%C3%BC");
  CHECK(link.share_code == "JANE-GS7Z-0TX3X");

  // Several keystream blocks, a 24-byte key, UTF-8 everywhere and a base URL with a path.
  LinkRequest big = request("\xe9\xa1\xa7\xe5\xae\xa2-" + std::string(120, 'z'), "\xc3\xa9t\xc3\xa9-2026");
  big.name = "Zo\xc3\xab \xc3\x91\xc3\xba\xc3\xb1" "ez";
  Link other = mint(make_signer(kKeyB, LinkSignerOptions{"http://share.example/path/", 8, {}, {}}), big);
  CHECK(other.token ==
        "AQACazIKw6l0w6ktMjAyNgBrCUaQf-5cRO9OueAy0iw2BG4EzO8sE_2J04e6A9KvKuPfNXO4A00wyDg1A_jQrvAAvsJHNvkxIcoXSo9wQ77"
        "Bh2cO4BXbszjKMnjtAsaxJ76AzEhMSr_kWh9g1QI2XdBLk5FlC3q39FNKzwjXydg_wbfLpI_Z0_FWpJh4Su3SNfMiem_lbAqPieWIciJSWFo");
  CHECK(other.url == "http://share.example/path/r/" + other.token);
  CHECK(other.share_code == "ZOE-V6JT-0W0J2");

  Link bare = mint(make_signer(), LinkRequest{"c", "r147", "", kIssued, std::nullopt, {}});
  CHECK(bare.token == "AQACazEBYwBrCUaQBGWHNqce8vYA8C_akDOdxuY");
  CHECK(bare.share_code == "5B72-G4JK9");

  LinkVerification v = make_signer(kKeyB).verify(other.url, kIssued);
  REQUIRE(v.ok());
  CHECK(v.claims->referrer == big.referrer);
  CHECK(v.claims->campaign == big.campaign);
}

TEST_CASE("the token never shows the referrer in clear") {
  LinkSigner signer = make_signer();
  Link link = mint(signer, request("alice@example.com"));
  std::string raw = detail::base64url_decode(link.token).value();
  CHECK(raw.find("alice") == std::string::npos);
  CHECK(link.url.find("alice") == std::string::npos);
  // Nor does any base64 alignment of it appear in the token text.
  for (std::size_t skip = 0; skip < 3; ++skip) {
    std::string shifted = detail::base64url_encode(std::string("alice@example.com").substr(skip));
    CHECK(link.token.find(shifted.substr(0, 8)) == std::string::npos);
  }
}

TEST_CASE("links are deterministic and distinct per input") {
  LinkSigner signer = make_signer();
  Link a = mint(signer, request());
  Link b = mint(make_signer(), request());
  CHECK(a.url == b.url);
  CHECK(a.token == b.token);
  CHECK(a.share_code == b.share_code);

  std::set<std::string> tokens;
  std::set<std::string> codes;
  for (int i = 0; i < 200; ++i) {
    Link l = mint(signer, request("cust-" + std::to_string(i)));
    tokens.insert(l.token);
    codes.insert(l.share_code);
  }
  CHECK(tokens.size() == 200);
  CHECK(codes.size() == 200);
  LinkRequest other_campaign = request();
  other_campaign.campaign = "spring";
  CHECK(mint(signer, other_campaign).token != a.token);
  LinkRequest later = request();
  later.issued_at = kIssued + 1s;
  CHECK(mint(signer, later).token != a.token);
}

TEST_CASE("verify tells apart malformed, bad signature, unknown key and expired") {
  LinkSigner signer = make_signer();
  LinkRequest r = request();
  r.expires_at = kIssued + 1h;
  Link link = mint(signer, r);

  SUBCASE("malformed") {
    for (const char* bad : {"", "   ", "not a token!", "https://refer.example/", "https://refer.example/x/abc",
                            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%"}) {
      LinkVerification v = signer.verify(bad, kIssued);
      CHECK_MESSAGE(v.status.code() == StatusCode::kMalformed, bad);
      CHECK(!v.claims);
    }
  }
  SUBCASE("bad signature") {
    std::string raw = detail::base64url_decode(link.token).value();
    raw.back() = static_cast<char>(raw.back() ^ 1);
    LinkVerification v = signer.verify(detail::base64url_encode(raw), kIssued);
    CHECK(v.status.code() == StatusCode::kBadSignature);
    CHECK(!v.claims);
  }
  SUBCASE("unknown key") {
    LinkVerification v = make_signer(kKeyB).verify(link.token, kIssued);
    CHECK(v.status.code() == StatusCode::kUnknownKey);
    CHECK(v.status.message().find("k1") != std::string::npos);
  }
  SUBCASE("expired, with authentic claims") {
    LinkVerification v = signer.verify(link.token, kIssued + 2h);
    CHECK(v.status.code() == StatusCode::kExpired);
    REQUIRE(v.claims);
    CHECK(v.claims->referrer == "cust-42");
  }
  SUBCASE("same key id, different secret is a bad signature") {
    LinkSigner impostor = make_signer("k1:ffffffffffffffffffffffffffffffff");
    CHECK(impostor.verify(link.token, kIssued).status.code() == StatusCode::kBadSignature);
  }
}

TEST_CASE("expiry boundaries are exact to the second") {
  LinkSigner signer = make_signer();
  LinkRequest r = request();
  r.expires_at = kIssued + 10s;
  Link link = mint(signer, r);
  CHECK(signer.verify(link.token, kIssued + 10s - 1ms).ok());
  CHECK(signer.verify(link.token, kIssued + 10s).status.code() == StatusCode::kExpired);
  CHECK(signer.verify(link.token, kIssued - 24h).ok());  // clock skew: issued "in the future" is fine

  LinkRequest forever = request();
  Link no_expiry = mint(signer, forever);
  CHECK(!no_expiry.expires_at);
  CHECK(signer.verify(no_expiry.token, kIssued + 24h * 365 * 50).ok());
  // Sub-second issue times are truncated, so they cannot make a link that expires immediately.
  LinkRequest too_short = request();
  too_short.expires_at = kIssued + 999ms;
  CHECK(signer.mint(too_short).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("key rotation: new links use the primary, old ones still verify") {
  LinkSigner old_signer = make_signer(kKeyA);
  Link old_link = mint(old_signer, request());
  std::string both = std::string(kKeyB) + "\n" + kKeyA;
  LinkSigner rotated = make_signer(both.c_str());
  Link new_link = mint(rotated, request());
  CHECK(new_link.key_id == "k2");
  CHECK(rotated.verify(old_link.url, kIssued).ok());
  CHECK(rotated.verify(new_link.url, kIssued).ok());
  CHECK(old_signer.verify(new_link.url, kIssued).status.code() == StatusCode::kUnknownKey);
  // The old share code still matches after rotation; the new one differs (a new key).
  CHECK(rotated.share_code_matches(old_link.share_code, "bf-2026", "cust-42"));
  CHECK(new_link.share_code != old_link.share_code);
}

TEST_CASE("verify trims what users paste and accepts any host") {
  LinkSigner signer = make_signer();
  Link link = mint(signer, request());
  for (std::string pasted : {link.url, "  " + link.url + "\n", link.token, link.token + "/", "\t" + link.token + " ",
                             "http://other.host/some/prefix/r/" + link.token + "/?utm_medium=sms#frag",
                             "https://refer.example/r/" + link.token + "?ref=1&utm_term=a%2Bb+c"}) {
    LinkVerification v = signer.verify(pasted, kIssued);
    CHECK_MESSAGE(v.ok(), pasted);
  }
  LinkVerification v = signer.verify("https://x.example/r/" + link.token + "?utm_term=a%2Bb+c&utm_medium=sms", kIssued);
  REQUIRE(v.ok());
  CHECK(v.claims->utm == QueryParams{{"utm_term", "a+b c"}, {"utm_medium", "sms"}});
  CHECK(signer.verify("https://x.example/r/" + link.token + "?utm_x=%zz", kIssued).status.code() ==
        StatusCode::kMalformed);
}

TEST_CASE("with share_hosts set, verify accepts only https links to those hosts") {
  LinkSignerOptions options = share_links();
  options.share_hosts = {"refer.example", "go.shop.example:8443"};
  LinkSigner signer = make_signer(kKeyA, options);
  Link link = mint(signer, request());
  for (std::string ok : {link.url, "HTTPS://Refer.Example/r/" + link.token, "https://go.shop.example:8443/x/r/" + link.token,
                         link.token, link.share_code}) {
    CHECK_MESSAGE(signer.verify(ok, kIssued).ok(), ok);
  }
  for (std::string refused : {"javascript://x/r/" + link.token, "http://refer.example/r/" + link.token,
                              "https://refer.example.evil/r/" + link.token, "https://go.shop.example/r/" + link.token,
                              "https://user@refer.example/r/" + link.token, "data://refer.example/r/" + link.token}) {
    LinkVerification v = signer.verify(refused, kIssued);
    CHECK_MESSAGE(v.status.code() == StatusCode::kMalformed, refused);
    CHECK_FALSE(v.claims.has_value());
  }
  CHECK(signer.verify("javascript://x/r/" + link.token, kIssued).status.message().find("https") != std::string::npos);
  for (const char* bad : {"", "refer.example/r", "user@refer.example", "refer example"}) {
    LinkSignerOptions wrong = share_links();  // only the share host is wrong
    wrong.share_hosts = {"refer.example", bad};
    CHECK_MESSAGE(LinkSigner::create(Keyring::parse(kKeyA).value(), wrong).status().code() ==
                      StatusCode::kInvalidArgument,
                  bad);
  }
  // base_url's own host (https) is accepted even when the list leaves it out, with its port.
  LinkSignerOptions own = share_links();
  own.base_url = "https://refer.example:8443/";
  own.share_hosts = {"go.shop.example"};
  LinkSigner own_signer = make_signer(kKeyA, own);
  Link own_link = mint(own_signer, request());
  CHECK(own_link.url.rfind("https://refer.example:8443/r/", 0) == 0);
  CHECK(own_signer.verify(own_link.url, kIssued).ok());
  CHECK(own_signer.verify("https://go.shop.example/r/" + own_link.token, kIssued).ok());
  for (std::string refused : {"https://refer.example/r/" + own_link.token, "http://refer.example:8443/r/" + own_link.token,
                              "https://refer.example:8443.evil/r/" + own_link.token}) {
    CHECK_MESSAGE(own_signer.verify(refused, kIssued).status.code() == StatusCode::kMalformed, refused);
  }
  // An http base_url adds nothing: share_hosts still means https only.
  own.base_url = "http://refer.example";
  own.share_hosts = {"go.shop.example"};
  LinkSigner http_signer = make_signer(kKeyA, own);
  CHECK(http_signer.verify(mint(http_signer, request()).url, kIssued).status.code() == StatusCode::kMalformed);
  // Without the option, as before: any host (see above).
  CHECK(make_signer().verify("javascript://x/r/" + link.token, kIssued).ok());
}

TEST_CASE("every single changed character of a token is rejected") {
  LinkSigner signer = make_signer();
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~!/ ";
  std::mt19937 rng(7);
  for (int n = 0; n < 20; ++n) {
    LinkRequest r = request("referrer-" + std::to_string(n));
    if (n % 2) r.expires_at = kIssued + 48h;
    Link link = mint(signer, r);
    REQUIRE(signer.verify(link.token, kIssued).ok());
    for (std::size_t i = 0; i < link.token.size(); ++i) {
      for (int k = 0; k < 3; ++k) {
        std::string changed = link.token;
        char c = alphabet[rng() % alphabet.size()];
        if (c == changed[i]) continue;
        changed[i] = c;
        LinkVerification v = signer.verify(changed, kIssued);
        CHECK_MESSAGE(!v.ok(), changed);
      }
    }
  }
}

TEST_CASE("hostile tokens never crash and are rejected as malformed or bad signature") {
  LinkSigner signer = make_signer();
  Link link = mint(signer, request());
  std::string raw = detail::base64url_decode(link.token).value();
  // Every truncation of the raw bytes.
  for (std::size_t len = 0; len < raw.size(); ++len) {
    LinkVerification v = signer.verify(detail::base64url_encode(raw.substr(0, len)), kIssued);
    CHECK(!v.ok());
  }
  // Length fields that lie (bigger than the data), unknown flags and versions.
  for (std::size_t i = 0; i < 4; ++i) {
    for (int value : {0, 1, 0x7f, 0xff}) {
      std::string mutated = raw;
      mutated[i] = static_cast<char>(value);
      if (mutated == raw) continue;
      LinkVerification v = signer.verify(detail::base64url_encode(mutated), kIssued);
      CHECK(!v.ok());
      CHECK(!v.claims);
    }
  }
  // Extra bytes appended, a few or more than any token can hold.
  CHECK(signer.verify(detail::base64url_encode(raw + "x"), kIssued).status.code() == StatusCode::kMalformed);
  LinkVerification huge = signer.verify(detail::base64url_encode(raw + std::string(300, 'x')), kIssued);
  CHECK(huge.status.code() == StatusCode::kMalformed);
  CHECK(huge.status.message() == "token length does not match its fields");
  // Control characters, non-ASCII and huge inputs.
  CHECK(signer.verify(link.token + std::string(1, '\0'), kIssued).status.code() == StatusCode::kMalformed);
  CHECK(signer.verify("https://x/r/\xc3\xa9" + link.token, kIssued).status.code() == StatusCode::kMalformed);
  CHECK(signer.verify(std::string(5000, 'A'), kIssued).status.code() == StatusCode::kMalformed);
  std::mt19937 rng(11);
  for (int n = 0; n < 2000; ++n) {
    std::string junk(rng() % 120, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    CHECK(!signer.verify(junk, kIssued).ok());
  }
}

TEST_CASE("create refuses bad requests with a clear error") {
  LinkSigner signer = make_signer();
  auto refused = [&](LinkRequest r, const char* mentions) {
    auto link = signer.mint(r);
    CHECK(link.status().code() == StatusCode::kInvalidArgument);
    CHECK_MESSAGE(link.status().message().find(mentions) != std::string::npos, link.status().message());
  };
  refused(request(""), "referrer");
  refused(request("x", ""), "campaign");
  refused(request(std::string(129, 'r')), "referrer");
  refused(request("x", std::string(65, 'c')), "campaign");
  refused(request("bad\xff utf8"), "UTF-8");
  refused(request("new\nline"), "control");
  LinkRequest r = request();
  r.name = "\xe2\x28\xa1";
  refused(r, "UTF-8");
  r = request();
  r.expires_at = kIssued;
  refused(r, "expires_at");
  r = request();
  r.utm = {{"utm_source", "a\tb"}};
  refused(r, "UTM");

  CHECK(LinkSigner::create(Keyring{}, share_links()).status().code() == StatusCode::kInvalidArgument);
  auto ring = Keyring::parse(kKeyA).value();
  for (const char* url : {"ftp://x", "refer.example", "https://", "https://a b", "https://x/?q=1"}) {
    CHECK_MESSAGE(LinkSigner::create(ring, LinkSignerOptions{url, 8, {}, {}}).status().code() ==
                      StatusCode::kInvalidArgument, url);
  }
}

TEST_CASE("UTF-8 campaigns, referrers and names round-trip") {
  LinkSigner signer = make_signer();
  LinkRequest r = request("顧客-42", "été-2026");
  r.name = "Zoë Ñúñez";
  Link link = mint(signer, r);
  CHECK(link.share_code.rfind("ZOE-", 0) == 0);
  LinkVerification v = signer.verify(link.url, kIssued);
  REQUIRE(v.ok());
  CHECK(v.claims->referrer == "顧客-42");
  CHECK(v.claims->campaign == "été-2026");
  // A referrer of the maximum size needs several keystream blocks.
  Link big = mint(signer, request(std::string(128, 'z')));
  CHECK(signer.verify(big.token, kIssued).claims->referrer == std::string(128, 'z'));
}

TEST_CASE("share codes verify offline and match only their referral") {
  LinkSigner signer = make_signer();
  Link link = mint(signer, request());
  CHECK(link.share_code.rfind("JANE-", 0) == 0);
  LinkVerification v = signer.verify(link.share_code, kIssued);
  REQUIRE(v.ok());
  CHECK(v.claims->kind == LinkClaims::Kind::kShareCode);
  CHECK(v.claims->share_code == link.share_code);
  CHECK(v.claims->name_prefix == "JANE");
  CHECK(signer.verify("https://x.example/r/" + link.share_code, kIssued).ok());

  CHECK(signer.share_code_matches(link.share_code, "bf-2026", "cust-42"));
  const std::string lower = referkit::detail::ascii_lowercase(link.share_code);
  CHECK(signer.share_code_matches(lower, "bf-2026", "cust-42"));
  CHECK(!signer.share_code_matches(link.share_code, "bf-2026", "cust-43"));
  CHECK(!signer.share_code_matches(link.share_code, "other", "cust-42"));
  CHECK(!make_signer(kKeyB).share_code_matches(link.share_code, "bf-2026", "cust-42"));
}

TEST_CASE("every single changed character of a share code is rejected") {
  LinkSigner signer = make_signer();
  // Replacements that change the code (not case, Crockford aliases or one separator for another).
  const std::string replacements = "0123456789ABCDEFGHJKMNPQRSTVWXYZU*-= ";
  int checked = 0;
  for (int n = 0; n < 60; ++n) {
    LinkRequest r = request("cust-" + std::to_string(n));
    r.name = n % 3 == 0 ? "" : (n % 3 == 1 ? "Al" : "Maximilian");
    Link link = mint(signer, r);
    const std::string& code = link.share_code;
    REQUIRE(signer.verify(code, kIssued).ok());
    for (std::size_t i = 0; i < code.size(); ++i) {
      for (char c : replacements) {
        const bool both_separators = (c == '-' || c == ' ') && (code[i] == '-' || code[i] == ' ');
        if (c == code[i] || both_separators) continue;
        std::string changed = code;
        changed[i] = c;
        CHECK_MESSAGE(!signer.verify(changed, kIssued).ok(), code << " -> " << changed);
        ++checked;
      }
    }
  }
  CHECK(checked > 20000);
}

TEST_CASE("is_printable agrees with is_printable_utf8 for every byte at every position") {
  // The ASCII fast path reads sixteen and eight bytes at a time: cover short strings, whole
  // steps and tails.
  for (std::size_t len = 1; len <= 40; ++len) {
    for (std::size_t pos = 0; pos < len; ++pos) {
      for (int b = 0; b < 256; ++b) {
        std::string s(len, 'a');
        s[pos] = static_cast<char>(b);
        CHECK_MESSAGE(detail::is_printable(s) == detail::is_printable_utf8(s), len << " " << pos << " " << b);
      }
    }
  }
  CHECK(detail::is_printable(""));
  CHECK(detail::is_printable("caf\xc3\xa9 au lait, 12 \xe2\x82\xac"));
  CHECK(!detail::is_printable("caf\xc3\xa9 au lait\x7f"));
  CHECK(!detail::is_printable("caf\xc3\xa9 \xc2\x85 lait"));  // U+0085, a C1 control
}

TEST_CASE("LinkSigner::create requires base_url and names it") {
  auto ring = Keyring::parse(kKeyA).value();
  // No default any more: a placeholder host would mint links that look right and lead nowhere.
  for (LinkSignerOptions options : {LinkSignerOptions{}, LinkSignerOptions{"", 8, {}, {}}}) {
    auto signer = LinkSigner::create(ring, options);
    REQUIRE_FALSE(signer.ok());
    CHECK(signer.status().code() == StatusCode::kInvalidArgument);
    CHECK(signer.status().message().find("base_url is required") != std::string::npos);
  }
  auto invalid = LinkSigner::create(ring, LinkSignerOptions{"refer.example", 8, {}, {}});
  REQUIRE_FALSE(invalid.ok());
  CHECK(invalid.status().message().find("base_url") != std::string::npos);
}

TEST_CASE("mint gives the link create(LinkRequest) gave before the rename") {
  // Known answer, taken from the release before LinkSigner::create(LinkRequest) became mint():
  // the same inputs and key must keep giving byte-identical links, or re-issued links would change.
  LinkRequest r = request();
  r.expires_at = kIssued + 24h;
  r.utm = {{"utm_source", "email"}};
  Link link = mint(make_signer(), r);
  const std::string token = "AQECazEHYmYtMjAyNgBrCUaQAGsKmBAHrL5fnY8xF4qM10rsh4i7obQm7w";
  CHECK(link.token == token);
  CHECK(link.url == "https://refer.example/r/" + token + "?utm_source=email");
  CHECK(link.share_code == "JANE-GS7Z-0TX3X");
  CHECK(link.key_id == "k1");
  CHECK(link.issued_at == kIssued);
  CHECK(link.expires_at == kIssued + 24h);
}

TEST_CASE("the referrer is sealed with HMAC(seal key, tag || block index) at every length") {
  // Recomputed here one keystream block at a time, independently of apply_keystream (which
  // makes the blocks two at a time): 1-128 bytes is one to four blocks, odd and even counts.
  const LinkSigner signer = make_signer();
  std::string secret;
  for (char c = 0; c < 16; ++c) secret += c;  // kKeyA's secret, 000102...0f
  const detail::HmacSha256 seal = detail::HmacSha256(secret).derive("referkit/v1 link seal");
  for (std::size_t len = 1; len <= 128; ++len) {
    std::string referrer;
    for (std::size_t i = 0; i < len; ++i) referrer += static_cast<char>('a' + i % 26);
    auto link = signer.mint(request(referrer));
    REQUIRE(link.ok());
    const auto raw = detail::base64url_decode(link->token);
    REQUIRE(raw.has_value());
    const std::string tag = raw->substr(raw->size() - 12);
    const std::string sealed = raw->substr(raw->size() - 12 - len, len);
    std::string opened = sealed;
    for (std::size_t block = 0; block * 32 < len; ++block) {
      const detail::Sha256Digest ks = seal.mac({tag, std::string(1, static_cast<char>(block))});
      for (std::size_t i = block * 32; i < len && i < block * 32 + 32; ++i) {
        opened[i] = static_cast<char>(opened[i] ^ static_cast<char>(ks[i - block * 32]));
      }
    }
    CAPTURE(len);
    CHECK(opened == referrer);
    auto verified = signer.verify(link->url, kIssued);
    REQUIRE(verified.ok());
    CHECK(verified.claims->referrer == referrer);
  }
}

TEST_CASE("the corpus transcript is byte-identical to the one before the hot-path rewrite") {
  // Recorded from 6435c9b (before the links-perf2 changes to minting, URL parsing, base64url and
  // the HMAC's one-block path): 578 minted links and some 15,800 verifications of them, of damaged
  // and hostile variants and of random text, every URL, token, share code, claim and message.
  const std::string transcript = test::link_transcript();
  const detail::Sha256Digest digest = detail::sha256(transcript);
  const std::string hex =
      detail::hex_encode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
  CHECK(transcript.size() == 1153822);
  CHECK(hex == "423f11575b18daa14af085176e5ffd0b679adb09c4266a75b51c757a69f16860");
}

namespace {

// parse_pasted_link as it read before its path was scanned in one pass (a memchr per separator),
// written plainly with string_view's finds: what the scanner must agree with on any input.
struct PastedOutcome {
  bool ok = false;
  std::string message;
  std::string credential, scheme, authority;
  QueryParams utm;
  bool operator==(const PastedOutcome& o) const {
    return ok == o.ok && message == o.message && credential == o.credential && scheme == o.scheme &&
           authority == o.authority && utm == o.utm;
  }
};

PastedOutcome reference_parse(std::string_view input) {
  PastedOutcome out;
  auto fail = [](std::string message) {
    PastedOutcome failed;  // an error carries nothing else
    failed.message = std::move(message);
    return failed;
  };
  input = detail::trim(input);
  if (input.empty()) return fail("empty link");
  if (input.size() > 4096) return fail("link longer than 4096 bytes");
  for (char c : input) {
    if (static_cast<unsigned char>(c) < 0x20) return fail("control character in link");
    if (static_cast<unsigned char>(c) >= 0x7f) return fail("non-ASCII byte in link");
  }
  std::string_view rest = input;
  if (std::size_t scheme = input.find("://"); scheme != std::string_view::npos) {
    std::string_view after = input.substr(scheme + 3);
    std::size_t path_start = after.find('/');
    if (path_start == std::string_view::npos) return fail("URL has no /r/ path");
    out.scheme = std::string(input.substr(0, scheme));
    out.authority = std::string(after.substr(0, path_start));
    std::string_view path = after.substr(path_start);
    path = path.substr(0, path.find('#'));
    if (std::size_t q = path.find('?'); q != std::string_view::npos) {
      std::string_view query = path.substr(q + 1);
      path = path.substr(0, q);
      while (!query.empty()) {
        std::size_t amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        std::size_t eq = pair.find('=');
        auto key = detail::percent_decode(pair.substr(0, eq));
        auto value = detail::percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
        if (!key || !value) return fail("broken %-escape in the link's query");
        if (key->rfind("utm_", 0) != 0) continue;
        if (!detail::is_printable_utf8(*key) || !detail::is_printable_utf8(*value)) {
          return fail("query parameter " + detail::printable_excerpt(*key) + " is not printable UTF-8");
        }
        out.utm.emplace_back(std::move(*key), std::move(*value));
      }
    }
    std::size_t marker = path.rfind("/r/");
    if (marker == std::string_view::npos) return fail("URL has no /r/ path");
    rest = path.substr(marker + 3);
  }
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty()) return fail("no token or code in link");
  if (rest.find('/') != std::string_view::npos) return fail("unexpected path after the token");
  out.ok = true;
  out.credential = std::string(rest);
  return out;
}

PastedOutcome parse_outcome(std::string_view input) {
  PastedOutcome out;
  auto parsed = detail::parse_pasted_link(input);
  if (!parsed.ok()) {
    out.message = parsed.status().message();
    return out;
  }
  out.ok = true;
  out.credential = std::string(parsed->credential);
  out.scheme = std::string(parsed->scheme);
  out.authority = std::string(parsed->authority);
  out.utm = parsed->utm;
  return out;
}

}  // namespace

TEST_CASE("parse_pasted_link's one-pass path scan agrees with separate finds on any input") {
  auto check = [](const std::string& input) {
    const PastedOutcome expected = reference_parse(input);
    const PastedOutcome got = parse_outcome(input);
    CHECK_MESSAGE(got == expected, "input \"" << input << "\": got " << got.ok << " \"" << got.message << "\" \""
                                              << got.credential << "\", expected " << expected.ok << " \""
                                              << expected.message << "\" \"" << expected.credential << "\"");
  };
  LinkSigner signer = make_signer();
  LinkRequest r = request("customer-100042", "black-friday-2026");
  r.utm = {{"utm_source", "email"}};
  const Link link = mint(signer, r);
  check(link.url);
  // Every separator the scan looks for, and a few it must ignore, at every position of a real
  // link: the scan's 16-byte steps and its byte-at-a-time tail both see each of them.
  for (std::size_t i = 0; i <= link.url.size(); ++i) {
    for (const char* piece : {"/", "?", "#", "/r/", "//", "r/", "&", "=", "?#", "#?", "/?", "/#", "%", ":"}) {
      std::string changed = link.url;
      changed.insert(i, piece);
      check(changed);
      if (i < link.url.size()) {
        changed = link.url;
        changed.replace(i, 1, piece);
        check(changed);
      }
    }
    check(link.url.substr(0, i));
  }
  // Random text from the pieces URLs are made of, short and long (up to ~300 bytes: many steps).
  const std::vector<std::string> pieces = {
      "https://", "http://", "://", ":", "/", "//", "r", "/r/", "/r", "r/", "?", "#", "&", "=", "utm_", "utm_a=1",
      "utm_source=email", "%", "%41", "%2F", "%zz", "+", "a", "B", "0", "-", "_", ".", "~", " ", "\t", "host:8443",
      "refer.example", "AbCdEfGhIjKlMnOp", "0123456789abcdefghijklmnopqrstuv", "JANE-7KQ3-M9XTV", "\x7f"};
  std::mt19937 rng(2026);
  for (int n = 0; n < 40000; ++n) {
    std::string input;
    const std::size_t count = rng() % (n % 4 == 0 ? 40 : 12);
    for (std::size_t k = 0; k < count; ++k) input += pieces[rng() % pieces.size()];
    check(input);
  }
}
