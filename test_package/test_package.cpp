// Smallest real use of the library: mint a link and verify it, which needs the private
// dependencies (OpenSSL) to be linked correctly.
#include <cstdio>

#include <referkit/referkit.hpp>

int main() {
  std::printf("referkit %s\n", REFERKIT_VERSION_STRING);
  auto keys = referkit::Keyring::parse("k1:00112233445566778899aabbccddeeff");
  if (!keys) return 1;
  referkit::LinkSignerOptions options;
  options.base_url = "https://refer.example";  // required: where the share links point
  auto signer = referkit::LinkSigner::create(*keys, options);
  if (!signer) return 1;
  referkit::LinkRequest request;
  request.campaign = "bf";
  request.referrer = "cust-1";
  auto link = signer->mint(request);
  if (!link) return 1;
  const referkit::LinkVerification verification = signer->verify(link->url);
  return verification.ok() && verification.claims && verification.claims->referrer == "cust-1" ? 0 : 1;
}
