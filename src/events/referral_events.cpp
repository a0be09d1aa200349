// to_event(): the typed referral events as an Event the caller can inspect or amend before
// track(). The events themselves are described in referral_fields.hpp.
#include <string>
#include <string_view>
#include <utility>

#include "events/referral_fields.hpp"
#include "referkit/events.hpp"

namespace referkit {
inline namespace v1 {
namespace {

// describe()'s Out that builds the Event in place, its properties reserved up front.
class EventBuilder {
 public:
  void begin(const char* name, const Identity& who, std::size_t properties) {
    event_.type = EventType::kTrack;
    event_.name = name;
    event_.user_id = who.user_id;
    event_.anonymous_id = who.anonymous_id;
    event_.properties.reserve(properties);
  }
  void text(const char* key, std::string_view s) { event_.properties.set(key, Value(s)); }
  // money_text's output is always a valid decimal, so this never fails.
  void decimal(const char* key, std::string_view text) { event_.properties.set(key, std::move(*Value::decimal(text))); }
  void boolean(const char* key, bool b) { event_.properties.set(key, b); }
  Status end() { return Status(); }

  Event take() { return std::move(event_); }

 private:
  Event event_;
};

template <typename Typed>
Result<Event> build(const Typed& in) {
  EventBuilder builder;
  if (Status s = detail::describe(in, builder); !s.ok()) return s;
  return builder.take();
}

}  // namespace

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
