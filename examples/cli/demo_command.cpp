// `referkit demo`: the whole loop on one machine. Mints links, plays a referral journey through
// the tracker into a locally started referkit-ingest, and prints what was sent and stored.
#include <signal.h>
#include <simdjson.h>

#include <iostream>
#include <random>

#include "cli_common.hpp"
#include "commands.hpp"
#include "local_ingest.hpp"
#include "referkit/tracker.hpp"

namespace referkit::cli {
namespace {

struct Customer {
  const char* id;
  const char* name;
  const char* email;
};

constexpr Customer kReferrers[] = {{"cust-1001", "Jane Smith", "jane@example.com"},
                                   {"cust-1002", "José Núñez", "jose@example.com"},
                                   {"cust-1003", "Zoë O'Brien", "zoe@example.com"}};
constexpr const char* kCampaign = "black-friday-2026";
constexpr const char* kWriteKey = "demo-write-key";

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

// Tracks and remembers failures, so the summary can say whether everything was accepted.
struct Journey {
  Tracker& tracker;
  int tracked = 0;
  int refused = 0;
  template <typename Typed>
  void track(const Typed& e) {
    Status s = tracker.track(e);
    if (s.ok()) ++tracked;
    else {
      ++refused;
      std::cerr << "  refused: " << s.to_string() << '\n';
    }
  }
};

// A missing counter reads as 0: the summary informs, the tests check the numbers.
std::uint64_t counter(simdjson::simdjson_result<simdjson::dom::element> field) {
  std::uint64_t v = 0;
  return field.get_uint64().get(v) ? 0 : v;
}

// Prints the server's counts and returns how many events it stored (0 if it cannot tell).
std::uint64_t print_funnel(const std::string& stats_json) {
  simdjson::dom::parser parser;
  simdjson::dom::element stats;
  if (parser.parse(stats_json).get(stats)) {
    std::cout << "  (could not read /v1/stats)\n";
    return 0;
  }
  const std::uint64_t stored = counter(stats["events_stored"]);
  const std::uint64_t duplicates = counter(stats["duplicates"]);
  std::cout << "  the server stored " << stored << " events (" << duplicates << " duplicates ignored):\n";
  for (const char* name : {"Referral Link Created", "Referral Link Shared", "Referral Link Clicked", "Referee Signed Up",
                           "Order Completed", "Order Refunded", "Reward Issued"}) {
    const std::uint64_t n = counter(stats["by_event"][name]);
    std::printf("    %-24s %4llu\n", name, static_cast<unsigned long long>(n));
  }
  return stored;
}

int run_demo(bool keep_running) {
  Keyring keys = demo_keyring();
  auto signer = LinkSigner::create(keys, LinkSignerOptions{"https://refer.shop.example", 8, {}, {}});
  if (!signer) return print_error(signer.status(), kExitFailure);
  auto ingest = LocalIngest::start(kWriteKey, std::chrono::seconds(10));
  if (!ingest) return print_error(ingest.status(), kExitFailure);

  TrackerOptions options;
  options.endpoint = ingest->url();
  options.write_key = kWriteKey;
  options.flush_interval = std::chrono::milliseconds(200);
  auto tracker = Tracker::open(options);
  if (!tracker) return print_error(tracker.status(), kExitFailure);
  Journey journey{*tracker};
  const TimePoint now = now_ms();

  std::cout << "referkit demo: campaign " << kCampaign << ", ingest server at " << ingest->url() << "\n\n"
            << "1. Referral links, minted locally (key id " << keys.keys().front().id << "):\n";
  std::vector<Link> links;
  for (const Customer& c : kReferrers) {
    LinkRequest request{kCampaign, c.id, c.name, now, now + std::chrono::hours(24 * 30), {{"utm_source", "email"}}};
    auto link = signer->mint(request);
    if (!link) return print_error(link.status(), kExitFailure);
    std::cout << "   " << c.name << ": " << link->share_code << "  " << link->url << "\n";
    journey.track(ReferralLinkCreated{{c.id, ""}, link->share_code, kCampaign, link->url});
    links.push_back(std::move(*link));
  }

  std::cout << "\n2. The journey: shares, clicks, sign-ups, orders, a refund, rewards.\n";
  journey.track(ReferralLinkShared{{"cust-1001", ""}, links[0].share_code, "email"});
  journey.track(ReferralLinkShared{{"cust-1001", ""}, links[0].share_code, "whatsapp"});
  journey.track(ReferralLinkShared{{"cust-1002", ""}, links[1].share_code, "sms"});
  struct Friend {
    const char* visitor;
    std::size_t link;
    const char* user;
    const char* email;
    Money total;
  };
  const Friend friends[] = {{"visitor-1", 0, "cust-2001", "Ana@Example.com", {12999, "EUR"}},
                            {"visitor-2", 0, "cust-2002", "ben@example.com", {4500, "USD"}},
                            {"visitor-3", 1, "cust-2003", "chi@example.jp", {8800, "JPY"}},
                            {"visitor-4", 2, nullptr, nullptr, {}},
                            {"visitor-5", 1, nullptr, nullptr, {}}};
  int attributed = 0;
  for (const Friend& f : friends) {
    const Link& link = links[f.link];
    // The landing page verifies the link offline before attributing the visit.
    LinkVerification v = signer->verify(link.url, now);
    if (!v.ok()) continue;
    journey.track(ReferralLinkClicked{{"", f.visitor}, link.share_code, link.url});
    if (f.user == nullptr) continue;  // clicked, did not sign up
    journey.track(RefereeSignedUp{{f.user, f.visitor}, link.share_code, f.email});
    OrderCompleted order;
    order.customer = {f.user, f.visitor};
    order.order_id = std::string("o-") + f.user;
    order.total = f.total;
    order.new_customer = true;
    order.referral_code = link.share_code;
    order.coupon = link.share_code;
    order.email = f.email;
    journey.track(order);
    ++attributed;
  }
  journey.track(OrderRefunded{{"cust-2002", ""}, "o-cust-2002", {4500, "USD"}, links[0].share_code});
  journey.track(RewardIssued{{"cust-1001", ""}, "rw-1", "credit", Money{1000, "EUR"}, links[0].share_code});
  journey.track(RewardIssued{{"cust-1002", ""}, "rw-2", "credit", Money{1000, "EUR"}, links[1].share_code});
  std::cout << "   " << journey.tracked << " events tracked (" << attributed
            << " orders attributed to a referrer), none of them waited for the network.\n";

  Status flushed = tracker->flush(std::chrono::seconds(10));
  TrackerStats st = tracker->stats();
  std::cout << "\n3. Delivery: " << st.acknowledged << "/" << st.tracked << " acknowledged in " << st.requests
            << " request(s), " << st.bytes_uncompressed << " bytes of JSON sent as " << st.bytes_sent << " bytes"
            << (flushed.ok() ? "" : " (" + flushed.to_string() + ")") << ".\n";
  auto stats = ingest->get("/v1/stats");
  const std::uint64_t stored = stats ? print_funnel(*stats) : 0;

  // "Stored" is the server's word, not the tracker's: the demo is also CI's end-to-end check.
  const bool as_expected =
      flushed.ok() && journey.refused == 0 && st.acknowledged == st.tracked && stored == st.tracked;
  std::cout << "\nSummary: " << links.size() << " links, " << journey.tracked << " events, "
            << (as_expected ? "all delivered and stored." : "SOMETHING WAS NOT DELIVERED.") << std::endl;
  if (keep_running) {
    std::cout << "\nThe funnel page: " << ingest->url() << "/   (Ctrl-C to stop)\n" << std::flush;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    int sig = 0;
    sigwait(&set, &sig);
  }
  tracker->shutdown(std::chrono::seconds(2));
  ingest->stop();
  return as_expected ? kExitOk : kExitRejected;
}

}  // namespace

void add_demo_command(CLI::App& app, int& exit_code) {
  auto keep_running = std::make_shared<bool>(false);
  CLI::App* demo = app.add_subcommand(
      "demo", "Start referkit-ingest on a free loopback port with a throwaway database, mint links for three "
              "customers, play a referral journey through the tracker, and print what was sent and stored. "
              "Uses REFERKIT_LINK_KEYS when set, otherwise a throwaway key.");
  demo->add_flag("--keep-running", *keep_running, "Keep the ingest server up (funnel page at its URL) until Ctrl-C");
  demo->callback([keep_running, &exit_code] { exit_code = run_demo(*keep_running); });
}

}  // namespace referkit::cli
