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
void same_result(const Typed& in, const std::string& what) {
  INFO(what);
  auto direct = detail::serialize_typed(in, kNow, &fixed_id);
  Result<detail::SerializedEvent> via_event = Status(StatusCode::kInternal, "not run");
  auto event = to_event(in);
  via_event = event.ok() ? detail::serialize_event(*event, kNow, &fixed_id) : Result<detail::SerializedEvent>(event.status());
  REQUIRE(direct.ok() == via_event.ok());
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

TEST_CASE("typed serializer: a generated id is found at message_id_at") {
  OrderCancelled in{who(), "ord-1", ""};
  auto r = detail::serialize_typed(in, kNow);
  REQUIRE(r.ok());
  CHECK(r->message_id().size() == detail::kUuidTextSize);
  CHECK(r->json.compare(r->message_id_at - 13, 13, R"("messageId":")") == 0);
}

}  // TEST_SUITE

}  // namespace referkit
