// `referkit demo`: a guided tour that needs nothing but this binary.
#include <iostream>
#include <random>

#include "cli_common.hpp"
#include "commands.hpp"

namespace referkit::cli {
namespace {

struct Customer {
  const char* id;
  const char* name;
};

constexpr Customer kCustomers[] = {
    {"cust-1001", "Jane Smith"}, {"cust-1002", "José Núñez"}, {"cust-1003", "Zoë O'Brien"}};
constexpr const char* kCampaign = "black-friday-2026";

// A throwaway key, so the demo runs with no setup; real deployments load theirs (see --help).
Keyring demo_keyring() {
  if (auto env = Keyring::from_env(); env) return std::move(*env);
  std::random_device rd;
  std::string secret;
  for (int i = 0; i < 32; ++i) secret += static_cast<char>(rd() & 0xff);
  Keyring ring;
  (void)ring.add("demo", secret);
  return ring;
}

const char* verdict(const LinkVerification& v) {
  return v.ok() ? "accepted" : "rejected";
}

int run_demo() {
  Keyring keys = demo_keyring();
  auto signer = LinkSigner::create(keys, LinkSignerOptions{"https://refer.shop.example", 8, {}});
  if (!signer) return print_error(signer.status(), kExitUsage);
  const TimePoint now = now_ms();

  std::cout << "referkit demo: referral links for campaign " << kCampaign << " (key id "
            << keys.keys().front().id << ")\n\n";
  std::vector<Link> links;
  for (const Customer& c : kCustomers) {
    LinkRequest request{kCampaign, c.id, c.name, now, now + std::chrono::hours(24 * 30), {{"utm_source", "email"}}};
    auto link = signer->create(request);
    if (!link) return print_error(link.status(), kExitUsage);
    std::cout << "  " << c.name << " (" << c.id << ")\n    link:       " << link->url
              << "\n    share code: " << link->share_code << "\n";
    links.push_back(std::move(*link));
  }

  std::cout << "\nVerifying offline, no database, no network:\n";
  LinkVerification good = signer->verify(links[0].url, now);
  std::cout << "  Jane's link            -> " << verdict(good);
  if (good.ok()) std::cout << ", referrer " << good.claims->referrer << " recovered from the token";
  std::cout << "\n";

  std::string tampered = links[0].token;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  LinkVerification forged = signer->verify(tampered, now);
  std::cout << "  one character changed  -> " << verdict(forged) << " (" << to_string(forged.status.code()) << ")\n";

  LinkVerification late = signer->verify(links[1].url, now + std::chrono::hours(24 * 31));
  std::cout << "  José's link in 31 days -> " << verdict(late) << " (" << to_string(late.status.code()) << ")\n";

  LinkVerification code = signer->verify(links[2].share_code, now);
  std::cout << "  Zoë's share code typed -> " << verdict(code) << ", belongs to cust-1003: "
            << (signer->share_code_matches(links[2].share_code, kCampaign, "cust-1003") ? "yes" : "no") << "\n";
  std::string typo = links[2].share_code;
  typo.back() = typo.back() == '7' ? '8' : '7';
  LinkVerification mistyped = signer->verify(typo, now);
  std::cout << "  ...with a typo         -> " << verdict(mistyped) << " (" << to_string(mistyped.status.code()) << ")\n";

  const bool as_expected = good.ok() && !forged.ok() && late.status.code() == StatusCode::kExpired &&
                           code.ok() && !mistyped.ok();
  std::cout << "\nSummary: " << links.size() << " links minted, 5 checks, "
            << (as_expected ? "all as expected" : "UNEXPECTED RESULT") << ".\n";
  return as_expected ? kExitOk : kExitRejected;
}

}  // namespace

void add_demo_command(CLI::App& app, int& exit_code) {
  CLI::App* demo = app.add_subcommand(
      "demo", "Mint links and share codes for three customers and show what verification accepts and rejects. "
              "Uses REFERKIT_LINK_KEYS when set, otherwise a throwaway key.");
  demo->callback([&exit_code] { exit_code = run_demo(); });
}

}  // namespace referkit::cli
