// Turns an Event into its wire JSON once, at track(): the queue, the spool and every retry carry
// these exact bytes, so a redelivered event keeps its messageId and timestamp.
#ifndef REFERKIT_SRC_EVENTS_EVENT_SERIALIZER_HPP
#define REFERKIT_SRC_EVENTS_EVENT_SERIALIZER_HPP

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "json/json_text.hpp"
#include "events/uuid.hpp"
#include "referkit/events.hpp"
#include "referkit/status.hpp"
#include "referkit/time.hpp"

namespace referkit::detail {

struct SerializedEvent {
  std::string json;
  // Where the message id's text starts in json (just after its opening quote), and its length
  // there, so callers need not search for it (a search can hit an earlier field: an upstream id
  // may be "track"). Not a string of its own: that would be a second allocation per track().
  std::size_t message_id_at = 0;
  std::size_t message_id_size = 0;

  // The id as written in json: the id itself, unless it needed JSON escaping (only an explicit
  // id holding '"' or '\\' can).
  std::string_view message_id() const { return std::string_view(json).substr(message_id_at, message_id_size); }
};

// Makes a message id for an event tracked at `now`: writes exactly kUuidTextSize characters.
// A plain function pointer (not std::function): it is called on every track().
using MessageIdWriter = void (*)(char* out, TimePoint now);

inline constexpr std::size_t kMaxEventNameBytes = 200;
inline constexpr std::size_t kMaxMessageIdBytes = 100;

// Validates and serializes, in the wire field order:
//   {"type":"track","event":...,"messageId":...,"timestamp":...,"userId":...,"anonymousId":...,
//    "properties":{...},"context":{...}}
// (identify: "traits" in place of "event" and "properties"; userId/anonymousId omitted when
// empty; context omitted when empty). The timestamp is e.timestamp, or `now` when unset; the
// message id is e.message_id, or a new one from make_id(now).
//
// kInvalidArgument, naming the field, for: a track without a name or with one over 200 bytes;
// neither user_id nor anonymous_id; an id over kMaxIdBytes; invalid UTF-8 in any string or key;
// nesting over 32 levels; a message_id that is not 1-100 printable ASCII characters;
// properties/traits/context that are not objects; a result over kMaxEventBytes ("event is N
// bytes serialized, over the 32 KiB limit"; "at least N bytes" when far over, as it is then
// refused before it is written).
// context.ip, when it is a string, goes out as ip_policy says; kTruncate refuses (kInvalidArgument,
// "context.ip: ...") one that is not an IPv4 or IPv6 address rather than send it whole.
Result<SerializedEvent> serialize_event(const Event& e, TimePoint now,
                                        MessageIdWriter make_id = &write_uuid_v7,
                                        IpPolicy ip_policy = IpPolicy::kTruncate);

// ---- The pieces serialize_event is made of, shared with the typed events' serializer
// ---- (typed_serializer.hpp), which writes its properties without building a Value tree.

// Every field of an event before its body (properties or traits).
struct EventHead {
  EventType type = EventType::kTrack;
  std::string_view name;
  std::string_view user_id;
  std::string_view anonymous_id;
  std::string_view message_id;  // empty: make one
  std::optional<TimePoint> timestamp;
  // The name is known to need no escaping and to be valid UTF-8 (the typed events' literals:
  // the typed-vs-generic tests hold their bytes equal), so it is copied as it is.
  bool plain_name = false;
};

// The head's checks, in serialize_event's order and with its messages; its JSON size when no
// string needs escaping.
Result<std::size_t> check_event_head(const EventHead& head);
// Writes {"type":...,"event":...,"messageId":...,"timestamp":...,"userId":...,"anonymousId":...
// (no closing brace) and sets result's message id position. kInvalidArgument on invalid UTF-8.
Status write_event_head(JsonOutput& out, const EventHead& head, TimePoint now, MessageIdWriter make_id,
                        SerializedEvent& result);
// kInvalidArgument for a serialized event over kMaxEventBytes. The test inline and the refusal
// out of line: an OK Status made in place, no call, in every track().
Status event_too_big(std::size_t json_size);
inline Status check_event_size(std::size_t json_size) {
  if (json_size <= kMaxEventBytes) return Status();
  return event_too_big(json_size);
}

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_EVENTS_EVENT_SERIALIZER_HPP
