#include "events/event_serializer.hpp"

#include <charconv>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "json/json_text.hpp"
#include "time/rfc3339_fast.hpp"
#include "events/value_check.hpp"

namespace referkit::detail {
namespace {

// JSON is written through JsonOutput rather than JsonWriter: strings are checked for UTF-8 while
// they are escaped (one pass over the bytes instead of two), and pieces go through a raw cursor
// into space reserved from the size computed up front. The structure here is simple enough not
// to need JsonWriter's separator state.

Status invalid(std::string message) { return Status(StatusCode::kInvalidArgument, std::move(message)); }

Status too_long(const char* field, std::size_t size, std::size_t limit) {
  return invalid(fmt::format("{} is {} bytes, over the {}-byte limit", field, size, limit));
}

// An upstream id is forwarded verbatim and deduplicated on, so keep it to what every system
// stores and logs unchanged.
bool is_valid_message_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxMessageIdBytes) return false;
  for (char c : id) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

bool is_empty(const Value& v) { return v.items().empty(); }  // an empty object, or null

// Null stands for "none"; anything else must be an object. Checks depth (UTF-8 is checked while
// writing) and adds the tree's JSON size to json_bytes.
Status check_object(const Value& v, const char* name, std::size_t& json_bytes) {
  if (v.kind() == Value::Kind::kNull) {
    json_bytes += 2;
    return Status();
  }
  if (v.kind() != Value::Kind::kObject) return invalid(std::string(name) + " must be a JSON object");
  const std::size_t size = json_size(v);
  if (size == kTooDeep) return explain_value_tree(v, name);
  json_bytes += size;
  return Status();
}

// Returns false on invalid UTF-8 in a string or key. Depth is already checked.
bool write_value(JsonOutput& out, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull: out.put_raw("null"); return true;
    case Value::Kind::kBool: out.put_raw(v.as_bool() ? "true" : "false"); return true;
    case Value::Kind::kInteger: {
      char buf[24];
      const auto r = std::to_chars(buf, buf + sizeof buf, v.as_integer());
      out.put_raw(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
      return true;
    }
    case Value::Kind::kDecimal: out.put_raw(v.text()); return true;  // validated by Value::decimal
    case Value::Kind::kString: return out.put_string(v.text());
    case Value::Kind::kArray: {
      out.put('[');
      const auto& items = v.items();
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out.put(',');
        if (!write_value(out, items[i])) return false;
      }
      out.put(']');
      return true;
    }
    case Value::Kind::kObject: {
      out.put('{');
      const auto& keys = v.keys();
      const auto& items = v.items();
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out.put(',');
        if (!out.put_string(keys[i])) return false;
        out.put(':');
        if (!write_value(out, items[i])) return false;
      }
      out.put('}');
      return true;
    }
  }
  return true;
}

// Writes ,"name":{...}; on invalid UTF-8, the error that names its path.
Status write_member(JsonOutput& out, std::string_view literal_key, const Value& v, const char* name) {
  out.put_raw(literal_key);
  if (v.kind() == Value::Kind::kNull) {
    out.put_raw("{}");
    return Status();
  }
  if (write_value(out, v)) return Status();
  // The rare path: walk the tree again to say where the bad string is.
  Status why = explain_value_tree(v, name);
  return why.ok() ? invalid(std::string(name) + ": invalid UTF-8") : why;
}

// Writes ,"key":"text".
Status write_string_member(JsonOutput& out, std::string_view literal_key, std::string_view text,
                           const char* field) {
  out.put_raw(literal_key);
  if (out.put_string(text)) return Status();
  return invalid(std::string(field) + ": invalid UTF-8");
}

}  // namespace

Result<std::size_t> check_event_head(const EventHead& h) {
  const bool track = h.type == EventType::kTrack;
  // {"type":"track","event":"" or {"type":"identify", then ,"messageId":"" ,"timestamp":"".
  std::size_t size = (track ? 26 : 18) + 15 + 15 + kRfc3339Size;
  if (track) {
    if (h.name.empty()) return invalid("event name is required for a track event");
    if (h.name.size() > kMaxEventNameBytes) return too_long("event name", h.name.size(), kMaxEventNameBytes);
    size += h.name.size();
  }
  if (h.user_id.empty() && h.anonymous_id.empty()) return invalid("user_id or anonymous_id is required");
  if (h.user_id.size() > kMaxIdBytes) return too_long("user_id", h.user_id.size(), kMaxIdBytes);
  if (h.anonymous_id.size() > kMaxIdBytes) return too_long("anonymous_id", h.anonymous_id.size(), kMaxIdBytes);
  if (!h.user_id.empty()) size += 12 + h.user_id.size();            // ,"userId":""
  if (!h.anonymous_id.empty()) size += 17 + h.anonymous_id.size();  // ,"anonymousId":""
  if (!h.message_id.empty()) {
    if (!is_valid_message_id(h.message_id)) {
      return invalid(fmt::format("message_id must be 1-{} printable ASCII characters", kMaxMessageIdBytes));
    }
    size += h.message_id.size();
  } else {
    size += kUuidTextSize;
  }
  return size;
}

Status write_event_head(JsonOutput& out, const EventHead& h, TimePoint now, MessageIdWriter make_id,
                        SerializedEvent& result) {
  // Field order is part of the wire contract (and keeps the bytes reproducible).
  if (h.type == EventType::kTrack && h.plain_name) {
    // A typed event's literal name: copied with its quotes in one claim, no escaper pass.
    constexpr std::string_view kTrackHead = R"({"type":"track","event":")";
    char* at = out.claim(kTrackHead.size() + h.name.size() + 1);
    std::memcpy(at, kTrackHead.data(), kTrackHead.size());
    std::memcpy(at + kTrackHead.size(), h.name.data(), h.name.size());
    at[kTrackHead.size() + h.name.size()] = '"';
  } else if (h.type == EventType::kTrack) {
    if (Status s = write_string_member(out, R"({"type":"track","event":)", h.name, "event name"); !s.ok()) return s;
  } else {
    out.put_raw(R"({"type":"identify")");
  }

  out.put_raw(R"(,"messageId":)");
  result.message_id_at = out.size() + 1;
  if (h.message_id.empty()) {
    char* at = out.claim(kUuidTextSize + 2);
    at[0] = '"';
    make_id(at + 1, now);
    at[kUuidTextSize + 1] = '"';
  } else {
    out.put_string(h.message_id);  // ASCII; may hold '"' or '\\' to escape
  }
  result.message_id_size = out.size() - 1 - result.message_id_at;

  out.put_raw(R"(,"timestamp":")");
  write_rfc3339(out.claim(kRfc3339Size), h.timestamp.value_or(now));
  out.put('"');

  if (!h.user_id.empty()) {
    if (Status s = write_string_member(out, R"(,"userId":)", h.user_id, "user_id"); !s.ok()) return s;
  }
  if (!h.anonymous_id.empty()) {
    if (Status s = write_string_member(out, R"(,"anonymousId":)", h.anonymous_id, "anonymous_id"); !s.ok()) {
      return s;
    }
  }
  return Status();
}

Status event_too_big(std::size_t json_size) {
  return invalid(fmt::format("event is {} bytes serialized, over the 32 KiB limit", json_size));
}

namespace {

// The context as sent under the IP policy, when that changes it (context.ip is a string and the
// policy is not kKeep); nullopt when the event's own context goes out as it is.
Result<std::optional<Value>> context_under(const Value& context, IpPolicy policy) {
  const Value* ip = context.kind() == Value::Kind::kObject ? context.find("ip") : nullptr;
  if (policy == IpPolicy::kKeep || ip == nullptr || ip->kind() != Value::Kind::kString) return std::optional<Value>();
  std::optional<std::string> truncated;
  if (policy == IpPolicy::kTruncate) {
    auto t = truncate_ip(ip->text());
    if (!t) return invalid("context.ip: " + t.status().message());
    truncated = std::move(*t);
  }
  Value out = Value::object();
  out.reserve(context.keys().size());
  for (std::size_t i = 0; i < context.keys().size(); ++i) {
    if (context.keys()[i] != "ip") out.set(context.keys()[i], context.items()[i]);
    else if (truncated) out.set("ip", Value(*truncated));
  }
  return std::optional<Value>(std::move(out));
}

}  // namespace

Result<SerializedEvent> serialize_event(const Event& e, TimePoint now, MessageIdWriter make_id, IpPolicy ip_policy) {
  const bool track = e.type == EventType::kTrack;
  const EventHead head{e.type, e.name, e.user_id, e.anonymous_id, e.message_id, e.timestamp};

  // ---- Check what can be checked without reading every byte, and add up the output size
  // (exact unless a string needs escaping) so the output is allocated once.
  auto head_size = check_event_head(head);
  if (!head_size) return head_size.status();
  std::size_t size = *head_size + 1;  // and the closing brace
  const Value& body = track ? e.properties : e.traits;
  const char* body_name = track ? "properties" : "traits";
  size += track ? 14 : 10;  // ,"properties": or ,"traits":
  if (Status s = check_object(body, body_name, size); !s.ok()) return s;
  auto policed = context_under(e.context, ip_policy);
  if (!policed) return policed.status();
  const Value& context = policed->has_value() ? **policed : e.context;
  const bool has_context = !is_empty(context);
  if (has_context) {
    size += 11;  // ,"context":
    if (Status s = check_object(context, "context", size); !s.ok()) return s;
  } else if (context.kind() != Value::Kind::kNull && context.kind() != Value::Kind::kObject) {
    return invalid("context must be a JSON object");  // an empty array, say
  }

  // `size` is exact unless strings need escaping, which only adds: far over the limit, say so
  // without first copying (say) 100 MB of properties.
  if (size > 4 * kMaxEventBytes) {
    return invalid(fmt::format("event is at least {} bytes serialized, over the 32 KiB limit", size));
  }

  // ---- Write, checking UTF-8 as strings are escaped.
  SerializedEvent result;
  JsonOutput out(result.json, size);
  if (Status s = write_event_head(out, head, now, make_id, result); !s.ok()) return s;
  if (Status s = write_member(out, track ? R"(,"properties":)" : R"(,"traits":)", body, body_name); !s.ok()) {
    return s;
  }
  if (has_context) {
    if (Status s = write_member(out, R"(,"context":)", context, "context"); !s.ok()) return s;
  }
  out.put('}');
  out.finish();
  if (Status s = check_event_size(result.json.size()); !s.ok()) return s;
  return result;
}

}  // namespace referkit::detail
