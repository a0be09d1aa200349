// rk_event_*: the eight typed referral events, built field by field through names. An rk_event
// holds every field any kind can have; rk_tracker_track_event copies the ones of its kind into
// the C++ typed event and tracks that, so validation, lanes and serialization are the C++ ones.
// Names rather than an enum of fields: a binding passes its keyword arguments straight through,
// and a field added later is a new name, not a new function.
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "capi/boundary.hpp"
#include "capi/c_tracker.hpp"

namespace capi = referkit::capi;
using capi::guarded;

struct rk_event {
  rk_event_kind kind;
  referkit::Identity identity;
  referkit::RequestContext context;
  std::string referral_code, campaign, link_url, channel, landing_url, email;
  std::string order_id, coupon, reward_id, reward_type;
  std::optional<referkit::Money> total, subtotal, amount;
  bool new_customer = false;
  std::vector<referkit::LineItem> products;
};

namespace {

// Which kinds have a field: a bit per rk_event_kind.
constexpr unsigned bit(rk_event_kind k) { return 1u << static_cast<unsigned>(k); }
constexpr unsigned kAll = bit(RK_EVENT_REFERRAL_LINK_CREATED) | bit(RK_EVENT_REFERRAL_LINK_SHARED) |
                          bit(RK_EVENT_REFERRAL_LINK_CLICKED) | bit(RK_EVENT_REFEREE_SIGNED_UP) |
                          bit(RK_EVENT_ORDER_COMPLETED) | bit(RK_EVENT_ORDER_REFUNDED) |
                          bit(RK_EVENT_ORDER_CANCELLED) | bit(RK_EVENT_REWARD_ISSUED);
constexpr unsigned kOrders = bit(RK_EVENT_ORDER_COMPLETED) | bit(RK_EVENT_ORDER_REFUNDED) | bit(RK_EVENT_ORDER_CANCELLED);

struct StringField {
  const char* name;
  unsigned kinds;
  std::string* (*member)(rk_event&);
};

const StringField kStringFields[] = {
    {"user_id", kAll, [](rk_event& e) { return &e.identity.user_id; }},
    {"anonymous_id", kAll, [](rk_event& e) { return &e.identity.anonymous_id; }},
    {"referral_code", kAll, [](rk_event& e) { return &e.referral_code; }},
    {"ip", kAll, [](rk_event& e) { return &e.context.ip; }},
    {"user_agent", kAll, [](rk_event& e) { return &e.context.user_agent; }},
    {"locale", kAll, [](rk_event& e) { return &e.context.locale; }},
    {"page_url", kAll, [](rk_event& e) { return &e.context.page_url; }},
    {"referrer_url", kAll, [](rk_event& e) { return &e.context.referrer_url; }},
    {"campaign", bit(RK_EVENT_REFERRAL_LINK_CREATED), [](rk_event& e) { return &e.campaign; }},
    {"link_url", bit(RK_EVENT_REFERRAL_LINK_CREATED), [](rk_event& e) { return &e.link_url; }},
    {"channel", bit(RK_EVENT_REFERRAL_LINK_SHARED), [](rk_event& e) { return &e.channel; }},
    {"landing_url", bit(RK_EVENT_REFERRAL_LINK_CLICKED), [](rk_event& e) { return &e.landing_url; }},
    {"email", bit(RK_EVENT_REFEREE_SIGNED_UP) | bit(RK_EVENT_ORDER_COMPLETED), [](rk_event& e) { return &e.email; }},
    {"order_id", kOrders, [](rk_event& e) { return &e.order_id; }},
    {"coupon", bit(RK_EVENT_ORDER_COMPLETED), [](rk_event& e) { return &e.coupon; }},
    {"reward_id", bit(RK_EVENT_REWARD_ISSUED), [](rk_event& e) { return &e.reward_id; }},
    {"reward_type", bit(RK_EVENT_REWARD_ISSUED), [](rk_event& e) { return &e.reward_type; }},
};

struct MoneyField {
  const char* name;
  unsigned kinds;
  std::optional<referkit::Money>* (*member)(rk_event&);
};

const MoneyField kMoneyFields[] = {
    {"total", bit(RK_EVENT_ORDER_COMPLETED), [](rk_event& e) { return &e.total; }},
    {"subtotal", bit(RK_EVENT_ORDER_COMPLETED), [](rk_event& e) { return &e.subtotal; }},
    {"amount", bit(RK_EVENT_ORDER_REFUNDED) | bit(RK_EVENT_REWARD_ISSUED), [](rk_event& e) { return &e.amount; }},
};

template <typename Field, std::size_t N>
const Field* find_field(const Field (&table)[N], std::string_view name, rk_event_kind kind) {
  for (const Field& f : table) {
    if (name == f.name && (f.kinds & bit(kind)) != 0) return &f;
  }
  return nullptr;
}

rk_status no_such_field(std::string_view name, std::string_view type) {
  return capi::fail(RK_NOT_FOUND, "this kind of event has no " + std::string(type) + " field '" +
                                      std::string(name) + "'");
}

template <typename Typed>
rk_status track_typed(rk_tracker* t, const Typed& e) {
  return capi::to_rk(t->tracker.track(e));
}

// Each kind's C++ event from the draft; the Money a kind requires is taken empty when unset, so
// that the C++ check names the missing field.
rk_status track_draft(rk_tracker* t, const rk_event& d) {
  switch (d.kind) {
    case RK_EVENT_REFERRAL_LINK_CREATED:
      return track_typed(t, referkit::ReferralLinkCreated{d.identity, d.referral_code, d.campaign, d.link_url, d.context});
    case RK_EVENT_REFERRAL_LINK_SHARED:
      return track_typed(t, referkit::ReferralLinkShared{d.identity, d.referral_code, d.channel, d.context});
    case RK_EVENT_REFERRAL_LINK_CLICKED:
      return track_typed(t, referkit::ReferralLinkClicked{d.identity, d.referral_code, d.landing_url, d.context});
    case RK_EVENT_REFEREE_SIGNED_UP:
      return track_typed(t, referkit::RefereeSignedUp{d.identity, d.referral_code, d.email, d.context});
    case RK_EVENT_ORDER_COMPLETED: {
      referkit::OrderCompleted e;
      e.customer = d.identity;
      e.order_id = d.order_id;
      e.total = d.total.value_or(referkit::Money{});
      e.subtotal = d.subtotal;
      e.coupon = d.coupon;
      e.new_customer = d.new_customer;
      e.referral_code = d.referral_code;
      e.email = d.email;
      e.products = d.products;
      e.context = d.context;
      return track_typed(t, e);
    }
    case RK_EVENT_ORDER_REFUNDED:
      return track_typed(t, referkit::OrderRefunded{d.identity, d.order_id, d.amount.value_or(referkit::Money{}),
                                                    d.referral_code, d.context});
    case RK_EVENT_ORDER_CANCELLED:
      return track_typed(t, referkit::OrderCancelled{d.identity, d.order_id, d.referral_code, d.context});
    case RK_EVENT_REWARD_ISSUED:
      return track_typed(t, referkit::RewardIssued{d.identity, d.reward_id, d.reward_type, d.amount,
                                                   d.referral_code, d.context});
  }
  return capi::fail(RK_INTERNAL, "event of an unknown kind");
}

}  // namespace

extern "C" {

rk_status rk_event_new(rk_event_kind kind, rk_event** out) {
  return guarded([&] {
    if (out == nullptr) return capi::null_handle("out");
    *out = nullptr;
    const int k = capi::enum_arg(kind);
    if (k < RK_EVENT_REFERRAL_LINK_CREATED || k > RK_EVENT_REWARD_ISSUED) {
      return capi::fail(RK_INVALID_ARGUMENT, "kind: not an rk_event_kind");
    }
    *out = new rk_event{};
    (*out)->kind = static_cast<rk_event_kind>(k);
    return RK_OK;
  });
}

void rk_event_free(rk_event* event) { delete event; }

rk_status rk_event_set_string(rk_event* event, const char* field, size_t field_len, const char* value,
                              size_t value_len) {
  return guarded([&] {
    if (event == nullptr) return capi::null_handle("event");
    std::string_view name, text;
    if (rk_status s = capi::text_arg(field, field_len, "field", name); s != RK_OK) return s;
    if (rk_status s = capi::text_arg(value, value_len, name, text); s != RK_OK) return s;
    const StringField* f = find_field(kStringFields, name, event->kind);
    if (f == nullptr) return no_such_field(name, "string");
    f->member(*event)->assign(text);
    return RK_OK;
  });
}

rk_status rk_event_set_money(rk_event* event, const char* field, size_t field_len, int64_t minor_units,
                             const char* currency, size_t currency_len) {
  return guarded([&] {
    if (event == nullptr) return capi::null_handle("event");
    std::string_view name, code;
    if (rk_status s = capi::text_arg(field, field_len, "field", name); s != RK_OK) return s;
    if (rk_status s = capi::text_arg(currency, currency_len, "currency", code); s != RK_OK) return s;
    const MoneyField* f = find_field(kMoneyFields, name, event->kind);
    if (f == nullptr) return no_such_field(name, "money");
    *f->member(*event) = referkit::Money{minor_units, std::string(code)};
    return RK_OK;
  });
}

rk_status rk_event_set_bool(rk_event* event, const char* field, size_t field_len, int value) {
  return guarded([&] {
    if (event == nullptr) return capi::null_handle("event");
    std::string_view name;
    if (rk_status s = capi::text_arg(field, field_len, "field", name); s != RK_OK) return s;
    if (name != "new_customer" || event->kind != RK_EVENT_ORDER_COMPLETED) return no_such_field(name, "bool");
    event->new_customer = value != 0;
    return RK_OK;
  });
}

rk_status rk_event_add_product(rk_event* event, const char* sku, size_t sku_len, const char* name,
                               size_t name_len, int64_t quantity, int64_t unit_price_minor_units,
                               const char* currency, size_t currency_len, const char* category,
                               size_t category_len) {
  return guarded([&] {
    if (event == nullptr) return capi::null_handle("event");
    if (event->kind != RK_EVENT_ORDER_COMPLETED) return no_such_field("products", "line item");
    std::string_view sku_v, name_v, currency_v, category_v;
    if (rk_status s = capi::text_arg(sku, sku_len, "sku", sku_v); s != RK_OK) return s;
    if (rk_status s = capi::text_arg(name, name_len, "name", name_v); s != RK_OK) return s;
    if (rk_status s = capi::text_arg(currency, currency_len, "currency", currency_v); s != RK_OK) return s;
    if (rk_status s = capi::text_arg(category, category_len, "category", category_v); s != RK_OK) return s;
    referkit::LineItem item;
    item.sku = std::string(sku_v);
    item.name = std::string(name_v);
    item.quantity = quantity;
    item.unit_price = referkit::Money{unit_price_minor_units, std::string(currency_v)};
    item.category = std::string(category_v);
    event->products.push_back(std::move(item));
    return RK_OK;
  });
}

rk_status rk_tracker_track_event(rk_tracker* tracker, const rk_event* event) {
  return guarded([&] {
    if (tracker == nullptr) return capi::null_handle("tracker");
    if (event == nullptr) return capi::null_handle("event");
    return track_draft(tracker, *event);
  });
}

}  // extern "C"
