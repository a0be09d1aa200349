#include <doctest/doctest.h>
#include <simdjson.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "events/event_serializer.hpp"
#include "events/referral_fields.hpp"
#include "referkit/events.hpp"

using namespace referkit;

namespace {

const TimePoint kNow = TimePoint(std::chrono::milliseconds(1'795'771'800'123));

// Builds, serializes and parses: what the platform will actually receive.
class Sent {
 public:
  template <typename Typed>
  explicit Sent(const Typed& typed) {
    auto event = to_event(typed);
    INFO(event.status().to_string());
    REQUIRE(event.ok());
    event_ = std::move(*event);
    auto s = detail::serialize_event(event_, kNow);
    INFO(s.status().to_string());
    REQUIRE(s.ok());
    json = std::move(s->json);
    REQUIRE(parser_.parse(json).get(doc_) == simdjson::SUCCESS);
  }

  std::string str(const char* pointer) {
    std::string_view sv;
    INFO(pointer, " in ", json);
    REQUIRE(doc_.at_pointer(pointer).get_string().get(sv) == simdjson::SUCCESS);
    return std::string(sv);
  }
  bool has(const char* pointer) {
    simdjson::dom::element el;
    return doc_.at_pointer(pointer).get(el) == simdjson::SUCCESS;
  }
  bool boolean(const char* pointer) {
    bool b = false;
    INFO(pointer, " in ", json);
    REQUIRE(doc_.at_pointer(pointer).get_bool().get(b) == simdjson::SUCCESS);
    return b;
  }
  // Property names in order.
  std::vector<std::string> property_names() {
    std::vector<std::string> names;
    simdjson::dom::object props;
    REQUIRE(doc_.at_pointer("/properties").get_object().get(props) == simdjson::SUCCESS);
    for (auto field : props) names.emplace_back(field.key);
    return names;
  }
  const Event& event() const { return event_; }

  std::string json;

 private:
  Event event_;
  simdjson::dom::parser parser_;
  simdjson::dom::element doc_;
};

template <typename Typed>
std::string refused(const Typed& typed) {
  auto r = to_event(typed);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  return r.status().message();
}

using Names = std::vector<std::string>;

Identity user(std::string id) { return Identity{std::move(id), ""}; }

OrderCompleted full_order() {
  OrderCompleted o;
  o.customer = Identity{"cust-7", "anon-7"};
  o.order_id = "ord-1001";
  o.total = Money{10'499, "EUR"};
  o.subtotal = Money{9'999, "EUR"};
  o.coupon = "ALICE-7K2M";
  o.new_customer = true;
  o.referral_code = "ALICE-7K2M";
  o.email = "  Bob.Smith@Example.COM\n";
  return o;
}

}  // namespace

TEST_SUITE("events") {

TEST_CASE("email_sha256 trims, lowercases ASCII and hashes") {
  const std::string expected = "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b";
  CHECK(email_sha256("test@example.com") == expected);
  CHECK(email_sha256("  TEST@Example.Com \t\r\n") == expected);
  CHECK(email_sha256("\vtest@example.com\f") == expected);
  CHECK(email_sha256("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(email_sha256("   ") == email_sha256(""));
  // Only ASCII is folded: the ad platforms hash the same way.
  CHECK(email_sha256("\xc3\x89@example.com") != email_sha256("\xc3\xa9@example.com"));
  // Inner spaces are kept.
  CHECK(email_sha256("a b@example.com") != email_sha256("ab@example.com"));
}

TEST_CASE("Referral Link Created") {
  ReferralLinkCreated in{user("alice"), "ALICE-7K2M", "bf-2026", "https://go.shop.example/r/abc"};
  Sent s(in);
  CHECK(s.str("/event") == "Referral Link Created");
  CHECK(s.str("/userId") == "alice");
  CHECK_FALSE(s.has("/anonymousId"));
  CHECK(s.property_names() == Names{"referral_code", "campaign", "link_url"});
  CHECK(s.str("/properties/referral_code") == "ALICE-7K2M");
  CHECK(s.str("/properties/campaign") == "bf-2026");
  CHECK(s.str("/properties/link_url") == "https://go.shop.example/r/abc");

  in.link_url.clear();
  CHECK(Sent(in).property_names() == Names{"referral_code", "campaign"});

  CHECK(refused(ReferralLinkCreated{user("alice"), "", "bf", ""}) == "referral_code is required");
  CHECK(refused(ReferralLinkCreated{user("alice"), "C", "", ""}) == "campaign is required");
  CHECK(refused(ReferralLinkCreated{Identity{}, "C", "bf", ""}) ==
        "referrer.user_id or referrer.anonymous_id is required");
}

TEST_CASE("Referral Link Shared") {
  Sent s(ReferralLinkShared{Identity{"", "anon-1"}, "ALICE-7K2M", "whatsapp"});
  CHECK(s.str("/event") == "Referral Link Shared");
  CHECK(s.str("/anonymousId") == "anon-1");
  CHECK_FALSE(s.has("/userId"));
  CHECK(s.property_names() == Names{"referral_code", "channel"});
  CHECK(s.str("/properties/channel") == "whatsapp");

  CHECK(refused(ReferralLinkShared{user("a"), "", "sms"}) == "referral_code is required");
  CHECK(refused(ReferralLinkShared{user("a"), "C", ""}) == "channel is required");
  CHECK(refused(ReferralLinkShared{Identity{}, "C", "sms"}) ==
        "referrer.user_id or referrer.anonymous_id is required");
}

TEST_CASE("Referral Link Clicked") {
  Sent s(ReferralLinkClicked{Identity{"", "visitor-9"}, "ALICE-7K2M", "https://shop.example/?ref=x"});
  CHECK(s.str("/event") == "Referral Link Clicked");
  CHECK(s.property_names() == Names{"referral_code", "landing_url"});
  CHECK(s.str("/properties/landing_url") == "https://shop.example/?ref=x");

  CHECK(refused(ReferralLinkClicked{user("v"), "", "https://x"}) == "referral_code is required");
  CHECK(refused(ReferralLinkClicked{user("v"), "C", ""}) == "landing_url is required");
  CHECK(refused(ReferralLinkClicked{Identity{}, "C", "https://x"}) ==
        "visitor.user_id or visitor.anonymous_id is required");
}

TEST_CASE("Referee Signed Up sends the email only as its hash") {
  const std::string email = "Bob.Smith@Example.COM";
  Sent s(RefereeSignedUp{user("bob"), "ALICE-7K2M", " " + email + " "});
  CHECK(s.str("/event") == "Referee Signed Up");
  CHECK(s.property_names() == Names{"referral_code", "email_sha256"});
  CHECK(s.str("/properties/email_sha256") == email_sha256("bob.smith@example.com"));
  CHECK(s.json.find(email) == std::string::npos);
  CHECK(s.json.find("bob.smith") == std::string::npos);
  CHECK(s.json.find("Example") == std::string::npos);

  CHECK(Sent(RefereeSignedUp{user("bob"), "C", ""}).property_names() == Names{"referral_code"});
  CHECK(Sent(RefereeSignedUp{user("bob"), "C", " \t"}).property_names() == Names{"referral_code"});
  CHECK(refused(RefereeSignedUp{user("bob"), "", email}) == "referral_code is required");
  CHECK(refused(RefereeSignedUp{Identity{}, "C", email}) ==
        "referee.user_id or referee.anonymous_id is required");
}

TEST_CASE("Order Completed carries exact money and hashes the email") {
  Sent s(full_order());
  CHECK(s.str("/event") == "Order Completed");
  CHECK(s.str("/userId") == "cust-7");
  CHECK(s.str("/anonymousId") == "anon-7");
  CHECK(s.property_names() == Names{"order_id", "total", "subtotal", "currency", "coupon", "new_customer",
                                    "referral_code", "email_sha256"});
  // Numbers, written from integer minor units, never through a double.
  CHECK(s.json.find(R"("total":104.99,"subtotal":99.99,"currency":"EUR")") != std::string::npos);
  CHECK(s.event().properties.find("total")->kind() == Value::Kind::kDecimal);
  CHECK(s.boolean("/properties/new_customer"));
  CHECK(s.str("/properties/coupon") == "ALICE-7K2M");
  CHECK(s.str("/properties/email_sha256") == email_sha256("bob.smith@example.com"));
  CHECK(s.json.find("Bob") == std::string::npos);
  CHECK(s.json.find("bob.smith@") == std::string::npos);
  CHECK(s.json.find("xample") == std::string::npos);
}

TEST_CASE("Order Completed: optional fields are left out, new_customer is always sent") {
  OrderCompleted o;
  o.customer = user("c");
  o.order_id = "o";
  o.total = Money{500, "JPY"};
  Sent s(o);
  CHECK(s.property_names() == Names{"order_id", "total", "currency", "new_customer"});
  CHECK(s.json.find(R"("total":500,"currency":"JPY","new_customer":false)") != std::string::npos);
  CHECK_FALSE(s.boolean("/properties/new_customer"));

  o.total = Money{-5, "KWD"};
  CHECK(Sent(o).json.find(R"("total":-0.005,)") != std::string::npos);
}

TEST_CASE("Order Completed validation names the field") {
  auto o = full_order();
  o.order_id.clear();
  CHECK(refused(o) == "order_id is required");

  o = full_order();
  o.customer = Identity{};
  CHECK(refused(o) == "customer.user_id or customer.anonymous_id is required");

  o = full_order();
  o.total.currency.clear();
  o.subtotal.reset();
  CHECK(refused(o) == "total.currency is required");

  o = full_order();
  o.subtotal->currency = "USD";
  CHECK(refused(o) == R"(subtotal.currency "USD" differs from total.currency "EUR")");

  o = full_order();
  o.total.currency = "eur";
  o.subtotal->currency = "eur";
  const std::string lower = refused(o);
  CHECK(lower.rfind("total: ", 0) == 0);
  CHECK(lower.find("use \"EUR\"") != std::string::npos);

  o = full_order();
  o.total.currency = "XYZ";
  o.subtotal->currency = "XYZ";
  CHECK(refused(o).find("not an active ISO 4217") != std::string::npos);
}

TEST_CASE("Order Refunded") {
  OrderRefunded r{user("c"), "ord-1001", Money{2'550, "USD"}, "ALICE-7K2M"};
  Sent s(r);
  CHECK(s.str("/event") == "Order Refunded");
  CHECK(s.property_names() == Names{"order_id", "total", "currency", "referral_code"});
  CHECK(s.json.find(R"("total":25.50,"currency":"USD")") != std::string::npos);

  r.referral_code.clear();
  CHECK(Sent(r).property_names() == Names{"order_id", "total", "currency"});

  CHECK(refused(OrderRefunded{user("c"), "", Money{1, "USD"}, ""}) == "order_id is required");
  CHECK(refused(OrderRefunded{user("c"), "o", Money{1, ""}, ""}) == "amount.currency is required");
  CHECK(refused(OrderRefunded{Identity{}, "o", Money{1, "USD"}, ""}) ==
        "customer.user_id or customer.anonymous_id is required");
}

TEST_CASE("Order Cancelled") {
  Sent s(OrderCancelled{user("c"), "ord-1001", "ALICE-7K2M"});
  CHECK(s.str("/event") == "Order Cancelled");
  CHECK(s.property_names() == Names{"order_id", "referral_code"});
  CHECK(refused(OrderCancelled{user("c"), "", ""}) == "order_id is required");
  CHECK(refused(OrderCancelled{Identity{}, "o", ""}) ==
        "customer.user_id or customer.anonymous_id is required");
}

TEST_CASE("Reward Issued") {
  RewardIssued r{user("alice"), "rw-1", "credit", Money{1'000, "GBP"}, "ALICE-7K2M"};
  Sent s(r);
  CHECK(s.str("/event") == "Reward Issued");
  CHECK(s.property_names() == Names{"reward_id", "reward_type", "amount", "currency", "referral_code"});
  CHECK(s.json.find(R"("amount":10.00,"currency":"GBP")") != std::string::npos);

  r.amount.reset();
  r.referral_code.clear();
  CHECK(Sent(r).property_names() == Names{"reward_id", "reward_type"});

  CHECK(refused(RewardIssued{user("a"), "", "coupon", {}, ""}) == "reward_id is required");
  CHECK(refused(RewardIssued{user("a"), "rw", "", {}, ""}) == "reward_type is required");
  CHECK(refused(RewardIssued{user("a"), "rw", "cash", Money{1, "usd"}, ""}).find("amount: ") == 0);
  CHECK(refused(RewardIssued{Identity{}, "rw", "cash", {}, ""}) ==
        "recipient.user_id or recipient.anonymous_id is required");
}

TEST_CASE("builders leave timestamp and message id to track()") {
  auto e = to_event(OrderCancelled{user("c"), "o", ""});
  REQUIRE(e.ok());
  CHECK_FALSE(e->timestamp.has_value());
  CHECK(e->message_id.empty());
  CHECK(e->type == EventType::kTrack);
}

}  // TEST_SUITE

TEST_SUITE("events") {

TEST_CASE("an event known only by its name gets the lane its typed event has") {
  // lane_of_name() lists the names by hand: this holds it to the typed events' own lanes.
  auto same_lane = [](const auto& typed) {
    const Event e = to_event(typed).value();
    INFO(e.name);
    CHECK(detail::lane_of_name(e.name) == detail::lane_of(typed));
    CHECK(e.lane == detail::lane_of(typed));
  };
  same_lane(ReferralLinkCreated{user("alice"), "ALICE-7K2M", "bf-2026", ""});
  same_lane(ReferralLinkShared{user("a"), "ALICE-7K2M", "whatsapp"});
  same_lane(ReferralLinkClicked{Identity{"", "v"}, "ALICE-7K2M", "https://shop.example/"});
  same_lane(RefereeSignedUp{user("bob"), "ALICE-7K2M", ""});
  same_lane(full_order());
  same_lane(OrderRefunded{user("c"), "ord-1001", Money{2'550, "USD"}, ""});
  same_lane(OrderCancelled{user("c"), "ord-1001", ""});
  same_lane(RewardIssued{user("alice"), "rw-1", "credit", {}, ""});
  CHECK(detail::lane_of_name("Wishlist Shared") == Lane::kEngagement);
  CHECK(detail::lane_of_name("order completed") == Lane::kEngagement);  // names match exactly
}

}  // TEST_SUITE
