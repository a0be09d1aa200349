// serialize_json_event (Tracker::track_json) on arbitrary bytes: whatever it accepts must be one
// JSON object within the size limit, with a string type, whose messageId is where the result
// says, with a valid timestamp, and with every member the input had, unchanged but for context.ip.
#include <simdjson.h>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "events/json_event.hpp"
#include "referkit/time.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const referkit::TimePoint now(std::chrono::milliseconds(1'795'771'800'123));
  for (const referkit::IpPolicy policy : {referkit::IpPolicy::kTruncate, referkit::IpPolicy::kDrop}) {
    auto event = referkit::detail::serialize_json_event(input, now, &referkit::detail::write_uuid_v7, policy);
    if (!event) continue;
    const std::string& json = event->serialized.json;
    if (json.size() > referkit::kMaxEventBytes) std::abort();
    simdjson::dom::parser parser;
    simdjson::dom::object obj;
    if (parser.parse(json).get_object().get(obj)) std::abort();
    std::string_view type;
    if (obj["type"].get_string().get(type)) std::abort();
    std::string_view id;
    if (obj["messageId"].get_string().get(id) || id != event->serialized.message_id()) std::abort();
    std::string_view timestamp;
    if (obj["timestamp"].get_string().get(timestamp) || !referkit::parse_rfc3339(timestamp)) std::abort();
    // The input parses as an object too, with the same number of members (at most three added:
    // type, messageId, timestamp).
    simdjson::dom::parser original_parser;
    simdjson::dom::object original;
    if (original_parser.parse(input.data(), input.size()).get_object().get(original)) std::abort();
    if (obj.size() < original.size() || obj.size() > original.size() + 3) std::abort();
  }
  return 0;
}
