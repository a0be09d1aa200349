#include "shop.hpp"

#include <simdjson.h>

#include <charconv>
#include <iostream>

namespace referkit::shop {
namespace {

constexpr const char* kCampaign = "shop-referral";
constexpr const char* kCurrency = "EUR";
constexpr const char* kSessionCookie = "shop_session";
constexpr const char* kVisitorCookie = "shop_vid";
constexpr const char* kHtml = "text/html; charset=utf-8";
constexpr const char* kJson = "application/json";
constexpr std::size_t kMaxFieldBytes = 200;
constexpr std::int64_t kMaxQuantity = 99;

void log(const std::string& line) { std::cerr << ("shop: " + line + "\n") << std::flush; }

// The value of cookie `name` in the request's Cookie header(s), or empty.
std::string cookie(const httplib::Request& req, std::string_view name) {
  const std::size_t headers = req.get_header_value_count("Cookie");
  for (std::size_t h = 0; h < headers; ++h) {
    const std::string header = req.get_header_value("Cookie", h);
    std::string_view rest = header;
    while (!rest.empty()) {
      const std::size_t end = std::min(rest.find(';'), rest.size());
      std::string_view pair = rest.substr(0, end);
      rest.remove_prefix(end == rest.size() ? end : end + 1);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      const std::size_t eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name) return std::string(pair.substr(eq + 1));
    }
  }
  return {};
}

// The shop serves plain HTTP on loopback, so its own cookies leave out Secure; behind TLS, add it.
// (The attribution cookie from Attributor::set_cookie_header is always Secure: browsers treat
// http://127.0.0.1 and http://localhost as secure contexts and accept it.)
std::string session_cookie_header(std::string_view name, std::string_view value) {
  return std::string(name) + "=" + std::string(value) + "; Path=/; HttpOnly; SameSite=Lax";
}

void redirect(httplib::Response& res, const char* location, int status) {
  res.status = status;
  res.set_header("Location", location);
}

void html(httplib::Response& res, int status, std::string body) {
  res.status = status;
  res.set_content(std::move(body), kHtml);
}

void json_reply(httplib::Response& res, int status, std::string_view state) {
  res.status = status;
  res.set_content("{\"status\":\"" + std::string(state) + "\"}\n", kJson);
}

std::optional<std::int64_t> parse_quantity(std::string_view text) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 0 || n > kMaxQuantity) return std::nullopt;
  return n;
}

// The request as the platform sees it: the client IP (truncated by the tracker's ip_policy before
// it leaves the process), the browser, its language and the page. Behind a reverse proxy the
// client IP is in X-Forwarded-For instead; a real shop takes it from there, from trusted proxies
// only.
RequestContext request_context(const httplib::Request& req, const std::string& base_url) {
  RequestContext c;
  c.ip = req.remote_addr;
  c.user_agent = req.get_header_value("User-Agent").substr(0, 1024);
  const std::string languages = req.get_header_value("Accept-Language");
  c.locale = languages.substr(0, std::min(languages.find_first_of(",;"), std::size_t{35}));
  c.page_url = base_url + req.path;
  c.referrer_url = req.get_header_value("Referer").substr(0, 2048);
  return c;
}

std::vector<Product> catalog() {
  return {{"tee-classic", "Classic tee", {2500, kCurrency}},
          {"mug-enamel", "Enamel mug", {1450, kCurrency}},
          {"tote-canvas", "Canvas tote", {1999, kCurrency}}};
}

std::string reason(const Status& status) { return std::string(to_string(status.code())); }

}  // namespace

Result<std::unique_ptr<Shop>> Shop::create(ShopOptions options, Tracker& tracker) {
  LinkSignerOptions link_options;
  link_options.base_url = options.base_url;
  auto links = LinkSigner::create(options.keys, link_options);
  if (!links) return links.status();
  AttributionOptions attribution_options;
  attribution_options.window = options.attribution_window;
  auto attributor = Attributor::create(options.keys, attribution_options);
  if (!attributor) return attributor.status();
  std::optional<WebhookVerifier> webhooks;
  if (!options.webhook_secret.empty()) {
    auto verifier = WebhookVerifier::create({options.webhook_secret});
    if (!verifier) return verifier.status();
    webhooks.emplace(std::move(*verifier));
  }
  return std::unique_ptr<Shop>(new Shop(std::move(options), std::move(*links), std::move(*attributor),
                                        std::move(webhooks), tracker));
}

Shop::Shop(ShopOptions options, LinkSigner links, Attributor attributor, std::optional<WebhookVerifier> webhooks,
           Tracker& tracker)
    : options_(std::move(options)),
      links_(std::move(links)),
      attributor_(std::move(attributor)),
      webhooks_(std::move(webhooks)),
      tracker_(tracker),
      store_(kCurrency),
      products_(catalog()) {}

void Shop::install(httplib::Server& server) {
  server.Get("/", [this](const httplib::Request& req, httplib::Response& res) { get_home(req, res); });
  server.Get(R"(/r/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    land(req, res, req.matches[1].str());
  });
  server.Post("/signup", [this](const httplib::Request& req, httplib::Response& res) { post_signup(req, res); });
  server.Post("/checkout", [this](const httplib::Request& req, httplib::Response& res) { post_checkout(req, res); });
  server.Get("/account", [this](const httplib::Request& req, httplib::Response& res) { get_account(req, res); });
  server.Post("/share", [this](const httplib::Request& req, httplib::Response& res) { post_share(req, res); });
  server.Post("/webhooks/referkit",
              [this](const httplib::Request& req, httplib::Response& res) { post_webhook(req, res); });
}

TimePoint Shop::attribution_now() const {
  return now_ms() + std::chrono::duration_cast<std::chrono::milliseconds>(options_.now_offset);
}

std::optional<CustomerRecord> Shop::session_customer(const httplib::Request& req) const {
  const std::string token = cookie(req, kSessionCookie);
  if (token.empty()) return std::nullopt;
  return store_.session_customer(token);
}

template <typename Typed>
void Shop::track(const Typed& event) {
  // track() only queues (and, in durable mode, spools): it never waits for the network.
  if (Status s = tracker_.track(event); !s.ok()) {
    ++stats_.track_failures;
    log("event not tracked: " + s.to_string());
  }
}

Result<Link> Shop::customer_link(const CustomerRecord& customer) const {
  // Deterministic: the same customer and creation time give the same link and code, every time,
  // under the same primary key. Nothing to store but what the shop already has.
  LinkRequest request;
  request.campaign = kCampaign;
  request.referrer = customer.id;
  request.name = customer.name;
  request.issued_at = customer.created_at;
  return links_.mint(request);
}

// ---- Touch point 1: landing.
void Shop::land(const httplib::Request& req, httplib::Response& res, const std::string& token_or_code) {
  const TimePoint now = attribution_now();
  auto landed = attributor_.on_landing(links_, token_or_code, cookie(req, attributor_.options().cookie_name), now);
  redirect(res, "/", 302);
  if (!landed) {
    // A bad or expired link still lands the visitor on the shop; it just does not attribute.
    ++stats_.bad_links;
    log("referral link ignored (" + reason(landed.status()) + "): " + landed.status().message());
    return;
  }
  ++stats_.landings;
  res.set_header("Set-Cookie", attributor_.set_cookie_header(*landed, now));

  std::string visitor = cookie(req, kVisitorCookie);
  if (visitor.empty()) {
    visitor = store_.new_visitor_id();
    res.set_header("Set-Cookie", session_cookie_header(kVisitorCookie, visitor));
  }
  ReferralLinkClicked clicked;
  clicked.visitor.anonymous_id = visitor;
  if (auto customer = session_customer(req)) clicked.visitor.user_id = customer->id;
  clicked.referral_code = landed->referral_code;
  clicked.landing_url = options_.base_url + req.path;
  clicked.context = request_context(req, options_.base_url);
  track(clicked);
}

void Shop::get_home(const httplib::Request& req, httplib::Response& res) {
  if (req.has_param("ref")) return land(req, res, req.get_param_value("ref"));
  html(res, 200, product_page(products_, session_customer(req)));
}

AttributionOutcome Shop::attribution_for(const httplib::Request& req, const CustomerRecord& buyer) {
  const std::string value = cookie(req, attributor_.options().cookie_name);
  if (value.empty()) return {"none", {}};
  auto attribution = attributor_.read(value, attribution_now());
  if (!attribution) {
    // Tampered, expired, signed with a retired key or not ours: the order is simply unattributed.
    log("attribution cookie ignored (" + reason(attribution.status()) + ")");
    return {"ignored:" + reason(attribution.status()), {}};
  }
  // A share code does not carry its referrer; the shop knows whose code it is.
  std::string referrer_email;
  if (auto referrer = store_.find_by_share_code(attribution->referral_code)) referrer_email = referrer->email;
  if (attributor_.is_self_referral(*attribution, Customer{buyer.id, buyer.email}, referrer_email)) {
    ++stats_.self_referrals;
    log("self-referral by " + buyer.id + ": not attributed");
    return {"self-referral", {}};
  }
  return {"referred", attribution->referral_code};
}

// ---- Touch point 2: signup.
void Shop::post_signup(const httplib::Request& req, httplib::Response& res) {
  const std::string email = req.get_param_value("email");
  const std::string name = req.get_param_value("name");
  if (email.find('@') == std::string::npos || name.empty() || email.size() > kMaxFieldBytes ||
      name.size() > kMaxFieldBytes) {
    return html(res, 400, message_page("Sign up", "Please give an email address and a name."));
  }
  auto signed_up = store_.sign_up(email, name, attribution_now());
  const CustomerRecord& customer = signed_up.customer;
  if (signed_up.created) {
    auto link = customer_link(customer);
    if (link) store_.set_share_code(customer.id, link->share_code);
    else log("could not mint a link for " + customer.id + ": " + link.status().to_string());
  }
  res.set_header("Set-Cookie", session_cookie_header(kSessionCookie, store_.open_session(customer.id)));
  redirect(res, "/account", 303);
  if (!signed_up.created) return res.set_header("X-Shop-Attribution", "existing-customer");

  const AttributionOutcome outcome = attribution_for(req, customer);
  res.set_header("X-Shop-Attribution", outcome.state);
  if (outcome.state != "referred") return;
  RefereeSignedUp referee;
  referee.referee.user_id = customer.id;
  referee.referee.anonymous_id = cookie(req, kVisitorCookie);
  referee.referral_code = outcome.referral_code;
  referee.email = customer.email;  // sent as email_sha256 only
  track(referee);
}

// ---- Touch point 3: checkout.
void Shop::post_checkout(const httplib::Request& req, httplib::Response& res) {
  auto customer = session_customer(req);
  if (!customer) return redirect(res, "/", 303);

  const std::size_t lines = req.get_param_value_count("sku");
  if (lines == 0 || lines != req.get_param_value_count("qty") || lines > products_.size() * 4) {
    return html(res, 400, message_page("Checkout", "Each product needs a sku and a qty."));
  }
  std::vector<OrderLine> order;
  Money total{0, kCurrency};
  for (std::size_t i = 0; i < lines; ++i) {
    const std::string sku = req.get_param_value("sku", i);
    const auto quantity = parse_quantity(req.get_param_value("qty", i));
    auto product = std::find_if(products_.begin(), products_.end(), [&](const Product& p) { return p.sku == sku; });
    if (product == products_.end() || !quantity) {
      return html(res, 400, message_page("Checkout", "Unknown product or quantity out of range."));
    }
    if (*quantity == 0) continue;
    order.push_back({&*product, *quantity});
    total.minor_units += product->price.minor_units * *quantity;
  }
  if (order.empty()) return html(res, 400, message_page("Checkout", "Nothing to buy: every quantity is 0."));

  OrderCompleted completed;
  completed.customer.user_id = customer->id;
  completed.customer.anonymous_id = cookie(req, kVisitorCookie);
  completed.order_id = store_.next_order_id();
  completed.total = total;
  completed.new_customer = store_.record_order(customer->id) == 0;
  completed.email = customer->email;  // sent as email_sha256 only
  const AttributionOutcome outcome = attribution_for(req, *customer);
  if (outcome.state == "referred") completed.referral_code = outcome.referral_code;
  for (const OrderLine& line : order) {
    completed.products.push_back(LineItem{line.product->sku, line.product->name, line.quantity, line.product->price, ""});
  }
  completed.context = request_context(req, options_.base_url);
  if (outcome.state == "self-referral") {
    // Tracked as such, so the platform sees the attempt (fraud checks) without crediting it.
    auto event = to_event(completed);
    if (event) {
      event->properties.set("self_referral", true);
      if (Status s = tracker_.track(*event); !s.ok()) log("event not tracked: " + s.to_string());
    }
  } else {
    track(completed);
  }
  ++stats_.orders;
  if (outcome.state == "referred") ++stats_.referred_orders;

  res.set_header("X-Shop-Attribution", outcome.state);
  res.set_header("X-Shop-Order-Id", completed.order_id);
  html(res, 200, order_page(completed.order_id, order, total, outcome));
}

// ---- Touch point 4: the account page, with the customer's own link.
void Shop::get_account(const httplib::Request& req, httplib::Response& res) {
  auto customer = session_customer(req);
  if (!customer) return redirect(res, "/", 303);
  auto link = customer_link(*customer);
  if (!link) return html(res, 500, message_page("Your account", "Could not mint your referral link."));
  html(res, 200, account_page(*customer, link->url, link->share_code, store_.currency(), ""));
}

void Shop::post_share(const httplib::Request& req, httplib::Response& res) {
  auto customer = session_customer(req);
  if (!customer) return redirect(res, "/", 303);
  const std::string channel = req.get_param_value("channel");
  if (channel != "copy_link" && channel != "email" && channel != "whatsapp") {
    return html(res, 400, message_page("Share", "Unknown channel."));
  }
  auto link = customer_link(*customer);
  if (!link) return html(res, 500, message_page("Share", "Could not mint your referral link."));
  ReferralLinkShared shared;
  shared.referrer.user_id = customer->id;
  shared.referral_code = link->share_code;
  shared.channel = channel;
  track(shared);
  html(res, 200, account_page(*customer, link->url, link->share_code, store_.currency(), "Shared by " + channel + "."));
}

// ---- Touch point 5: the platform's webhook.
void Shop::post_webhook(const httplib::Request& req, httplib::Response& res) {
  if (!webhooks_) {
    log("webhook refused: no --webhook-secret configured");
    return json_reply(res, 503, "not configured");
  }
  // Verify the raw body as received, before parsing anything in it.
  auto signed_at = webhooks_->verify(req.get_header_value(std::string(kSignatureHeader).c_str()), req.body);
  if (!signed_at) {
    log("webhook refused (" + reason(signed_at.status()) + ")");
    return json_reply(res, 401, "bad signature");
  }

  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view type, reward_id, user_id, reward_type;
  if (parser.parse(req.body).get(root) || root["type"].get(type)) {
    log("webhook refused: not a JSON object with a type");
    return json_reply(res, 400, "malformed");
  }
  if (type != "reward.issued") {
    log("webhook of type " + std::string(type) + " ignored");
    return json_reply(res, 200, "ignored");
  }
  simdjson::dom::element data;
  if (root["data"].get(data) || data["reward_id"].get(reward_id) || data["user_id"].get(user_id) ||
      data["reward_type"].get(reward_type)) {
    log("reward.issued refused: data needs reward_id, user_id and reward_type");
    return json_reply(res, 400, "malformed");
  }
  std::optional<Money> amount;
  if (simdjson::dom::element a; !data["amount"].get(a)) {
    std::int64_t minor_units = 0;
    std::string_view currency;
    if (a["minor_units"].get(minor_units) || a["currency"].get(currency)) {
      return json_reply(res, 400, "malformed");
    }
    amount = Money{minor_units, std::string(currency)};
  }
  // Idempotent by reward id: the platform retries until it sees a 2xx, so the same reward may
  // arrive more than once.
  switch (store_.credit(reward_id, user_id, amount)) {
    case CreditOutcome::kCredited: break;
    case CreditOutcome::kDuplicate:
      log("reward " + std::string(reward_id) + " already credited: replay ignored");
      return json_reply(res, 200, "duplicate");
    case CreditOutcome::kUnknownCustomer:
      log("reward " + std::string(reward_id) + " for unknown customer " + std::string(user_id));
      return json_reply(res, 404, "unknown customer");
    case CreditOutcome::kWrongCurrency:
      log("reward " + std::string(reward_id) + " refused: the shop keeps credit in " + store_.currency());
      return json_reply(res, 422, "wrong currency");
  }
  RewardIssued issued;
  issued.recipient.user_id = std::string(user_id);
  issued.reward_id = std::string(reward_id);
  issued.reward_type = std::string(reward_type);
  issued.amount = amount;
  track(issued);
  json_reply(res, 200, "credited");
}

}  // namespace referkit::shop
