// Events: what the tracker records. A generic Event (Segment's track and identify) with JSON
// properties, and typed builders for the referral vocabulary that validate their required fields
// and never send PII raw (emails go out only as email_sha256).
#ifndef REFERKIT_EVENTS_HPP
#define REFERKIT_EVENTS_HPP

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "referkit/export.hpp"
#include "referkit/status.hpp"
#include "referkit/time.hpp"

namespace referkit {
inline namespace v1 {

// A JSON value for properties, traits and context. Numbers are exact: integers, or decimals
// kept as their text ("19.99"), never a double. Objects keep insertion order; setting an
// existing key replaces its value.
//
// Thread safety: a plain value, like std::string: const methods may be called from any number of
// threads at once; set(), push() and reserve() must not run while another thread reads the same
// Value.
class REFERKIT_EXPORT Value {
 public:
  enum class Kind { kNull, kBool, kInteger, kDecimal, kString, kArray, kObject };

  Value() = default;  // null
  Value(bool b) : kind_(Kind::kBool), integer_(b ? 1 : 0) {}                       // NOLINT
  Value(int i) : kind_(Kind::kInteger), integer_(i) {}                             // NOLINT
  Value(long i) : kind_(Kind::kInteger), integer_(i) {}                            // NOLINT
  Value(long long i) : kind_(Kind::kInteger), integer_(i) {}                       // NOLINT
  // A null pointer is JSON null (rather than undefined behaviour in std::string).
  Value(const char* s) : kind_(s ? Kind::kString : Kind::kNull), text_(s ? s : "") {}  // NOLINT
  Value(std::string s) : kind_(Kind::kString), text_(std::move(s)) {}              // NOLINT
  Value(std::string_view s) : kind_(Kind::kString), text_(s) {}                    // NOLINT

  [[nodiscard]] static Value object() { return Value(Kind::kObject); }
  [[nodiscard]] static Value array() { return Value(Kind::kArray); }
  // "-12.50", "0.001", "42": an optional minus, digits, an optional fraction. At most 40 chars;
  // without a fraction, within -2^63..2^64-1 (larger integers make common JSON parsers, such as
  // simdjson's DOM, refuse the whole batch).
  static Result<Value> decimal(std::string_view text);

  // Objects: adds or replaces key. Arrays: appends. Calling the wrong one is a no-op that
  // returns *this; the kind never changes behind the caller's back.
  Value& set(std::string key, Value value);
  Value& push(Value value);
  // An object from its members in order, in linear time: set() looks for an existing key, so an
  // object of n keys built with it costs n^2/2 comparisons (a 100,000-key line took seconds). A
  // repeated key keeps its first position and its last value, as with set(). Extra keys or values
  // (sizes differ) are ignored.
  [[nodiscard]] static Value object_from(std::vector<std::string> keys, std::vector<Value> values);
  // Objects and arrays: room for n members without reallocating (a hint; other kinds ignore it).
  Value& reserve(std::size_t n);

  [[nodiscard]] Kind kind() const noexcept { return kind_; }
  [[nodiscard]] bool as_bool() const noexcept { return integer_ != 0; }
  [[nodiscard]] std::int64_t as_integer() const noexcept { return integer_; }
  [[nodiscard]] const std::string& text() const noexcept { return text_; }  // string or decimal text
  [[nodiscard]] const std::vector<Value>& items() const noexcept { return items_; }      // array items, object values
  [[nodiscard]] const std::vector<std::string>& keys() const noexcept { return keys_; }  // object keys
  [[nodiscard]] const Value* find(std::string_view key) const noexcept;                  // object member or null

 private:
  explicit Value(Kind kind) : kind_(kind) {}
  Kind kind_ = Kind::kNull;
  std::int64_t integer_ = 0;
  std::string text_;
  std::vector<std::string> keys_;
  std::vector<Value> items_;
};

// An amount of money: integer minor units of an ISO 4217 currency (1999 USD is 19.99 USD).
struct Money {
  std::int64_t minor_units = 0;
  std::string currency;  // "USD", "JPY", "KWD"
};

// The number of decimal digits of an ISO 4217 currency (USD 2, JPY 0, KWD 3, CLF 4);
// kInvalidArgument for a code that is not an active ISO 4217 currency.
REFERKIT_EXPORT Result<int> currency_exponent(std::string_view currency);
// The decimal text of an amount with its currency's exponent: {1999,"USD"} -> "19.99",
// {-5,"KWD"} -> "-0.005", {500,"JPY"} -> "500".
REFERKIT_EXPORT Result<std::string> format_money(const Money& money);

// Lowercase hex SHA-256 of the trimmed, lowercased address (the ad platforms' convention).
[[nodiscard]] REFERKIT_EXPORT std::string email_sha256(std::string_view email);

// How the client IP of an event's context (context.ip) is sent: TrackerOptions::ip_policy.
enum class IpPolicy {
  kTruncate,  // the network only: 203.0.113.7 -> 203.0.113.0 (/24), 2001:db8:1:2::7 -> 2001:db8:1:: (/48)
  kKeep,      // as given
  kDrop,      // not sent
};

// The network part of an IPv4 (/24) or IPv6 (/48) address in its canonical text;
// kInvalidArgument for anything that is not an address.
REFERKIT_EXPORT Result<std::string> truncate_ip(std::string_view ip);

enum class EventType { kTrack, kIdentify };

// Which of the tracker's queues an event waits in. Each lane has its own budget and can be paused
// on its own; when both have events to send, conversions go first, so a flood of clicks never
// delays or crowds out an order. The typed events choose their lane: signups, orders, refunds,
// cancellations and rewards are conversions; link created, shared and clicked are engagement.
enum class Lane : std::uint8_t { kConversions = 0, kEngagement = 1 };
inline constexpr std::size_t kLaneCount = 2;
REFERKIT_EXPORT std::string_view to_string(Lane lane) noexcept;

struct Event {
  EventType type = EventType::kTrack;
  std::string name;          // track: required, e.g. "Order Completed"; identify: unused
  std::string user_id;       // at least one of user_id and anonymous_id
  std::string anonymous_id;
  Value properties = Value::object();  // track
  Value traits = Value::object();      // identify
  Value context = Value::object();
  std::optional<TimePoint> timestamp;  // when it happened; unset means now (set it for backfills)
  // Unset means a UUIDv7 made at track(). Set it only to forward an id an upstream system already
  // assigned (1-100 printable ASCII): the ingest side deduplicates on it.
  std::string message_id;
  // Unset means kEngagement. to_event() sets it for the typed events, so that tracking one as an
  // Event puts it in the same lane as tracking it directly.
  std::optional<Lane> lane;
};

// Limits of the wire contract, enforced at track().
inline constexpr std::size_t kMaxEventBytes = 32 * 1024;
inline constexpr std::size_t kMaxIdBytes = 256;  // userId, anonymousId

// The request a typed event came from, sent as Segment's context.ip, context.userAgent,
// context.locale and context.page {url, referrer}. Every field is optional.
struct RequestContext {
  std::string ip;            // IPv4 or IPv6; sent as TrackerOptions::ip_policy says (truncated by default)
  std::string user_agent;    // at most 1,024 bytes
  std::string locale;        // "en-GB"; at most 35 bytes
  std::string page_url;      // at most 2,048 bytes
  std::string referrer_url;  // at most 2,048 bytes
};

// One line of an order, sent in the `products` array of Segment's e-commerce spec as
// {"sku","name","price","quantity","category"}.
struct LineItem {
  std::string sku;            // required; at most 256 bytes
  std::string name;           // at most 256 bytes
  std::int64_t quantity = 1;  // 1 to 1,000,000
  Money unit_price;           // required; in the order's currency
  std::string category;       // at most 256 bytes
};
inline constexpr std::size_t kMaxLineItems = 250;

// ---- The referral vocabulary. Each to_event() checks its required fields and limits
// ---- (kInvalidArgument names the field) and puts `referral_code` (a link token or share code)
// ---- in the properties when known. The members added after the first release (context,
// ---- products) have default initializers, so brace-initializing the older ones still compiles
// ---- warning-free.

struct Identity {
  std::string user_id;
  std::string anonymous_id;
};

struct ReferralLinkCreated {
  Identity referrer;
  std::string referral_code;  // required
  std::string campaign;       // required
  std::string link_url;
  RequestContext context{};  // the request it came from, if any
};

struct ReferralLinkShared {
  Identity referrer;
  std::string referral_code;  // required
  std::string channel;        // required: "email", "sms", "whatsapp", "copy_link"...
  RequestContext context{};  // the request it came from, if any
};

struct ReferralLinkClicked {
  Identity visitor;
  std::string referral_code;  // required
  std::string landing_url;    // required
  RequestContext context{};  // the request it came from, if any
};

struct RefereeSignedUp {
  Identity referee;
  std::string referral_code;  // required
  std::string email;          // optional; sent only as email_sha256
  RequestContext context{};  // the request it came from, if any
};

struct OrderCompleted {
  Identity customer;
  std::string order_id;  // required
  Money total;           // required (currency required)
  std::optional<Money> subtotal;  // same currency as total
  std::string coupon;
  bool new_customer = false;
  std::string referral_code;
  std::string email;  // optional; sent only as email_sha256
  std::vector<LineItem> products{};  // at most kMaxLineItems
  RequestContext context{};  // the request it came from, if any
};

struct OrderRefunded {
  Identity customer;
  std::string order_id;  // required
  Money amount;          // required: the refunded amount
  std::string referral_code;
  RequestContext context{};  // the request it came from, if any
};

struct OrderCancelled {
  Identity customer;
  std::string order_id;  // required
  std::string referral_code;
  RequestContext context{};  // the request it came from, if any
};

struct RewardIssued {
  Identity recipient;
  std::string reward_id;    // required
  std::string reward_type;  // required: "coupon", "credit", "cash", "gift"...
  std::optional<Money> amount;
  std::string referral_code;
  RequestContext context{};  // the request it came from, if any
};

REFERKIT_EXPORT Result<Event> to_event(const ReferralLinkCreated& e);
REFERKIT_EXPORT Result<Event> to_event(const ReferralLinkShared& e);
REFERKIT_EXPORT Result<Event> to_event(const ReferralLinkClicked& e);
REFERKIT_EXPORT Result<Event> to_event(const RefereeSignedUp& e);
REFERKIT_EXPORT Result<Event> to_event(const OrderCompleted& e);
REFERKIT_EXPORT Result<Event> to_event(const OrderRefunded& e);
REFERKIT_EXPORT Result<Event> to_event(const OrderCancelled& e);
REFERKIT_EXPORT Result<Event> to_event(const RewardIssued& e);

}  // namespace v1
}  // namespace referkit

#endif  // REFERKIT_EVENTS_HPP
