// Tracker::track_json's core: a Segment-style event given as JSON text is validated as
// track(Event) validates it and passed through byte for byte, with a missing messageId and
// timestamp added and context.ip under the IP policy.
#include <doctest/doctest.h>
#include <simdjson.h>

#include <string>
#include <string_view>

#include "events/event_serializer.hpp"
#include "events/json_event.hpp"
#include "referkit/events.hpp"

using namespace referkit;
using detail::serialize_json_event;

namespace {

const TimePoint kNow = TimePoint(std::chrono::milliseconds(1'795'771'800'123));  // 2026-11-27T09:30:00.123Z

void fixed_id(char* out, TimePoint) {
  const std::string_view id = "0197f1c2-0000-7000-8000-000000000001";
  std::copy(id.begin(), id.end(), out);
}

detail::JsonEvent ok(std::string_view json, IpPolicy policy = IpPolicy::kTruncate) {
  auto r = serialize_json_event(json, kNow, &fixed_id, policy);
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  return std::move(*r);
}

std::string refused(std::string_view json, StatusCode code = StatusCode::kInvalidArgument) {
  auto r = serialize_json_event(json, kNow, &fixed_id);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == code);
  return r.status().message();
}

std::string nested(int depth) {
  std::string open;
  std::string close;
  for (int i = 0; i < depth; ++i) {
    open += R"({"a":)";
    close += "}";
  }
  return open + "1" + close;
}

}  // namespace

TEST_SUITE("events") {

TEST_CASE("track_json: an event with its messageId and timestamp goes byte for byte") {
  const std::string in =
      R"({"type":"track","event":"Order Completed","messageId":"m-1","timestamp":"2026-11-27T09:00:00Z",)"
      R"("userId":"u1","properties":{"total":104.990,"big":1.5e3,"list":[1,"two",null,true]},)"
      R"("integrations":{"All":true},"channel":"server"})";
  const auto e = ok("  " + in + "\n");
  CHECK(e.serialized.json == in);
  CHECK(e.serialized.message_id() == "m-1");
  CHECK(e.lane == Lane::kConversions);
}

TEST_CASE("track_json: a missing type, messageId and timestamp are added in front, the rest kept as it was") {
  const std::string rest = R"("event":"Referral Link Clicked","anonymousId":"v1","properties":{"x":"\u00e9\n"}})";
  const auto e = ok("{" + rest);
  CHECK(e.serialized.json ==
        R"({"type":"track","messageId":"0197f1c2-0000-7000-8000-000000000001","timestamp":"2026-11-27T09:30:00.123Z",)" +
            rest);
  CHECK(e.serialized.message_id() == "0197f1c2-0000-7000-8000-000000000001");
  CHECK(e.lane == Lane::kEngagement);
  // Only the timestamp missing.
  const auto f = ok(R"({"type":"track","messageId":"abc","userId":"u","event":"E"})");
  CHECK(f.serialized.json ==
        R"({"timestamp":"2026-11-27T09:30:00.123Z","type":"track","messageId":"abc","userId":"u","event":"E"})");
  CHECK(f.serialized.message_id() == "abc");
  // An identify has traits and no name.
  const auto g = ok(R"({"type":"identify","userId":"u","traits":{"plan":"pro"}})");
  CHECK(g.serialized.json.find(R"("type":"identify","userId":"u","traits":{"plan":"pro"}})") != std::string::npos);
}

TEST_CASE("track_json: context.ip follows the IP policy, and nothing else moves") {
  const std::string head = R"({"type":"track","messageId":"m","timestamp":"2026-11-27T09:00:00Z","userId":"u","event":"E",)";
  CHECK(ok(head + R"("context":{"ip":"203.0.113.77","locale":"en-GB"}})").serialized.json ==
        head + R"("context":{"ip":"203.0.113.0","locale":"en-GB"}})");
  CHECK(ok(head + R"("context":{"ip":"203.0.113.77","locale":"en-GB"}})", IpPolicy::kKeep).serialized.json ==
        head + R"("context":{"ip":"203.0.113.77","locale":"en-GB"}})");
  CHECK(ok(head + R"("context":{"ip":"203.0.113.77","locale":"en-GB"}})", IpPolicy::kDrop).serialized.json ==
        head + R"("context":{"locale":"en-GB"}})");
  CHECK(ok(head + R"("context":{"locale":"en-GB", "ip" : "203.0.113.77" }})", IpPolicy::kDrop).serialized.json ==
        head + R"("context":{"locale":"en-GB" }})");
  CHECK(ok(head + R"("context":{"ip":"::1"}})", IpPolicy::kDrop).serialized.json == head + R"("context":{}})");
  CHECK(ok(head + R"("context":{"ip":42}})").serialized.json == head + R"("context":{"ip":42}})");
  CHECK(refused(head + R"("context":{"ip":"not an address"}})").find("context.ip: ") == 0);
  // Found by the fuzzer: two ips, the policy applied to one and the other sent whole.
  CHECK(refused(head + R"("context":{"ip":"203.0.113.7","ip":{"x":1}}})") == "context.ip appears 2 times");
  // The id's position still points at the id after an edit before it.
  const auto e = ok(R"({"context":{"ip":"2001:db8:aaaa:bbbb::1"},"userId":"u","event":"E","messageId":"id-9"})");
  CHECK(e.serialized.message_id() == "id-9");
}

TEST_CASE("track_json refuses what track(Event) refuses, with the same words") {
  CHECK(refused("not json", StatusCode::kMalformed).find("bad JSON") == 0);
  CHECK(refused(R"([{"event":"E","userId":"u"}])") == "an event must be a JSON object");
  CHECK(refused(R"({"event":"E","userId":"u"} {"event":"F"})", StatusCode::kMalformed).find("bad JSON") == 0);
  CHECK(refused(R"({"event":"E","userId":"u"}})", StatusCode::kMalformed).find("bad JSON") == 0);
  // Found by the fuzzer: damage after a nested value that reading on demand would not see.
  CHECK(refused(R"({"event":"E","userId":"u","properties":{"list":[1,null]l},"context":{}})", StatusCode::kMalformed)
            .find("bad JSON") == 0);
  CHECK(refused("{\"event\":\"E\",\"userId\":\"\xff\"}", StatusCode::kMalformed).find("bad JSON") == 0);
  CHECK(refused(R"({"userId":"u"})") == "event name is required for a track event");
  CHECK(refused(R"({"event":"E"})") == "user_id or anonymous_id is required");
  CHECK(refused(R"({"event":"E","userId":")" + std::string(257, 'u') + "\"}") ==
        "user_id is 257 bytes, over the 256-byte limit");
  CHECK(refused(R"({"event":"E","userId":"u","messageId":""})") == "message_id must be 1-100 printable ASCII characters");
  CHECK(refused(R"({"event":"E","userId":"u","messageId":")" + std::string(101, 'm') + "\"}") ==
        "message_id must be 1-100 printable ASCII characters");
  CHECK(refused(R"({"event":"E","userId":"u","messageId":"a\"b"})") == "message_id must not contain '\"' or '\\'");
  CHECK(refused(R"({"event":"E","userId":"u","messageId":7})") == "messageId must be a string");
  CHECK(refused(R"({"event":"E","userId":"u","timestamp":"yesterday"})").find("timestamp: ") == 0);
  CHECK(refused(R"({"event":"E","userId":"u","properties":[1]})") == "properties must be an object");
  CHECK(refused(R"({"type":"pageview","userId":"u"})") == "type must be one of track, identify, page, screen, group, alias");
  CHECK(refused(R"({"type":"group","userId":"u"})") == "groupId is required for a group event");
  CHECK(refused(R"({"type":"alias","userId":"u"})") == "userId and previousId are required for an alias event");
  CHECK(refused(R"({"type":"alias","anonymousId":"a","previousId":"p"})") ==
        "userId and previousId are required for an alias event");
  CHECK(refused(R"({"type":"page","name":7,"userId":"u"})") == "name must be a string");
  CHECK(refused(R"({"type":"page"})") == "user_id or anonymous_id is required");
  CHECK(refused(R"({"event":"E","userId":"u","messageId":"a","messageId":"b"})") == "messageId appears 2 times");
  CHECK(refused(R"({"event":"E","userId":"u","properties":{"n":tru}})", StatusCode::kMalformed).find("bad JSON") == 0);
  CHECK(refused(R"({"event":"E","userId":"u","properties":)" + nested(32) + "}").find("nested deeper") == 0);
  (void)ok(R"({"event":"E","userId":"u","properties":)" + nested(30) + "}");
  const std::string big = R"({"event":"E","userId":"u","properties":{"s":")" + std::string(32 * 1024, 'x') + "\"}}";
  CHECK(refused(big).find("over the 32 KiB limit") != std::string::npos);
  // Just under the limit as given, over it once the id and timestamp are added.
  const std::string edge_prefix = R"({"event":"E","userId":"u","properties":{"s":")";
  const std::string edge = edge_prefix + std::string(32 * 1024 - edge_prefix.size() - 3, 'x') + "\"}}";
  REQUIRE(edge.size() == 32 * 1024);
  CHECK(refused(edge).find("over the 32 KiB limit") != std::string::npos);
}

TEST_CASE("track_json takes Segment's page, screen, group and alias types as given") {
  for (const char* json : {R"({"type":"page","name":"Home","category":"Docs","anonymousId":"a","properties":{"path":"/"}})",
                           R"({"type":"screen","name":"Cart","userId":"u"})",
                           R"({"type":"page","userId":"u"})",
                           R"({"type":"group","groupId":"g1","userId":"u","traits":{"name":"Shop"}})",
                           R"({"type":"alias","userId":"u","previousId":"anon-7"})"}) {
    const auto e = ok(json);
    // Only the id and timestamp are added in front; the rest goes byte for byte.
    CHECK(e.serialized.json.find(std::string(json).substr(1)) != std::string::npos);
  }
}

TEST_CASE("track_json's output is one valid JSON object with what was given") {
  const auto e = ok(R"( { "event" : "Order Completed" , "userId" : "u" , "properties" : { "total" : 1 } } )");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  REQUIRE_FALSE(parser.parse(e.serialized.json).get(doc));
  std::string_view s;
  REQUIRE_FALSE(doc["messageId"].get_string().get(s));
  CHECK(s == e.serialized.message_id());
  REQUIRE_FALSE(doc["timestamp"].get_string().get(s));
  CHECK(s == "2026-11-27T09:30:00.123Z");
  REQUIRE_FALSE(doc["event"].get_string().get(s));
  CHECK(s == "Order Completed");
}

}  // TEST_SUITE
