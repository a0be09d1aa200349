#include <string>
#include <vector>

#include "bench_harness.hpp"
#include "referkit/links.hpp"
#include "referkit/webhooks.hpp"

namespace referkit::bench {

Figures link_benchmarks() {
  auto ring = Keyring::parse("k2:202122232425262728292a2b2c2d2e2f\nk1:000102030405060708090a0b0c0d0e0f").value();
  LinkSignerOptions options;
  options.base_url = "https://refer.example";
  LinkSigner signer = std::move(LinkSigner::create(ring, options).value());
  const TimePoint now = now_ms();

  // Distinct referrers, as in production, so nothing is served from a cache.
  std::vector<LinkRequest> requests;
  for (int i = 0; i < 1024; ++i) {
    requests.push_back(LinkRequest{"black-friday-2026", "customer-" + std::to_string(100000 + i), "Jane Smith",
                                   now, now + std::chrono::hours(24 * 30), {{"utm_source", "email"}}});
  }
  std::vector<Link> links;
  for (const LinkRequest& r : requests) links.push_back(signer.mint(r).value());

  Figures f;
  std::size_t i = 0;
  f["link_create_ns"] = median_ns_per_op([&] { keep(signer.mint(requests[i++ % requests.size()])); });
  i = 0;
  f["link_verify_ns"] = median_ns_per_op([&] { keep(signer.verify(links[i++ % links.size()].url, now)); });
  i = 0;
  f["share_code_verify_ns"] = median_ns_per_op([&] { keep(signer.verify(links[i++ % links.size()].share_code, now)); });

  auto verifier = std::move(WebhookVerifier::create({"whsec_0123456789abcdef"}).value());
  const std::string body(1024, 'x');
  const std::string header = sign_payload("whsec_0123456789abcdef",
                                          std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count(), body);
  f["webhook_verify_1k_ns"] = median_ns_per_op([&] { keep(verifier.verify(header, body, now)); });
  return f;
}

}  // namespace referkit::bench
