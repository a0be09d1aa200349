#include "events/json_event.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <optional>
#include <string>

#include "events/referral_fields.hpp"
#include "time/rfc3339_fast.hpp"

namespace referkit::detail {
namespace {

namespace od = simdjson::ondemand;

// The root, its properties/traits/context, and 32 levels below them, as serialize_event allows.
constexpr std::size_t kMaxDepth = 33;

Status invalid(std::string message) { return Status(StatusCode::kInvalidArgument, std::move(message)); }

// With check_event_head()'s wording.
Status too_long_field(std::string_view field, std::size_t size, std::size_t limit) {
  return invalid(fmt::format("{} is {} bytes, over the {}-byte limit", field, size, limit));
}
Status malformed(std::string message) { return Status(StatusCode::kMalformed, std::move(message)); }

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// A value's token without the whitespace simdjson leaves after it.
std::string_view trimmed_token(od::value& v) {
  std::string_view raw = v.raw_json_token();
  while (!raw.empty() && is_space(raw.back())) raw.remove_suffix(1);
  return raw;
}

// `out` views the DOM parser's copy of the string: valid until that parser parses again.
Status read_string(simdjson::dom::element v, std::string_view key, std::string_view& out) {
  if (v.get_string().get(out)) return invalid(fmt::format("{} must be a string", key));
  return {};
}

// A change to the text: [from, to) becomes `with`.
struct Edit {
  std::size_t from = 0;
  std::size_t to = 0;
  std::string with;
};

// Positions in the text that is known to be valid JSON by now: the messageId's text, and the
// context.ip member (its key's opening quote, and its value's token).
struct Offsets {
  std::optional<std::size_t> message_id_at;
  std::optional<std::size_t> ip_key_at;
  std::optional<std::size_t> ip_value_at;
  std::size_t ip_value_size = 0;
};

Status find_offsets(od::parser& parser, std::string& padded, std::size_t size, Offsets& at) {
  const char* base = padded.data();
  od::document doc;
  if (auto e = parser.iterate(padded.data(), size, padded.capacity()).get(doc)) return malformed(simdjson::error_message(e));
  od::object obj;
  if (auto e = doc.get_object().get(obj)) return malformed(simdjson::error_message(e));
  for (auto field : obj) {
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return malformed(simdjson::error_message(e));
    od::value v;
    if (auto e = field.value().get(v)) return malformed(simdjson::error_message(e));
    if (key == "messageId") {
      at.message_id_at = static_cast<std::size_t>(trimmed_token(v).data() - base) + 1;
    } else if (key == "context") {
      od::object context;
      if (auto e = v.get_object().get(context)) return malformed(simdjson::error_message(e));
      for (auto member : context) {
        od::raw_json_string raw_key;
        std::string_view name;
        od::value value;
        if (member.key().get(raw_key) || member.unescaped_key().get(name) || member.value().get(value)) {
          return malformed("bad JSON in context");
        }
        if (name != "ip") continue;
        const std::string_view token = trimmed_token(value);
        at.ip_key_at = static_cast<std::size_t>(raw_key.raw() - base) - 1;
        at.ip_value_at = static_cast<std::size_t>(token.data() - base);
        at.ip_value_size = token.size();
      }
    }
  }
  return {};
}

// Per thread: the parsers and the padded copy of the input they read.
struct ThreadParsers {
  simdjson::dom::parser dom;
  od::parser on_demand;
  std::string padded;
  // Its depth limit is set here; the parser keeps it as it grows.
  bool ready = dom.allocate(kMaxEventBytes + 1, kMaxDepth) == simdjson::SUCCESS;
};
ThreadParsers& thread_parsers() {
  thread_local ThreadParsers p;
  return p;
}

// What page, screen, group and alias need beyond an identify's checks (Segment's spec): a group
// names its group, an alias both the new userId and the previousId it merges; a page's or
// screen's name is optional but bounded like an event name.
Status check_segment_type(std::string_view type, std::string_view name, std::string_view group_id,
                          std::string_view previous_id, std::string_view user_id) {
  if (name.size() > kMaxEventNameBytes) return too_long_field("name", name.size(), kMaxEventNameBytes);
  if (type == "group") {
    if (group_id.empty()) return invalid("groupId is required for a group event");
    if (group_id.size() > kMaxIdBytes) return too_long_field("groupId", group_id.size(), kMaxIdBytes);
  }
  if (type == "alias") {
    if (user_id.empty() || previous_id.empty()) return invalid("userId and previousId are required for an alias event");
    if (previous_id.size() > kMaxIdBytes) return too_long_field("previousId", previous_id.size(), kMaxIdBytes);
  }
  return Status();
}

}  // namespace

Result<JsonEvent> serialize_json_event(std::string_view json, TimePoint now, MessageIdWriter make_id, IpPolicy ip_policy) {
  while (!json.empty() && is_space(json.front())) json.remove_prefix(1);
  while (!json.empty() && is_space(json.back())) json.remove_suffix(1);
  if (json.size() > kMaxEventBytes) {
    return invalid(fmt::format("event is {} bytes, over the 32 KiB limit", json.size()));
  }
  ThreadParsers& tp = thread_parsers();
  if (!tp.ready) return Status(StatusCode::kResourceExhausted, "no memory for the JSON parser");
  tp.padded.assign(json);
  tp.padded.reserve(json.size() + simdjson::SIMDJSON_PADDING);
  // The DOM parser validates all of it (on demand checks only what is read): one JSON value,
  // UTF-8, every token well formed, the depth bounded.
  simdjson::dom::element root;
  if (auto e = tp.dom.parse(tp.padded.data(), tp.padded.size(), false).get(root)) {
    if (e == simdjson::DEPTH_ERROR) return invalid("nested deeper than 32 levels");
    return malformed(fmt::format("bad JSON: {}", simdjson::error_message(e)));
  }
  simdjson::dom::object obj;
  if (root.get_object().get(obj)) return invalid("an event must be a JSON object");

  // Views of the DOM parser's strings (read_string): no copy, and no allocation per field.
  std::string_view type = "track";
  std::string_view name;
  std::string_view user_id;
  std::string_view anonymous_id;
  std::string_view message_id;
  std::string_view ip;
  bool has_id = false;
  bool has_timestamp = false;
  bool has_ip = false;
  // Segment's other types (json_event.hpp): their own identifying members.
  std::string_view page_name;
  std::string_view group_id;
  std::string_view previous_id;
  int seen_name = 0, seen_group = 0, seen_previous = 0;
  int seen_type = 0, seen_event = 0, seen_user = 0, seen_anonymous = 0, seen_id = 0, seen_timestamp = 0, seen_context = 0;
  for (auto [key, v] : obj) {
    Status s;
    if (key == "type") {
      ++seen_type;
      s = read_string(v, key, type);
    } else if (key == "event") {
      ++seen_event;
      s = read_string(v, key, name);
    } else if (key == "userId") {
      ++seen_user;
      s = v.is_null() ? Status() : read_string(v, key, user_id);
    } else if (key == "anonymousId") {
      ++seen_anonymous;
      s = v.is_null() ? Status() : read_string(v, key, anonymous_id);
    } else if (key == "messageId") {
      ++seen_id;
      has_id = true;
      s = read_string(v, key, message_id);
    } else if (key == "timestamp") {
      ++seen_timestamp;
      has_timestamp = true;
      std::string_view text;
      s = read_string(v, key, text);
      if (s.ok()) {
        auto t = parse_rfc3339(text);
        if (!t) s = invalid("timestamp: " + t.status().message());
      }
    } else if (key == "name" || key == "category") {  // page and screen; kept as given
      seen_name += key == "name" ? 1 : 0;
      std::string_view text;
      s = read_string(v, key, key == "name" ? page_name : text);
    } else if (key == "groupId") {
      ++seen_group;
      s = read_string(v, key, group_id);
    } else if (key == "previousId") {
      ++seen_previous;
      s = read_string(v, key, previous_id);
    } else if (key == "properties" || key == "traits" || key == "context") {
      if (!v.is_object()) s = invalid(fmt::format("{} must be an object", key));
      if (s.ok() && key == "context") {
        ++seen_context;
        int ips = 0;
        for (auto [member, value] : simdjson::dom::object(v)) {
          if (member != "ip") continue;
          ++ips;
          std::string_view text;
          if (!value.get_string().get(text)) {  // only a string is an address: anything else goes as it is
            has_ip = true;
            ip = text;
          }
        }
        // Which one would the IP policy apply to? Neither guess is safe to send.
        if (ips > 1) s = invalid(fmt::format("context.ip appears {} times", ips));
      }
    }
    if (!s.ok()) return s;
  }
  for (const auto& [count, what] : {std::pair{seen_type, "type"}, std::pair{seen_event, "event"},
                                    std::pair{seen_user, "userId"}, std::pair{seen_anonymous, "anonymousId"},
                                    std::pair{seen_id, "messageId"}, std::pair{seen_timestamp, "timestamp"},
                                    std::pair{seen_context, "context"}, std::pair{seen_name, "name"},
                                    std::pair{seen_group, "groupId"}, std::pair{seen_previous, "previousId"}}) {
    if (count > 1) return invalid(fmt::format("{} appears {} times", what, count));
  }
  EventHead head;
  if (type == "track") {
    head.type = EventType::kTrack;
  } else if (type == "identify" || type == "page" || type == "screen" || type == "group" || type == "alias") {
    // Checked like an identify (no event name; a user or anonymous id), plus their own members.
    head.type = EventType::kIdentify;
    if (Status s = check_segment_type(type, page_name, group_id, previous_id, user_id); !s.ok()) return s;
  } else {
    return invalid("type must be one of track, identify, page, screen, group, alias");
  }
  head.name = name;
  head.user_id = user_id;
  head.anonymous_id = anonymous_id;
  head.message_id = message_id;
  if (has_id && message_id.empty()) return invalid("message_id must be 1-100 printable ASCII characters");
  if (auto checked = check_event_head(head); !checked) return checked.status();

  const bool ip_changes = has_ip && ip_policy != IpPolicy::kKeep;
  std::optional<std::string> truncated;
  if (ip_changes && ip_policy == IpPolicy::kTruncate) {
    auto t = truncate_ip(ip);
    if (!t) return invalid("context.ip: " + t.status().message());
    truncated = std::move(*t);
  }
  Offsets at;
  if (has_id || ip_changes) {
    if (Status s = find_offsets(tp.on_demand, tp.padded, json.size(), at); !s.ok()) return s;
  }
  if (has_id) {
    // Matched against server replies by its text inside the event: no escapes in it.
    if (json.substr(*at.message_id_at, message_id.size()) != message_id) {
      return invalid("message_id must not contain '\"' or '\\'");
    }
  }
  std::optional<Edit> edit;
  if (ip_changes && at.ip_value_at) {
    if (truncated) {
      edit = Edit{*at.ip_value_at, *at.ip_value_at + at.ip_value_size, "\"" + *truncated + "\""};
    } else {
      // Dropped: the whole member goes, with the comma that joined it to a neighbour.
      std::size_t from = *at.ip_key_at;
      std::size_t to = *at.ip_value_at + at.ip_value_size;
      std::size_t after = to;
      while (after < json.size() && is_space(json[after])) ++after;
      if (after < json.size() && json[after] == ',') {
        to = after + 1;
      } else {
        std::size_t before = from;
        while (before > 0 && is_space(json[before - 1])) --before;
        if (before > 0 && json[before - 1] == ',') from = before - 1;
      }
      edit = Edit{from, to, std::string()};
    }
  }

  // The text: what is added goes first, inside the opening brace; the IP edit, if any, in place.
  JsonEvent out;
  out.lane = lane_of_name(name);
  std::string& text = out.serialized.json;
  text.reserve(json.size() + 64 + kRfc3339Size);
  text += '{';
  // Segment's libraries default a missing type to track, and so does this check; the wire gets
  // it spelled out, since an ingest API may not (referkit-ingest refuses an event without one).
  if (seen_type == 0) text += "\"type\":\"track\",";
  if (!has_id) {
    text += "\"messageId\":\"";
    out.serialized.message_id_at = text.size();
    text.resize(text.size() + kUuidTextSize);
    make_id(text.data() + out.serialized.message_id_at, now);
    text += "\",";
  }
  out.serialized.message_id_size = has_id ? message_id.size() : kUuidTextSize;
  if (!has_timestamp) {
    text += "\"timestamp\":\"";
    append_rfc3339(text, now);
    text += "\",";
  }
  const std::size_t added = text.size() - 1;  // the original text continues after its own '{'
  if (!edit) {
    text.append(json.substr(1));
  } else {
    text.append(json.substr(1, edit->from - 1));
    text += edit->with;
    text.append(json.substr(edit->to));
  }
  if (has_id) {
    std::size_t id_at = *at.message_id_at + added;
    if (edit && edit->from < *at.message_id_at) id_at = id_at - (edit->to - edit->from) + edit->with.size();
    out.serialized.message_id_at = id_at;
  }
  if (Status s = check_event_size(text.size()); !s.ok()) return s;
  return out;
}

}  // namespace referkit::detail
