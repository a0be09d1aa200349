// The referral vocabulary, each event described once: its checks, then its name, who it is
// about, and its properties in order. Property names follow Segment's e-commerce spec
// (snake_case), so Segment-compatible destinations understand the events without mapping.
//
// `Out` receives the event. Two exist: referral_events.cpp's builder makes an Event (to_event),
// and typed_serializer.cpp writes the wire JSON straight away (Tracker::track of a typed event),
// with no Value tree in between. Both see the same calls, so both give the same event.
//
// Out's interface: begin(name, identity, property_count), then per property text(key, s),
// decimal(key, text), integer(key, n), boolean(key, b), email_sha256(key, email) (the sink
// hashes the address, as email_sha256() of referkit/events.hpp does), and lists of objects
// (begin_list(key), then per entry begin_item() ... end_item(), then end_list()); then, if the
// event has a request context, begin_context() and its members: ip(text) (the sink applies the
// IP policy), text(...), begin_object(key) ... end_object(); then end(), whose Status describe()
// returns. Keys and event names are plain ASCII literals (no JSON escaping needed). Every check
// that can fail comes before begin().
#ifndef REFERKIT_SRC_EVENTS_REFERRAL_FIELDS_HPP
#define REFERKIT_SRC_EVENTS_REFERRAL_FIELDS_HPP

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "common/text.hpp"
#include "events/money.hpp"
#include "events/pii.hpp"
#include "referkit/events.hpp"

namespace referkit::detail {

[[gnu::noinline]] inline Status missing(std::string_view field) {
  return Status(StatusCode::kInvalidArgument, std::string(field) + " is required");
}

// The checks below are inlined tests with their refusals out of line (gnu::noinline): built in
// place, the message's strings made only when refused, and no call per check in every track().

[[gnu::noinline]] inline Status identity_required(std::string_view role) {
  return Status(StatusCode::kInvalidArgument,
                std::string(role) + ".user_id or " + std::string(role) + ".anonymous_id is required");
}

// `who` must carry at least one id; `role` names it in the error.
inline Status check_identity(const Identity& who, std::string_view role) {
  if (!who.user_id.empty() || !who.anonymous_id.empty()) return Status();
  return identity_required(role);
}

// The amount as exact decimal text ("104.99") in `out` (nothing allocated); false when it has
// no currency or one that is not ISO 4217, and money_error() says which. No Status on the way
// when it succeeds: see write_money_decimal.
inline bool money_text(const Money& money, MoneyDecimal& out) {
  return !money.currency.empty() && write_money_decimal(money, out);
}
// Why money_text refused `money`; `field` names the money.
[[gnu::noinline]] inline Status money_error(const Money& money, std::string_view field) {
  if (money.currency.empty()) return missing(std::string(field) + ".currency");
  return Status(StatusCode::kInvalidArgument,
                std::string(field) + ": " + currency_exponent(money.currency).status().message());
}

// Only the hash of a normalized address leaves the process; blank means none was given. The
// sink hashes it (the JSON writer straight into its output: 64 hex digits need no escaping).
inline bool has_email(const std::string& email) { return !trim(email).empty(); }

template <typename Out>
void email_hash_if(Out& out, const std::string& email) {
  if (has_email(email)) out.email_sha256("email_sha256", email);
}

// Inlined, so that the key stays a literal where the JSON writer writes it (see its put_key).
template <typename Out>
[[gnu::always_inline]] inline void text_if(Out& out, const char* key, const std::string& text) {
  if (!text.empty()) out.text(key, text);
}

inline Status check_length(std::string_view field, const std::string& value, std::size_t limit) {
  if (value.size() <= limit) return Status();
  return Status(StatusCode::kInvalidArgument,
                fmt::format("{} is {} bytes, over the {}-byte limit", field, value.size(), limit));
}

// ---- The request context, in every typed event: Segment's context.ip, userAgent, locale, page.

[[gnu::noinline]] inline Status context_too_long(const RequestContext& c) {
  for (Status s : {check_length("context.ip", c.ip, 64), check_length("context.user_agent", c.user_agent, 1024),
                   check_length("context.locale", c.locale, 35), check_length("context.page_url", c.page_url, 2048),
                   check_length("context.referrer_url", c.referrer_url, 2048)}) {
    if (!s.ok()) return s;
  }
  return Status();
}

inline Status check_context(const RequestContext& c) {
  // The common case (every member within its limit) without making five Statuses.
  if (c.ip.size() <= 64 && c.user_agent.size() <= 1024 && c.locale.size() <= 35 && c.page_url.size() <= 2048 &&
      c.referrer_url.size() <= 2048) {
    return Status();
  }
  return context_too_long(c);
}

template <typename Out>
void write_context(Out& out, const RequestContext& c) {
  const bool page = !c.page_url.empty() || !c.referrer_url.empty();
  if (c.ip.empty() && c.user_agent.empty() && c.locale.empty() && !page) return;
  out.begin_context();
  if (!c.ip.empty()) out.ip(c.ip);
  text_if(out, "userAgent", c.user_agent);
  text_if(out, "locale", c.locale);
  if (page) {
    out.begin_object("page");
    text_if(out, "url", c.page_url);
    text_if(out, "referrer", c.referrer_url);
    out.end_object();
  }
}

// ---- Order lines: Segment's products array.

// Checks every line and puts their prices as exact decimal text, in the order's currency, in
// `prices`. Out of line: an order without lines only tests for them (product_prices).
[[gnu::noinline]] inline Status line_prices(const OrderCompleted& in, std::vector<MoneyDecimal>& prices) {
  if (in.products.size() > kMaxLineItems) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("products has {} lines, over the {}-line limit", in.products.size(), kMaxLineItems));
  }
  prices.reserve(in.products.size());
  for (std::size_t i = 0; i < in.products.size(); ++i) {
    const LineItem& line = in.products[i];
    const std::string at = fmt::format("products[{}]", i);
    if (line.sku.empty()) return missing(at + ".sku");
    for (Status s : {check_length(at + ".sku", line.sku, 256), check_length(at + ".name", line.name, 256),
                     check_length(at + ".category", line.category, 256)}) {
      if (!s.ok()) return s;
    }
    if (line.quantity < 1 || line.quantity > 1'000'000) {
      return Status(StatusCode::kInvalidArgument,
                    fmt::format("{}.quantity must be 1 to 1000000, got {}", at, line.quantity));
    }
    if (line.unit_price.currency != in.total.currency) {
      return Status(StatusCode::kInvalidArgument,
                    fmt::format("{}.unit_price.currency \"{}\" differs from total.currency \"{}\"", at,
                                line.unit_price.currency, in.total.currency));
    }
    if (!money_text(line.unit_price, prices.emplace_back())) return money_error(line.unit_price, at + ".unit_price");
  }
  return Status();
}

// line_prices, for an order with lines; `prices` stays empty for one without.
inline Status product_prices(const OrderCompleted& in, std::vector<MoneyDecimal>& prices) {
  if (in.products.empty()) return Status();
  return line_prices(in, prices);
}

template <typename Out>
void write_products(Out& out, const std::vector<LineItem>& products, const std::vector<MoneyDecimal>& prices) {
  if (products.empty()) return;
  out.begin_list("products");
  for (std::size_t i = 0; i < products.size(); ++i) {
    out.begin_item();
    out.text("sku", products[i].sku);
    text_if(out, "name", products[i].name);
    out.decimal("price", prices[i].text());
    out.integer("quantity", products[i].quantity);
    text_if(out, "category", products[i].category);
    out.end_item();
  }
  out.end_list();
}

// ---- Each event's lane (referkit::Lane): what the platform pays on goes first.
constexpr Lane lane_of(const ReferralLinkCreated&) { return Lane::kEngagement; }
constexpr Lane lane_of(const ReferralLinkShared&) { return Lane::kEngagement; }
constexpr Lane lane_of(const ReferralLinkClicked&) { return Lane::kEngagement; }
constexpr Lane lane_of(const RefereeSignedUp&) { return Lane::kConversions; }
constexpr Lane lane_of(const OrderCompleted&) { return Lane::kConversions; }
constexpr Lane lane_of(const OrderRefunded&) { return Lane::kConversions; }
constexpr Lane lane_of(const OrderCancelled&) { return Lane::kConversions; }
constexpr Lane lane_of(const RewardIssued&) { return Lane::kConversions; }
// An event known only by its name (JSON from another language or a file): the names the typed
// conversions above are sent with are conversions, every other name engagement. A test holds the
// two lists together (events_referral_test).
inline Lane lane_of_name(std::string_view name) {
  return name == "Referee Signed Up" || name == "Order Completed" || name == "Order Refunded" ||
                 name == "Order Cancelled" || name == "Reward Issued"
             ? Lane::kConversions
             : Lane::kEngagement;
}

template <typename Out>
Status describe(const ReferralLinkCreated& in, Out& out) {
  if (in.referral_code.empty()) return missing("referral_code");
  if (in.campaign.empty()) return missing("campaign");
  if (Status s = check_identity(in.referrer, "referrer"); !s.ok()) return s;
  if (Status s = check_context(in.context); !s.ok()) return s;
  out.begin("Referral Link Created", in.referrer, 3);
  out.text("referral_code", in.referral_code);
  out.text("campaign", in.campaign);
  text_if(out, "link_url", in.link_url);
  write_context(out, in.context);
  return out.end();
}

template <typename Out>
Status describe(const ReferralLinkShared& in, Out& out) {
  if (in.referral_code.empty()) return missing("referral_code");
  if (in.channel.empty()) return missing("channel");
  if (Status s = check_identity(in.referrer, "referrer"); !s.ok()) return s;
  if (Status s = check_context(in.context); !s.ok()) return s;
  out.begin("Referral Link Shared", in.referrer, 2);
  out.text("referral_code", in.referral_code);
  out.text("channel", in.channel);
  write_context(out, in.context);
  return out.end();
}

template <typename Out>
Status describe(const ReferralLinkClicked& in, Out& out) {
  if (in.referral_code.empty()) return missing("referral_code");
  if (in.landing_url.empty()) return missing("landing_url");
  if (Status s = check_identity(in.visitor, "visitor"); !s.ok()) return s;
  if (Status s = check_context(in.context); !s.ok()) return s;
  out.begin("Referral Link Clicked", in.visitor, 2);
  out.text("referral_code", in.referral_code);
  out.text("landing_url", in.landing_url);
  write_context(out, in.context);
  return out.end();
}

template <typename Out>
Status describe(const RefereeSignedUp& in, Out& out) {
  if (in.referral_code.empty()) return missing("referral_code");
  if (Status s = check_identity(in.referee, "referee"); !s.ok()) return s;
  if (Status s = check_context(in.context); !s.ok()) return s;
  out.begin("Referee Signed Up", in.referee, 2);
  out.text("referral_code", in.referral_code);
  email_hash_if(out, in.email);
  write_context(out, in.context);
  return out.end();
}

template <typename Out>
Status describe(const OrderCompleted& in, Out& out) {
  if (in.order_id.empty()) return missing("order_id");
  if (Status s = check_identity(in.customer, "customer"); !s.ok()) return s;
  MoneyDecimal total;
  if (!money_text(in.total, total)) return money_error(in.total, "total");
  std::optional<MoneyDecimal> subtotal;
  if (in.subtotal) {
    if (in.subtotal->currency != in.total.currency) {
      return Status(StatusCode::kInvalidArgument, "subtotal.currency \"" + in.subtotal->currency +
                                                      "\" differs from total.currency \"" +
                                                      in.total.currency + "\"");
    }
    if (!money_text(*in.subtotal, subtotal.emplace())) return money_error(*in.subtotal, "subtotal");
  }
  std::vector<MoneyDecimal> prices;
  if (Status s = product_prices(in, prices); !s.ok()) return s;
  if (Status s = check_context(in.context); !s.ok()) return s;
  out.begin("Order Completed", in.customer, 9);
  out.text("order_id", in.order_id);
  out.decimal("total", total.text());
  if (subtotal) out.decimal("subtotal", subtotal->text());
  out.text("currency", in.total.currency);
  text_if(out, "coupon", in.coupon);
  out.boolean("new_customer", in.new_customer);
  text_if(out, "referral_code", in.referral_code);
  email_hash_if(out, in.email);
  write_products(out, in.products, prices);
  write_context(out, in.context);
  return out.end();
}

// Segment's spec names the refunded amount "total" in Order Refunded.
template <typename Out>
Status describe(const OrderRefunded& in, Out& out) {
  if (in.order_id.empty()) return missing("order_id");
  if (Status s = check_identity(in.customer, "customer"); !s.ok()) return s;
  MoneyDecimal total;
  if (!money_text(in.amount, total)) return money_error(in.amount, "amount");
  if (Status s = check_context(in.context); !s.ok()) return s;
  out.begin("Order Refunded", in.customer, 4);
  out.text("order_id", in.order_id);
  out.decimal("total", total.text());
  out.text("currency", in.amount.currency);
  text_if(out, "referral_code", in.referral_code);
  write_context(out, in.context);
  return out.end();
}

template <typename Out>
Status describe(const OrderCancelled& in, Out& out) {
  if (in.order_id.empty()) return missing("order_id");
  if (Status s = check_identity(in.customer, "customer"); !s.ok()) return s;
  if (Status s = check_context(in.context); !s.ok()) return s;
  out.begin("Order Cancelled", in.customer, 2);
  out.text("order_id", in.order_id);
  text_if(out, "referral_code", in.referral_code);
  write_context(out, in.context);
  return out.end();
}

template <typename Out>
Status describe(const RewardIssued& in, Out& out) {
  if (in.reward_id.empty()) return missing("reward_id");
  if (in.reward_type.empty()) return missing("reward_type");
  if (Status s = check_identity(in.recipient, "recipient"); !s.ok()) return s;
  std::optional<MoneyDecimal> amount;
  if (in.amount) {
    if (!money_text(*in.amount, amount.emplace())) return money_error(*in.amount, "amount");
  }
  if (Status s = check_context(in.context); !s.ok()) return s;
  out.begin("Reward Issued", in.recipient, 5);
  out.text("reward_id", in.reward_id);
  out.text("reward_type", in.reward_type);
  if (amount) {
    out.decimal("amount", amount->text());
    out.text("currency", in.amount->currency);
  }
  text_if(out, "referral_code", in.referral_code);
  write_context(out, in.context);
  return out.end();
}

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_EVENTS_REFERRAL_FIELDS_HPP
