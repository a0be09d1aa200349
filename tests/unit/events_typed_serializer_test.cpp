// The typed events' direct serializer must give exactly what to_event() then serialize_event()
// give: the same bytes, or the same error. Checked field by field over hostile and ordinary
// values, for all eight event types.
#include <doctest/doctest.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "events/event_serializer.hpp"
#include "events/typed_serializer.hpp"
#include "referkit/events.hpp"

namespace referkit {
namespace {

constexpr const char* kFixedId = "0190a8f2-1111-7abc-8def-0123456789ab";
void fixed_id(char* out, TimePoint) { std::memcpy(out, kFixedId, detail::kUuidTextSize); }
const TimePoint kNow = TimePoint(std::chrono::milliseconds(1'795'771'800'123));

// Values every string field is tried with: empty, plain, escapes, non-ASCII, invalid UTF-8,
// over the id limit, over the event limit, far over it.
std::vector<std::string> samples() {
  return {"",
          "ALICE-7K2M",
          "quote\" backslash\\ tab\t nl\n ctl\x01",
          "caf\xc3\xa9 \xf0\x9f\x8e\x81",
          "bad\xff",
          "cut\xc3",
          std::string(300, 'u'),
          std::string(40'000, 'b'),
          std::string(200'000, 'c')};
}

// Compares the two paths for one input; `what` says which field and sample, on failure.
template <typename Typed>
void same_result(const Typed& in, const std::string& what, IpPolicy policy = IpPolicy::kTruncate) {
  INFO(what);
  auto direct = detail::serialize_typed(in, kNow, &fixed_id, policy);
  Result<detail::SerializedEvent> via_event = Status(StatusCode::kInternal, "not run");
  auto event = to_event(in);
  via_event = event.ok() ? detail::serialize_event(*event, kNow, &fixed_id, policy)
                         : Result<detail::SerializedEvent>(event.status());
  REQUIRE(direct.ok() == via_event.ok());
  // Through a buffer lent by the tracker (recycled from a delivered event): the same bytes, or
  // the same error, whether the buffer is used (it fits) or freed (too small, or too big for the
  // queue's bound to hold), and the buffer is left empty.
  const std::size_t size = direct.ok() ? direct->json.size() : 100;
  for (const std::size_t lent_capacity : {std::size_t{0}, size - 1, size, size + size / 8 + 64, size + size / 8 + 65}) {
    INFO("lent capacity " << lent_capacity);
    std::string lent;
    lent.reserve(lent_capacity);
    const char* lent_data = lent.data();
    const bool fits = lent.capacity() >= size && lent.capacity() - size <= size / 8 + 64;
    auto through = detail::serialize_typed(in, kNow, &fixed_id, policy, &lent);
    CHECK(lent.empty());
    REQUIRE(through.ok() == direct.ok());
    if (through.ok()) {
      CHECK(through->json == direct->json);
      CHECK(through->message_id_at == direct->message_id_at);
      CHECK(through->message_id_size == direct->message_id_size);
      CHECK((through->json.data() == lent_data) == fits);
    } else {
      CHECK(through.status().message() == direct.status().message());
    }
  }
  if (direct.ok()) {
    CHECK(direct->json == via_event->json);
    CHECK(direct->message_id_at == via_event->message_id_at);
    CHECK(direct->message_id_size == via_event->message_id_size);
    CHECK(direct->json.capacity() < direct->json.size() + 32);  // sized to fit: the queue holds it
    return;
  }
  CHECK(direct.status().code() == via_event.status().code());
  const std::string& a = direct.status().message();
  const std::string& b = via_event.status().message();
  if (b.rfind("event is at least ", 0) == 0) {
    // serialize_event refuses a far-too-big event before writing it, from its size estimate.
    CHECK(a.rfind("event is ", 0) == 0);
    CHECK(a.find("bytes serialized, over the 32 KiB limit") != std::string::npos);
  } else {
    CHECK(a == b);
  }
}

// Tries every sample in every listed string field of `base`.
template <typename Typed>
void each_field(const Typed& base, const std::vector<std::pair<const char*, std::function<std::string&(Typed&)>>>& fields) {
  same_result(base, "base");
  for (const auto& [name, field] : fields) {
    for (const std::string& sample : samples()) {
      Typed in = base;
      field(in) = sample;
      same_result(in, std::string(name) + " = " + sample.substr(0, 40) + " (" + std::to_string(sample.size()) + " bytes)");
    }
  }
}

Identity who() { return Identity{"cust-7", "anon-7"}; }

}  // namespace

TEST_SUITE("events") {

TEST_CASE("typed serializer: Order Completed, field by field") {
  OrderCompleted o;
  o.customer = who();
  o.order_id = "ord-1001";
  o.total = Money{10'499, "EUR"};
  o.subtotal = Money{9'999, "EUR"};
  o.coupon = "ALICE-7K2M";
  o.new_customer = true;
  o.referral_code = "ALICE-7K2M";
  o.email = "  Bob.Smith@Example.COM\n";
  using F = std::function<std::string&(OrderCompleted&)>;
  each_field<OrderCompleted>(o, {{"user_id", F([](OrderCompleted& x) -> std::string& { return x.customer.user_id; })},
                                 {"anonymous_id", F([](OrderCompleted& x) -> std::string& { return x.customer.anonymous_id; })},
                                 {"order_id", F([](OrderCompleted& x) -> std::string& { return x.order_id; })},
                                 {"coupon", F([](OrderCompleted& x) -> std::string& { return x.coupon; })},
                                 {"referral_code", F([](OrderCompleted& x) -> std::string& { return x.referral_code; })},
                                 {"email", F([](OrderCompleted& x) -> std::string& { return x.email; })},
                                 {"total.currency", F([](OrderCompleted& x) -> std::string& { return x.total.currency; })}});
  // Money: exponents, signs, the extremes, currencies that differ or are not ISO 4217.
  for (const Money& m : {Money{0, "EUR"}, Money{-5, "KWD"}, Money{500, "JPY"}, Money{INT64_MIN, "CLF"},
                         Money{INT64_MAX, "USD"}, Money{1, "eur"}, Money{1, "XYZ"}, Money{1, ""}}) {
    OrderCompleted in = o;
    in.total = m;
    in.subtotal.reset();
    same_result(in, "total " + std::to_string(m.minor_units) + " " + m.currency);
    in.subtotal = Money{1, "EUR"};
    same_result(in, "subtotal EUR, total " + m.currency);
  }
  OrderCompleted bare;
  bare.customer.anonymous_id = "a";
  bare.order_id = "o";
  bare.total = Money{1, "USD"};
  same_result(bare, "only the required fields");
  bare.customer.anonymous_id.clear();
  same_result(bare, "no identity");
}

TEST_CASE("typed serializer: the other seven events, field by field") {
  using S = std::string&;
  each_field<ReferralLinkCreated>(
      ReferralLinkCreated{who(), "ALICE-7K2M", "bf-2026", "https://go.shop.example/r/abc"},
      {{"referral_code", [](ReferralLinkCreated& x) -> S { return x.referral_code; }},
       {"campaign", [](ReferralLinkCreated& x) -> S { return x.campaign; }},
       {"link_url", [](ReferralLinkCreated& x) -> S { return x.link_url; }},
       {"user_id", [](ReferralLinkCreated& x) -> S { return x.referrer.user_id; }}});
  each_field<ReferralLinkShared>(ReferralLinkShared{who(), "ALICE-7K2M", "whatsapp"},
                                 {{"referral_code", [](ReferralLinkShared& x) -> S { return x.referral_code; }},
                                  {"channel", [](ReferralLinkShared& x) -> S { return x.channel; }},
                                  {"anonymous_id", [](ReferralLinkShared& x) -> S { return x.referrer.anonymous_id; }}});
  each_field<ReferralLinkClicked>(ReferralLinkClicked{who(), "ALICE-7K2M", "https://shop.example/?ref=x"},
                                  {{"referral_code", [](ReferralLinkClicked& x) -> S { return x.referral_code; }},
                                   {"landing_url", [](ReferralLinkClicked& x) -> S { return x.landing_url; }}});
  each_field<RefereeSignedUp>(RefereeSignedUp{who(), "ALICE-7K2M", "bob@example.com"},
                              {{"referral_code", [](RefereeSignedUp& x) -> S { return x.referral_code; }},
                               {"email", [](RefereeSignedUp& x) -> S { return x.email; }}});
  each_field<OrderRefunded>(OrderRefunded{who(), "ord-1", Money{-250, "USD"}, "ALICE-7K2M"},
                            {{"order_id", [](OrderRefunded& x) -> S { return x.order_id; }},
                             {"amount.currency", [](OrderRefunded& x) -> S { return x.amount.currency; }},
                             {"referral_code", [](OrderRefunded& x) -> S { return x.referral_code; }}});
  each_field<OrderCancelled>(OrderCancelled{who(), "ord-1", "ALICE-7K2M"},
                             {{"order_id", [](OrderCancelled& x) -> S { return x.order_id; }},
                              {"referral_code", [](OrderCancelled& x) -> S { return x.referral_code; }}});
  RewardIssued reward{who(), "rw-1", "credit", Money{1'000, "GBP"}, "ALICE-7K2M"};
  each_field<RewardIssued>(reward, {{"reward_id", [](RewardIssued& x) -> S { return x.reward_id; }},
                                    {"reward_type", [](RewardIssued& x) -> S { return x.reward_type; }},
                                    {"amount.currency", [](RewardIssued& x) -> S { return x.amount->currency; }},
                                    {"referral_code", [](RewardIssued& x) -> S { return x.referral_code; }}});
  reward.amount.reset();
  same_result(reward, "reward without an amount");
}

TEST_CASE("typed serializer: order lines and the request context, field by field, under every IP policy") {
  OrderCompleted o;
  o.customer = who();
  o.order_id = "ord-2001";
  o.total = Money{4'998, "EUR"};
  o.referral_code = "ALICE-7K2M";
  o.products = {LineItem{"SKU-1", "Mug", 2, Money{1'499, "EUR"}, "kitchen"}, LineItem{"SKU-2", "", 1, Money{2'000, "EUR"}, ""}};
  o.context = RequestContext{"203.0.113.7", "Mozilla/5.0", "en-GB", "https://shop.example/checkout",
                             "https://refer.example/r/x"};
  using F = std::function<std::string&(OrderCompleted&)>;
  each_field<OrderCompleted>(
      o, {{"products[0].sku", F([](OrderCompleted& x) -> std::string& { return x.products[0].sku; })},
          {"products[1].name", F([](OrderCompleted& x) -> std::string& { return x.products[1].name; })},
          {"products[0].category", F([](OrderCompleted& x) -> std::string& { return x.products[0].category; })},
          {"products[1].unit_price.currency",
           F([](OrderCompleted& x) -> std::string& { return x.products[1].unit_price.currency; })},
          {"context.user_agent", F([](OrderCompleted& x) -> std::string& { return x.context.user_agent; })},
          {"context.locale", F([](OrderCompleted& x) -> std::string& { return x.context.locale; })},
          {"context.page_url", F([](OrderCompleted& x) -> std::string& { return x.context.page_url; })},
          {"context.referrer_url", F([](OrderCompleted& x) -> std::string& { return x.context.referrer_url; })}});
  for (const IpPolicy policy : {IpPolicy::kTruncate, IpPolicy::kKeep, IpPolicy::kDrop}) {
    for (const char* ip : {"203.0.113.7", "2001:db8:1:2::7", "::ffff:192.0.2.1", "", "not-an-ip", "300.1.1.1",
                           "1.2.3.4\n", "fe80::1%eth0"}) {
      OrderCompleted in = o;
      in.context.ip = ip;
      same_result(in, std::string("ip ") + ip + " policy " + std::to_string(static_cast<int>(policy)), policy);
      in.context = RequestContext{ip, "", "", "", ""};  // only an ip: dropped, the context is left out
      same_result(in, std::string("only ip ") + ip, policy);
    }
  }
  for (std::int64_t q : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1'000'000}, std::int64_t{1'000'001}}) {
    OrderCompleted in = o;
    in.products[0].quantity = q;
    same_result(in, "quantity " + std::to_string(q));
  }
  OrderCompleted many = o;
  many.products.assign(kMaxLineItems + 1, o.products[0]);
  same_result(many, "one line over the limit");
  many.products.resize(kMaxLineItems);
  same_result(many, "at the line limit");
  // The other events carry the context too.
  ReferralLinkClicked click{who(), "ALICE-7K2M", "https://shop.example/?ref=x"};
  click.context = o.context;
  same_result(click, "clicked with context");
}

TEST_CASE("typed serializer: what order lines and the context look like on the wire") {
  OrderCompleted o;
  o.customer.user_id = "c";
  o.order_id = "o";
  o.total = Money{2'998, "USD"};
  o.products = {LineItem{"SKU-1", "Mug \"XL\"", 2, Money{1'499, "USD"}, "kitchen"}};
  o.context = RequestContext{"2001:db8:1:2::7", "UA", "en-US", "https://s.example/c", ""};
  auto r = detail::serialize_typed(o, kNow, &fixed_id);
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  CHECK(r->json.find(R"("products":[{"sku":"SKU-1","name":"Mug \"XL\"","price":14.99,"quantity":2,"category":"kitchen"}])") !=
        std::string::npos);
  CHECK(r->json.find(R"(},"context":{"ip":"2001:db8:1::","userAgent":"UA","locale":"en-US","page":{"url":"https://s.example/c"}}})") !=
        std::string::npos);
  CHECK(detail::serialize_typed(o, kNow, &fixed_id, IpPolicy::kKeep)->json.find(R"("ip":"2001:db8:1:2::7")") != std::string::npos);
  CHECK(detail::serialize_typed(o, kNow, &fixed_id, IpPolicy::kDrop)->json.find(R"("ip")") == std::string::npos);
  o.products[0].unit_price.currency = "EUR";
  CHECK(detail::serialize_typed(o, kNow, &fixed_id).status().message() ==
        R"(products[0].unit_price.currency "EUR" differs from total.currency "USD")");
  o.products[0].unit_price.currency = "USD";
  o.products[0].quantity = 0;
  CHECK(detail::serialize_typed(o, kNow, &fixed_id).status().message() == "products[0].quantity must be 1 to 1000000, got 0");
  o.products[0].quantity = 1;
  o.context.user_agent.assign(1025, 'u');
  CHECK(detail::serialize_typed(o, kNow, &fixed_id).status().message() ==
        "context.user_agent is 1025 bytes, over the 1024-byte limit");
}

TEST_CASE("truncate_ip: /24 for IPv4, /48 for IPv6, refusals for anything else") {
  CHECK(truncate_ip("203.0.113.7").value() == "203.0.113.0");
  CHECK(truncate_ip("2001:db8:1:2:3:4:5:6").value() == "2001:db8:1::");
  CHECK(truncate_ip("::ffff:192.0.2.1").value() == "::");
  CHECK(truncate_ip("::1").value() == "::");
  for (const char* bad : {"", "x", "1.2.3", "256.1.1.1", "1.2.3.4 ", "fe80::1%eth0", "::::"}) {
    CAPTURE(bad);
    CHECK(truncate_ip(bad).status().code() == StatusCode::kInvalidArgument);
  }
  CHECK_FALSE(truncate_ip(std::string("1.2.3.4\0", 8)).ok());
  CHECK_FALSE(truncate_ip(std::string(100, '1')).ok());
}

TEST_CASE("typed serializer: a generated id is found at message_id_at") {
  OrderCancelled in{who(), "ord-1", ""};
  auto r = detail::serialize_typed(in, kNow);
  REQUIRE(r.ok());
  CHECK(r->message_id().size() == detail::kUuidTextSize);
  CHECK(r->json.compare(r->message_id_at - 13, 13, R"("messageId":")") == 0);
}

}  // TEST_SUITE

}  // namespace referkit
