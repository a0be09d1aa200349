#include "batch/batch_validator.hpp"

#include <array>

#include "batch/json_extents.hpp"

namespace referkit::batch {
namespace {

// Segment's message types; the server stores all of them, the SDK sends track and identify.
constexpr std::array<std::string_view, 6> kTypes = {"track", "identify", "page", "screen", "group", "alias"};

bool known_type(std::string_view type) {
  for (std::string_view t : kTypes) {
    if (t == type) return true;
  }
  return false;
}

// simdjson has checked the UTF-8, so code points are the bytes that do not continue one.
std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0u) != 0x80u) ++n;
  }
  return n;
}

BatchVerdict refuse(std::string reason) {
  BatchVerdict v;
  v.error = std::move(reason);
  return v;
}

// The members the server looks at; the first occurrence of a key wins, as in simdjson lookups.
struct EventFields {
  std::optional<simdjson::dom::element> message_id;
  std::optional<simdjson::dom::element> type;
  std::optional<simdjson::dom::element> event;
  std::optional<simdjson::dom::element> user_id;
  std::optional<simdjson::dom::element> anonymous_id;
  std::optional<simdjson::dom::element> timestamp;
};

EventFields collect_fields(simdjson::dom::object object) {
  EventFields f;
  for (simdjson::dom::key_value_pair member : object) {
    std::optional<simdjson::dom::element>* slot = nullptr;
    if (member.key == "messageId") {
      slot = &f.message_id;
    } else if (member.key == "type") {
      slot = &f.type;
    } else if (member.key == "event") {
      slot = &f.event;
    } else if (member.key == "userId") {
      slot = &f.user_id;
    } else if (member.key == "anonymousId") {
      slot = &f.anonymous_id;
    } else if (member.key == "timestamp") {
      slot = &f.timestamp;
    }
    if (slot != nullptr && !*slot) *slot = member.value;
  }
  return f;
}

// A present member must be a string; absent is fine. Returns false for a present non-string.
bool optional_string(const std::optional<simdjson::dom::element>& e, std::optional<std::string_view>& out) {
  if (!e) return true;
  std::string_view s;
  if (e->get_string().get(s) != simdjson::SUCCESS) return false;
  out = s;
  return true;
}

// Checks one event; on success fills `accepted`, otherwise returns the rejection reason.
std::string check_event(simdjson::dom::element element, std::string_view text, const BatchLimits& limits,
                        std::string_view& message_id, AcceptedEvent& accepted) {
  simdjson::dom::object object;
  if (element.get_object().get(object) != simdjson::SUCCESS) return "event is not a JSON object";
  const EventFields f = collect_fields(object);
  // Echoed in a rejection when it is a string, whatever else is wrong with the event.
  if (f.message_id && f.message_id->get_string().get(message_id) != simdjson::SUCCESS) message_id = {};
  if (text.size() > limits.max_event_bytes) {
    return "event is " + std::to_string(text.size()) + " bytes; at most " + std::to_string(limits.max_event_bytes);
  }
  if (!f.message_id) return "missing messageId";
  if (f.message_id->get_string().error() != simdjson::SUCCESS || message_id.empty() ||
      code_points(message_id) > limits.max_message_id_chars) {
    return "messageId must be a string of 1-" + std::to_string(limits.max_message_id_chars) + " characters";
  }
  std::string_view type;
  if (!f.type) return "missing type";
  if (f.type->get_string().get(type) != simdjson::SUCCESS || !known_type(type)) {
    return "type must be one of track, identify, page, screen, group, alias";
  }
  if (!optional_string(f.user_id, accepted.user_id) || !optional_string(f.anonymous_id, accepted.anonymous_id)) {
    return "userId and anonymousId must be strings";
  }
  const bool has_user = accepted.user_id && !accepted.user_id->empty();
  const bool has_anonymous = accepted.anonymous_id && !accepted.anonymous_id->empty();
  if (!has_user && !has_anonymous) return "missing userId and anonymousId: at least one is required";
  if (!optional_string(f.event, accepted.event)) return "event must be a string";
  // Segment refuses a track without a name too: it would be counted under nothing.
  if (type == "track" && (!accepted.event || accepted.event->empty())) return "track requires an event name";
  if (!optional_string(f.timestamp, accepted.timestamp)) return "timestamp must be a string";
  accepted.message_id = message_id;
  accepted.type = type;
  accepted.json = text;
  return {};
}

}  // namespace

BatchVerdict validate_batch(std::string_view body, simdjson::dom::parser& parser, const BatchLimits& limits) {
  simdjson::dom::element root;
  if (auto error = parser.parse(body.data(), body.size()).get(root); error != simdjson::SUCCESS) {
    return refuse(std::string("malformed JSON: ") + simdjson::error_message(error));
  }
  simdjson::dom::object top;
  if (root.get_object().get(top) != simdjson::SUCCESS) return refuse("the body is not a JSON object");

  std::optional<simdjson::dom::element> batch_value;
  std::size_t batch_index = 0;
  std::size_t index = 0;
  for (simdjson::dom::key_value_pair member : top) {
    if (member.key == "batch") {
      batch_value = member.value;
      batch_index = index;
      break;
    }
    ++index;
  }
  if (!batch_value) return refuse("no \"batch\" array in the body");
  simdjson::dom::array batch;
  if (batch_value->get_array().get(batch) != simdjson::SUCCESS) return refuse("\"batch\" is not an array");
  const std::size_t count = batch.size();
  if (count > limits.max_events) {
    return refuse("the batch has " + std::to_string(count) + " events; at most " +
                  std::to_string(limits.max_events));
  }

  const auto texts = member_array_elements(body, batch_index);
  if (!texts || texts->size() != count) {
    // simdjson accepted text the scanner cannot follow: a bug here, not the client's fault,
    // but refusing is the only safe answer.
    return refuse("could not delimit the events of the batch");
  }

  BatchVerdict verdict;
  verdict.accepted.reserve(count);
  std::size_t i = 0;
  for (simdjson::dom::element element : batch) {
    std::string_view message_id;
    AcceptedEvent accepted;
    std::string reason = check_event(element, (*texts)[i++], limits, message_id, accepted);
    if (reason.empty()) {
      verdict.accepted.push_back(accepted);
    } else {
      verdict.rejected.push_back(EventRejection{std::string(message_id), std::move(reason)});
    }
  }
  return verdict;
}

}  // namespace referkit::batch
