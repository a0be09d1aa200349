// The typed referral events straight to their wire JSON: the same bytes as
// serialize_event(to_event(e)), without building an Event and its Value tree first (which cost
// more than the serialization itself). Tracker::track(const OrderCompleted&) and the like.
#ifndef REFERKIT_SRC_EVENTS_TYPED_SERIALIZER_HPP
#define REFERKIT_SRC_EVENTS_TYPED_SERIALIZER_HPP

#include "events/event_serializer.hpp"
#include "referkit/events.hpp"

namespace referkit::detail {

// Defined for the eight referral events of referkit/events.hpp. Errors are to_event()'s, then
// serialize_event()'s, with the same messages (an event over the size limit says "event is N
// bytes serialized", never "at least").
//
// `reuse`, when given, is a buffer for the event's text that the caller lends (the tracker's
// memory queue recycles delivered events' strings): when its capacity holds the text without
// much to spare, the text goes into it and the buffer moves into the result, with no
// allocation; otherwise it is freed and the text gets an exactly sized string, as without it.
// Either way `reuse` is left empty.
template <typename Typed>
Result<SerializedEvent> serialize_typed(const Typed& event, TimePoint now, MessageIdWriter make_id = &write_uuid_v7,
                                        IpPolicy ip_policy = IpPolicy::kTruncate, std::string* reuse = nullptr);

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_EVENTS_TYPED_SERIALIZER_HPP
