#include "event_json.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace referkit::cli {
namespace {

namespace od = simdjson::ondemand;
constexpr int kMaxDepth = 32;

Status malformed(std::string message) { return Status(StatusCode::kMalformed, std::move(message)); }
Status json_error(simdjson::error_code e) { return malformed(std::string("bad JSON: ") + simdjson::error_message(e)); }

// Why a JSON number cannot be kept exactly, in the words of what is wrong with it (the text may
// be thousands of digits long: only its start is shown).
std::string explain_bad_number(std::string_view raw, const Status& refused) {
  const std::string shown = raw.size() > 24 ? std::string(raw.substr(0, 24)) + "..." : std::string(raw);
  std::string_view digits = raw;
  if (!digits.empty() && digits.front() == '-') digits.remove_prefix(1);
  const std::size_t int_digits = std::min(digits.find_first_not_of("0123456789"), digits.size());
  std::string why;
  if (raw.find_first_of("eE") != std::string_view::npos) {
    why = "has an exponent; write it as a plain decimal (1500, not 1.5e3)";
  } else if (int_digits > 1 && digits.front() == '0') {
    why = "has a leading zero";
  } else if (raw.size() > 40) {
    why = "has " + std::to_string(raw.size()) + " characters; at most 40 are kept exactly";
  } else if (raw.find('.') == std::string_view::npos) {
    why = "is an integer outside the 64-bit range";
  } else {
    why = refused.message();
  }
  return "number " + shown + " " + why;
}

Result<Value> to_value(od::value v, int depth) {
  if (depth > kMaxDepth) return malformed("nested deeper than 32 levels");
  od::json_type type;
  if (auto e = v.type().get(type)) return json_error(e);
  switch (type) {
    case od::json_type::null: return Value();
    case od::json_type::boolean: {
      bool b = false;
      if (auto e = v.get_bool().get(b)) return json_error(e);
      return Value(b);
    }
    case od::json_type::string: {
      std::string_view s;
      if (auto e = v.get_string().get(s)) return json_error(e);
      return Value(s);
    }
    case od::json_type::number: {
      // The number's own text, so amounts stay exact.
      std::string_view raw = v.raw_json_token();
      while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\r' || raw.back() == '\n')) {
        raw.remove_suffix(1);
      }
      std::int64_t i = 0;
      if (raw.find_first_of(".eE") == std::string_view::npos && !v.get_int64().get(i)) {
        return Value(static_cast<long long>(i));
      }
      auto d = Value::decimal(raw);
      if (!d) return malformed(explain_bad_number(raw, d.status()));
      return std::move(*d);
    }
    case od::json_type::array: {
      od::array arr;
      if (auto e = v.get_array().get(arr)) return json_error(e);
      Value out = Value::array();
      // Sized up front: growing a vector of Values moves every one of them each time.
      std::size_t count = 0;
      if (auto e = arr.count_elements().get(count)) return json_error(e);
      out.reserve(count);
      for (auto item : arr) {
        od::value child;
        if (auto e = item.get(child)) return json_error(e);
        auto converted = to_value(child, depth + 1);
        if (!converted) return converted.status();
        out.push(std::move(*converted));
      }
      return out;
    }
    case od::json_type::object: {
      od::object obj;
      if (auto e = v.get_object().get(obj)) return json_error(e);
      std::size_t count = 0;
      if (auto e = obj.count_fields().get(count)) return json_error(e);
      // Collected first and built in one linear pass: Value::set() looks for an existing key each
      // time, which made a line of many keys quadratic.
      std::vector<std::string> keys;
      std::vector<Value> values;
      keys.reserve(count);
      values.reserve(count);
      for (auto field : obj) {
        std::string_view key;
        if (auto e = field.unescaped_key().get(key)) return json_error(e);
        keys.emplace_back(key);
        od::value child;
        if (auto e = field.value().get(child)) return json_error(e);
        auto converted = to_value(child, depth + 1);
        if (!converted) return converted.status();
        values.push_back(std::move(*converted));
      }
      return Value::object_from(std::move(keys), std::move(values));
    }
  }
  return malformed("unsupported JSON value");
}

Status read_string(od::value v, std::string_view key, std::string& out) {
  if (v.is_null()) return {};
  std::string_view s;
  if (v.get_string().get(s)) return malformed(std::string(key) + " must be a string");
  out = std::string(s);
  return {};
}

Status read_object(od::value v, std::string_view key, Value& out) {
  if (v.is_null()) return {};
  od::json_type type;
  if (v.type().get(type) || type != od::json_type::object) return malformed(std::string(key) + " must be an object");
  auto converted = to_value(v, 1);
  if (!converted) return Status(converted.status().code(), std::string(key) + ": " + converted.status().message());
  out = std::move(*converted);
  return {};
}

}  // namespace

Result<Event> parse_event_json(od::parser& parser, std::string& line) {
  line.reserve(line.size() + simdjson::SIMDJSON_PADDING);
  od::document doc;
  if (auto e = parser.iterate(line.data(), line.size(), line.capacity()).get(doc)) return json_error(e);
  od::object obj;
  if (doc.get_object().get(obj)) return malformed("not a JSON object");
  Event event;
  std::string type = "track";
  std::string timestamp;
  for (auto field : obj) {
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return json_error(e);
    std::string k(key);
    od::value v;
    if (auto e = field.value().get(v)) return json_error(e);
    Status s;
    if (k == "type") s = read_string(v, k, type);
    else if (k == "event") s = read_string(v, k, event.name);
    else if (k == "userId") s = read_string(v, k, event.user_id);
    else if (k == "anonymousId") s = read_string(v, k, event.anonymous_id);
    else if (k == "messageId") s = read_string(v, k, event.message_id);
    else if (k == "timestamp") s = read_string(v, k, timestamp);
    else if (k == "properties") s = read_object(v, k, event.properties);
    else if (k == "traits") s = read_object(v, k, event.traits);
    else if (k == "context") s = read_object(v, k, event.context);
    if (!s.ok()) return s;
  }
  // One value per line: `{A}{B}`, `{A},{B}` or `{A}}}` must not pass as A with the rest ignored.
  // current_location() is OUT_OF_BOUNDS exactly when nothing but whitespace follows.
  if (const char* rest = nullptr; doc.current_location().get(rest) == simdjson::SUCCESS) {
    return malformed("unexpected text after the JSON object: \"" +
                     std::string(rest, std::min<std::size_t>(20, static_cast<std::size_t>(line.data() + line.size() - rest))) + "\"");
  }
  if (type == "track") {
    event.type = EventType::kTrack;
  } else if (type == "identify") {
    event.type = EventType::kIdentify;
  } else {
    return Status(StatusCode::kInvalidArgument, "type must be \"track\" or \"identify\"");
  }
  if (!timestamp.empty()) {
    auto t = parse_rfc3339(timestamp);
    if (!t) return Status(StatusCode::kInvalidArgument, "timestamp: " + t.status().message());
    event.timestamp = *t;
  }
  return event;
}

}  // namespace referkit::cli
