// A transcript of what LinkSigner gives for a fixed corpus: links minted from many requests
// (valid and refused), and verifications of those links, of damaged and hostile variants, and of
// random text. The link format is a contract, so a faster implementation must reproduce the
// transcript byte for byte: every URL, token, share code, claim and error message. The unit test
// compares its SHA-256 with the one recorded from the implementation before the rewrite.
#ifndef REFERKIT_TESTS_UNIT_LINKS_TRANSCRIPT_HPP
#define REFERKIT_TESTS_UNIT_LINKS_TRANSCRIPT_HPP

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "referkit/links.hpp"

namespace referkit::test {

inline void append_verification(std::string& out, const LinkVerification& v) {
  out += v.status.to_string();
  out += '|';
  if (!v.claims) {
    out += "-\n";
    return;
  }
  const LinkClaims& c = *v.claims;
  out += c.kind == LinkClaims::Kind::kToken ? "token|" : "code|";
  for (const std::string* s : {&c.key_id, &c.campaign, &c.referrer, &c.share_code, &c.name_prefix}) {
    out += *s;
    out += '|';
  }
  out += std::to_string(c.issued_at.time_since_epoch().count());
  out += '|';
  out += c.expires_at ? std::to_string(c.expires_at->time_since_epoch().count()) : "-";
  for (const auto& [key, value] : c.utm) out += "|" + key + "=" + value;
  out += '\n';
}

inline std::string link_transcript() {
  using namespace std::chrono_literals;
  const TimePoint issued = TimePoint(std::chrono::seconds(1795770000));  // 2026-11-27
  std::mt19937 rng(20261201);  // the raw engine output is fixed by the standard; distributions are not

  struct SignerSpec {
    const char* keys;
    const char* base_url;
    std::size_t max_prefix;
    std::vector<std::string> share_hosts;
  };
  const std::vector<SignerSpec> specs = {
      {"k1:000102030405060708090a0b0c0d0e0f", "https://refer.example", 8, {}},
      {"k2:f0e0d0c0b0a090807060504030201000f0e0d0c0b0a09080\nk1:000102030405060708090a0b0c0d0e0f",
       "http://share.example/path/", 16, {}},
      {"k1:000102030405060708090a0b0c0d0e0f", "https://B.example:8443/x", 0, {"refer.example", "b.example:8443"}},
  };
  const std::vector<std::string> campaigns = {
      "bf-2026", "black-friday-2026", "\xc3\xa9t\xc3\xa9-2026", std::string(64, 'c'), "a b+c%d/e?f#g&h=i", "x"};
  const std::vector<std::string> bad_campaigns = {"", std::string(65, 'c'), "tab\there", "bad\xff"};
  const std::vector<std::string> referrers = {
      "cust-42", "customer-100000", "\xe9\xa1\xa7\xe5\xae\xa2-" + std::string(120, 'z'), std::string(128, 'r'),
      "r", "with space & symbols <>\"'", std::string(31, 'm'), std::string(33, 'n')};
  const std::vector<std::string> bad_referrers = {"", std::string(129, 'r'), "nul\x01", "\xc3\x28"};
  const std::vector<std::string> names = {"",          "Jane Smith",     "Zo\xc3\xab N\xc3\xba\xc3\xb1" "ez",
                                          "  \xc3\x85l",  "X",              "\xc3\x86sir \xc3\x9f",
                                          "Shithead",  "ASS",            "cassandra",
                                          "\xff",      "Bartholomew-Alexander", "5H1T", "\xc5\x92uvre"};
  const std::vector<QueryParams> utms = {
      {},
      {{"utm_source", "email"}},
      {{"utm_source", "email"}, {"utm_campaign", "black friday/\xc3\xbc"}},
      {{"utm_x", "a&b=c%d+e"}, {"utm_~-._", ""}, {"z", "q"}},
      QueryParams(16, {"utm_n", "v"}),
  };
  const std::vector<QueryParams> bad_utms = {
      {{"", "empty key"}},
      {{"utm_bad", "ctl\x01"}},
      QueryParams(17, {"utm_n", "v"}),
      {{"utm_long", std::string(257, 'v')}},
  };

  std::string out;
  std::vector<std::string> pasted;  // what is verified afterwards
  for (const SignerSpec& spec : specs) {
    LinkSignerOptions options;
    options.base_url = spec.base_url;
    options.max_name_prefix = spec.max_prefix;
    options.share_hosts = spec.share_hosts;
    auto ring = Keyring::parse(spec.keys);
    if (!ring) return "keyring: " + ring.status().to_string();
    auto made = LinkSigner::create(*ring, options);
    if (!made) return "signer: " + made.status().to_string();
    const LinkSigner& signer = *made;
    pasted.clear();
    for (std::size_t i = 0; i < 400; ++i) {
      LinkRequest r;
      // Mostly valid fields; the refused ones come round often enough to cover every message.
      auto pick = [&rng](const auto& good, const auto& bad) {
        return rng() % 16 == 0 ? bad[rng() % bad.size()] : good[rng() % good.size()];
      };
      r.campaign = pick(campaigns, bad_campaigns);
      r.referrer = pick(referrers, bad_referrers);
      r.name = names[rng() % names.size()];
      r.utm = pick(utms, bad_utms);
      switch (rng() % 8) {
        case 0: break;  // issued now: not reproducible, so only its success is recorded below
        case 1: r.issued_at = issued + std::chrono::seconds(rng() % 100000); break;
        case 2: r.issued_at = issued; r.expires_at = issued + 720h; break;
        case 3: r.issued_at = issued; r.expires_at = issued; break;  // refused: not after issue
        case 4: r.issued_at = TimePoint(std::chrono::seconds(std::int64_t{1} << 41)); break;  // out of range
        default: r.issued_at = issued + std::chrono::milliseconds(rng() % 1000000); break;
      }
      auto link = signer.mint(r);
      if (!link) {
        out += "mint refused: " + link.status().to_string() + "\n";
        continue;
      }
      if (!r.issued_at) {
        out += "minted now\n";
        continue;
      }
      out += link->url + "|" + link->token + "|" + link->share_code + "|" + link->key_id + "|" +
             std::to_string(link->issued_at.time_since_epoch().count()) + "|" +
             (link->expires_at ? std::to_string(link->expires_at->time_since_epoch().count()) : "-") + "\n";
      pasted.push_back(link->url);
      pasted.push_back("  " + link->token + "/ \n");
      pasted.push_back(link->share_code);
    }
    // Damaged and hostile variants of what was minted, then random text.
    const std::size_t minted = pasted.size();
    for (std::size_t i = 0; i < minted; ++i) {
      std::string s = pasted[i];
      if (s.empty()) continue;
      std::string flipped = s;
      flipped[rng() % flipped.size()] ^= static_cast<char>(1 + rng() % 127);
      pasted.push_back(flipped);
      pasted.push_back(s.substr(0, rng() % s.size()));
      pasted.push_back(s + (s.find('?') == std::string::npos ? "?" : "&") +
                       "utm_medium=%41%2b+x&a=%zz&utm_=&&utm_term=caf%C3%A9#frag");
    }
    for (const char* s : {"", "   ", "https://refer.example", "https://refer.example/", "https://refer.example/r/",
                          "https://refer.example/r//", "https://refer.example/x/y", "javascript://refer.example/r/abc",
                          "https://evil.example/r/JANE-GS7Z-0TX3X", "HTTPS://REFER.EXAMPLE/r/JANE-GS7Z-0TX3X",
                          "https://b.example:8443/r/5B72-G4JK9?utm_source=%4", "https://refer.example/r/a/b",
                          "https://refer.example/r/5B72-G4JK9?utm_a=%01", "https://refer.example/r/5B72-G4JK9?utm_a=%FF",
                          "https://refer.example/r/5B72-G4JK9?%75tm_a=1&utm_b=x+y", "ctl\x01", "caf\xc3\xa9",
                          "jane-gs7z-0tx3x", "JANE GS7Z 0TX3X", "JANEGS7Z0TX3X", "AQ", "AQECazE", "AQECazEH===",
                          "https://x/r/AQECazEHYmYtMjAyNgBrCUaQAGsKmBAHrL5fnY8xF4qM10rsh4i7obQm7w"}) {
      pasted.emplace_back(s);
    }
    pasted.push_back("https://refer.example/r/" + std::string(4100, 'A'));
    pasted.push_back(std::string(600, 'A'));
    pasted.push_back(std::string(601, 'A'));
    for (int i = 0; i < 300; ++i) {
      std::string s(rng() % 120, '\0');
      const char* alphabet = i % 2 ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" : nullptr;
      for (char& c : s) c = alphabet ? alphabet[rng() % 64] : static_cast<char>(rng());
      pasted.push_back(s);
    }
    for (const std::string& s : pasted) append_verification(out, signer.verify(s, issued + 1h));
    for (const std::string& s : pasted) append_verification(out, signer.verify(s, issued + 2000h));
  }
  return out;
}

}  // namespace referkit::test

#endif  // REFERKIT_TESTS_UNIT_LINKS_TRANSCRIPT_HPP
