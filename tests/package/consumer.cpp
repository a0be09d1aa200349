// Exercises the installed package end to end: headers (including the generated ones), the
// library itself, and its private dependencies (OpenSSL for the HMAC) at link and run time.
#include <cstdio>
#include <string>

#include <referkit/referkit.hpp>

namespace {

int fail(const char* what, const referkit::Status& status) {
  std::fprintf(stderr, "consumer: %s: %s\n", what, status.to_string().c_str());
  return 1;
}

}  // namespace

int main() {
  std::printf("referkit %s (%s library)\n", REFERKIT_VERSION_STRING,
              REFERKIT_SHARED_LIBRARY ? "shared" : "static");

#if defined(CONSUMER_EXPECT_SHARED)
  // export.hpp is generated per build; a stale or mixed installation shows up here.
  static_assert(REFERKIT_SHARED_LIBRARY == CONSUMER_EXPECT_SHARED,
                "installed export.hpp does not match the installed library kind");
#endif

  auto keys = referkit::Keyring::parse("k1:00112233445566778899aabbccddeeff");
  if (!keys) return fail("Keyring::parse", keys.status());

  referkit::LinkSignerOptions options;
  options.base_url = "https://refer.example";  // required: where the share links point
  auto signer = referkit::LinkSigner::create(*keys, options);
  if (!signer) return fail("LinkSigner::create", signer.status());

  referkit::LinkRequest request;
  request.campaign = "bf";
  request.referrer = "cust-1";
  auto link = signer->mint(request);
  if (!link) return fail("LinkSigner::mint", link.status());

  const referkit::LinkVerification verification = signer->verify(link->url);
  if (!verification.ok()) return fail("LinkSigner::verify", verification.status);
  if (!verification.claims || verification.claims->referrer != "cust-1") {
    std::fprintf(stderr, "consumer: verify returned the wrong referrer\n");
    return 1;
  }

  std::printf("%s -> %s\n", link->url.c_str(), verification.claims->referrer.c_str());
  return 0;
}
