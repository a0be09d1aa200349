// One Segment-style event given as JSON text (Tracker::track_json: the CLI's bulk path, the C ABI,
// the sidecar), validated as track(Event) validates and passed through byte for byte: no Value
// tree is built and nothing is written again, except what must change.
//
//   - It must be one JSON object (nothing but whitespace after it), valid UTF-8 (simdjson checks
//     every byte), nested at most 32 levels, with every value well formed.
//   - "type" is "track" (the default when absent), "identify", or one of Segment's other types
//     "page", "screen", "group", "alias" (the sidecar takes them from Segment libraries): "event"
//     (track), "userId", "anonymousId" and "messageId" are checked by check_event_head(), with
//     its messages, the others like an identify plus: "name" (page, screen) a string of at most
//     200 bytes, "groupId" (group) and "userId" with "previousId" (alias) required;
//     "timestamp" must be RFC 3339; "properties", "traits" and "context" must be objects.
//   - Missing "type" ("track"), "messageId" and "timestamp" are added (a new UUIDv7, `now`) at
//     the front.
//   - context.ip, when it is a string, goes out as the IP policy says (truncated or dropped).
//   - The result must fit kMaxEventBytes.
// Other members (integrations, channel...) are kept as given.
#ifndef REFERKIT_SRC_EVENTS_JSON_EVENT_HPP
#define REFERKIT_SRC_EVENTS_JSON_EVENT_HPP

#include <string_view>

#include "events/event_serializer.hpp"
#include "referkit/events.hpp"
#include "referkit/status.hpp"
#include "referkit/time.hpp"

namespace referkit::detail {

struct JsonEvent {
  SerializedEvent serialized;
  // The lane its name says (lane_of_name()): the typed conversions' names go to conversions.
  Lane lane = Lane::kEngagement;
};

// kInvalidArgument naming what is wrong; kMalformed for text that is not JSON at all.
// Thread-safe: each thread parses with its own parser.
Result<JsonEvent> serialize_json_event(std::string_view json, TimePoint now, MessageIdWriter make_id = &write_uuid_v7,
                                       IpPolicy ip_policy = IpPolicy::kTruncate);

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_EVENTS_JSON_EVENT_HPP
