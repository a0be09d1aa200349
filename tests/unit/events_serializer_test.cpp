#include <doctest/doctest.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "events/event_serializer.hpp"
#include "events/uuid.hpp"
#include "referkit/events.hpp"

using referkit::Event;
using referkit::EventType;
using referkit::StatusCode;
using referkit::TimePoint;
using referkit::Value;
using referkit::detail::is_uuid_v7;
using referkit::detail::serialize_event;
using referkit::detail::SerializedEvent;

namespace {

constexpr const char* kFixedId = "0190a8f2-1111-7abc-8def-0123456789ab";

void fixed_id(char* out, TimePoint) { std::memcpy(out, kFixedId, referkit::detail::kUuidTextSize); }

TimePoint at_ms(std::int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

// 2026-11-27T09:30:00.123Z
const TimePoint kNow = at_ms(1'795'771'800'123);

Event order_event() {
  Event e;
  e.name = "Order Completed";
  e.user_id = "u1";
  e.anonymous_id = "a1";
  e.properties.set("order_id", "o-1").set("total", Value::decimal("19.99").value());
  return e;
}

SerializedEvent ok(const Event& e, TimePoint now = kNow, referkit::detail::MessageIdWriter id = &fixed_id) {
  auto r = serialize_event(e, now, id);
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  return std::move(*r);
}

std::string refused(const Event& e) {
  auto r = serialize_event(e, kNow, &fixed_id);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  return r.status().message();
}

// Parses json with simdjson (an independent, strict parser) and returns the string at a JSON
// pointer such as "/properties/order_id".
class Parsed {
 public:
  explicit Parsed(const std::string& json) {
    const auto err = parser_.parse(json).get(doc_);
    INFO(json);
    REQUIRE(err == simdjson::SUCCESS);
  }
  std::string str(const char* pointer) {
    std::string_view sv;
    const auto err = doc_.at_pointer(pointer).get_string().get(sv);
    INFO(pointer);
    REQUIRE(err == simdjson::SUCCESS);
    return std::string(sv);
  }
  bool has(const char* pointer) {
    simdjson::dom::element el;
    return doc_.at_pointer(pointer).get(el) == simdjson::SUCCESS;
  }
  simdjson::dom::element at(const char* pointer) {
    simdjson::dom::element el;
    const auto err = doc_.at_pointer(pointer).get(el);
    INFO(pointer);
    REQUIRE(err == simdjson::SUCCESS);
    return el;
  }

 private:
  simdjson::dom::parser parser_;
  simdjson::dom::element doc_;
};

// An object nested `levels` deep, counting itself: levels 1 is {}.
Value nested(int levels) {
  Value v = Value::object();
  for (int i = 1; i < levels; ++i) {
    Value outer = Value::object();
    outer.set("a", std::move(v));
    v = std::move(outer);
  }
  return v;
}

}  // namespace

TEST_SUITE("events") {

TEST_CASE("context.ip goes out as the IP policy says, other context members untouched") {
  Event e = order_event();
  e.context.set("locale", "en-GB").set("ip", "2001:db8:aa:bb::1").set("page", Value::object().set("url", "u"));
  auto sent = [&](referkit::IpPolicy p) { return serialize_event(e, kNow, &fixed_id, p).value().json; };
  CHECK(sent(referkit::IpPolicy::kTruncate).find(R"("context":{"locale":"en-GB","ip":"2001:db8:aa::","page":{"url":"u"}})") != std::string::npos);
  CHECK(sent(referkit::IpPolicy::kKeep).find(R"("context":{"locale":"en-GB","ip":"2001:db8:aa:bb::1","page":{"url":"u"}})") != std::string::npos);
  CHECK(sent(referkit::IpPolicy::kDrop).find(R"("context":{"locale":"en-GB","page":{"url":"u"}})") != std::string::npos);
  e.context.set("ip", "somewhere");
  auto refused_ip = serialize_event(e, kNow, &fixed_id, referkit::IpPolicy::kTruncate);
  CHECK(refused_ip.status().message() == R"(context.ip: "somewhere" is not an IPv4 or IPv6 address)");
  CHECK(serialize_event(e, kNow, &fixed_id, referkit::IpPolicy::kKeep).ok());
  Event only_ip = order_event();
  only_ip.context.set("ip", "192.0.2.9");
  CHECK(serialize_event(only_ip, kNow, &fixed_id, referkit::IpPolicy::kDrop)->json.find("context") == std::string::npos);
  only_ip.context.set("ip", 7);  // not a string: not an address to police, sent as given
  CHECK(serialize_event(only_ip, kNow, &fixed_id, referkit::IpPolicy::kTruncate)->json.find(R"("ip":7)") != std::string::npos);
}

TEST_CASE("track fields are written in the wire order") {
  Event e = order_event();
  e.context.set("ip", "192.0.2.1");
  e.timestamp = at_ms(1'795'771'800'123);
  const auto s = ok(e, at_ms(0));
  CHECK(s.json ==
        R"({"type":"track","event":"Order Completed","messageId":"0190a8f2-1111-7abc-8def-0123456789ab",)"
        R"("timestamp":"2026-11-27T09:30:00.123Z","userId":"u1","anonymousId":"a1",)"
        R"("properties":{"order_id":"o-1","total":19.99},"context":{"ip":"192.0.2.0"}})");  // truncated by default
  CHECK(s.message_id() == kFixedId);
  CHECK(s.json.compare(s.message_id_at, s.message_id().size(), s.message_id()) == 0);
  Parsed p(s.json);
  double total = 0;
  CHECK(p.at("/properties/total").get_double().get(total) == simdjson::SUCCESS);
  CHECK(total == doctest::Approx(19.99));
}

TEST_CASE("identify writes traits, and no event name or properties") {
  Event e;
  e.type = EventType::kIdentify;
  e.name = "ignored";
  e.user_id = "u1";
  e.traits.set("plan", "pro");
  e.properties.set("ignored", true);
  const auto s = ok(e);
  CHECK(s.json ==
        R"({"type":"identify","messageId":"0190a8f2-1111-7abc-8def-0123456789ab",)"
        R"("timestamp":"2026-11-27T09:30:00.123Z","userId":"u1","traits":{"plan":"pro"}})");
  Parsed p(s.json);
}

TEST_CASE("empty ids and an empty context are omitted, empty properties are written") {
  Event e;
  e.name = "Ping";
  e.anonymous_id = "anon";
  CHECK(ok(e).json == R"({"type":"track","event":"Ping","messageId":"0190a8f2-1111-7abc-8def-0123456789ab",)"
                      R"("timestamp":"2026-11-27T09:30:00.123Z","anonymousId":"anon","properties":{}})");
  e.anonymous_id.clear();
  e.user_id = "user";
  e.properties = Value();  // null stands for none
  e.context = Value();
  CHECK(ok(e).json == R"({"type":"track","event":"Ping","messageId":"0190a8f2-1111-7abc-8def-0123456789ab",)"
                      R"("timestamp":"2026-11-27T09:30:00.123Z","userId":"user","properties":{}})");
}

TEST_CASE("every value kind is written exactly") {
  Event e = order_event();
  e.properties = Value::object();
  e.properties.set("null", Value())
      .set("t", true)
      .set("f", false)
      .set("min", std::numeric_limits<long long>::min())
      .set("max", std::numeric_limits<long long>::max())
      .set("dec", Value::decimal("-0.005").value())
      .set("s", "x")
      .set("arr", Value::array().push(1).push("two").push(Value::array()).push(Value::object()))
      .set("obj", Value::object().set("k", Value::array()));
  const auto s = ok(e);
  CHECK(s.json.find(R"("properties":{"null":null,"t":true,"f":false,"min":-9223372036854775808,)"
                    R"("max":9223372036854775807,"dec":-0.005,"s":"x","arr":[1,"two",[],{}],)"
                    R"("obj":{"k":[]}})") != std::string::npos);
  Parsed p(s.json);
  int64_t min = 0;
  CHECK(p.at("/properties/min").get_int64().get(min) == simdjson::SUCCESS);
  CHECK(min == std::numeric_limits<std::int64_t>::min());
}

TEST_CASE("strings and keys are escaped and round-trip through a JSON parser") {
  const std::string tricky = "quote\" backslash\\ newline\n tab\t nul" + std::string(1, '\0') +
                             " ctl\x01\x1f del\x7f e\xcc\x81 \xc3\xa9 \xf0\x9f\x98\x80 </script>";
  Event e;
  e.name = tricky;
  e.user_id = tricky;
  e.anonymous_id = "a";
  e.properties.set(tricky, tricky);
  e.context.set("page", Value::object().set("title", tricky));
  const auto s = ok(e);
  CHECK(s.json.find('\n') == std::string::npos);
  CHECK(s.json.find(std::string(1, '\0')) == std::string::npos);
  Parsed p(s.json);
  CHECK(p.str("/event") == tricky);
  CHECK(p.str("/userId") == tricky);
  CHECK(p.str("/context/page/title") == tricky);
  simdjson::dom::object props;
  REQUIRE(p.at("/properties").get_object().get(props) == simdjson::SUCCESS);
  for (auto field : props) {
    CHECK(field.key == tricky);
    std::string_view v;
    REQUIRE(field.value.get_string().get(v) == simdjson::SUCCESS);
    CHECK(v == tricky);
  }
}

TEST_CASE("invalid UTF-8 is refused with the field or path named") {
  const std::string bad = "ok\xff";  // 0xff never occurs in UTF-8
  {
    Event e = order_event();
    e.name = bad;
    CHECK(refused(e) == "event name: invalid UTF-8");
  }
  {
    Event e = order_event();
    e.user_id = "\xc0\x80";  // overlong NUL
    CHECK(refused(e) == "user_id: invalid UTF-8");
  }
  {
    Event e = order_event();
    e.anonymous_id = "\xed\xa0\x80";  // a surrogate
    CHECK(refused(e) == "anonymous_id: invalid UTF-8");
  }
  {
    Event e = order_event();
    e.properties.set("coupon", bad);
    CHECK(refused(e) == "properties.coupon: invalid UTF-8");
  }
  {
    Event e = order_event();
    e.properties.set("items", Value::array()
                                  .push(Value::object().set("name", "fine"))
                                  .push(Value::object().set("sku", "1").set("name", "\xe2\x82")));
    CHECK(refused(e) == "properties.items[1].name: invalid UTF-8");
  }
  {
    Event e = order_event();
    e.properties.set("cart", Value::object().set("a", 1).set("b\x80", 2));
    CHECK(refused(e) == "properties.cart: key #2 is invalid UTF-8");
  }
  {
    Event e = order_event();
    e.context.set("page", Value::object().set("title", bad));
    CHECK(refused(e) == "context.page.title: invalid UTF-8");
  }
  {
    Event e;
    e.type = EventType::kIdentify;
    e.user_id = "u";
    e.traits.set("name", bad);
    CHECK(refused(e) == "traits.name: invalid UTF-8");
  }
}

TEST_CASE("a track needs a name of at most 200 bytes") {
  Event e = order_event();
  e.name.clear();
  CHECK(refused(e) == "event name is required for a track event");
  e.name = std::string(200, 'n');
  ok(e);
  e.name += 'n';
  CHECK(refused(e) == "event name is 201 bytes, over the 200-byte limit");
}

TEST_CASE("at least one id, each at most kMaxIdBytes") {
  Event e = order_event();
  e.user_id.clear();
  e.anonymous_id.clear();
  CHECK(refused(e) == "user_id or anonymous_id is required");
  e.user_id = std::string(referkit::kMaxIdBytes, 'u');
  ok(e);
  e.user_id += 'u';
  CHECK(refused(e) == "user_id is 257 bytes, over the 256-byte limit");
  e.user_id.clear();
  e.anonymous_id = std::string(referkit::kMaxIdBytes + 1, 'a');
  CHECK(refused(e) == "anonymous_id is 257 bytes, over the 256-byte limit");
}

TEST_CASE("properties, traits and context must be objects") {
  Event e = order_event();
  e.properties = Value::array();
  CHECK(refused(e) == "properties must be a JSON object");
  e = order_event();
  e.context = Value("text");
  CHECK(refused(e) == "context must be a JSON object");
  e.context = Value::array();
  CHECK(refused(e) == "context must be a JSON object");
  e.context = Value::array().push(1);
  CHECK(refused(e) == "context must be a JSON object");
  e = order_event();
  e.type = EventType::kIdentify;
  e.traits = Value(1);
  CHECK(refused(e) == "traits must be a JSON object");
}

TEST_CASE("nesting: 32 levels are accepted, 33 refused") {
  Event e = order_event();
  e.properties = nested(32);
  Parsed p(ok(e).json);
  e.properties = nested(33);
  CHECK(refused(e) == "properties: nested deeper than 32 levels");

  // Arrays count too, and so does the context.
  Value deep_array = Value::array();
  for (int i = 1; i < 32; ++i) deep_array = Value::array().push(std::move(deep_array));
  e.properties = Value::object().set("a", std::move(deep_array));  // 1 + 32 levels
  CHECK(refused(e) == "properties: nested deeper than 32 levels");
  e.properties = Value::object();
  e.context = nested(33);
  CHECK(refused(e) == "context: nested deeper than 32 levels");
}

TEST_CASE("the 32 KiB limit holds exactly at the boundary") {
  Event e = order_event();
  e.properties.set("pad", "");
  const std::size_t base = ok(e).json.size();
  REQUIRE(base < referkit::kMaxEventBytes);
  e.properties.set("pad", std::string(referkit::kMaxEventBytes - base, 'x'));
  const auto at_limit = ok(e);
  CHECK(at_limit.json.size() == referkit::kMaxEventBytes);
  Parsed p(at_limit.json);

  e.properties.set("pad", std::string(referkit::kMaxEventBytes - base + 1, 'x'));
  CHECK(refused(e) == "event is 32769 bytes serialized, over the 32 KiB limit");

  // Escapes count as written: 16,384 newlines become 32 KiB of "\n".
  e.properties.set("pad", std::string(referkit::kMaxEventBytes / 2, '\n'));
  const std::string escaped = refused(e);
  CHECK(escaped == "event is " + std::to_string(base + referkit::kMaxEventBytes) +
                       " bytes serialized, over the 32 KiB limit");

  // Far over the limit, the event is refused before it is written.
  e.properties.set("pad", std::string(10u << 20, 'x'));
  CHECK(refused(e) == "event is at least " + std::to_string(base + (10u << 20)) +
                          " bytes serialized, over the 32 KiB limit");
}

TEST_CASE("an explicit message id is kept verbatim") {
  Event e = order_event();
  e.message_id = "ajs-next-1f2e3d";
  auto s = ok(e);
  CHECK(s.message_id() == "ajs-next-1f2e3d");
  CHECK(s.json.find(R"("messageId":"ajs-next-1f2e3d")") != std::string::npos);
  CHECK(s.json.compare(s.message_id_at, s.message_id().size(), s.message_id()) == 0);

  // The offset is exact even when the id also occurs earlier in the text.
  e.message_id = "track";
  s = ok(e);
  CHECK(s.json.compare(s.message_id_at, 5, "track") == 0);
  CHECK(s.message_id_at > s.json.find("track"));

  e.message_id = std::string(100, '~');
  ok(e);
  e.message_id = R"(a"b\c)";  // printable, so allowed; escaped in the JSON
  s = ok(e);
  CHECK(Parsed(s.json).str("/messageId") == R"(a"b\c)");
  CHECK(s.message_id() == R"(a\"b\\c)");  // as written in the JSON
}

TEST_CASE("a bad explicit message id is refused") {
  for (const std::string& id : {std::string(101, 'a'), std::string("tab\there"), std::string("nl\n"),
                                std::string("caf\xc3\xa9"), std::string("del\x7f"),
                                std::string(1, '\0')}) {
    Event e = order_event();
    e.message_id = id;
    CHECK(refused(e) == "message_id must be 1-100 printable ASCII characters");
  }
}

TEST_CASE("the timestamp defaults to now, and an explicit one is kept") {
  Event e = order_event();
  CHECK(Parsed(ok(e, at_ms(0)).json).str("/timestamp") == "1970-01-01T00:00:00.000Z");
  CHECK(Parsed(ok(e, at_ms(-1)).json).str("/timestamp") == "1969-12-31T23:59:59.999Z");
  CHECK(Parsed(ok(e, kNow).json).str("/timestamp") == "2026-11-27T09:30:00.123Z");
  e.timestamp = at_ms(951'782'400'000);  // a backfill: 2000-02-29
  CHECK(Parsed(ok(e, kNow).json).str("/timestamp") == "2000-02-29T00:00:00.000Z");
}

TEST_CASE("a generated message id is a UUIDv7 of `now`, found at message_id_at") {
  Event e = order_event();
  referkit::Result<SerializedEvent> r = referkit::Status(referkit::StatusCode::kInternal, "not run");
  // On a fresh thread: this thread may already have made ids for a later millisecond.
  std::thread([&] { r = serialize_event(e, kNow); }).join();
  REQUIRE(r.ok());
  CHECK(is_uuid_v7(r->message_id()));
  CHECK(r->json.compare(r->message_id_at, r->message_id().size(), r->message_id()) == 0);
  CHECK(Parsed(r->json).str("/messageId") == r->message_id());
  // The first 48 bits are the unix milliseconds of `now` ("01a21c57-1a3b-7..." for kNow).
  const std::string hex = std::string(r->message_id().substr(0, 8)) + std::string(r->message_id().substr(9, 4));
  CHECK(std::stoull(hex, nullptr, 16) == static_cast<unsigned long long>(kNow.time_since_epoch().count()));
}

TEST_CASE("generated message ids are unique and increasing: 100k on one thread") {
  Event e = order_event();
  std::string previous;
  int failures = 0;
  for (int i = 0; i < 100'000; ++i) {
    auto r = serialize_event(e, referkit::now_ms());
    REQUIRE(r.ok());
    if (!is_uuid_v7(r->message_id()) || r->message_id() <= previous) ++failures;
    previous = std::string(r->message_id());
  }
  CHECK(failures == 0);
}

TEST_CASE("generated message ids are unique across 4 threads and increasing within each") {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25'000;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Event e = order_event();
      auto& mine = ids[static_cast<std::size_t>(t)];
      mine.reserve(kPerThread);
      for (int i = 0; i < kPerThread; ++i) {
        // A frozen clock on purpose: all threads in one millisecond is the hard case.
        auto r = serialize_event(e, kNow);
        if (!r.ok() || !is_uuid_v7(r->message_id()) || (!mine.empty() && r->message_id() <= mine.back())) {
          ++failures[static_cast<std::size_t>(t)];
          continue;
        }
        mine.push_back(std::string(r->message_id()));
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<std::string> all;
  for (int t = 0; t < kThreads; ++t) {
    CHECK(failures[static_cast<std::size_t>(t)] == 0);
    all.insert(all.end(), ids[static_cast<std::size_t>(t)].begin(), ids[static_cast<std::size_t>(t)].end());
  }
  REQUIRE(all.size() == static_cast<std::size_t>(kThreads * kPerThread));
  std::sort(all.begin(), all.end());
  CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());
}

TEST_CASE("a refused event does not consume the output") {
  // The cheap checks run before anything is allocated or written.
  static int calls = 0;
  auto counting = [](char* out, TimePoint now) {
    ++calls;
    fixed_id(out, now);
  };
  Event e = order_event();
  e.user_id.clear();
  e.anonymous_id.clear();
  CHECK_FALSE(serialize_event(e, kNow, counting).ok());
  CHECK(calls == 0);
}

}  // TEST_SUITE
