// Feeds arbitrary bytes to LinkSigner::verify (URLs, tokens, share codes). Anything accepted must
// be authentic: re-creating a link from its claims gives the same token.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "referkit/links.hpp"

namespace {

const referkit::LinkSigner& signer() {
  static const referkit::LinkSigner s = [] {
    auto ring = referkit::Keyring::parse("k1:000102030405060708090a0b0c0d0e0f\nk2:101112131415161718191a1b1c1d1e1f");
    referkit::LinkSignerOptions options;
    options.base_url = "https://refer.example";
    auto made = referkit::LinkSigner::create(ring.value(), options);
    return std::move(made.value());
  }();
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const referkit::TimePoint now = referkit::parse_rfc3339("2026-11-27T10:00:00Z").value();
  referkit::LinkVerification v = signer().verify(input, now);
  if (v.ok() != v.status.ok()) std::abort();
  if (v.claims && v.claims->kind == referkit::LinkClaims::Kind::kToken && v.claims->key_id == "k1") {
    referkit::LinkRequest again{v.claims->campaign, v.claims->referrer, "", v.claims->issued_at,
                                v.claims->expires_at, {}};
    auto link = signer().mint(again);
    // Only the primary key (k1) signs, so only k1 tokens can be re-created for comparison.
    if (!link.ok() || input.find(link->token) == std::string_view::npos) std::abort();
  }
  return 0;
}
