// The example shop's routes: where a merchant backend meets referkit. Each handler is one of the
// five touch points of docs/integration.md (landing, signup, checkout, account page, webhook).
//
// Thread-safety: the HTTP server calls the handlers from its worker threads. Attributor,
// LinkSigner and WebhookVerifier are immutable; Tracker and CustomerStore are thread-safe.
#ifndef REFERKIT_EXAMPLES_MERCHANT_BACKEND_SHOP_HPP
#define REFERKIT_EXAMPLES_MERCHANT_BACKEND_SHOP_HPP

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "customer_store.hpp"
#include "pages.hpp"
#include "referkit/attribution.hpp"
#include "referkit/links.hpp"
#include "referkit/tracker.hpp"
#include "referkit/webhooks.hpp"

namespace referkit::shop {

struct ShopOptions {
  Keyring keys;
  std::string base_url;        // "http://127.0.0.1:8080": the shop's own links point here
  std::string webhook_secret;  // empty: POST /webhooks/referkit answers 503
  std::chrono::seconds attribution_window{std::chrono::hours(24 * 30)};
  // Added to the clock the attribution reads (landing, signup, checkout). For tests only: it lets
  // one process play "a month later" without waiting.
  std::chrono::seconds now_offset{0};
};

// Counters, for the log at exit.
struct ShopStats {
  std::atomic<std::uint64_t> landings{0};
  std::atomic<std::uint64_t> bad_links{0};
  std::atomic<std::uint64_t> orders{0};
  std::atomic<std::uint64_t> referred_orders{0};
  std::atomic<std::uint64_t> self_referrals{0};
  std::atomic<std::uint64_t> track_failures{0};
};

class Shop {
 public:
  static Result<std::unique_ptr<Shop>> create(ShopOptions options, Tracker& tracker);

  // Registers the routes on `server`.
  void install(httplib::Server& server);
  const ShopStats& stats() const { return stats_; }

 private:
  Shop(ShopOptions options, LinkSigner links, Attributor attributor, std::optional<WebhookVerifier> webhooks,
       Tracker& tracker);

  void get_home(const httplib::Request& req, httplib::Response& res);
  void land(const httplib::Request& req, httplib::Response& res, const std::string& token_or_code);
  void post_signup(const httplib::Request& req, httplib::Response& res);
  void post_checkout(const httplib::Request& req, httplib::Response& res);
  void get_account(const httplib::Request& req, httplib::Response& res);
  void post_share(const httplib::Request& req, httplib::Response& res);
  void post_webhook(const httplib::Request& req, httplib::Response& res);

  TimePoint attribution_now() const;
  std::optional<CustomerRecord> session_customer(const httplib::Request& req) const;
  // The cookie's referral, unless it is missing, refused, or the buyer's own.
  AttributionOutcome attribution_for(const httplib::Request& req, const CustomerRecord& buyer);
  Result<Link> customer_link(const CustomerRecord& customer) const;
  template <typename Typed>
  void track(const Typed& event);

  ShopOptions options_;
  LinkSigner links_;
  Attributor attributor_;
  std::optional<WebhookVerifier> webhooks_;
  Tracker& tracker_;
  CustomerStore store_;
  std::vector<Product> products_;
  ShopStats stats_;
};

}  // namespace referkit::shop

#endif  // REFERKIT_EXAMPLES_MERCHANT_BACKEND_SHOP_HPP
