// to_event(): the typed referral events as an Event the caller can inspect or amend before
// track(). The events themselves are described in referral_fields.hpp.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "events/referral_fields.hpp"
#include "referkit/events.hpp"

namespace referkit {
inline namespace v1 {
namespace {

// describe()'s Out that builds the Event in place, its properties reserved up front. Members go
// to `target_`: the properties, an entry of a list, the context, or an object inside it.
class EventBuilder {
 public:
  void begin(const char* name, const Identity& who, std::size_t properties) {
    event_.type = EventType::kTrack;
    event_.name = name;
    event_.user_id = who.user_id;
    event_.anonymous_id = who.anonymous_id;
    event_.properties.reserve(properties);
  }
  void text(const char* key, std::string_view s) { target_->set(key, Value(s)); }
  // money_text's output is always a valid decimal, so this never fails.
  void decimal(const char* key, std::string_view text) { target_->set(key, std::move(*Value::decimal(text))); }
  void integer(const char* key, std::int64_t n) { target_->set(key, n); }
  void boolean(const char* key, bool b) { target_->set(key, b); }
  void email_sha256(const char* key, std::string_view email) { target_->set(key, Value(referkit::email_sha256(email))); }

  void begin_list(const char* key) {
    list_key_ = key;
    list_ = Value::array();
  }
  void begin_item() {
    item_ = Value::object();
    target_ = &item_;
  }
  void end_item() {
    list_.push(std::move(item_));
    target_ = &event_.properties;
  }
  void end_list() { event_.properties.set(list_key_, std::move(list_)); }

  // The IP goes in as given: TrackerOptions::ip_policy applies when the event is serialized.
  void begin_context() { target_ = &event_.context; }
  void ip(std::string_view text) { event_.context.set("ip", Value(text)); }
  void begin_object(const char* key) {
    object_key_ = key;
    item_ = Value::object();
    target_ = &item_;
  }
  void end_object() {
    event_.context.set(object_key_, std::move(item_));
    target_ = &event_.context;
  }
  Status end() { return Status(); }

  Event take() { return std::move(event_); }

 private:
  Event event_;
  Value* target_ = &event_.properties;
  const char* list_key_ = "";
  const char* object_key_ = "";
  Value list_;
  Value item_;
};

template <typename Typed>
Result<Event> build(const Typed& in) {
  EventBuilder builder;
  if (Status s = detail::describe(in, builder); !s.ok()) return s;
  Event event = builder.take();
  event.lane = detail::lane_of(in);
  return event;
}

}  // namespace

std::string_view to_string(Lane lane) noexcept {
  return lane == Lane::kConversions ? "conversions" : "engagement";
}

Result<Event> to_event(const ReferralLinkCreated& e) { return build(e); }
Result<Event> to_event(const ReferralLinkShared& e) { return build(e); }
Result<Event> to_event(const ReferralLinkClicked& e) { return build(e); }
Result<Event> to_event(const RefereeSignedUp& e) { return build(e); }
Result<Event> to_event(const OrderCompleted& e) { return build(e); }
Result<Event> to_event(const OrderRefunded& e) { return build(e); }
Result<Event> to_event(const OrderCancelled& e) { return build(e); }
Result<Event> to_event(const RewardIssued& e) { return build(e); }

}  // namespace v1
}  // namespace referkit
