// The typed referral vocabulary. Property names follow Segment's e-commerce spec (snake_case),
// so Segment-compatible destinations understand the events without mapping.
//
// Each builder checks everything that can fail before it builds the event, then builds it in
// place with its properties reserved up front: these run on the request thread, before track().
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "referkit/events.hpp"

namespace referkit {
inline namespace v1 {
namespace {

Status missing(std::string_view field) {
  return Status(StatusCode::kInvalidArgument, std::string(field) + " is required");
}

// `who` must carry at least one id; `role` names it in the error.
Status check_identity(const Identity& who, std::string_view role) {
  if (!who.user_id.empty() || !who.anonymous_id.empty()) return Status();
  return Status(StatusCode::kInvalidArgument,
                std::string(role) + ".user_id or " + std::string(role) + ".anonymous_id is required");
}

Event make_event(const char* name, const Identity& who, std::size_t properties) {
  Event e;
  e.type = EventType::kTrack;
  e.name = name;
  e.user_id = who.user_id;
  e.anonymous_id = who.anonymous_id;
  e.properties.reserve(properties);
  return e;
}

void set_if(Value& props, const char* key, const std::string& text) {
  if (!text.empty()) props.set(key, text);
}

// The amount as an exact JSON number; `field` names the money in errors.
Result<Value> money_value(const Money& money, std::string_view field) {
  if (money.currency.empty()) return missing(std::string(field) + ".currency");
  auto text = format_money(money);
  if (!text) {
    return Status(StatusCode::kInvalidArgument, std::string(field) + ": " + text.status().message());
  }
  return Value::decimal(*text);  // format_money's output is always a valid decimal
}

// Only the hash of a normalized address leaves the process; blank means none was given.
void set_email(Value& props, const std::string& email) {
  if (email.find_first_not_of(" \t\n\v\f\r") == std::string::npos) return;
  props.set("email_sha256", email_sha256(email));
}

}  // namespace

Result<Event> to_event(const ReferralLinkCreated& in) {
  if (in.referral_code.empty()) return missing("referral_code");
  if (in.campaign.empty()) return missing("campaign");
  if (Status s = check_identity(in.referrer, "referrer"); !s.ok()) return s;
  Event e = make_event("Referral Link Created", in.referrer, 3);
  e.properties.set("referral_code", in.referral_code).set("campaign", in.campaign);
  set_if(e.properties, "link_url", in.link_url);
  return e;
}

Result<Event> to_event(const ReferralLinkShared& in) {
  if (in.referral_code.empty()) return missing("referral_code");
  if (in.channel.empty()) return missing("channel");
  if (Status s = check_identity(in.referrer, "referrer"); !s.ok()) return s;
  Event e = make_event("Referral Link Shared", in.referrer, 2);
  e.properties.set("referral_code", in.referral_code).set("channel", in.channel);
  return e;
}

Result<Event> to_event(const ReferralLinkClicked& in) {
  if (in.referral_code.empty()) return missing("referral_code");
  if (in.landing_url.empty()) return missing("landing_url");
  if (Status s = check_identity(in.visitor, "visitor"); !s.ok()) return s;
  Event e = make_event("Referral Link Clicked", in.visitor, 2);
  e.properties.set("referral_code", in.referral_code).set("landing_url", in.landing_url);
  return e;
}

Result<Event> to_event(const RefereeSignedUp& in) {
  if (in.referral_code.empty()) return missing("referral_code");
  if (Status s = check_identity(in.referee, "referee"); !s.ok()) return s;
  Event e = make_event("Referee Signed Up", in.referee, 2);
  e.properties.set("referral_code", in.referral_code);
  set_email(e.properties, in.email);
  return e;
}

Result<Event> to_event(const OrderCompleted& in) {
  if (in.order_id.empty()) return missing("order_id");
  if (Status s = check_identity(in.customer, "customer"); !s.ok()) return s;
  auto total = money_value(in.total, "total");
  if (!total) return total.status();
  std::optional<Value> subtotal;
  if (in.subtotal) {
    if (in.subtotal->currency != in.total.currency) {
      return Status(StatusCode::kInvalidArgument, "subtotal.currency \"" + in.subtotal->currency +
                                                      "\" differs from total.currency \"" +
                                                      in.total.currency + "\"");
    }
    auto value = money_value(*in.subtotal, "subtotal");
    if (!value) return value.status();
    subtotal = std::move(*value);
  }
  Event e = make_event("Order Completed", in.customer, 8);
  Value& p = e.properties;
  p.set("order_id", in.order_id).set("total", std::move(*total));
  if (subtotal) p.set("subtotal", std::move(*subtotal));
  p.set("currency", in.total.currency);
  set_if(p, "coupon", in.coupon);
  p.set("new_customer", in.new_customer);
  set_if(p, "referral_code", in.referral_code);
  set_email(p, in.email);
  return e;
}

// Segment's spec names the refunded amount "total" in Order Refunded.
Result<Event> to_event(const OrderRefunded& in) {
  if (in.order_id.empty()) return missing("order_id");
  if (Status s = check_identity(in.customer, "customer"); !s.ok()) return s;
  auto total = money_value(in.amount, "amount");
  if (!total) return total.status();
  Event e = make_event("Order Refunded", in.customer, 4);
  e.properties.set("order_id", in.order_id).set("total", std::move(*total)).set("currency", in.amount.currency);
  set_if(e.properties, "referral_code", in.referral_code);
  return e;
}

Result<Event> to_event(const OrderCancelled& in) {
  if (in.order_id.empty()) return missing("order_id");
  if (Status s = check_identity(in.customer, "customer"); !s.ok()) return s;
  Event e = make_event("Order Cancelled", in.customer, 2);
  e.properties.set("order_id", in.order_id);
  set_if(e.properties, "referral_code", in.referral_code);
  return e;
}

Result<Event> to_event(const RewardIssued& in) {
  if (in.reward_id.empty()) return missing("reward_id");
  if (in.reward_type.empty()) return missing("reward_type");
  if (Status s = check_identity(in.recipient, "recipient"); !s.ok()) return s;
  std::optional<Value> amount;
  if (in.amount) {
    auto value = money_value(*in.amount, "amount");
    if (!value) return value.status();
    amount = std::move(*value);
  }
  Event e = make_event("Reward Issued", in.recipient, 5);
  e.properties.set("reward_id", in.reward_id).set("reward_type", in.reward_type);
  if (amount) e.properties.set("amount", std::move(*amount)).set("currency", in.amount->currency);
  set_if(e.properties, "referral_code", in.referral_code);
  return e;
}

}  // namespace v1
}  // namespace referkit
