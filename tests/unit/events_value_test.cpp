#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "referkit/events.hpp"

using referkit::StatusCode;
using referkit::Value;

namespace {

bool decimal_ok(std::string_view text) {
  auto r = Value::decimal(text);
  if (r.ok()) {
    CHECK(r->kind() == Value::Kind::kDecimal);
    CHECK(r->text() == text);
  } else {
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
  }
  return r.ok();
}

}  // namespace

TEST_SUITE("events") {

TEST_CASE("Value::decimal accepts plain JSON decimals") {
  for (const char* text : {"0", "-0", "7", "42", "-12.50", "0.001", "19.99", "-0.005", "10", "100.0",
                           "9223372036854775807", "0.0000000001"}) {
    INFO(text);
    CHECK(decimal_ok(text));
  }
}

TEST_CASE("Value::decimal refuses what is not a plain decimal") {
  for (const char* text : {"", "-", "01", "-01", "00", "00.5", ".5", "-.5", "5.", "-5.", "1e5", "1E5",
                           "1.5e3", "+1", "1.2.3", " 1", "1 ", "0x1", "1,5", "--1", "NaN", "Infinity",
                           "1.", "1..2", "\xd9\xa1"}) {
    INFO(text);
    CHECK_FALSE(decimal_ok(text));
  }
  // The grammar check stops at the first bad character: a NUL inside must not end the text early.
  CHECK_FALSE(decimal_ok(std::string_view("1\0" "2", 3)));
}

TEST_CASE("Value::decimal allows 40 characters and no more") {
  const std::string forty = "-" + std::string(30, '9') + "." + std::string(8, '1');
  REQUIRE(forty.size() == 40);
  CHECK(decimal_ok(forty));
  CHECK_FALSE(decimal_ok(forty + "1"));
  const std::string forty_digits = std::string(20, '1') + "." + std::string(19, '1');
  CHECK(decimal_ok(forty_digits));
  CHECK_FALSE(decimal_ok(forty_digits + "1"));
}

TEST_CASE("Value::decimal keeps integers within 64 bits, where JSON parsers agree") {
  CHECK(decimal_ok("9223372036854775807"));
  CHECK(decimal_ok("-9223372036854775808"));
  CHECK(decimal_ok("18446744073709551615"));
  CHECK(decimal_ok("999999999999999999"));
  CHECK(decimal_ok("-999999999999999999"));
  CHECK_FALSE(decimal_ok("18446744073709551616"));
  CHECK_FALSE(decimal_ok("99999999999999999999"));
  CHECK_FALSE(decimal_ok("-9223372036854775809"));
  CHECK_FALSE(decimal_ok("-10000000000000000000"));
  CHECK_FALSE(decimal_ok(std::string(40, '1')));
  // With a fraction, any size: parsers read it as a (rounded) double rather than fail.
  CHECK(decimal_ok("18446744073709551616.0"));
  CHECK(decimal_ok("-99999999999999999999999999.5"));
  auto r = Value::decimal("99999999999999999999");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("64-bit") != std::string::npos);
}

TEST_CASE("Value::decimal names the refused text") {
  auto r = Value::decimal("1e5");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("\"1e5\"") != std::string::npos);
  // A huge input is shown truncated.
  auto big = Value::decimal(std::string(10'000, '7'));
  REQUIRE_FALSE(big.ok());
  CHECK(big.status().message().size() < 200);
}

TEST_CASE("scalar constructors keep kind and value") {
  CHECK(Value().kind() == Value::Kind::kNull);
  CHECK(Value(true).kind() == Value::Kind::kBool);
  CHECK(Value(true).as_bool());
  CHECK_FALSE(Value(false).as_bool());
  CHECK(Value(42).as_integer() == 42);
  CHECK(Value(-7L).as_integer() == -7);
  CHECK(Value(std::numeric_limits<long long>::min()).as_integer() ==
        std::numeric_limits<std::int64_t>::min());
  CHECK(Value(std::numeric_limits<long long>::max()).as_integer() ==
        std::numeric_limits<std::int64_t>::max());
  CHECK(Value("text").kind() == Value::Kind::kString);  // not bool: a string literal stays a string
  CHECK(Value("text").text() == "text");
  CHECK(Value(std::string("s")).text() == "s");
  CHECK(Value(std::string_view("sv")).text() == "sv");
  const char* no_text = nullptr;
  CHECK(Value(no_text).kind() == Value::Kind::kNull);
}

TEST_CASE("set keeps insertion order and replaces an existing key in place") {
  Value o = Value::object();
  o.set("b", 1).set("a", 2).set("c", 3);
  REQUIRE(o.keys().size() == 3);
  CHECK(o.keys()[0] == "b");
  CHECK(o.keys()[1] == "a");
  CHECK(o.keys()[2] == "c");

  o.set("a", "two");
  REQUIRE(o.keys().size() == 3);
  REQUIRE(o.items().size() == 3);
  CHECK(o.keys()[1] == "a");
  CHECK(o.items()[1].kind() == Value::Kind::kString);
  CHECK(o.items()[1].text() == "two");
}

TEST_CASE("object_from builds the object set() would, duplicates included") {
  // {"b":1,"a":2,"b":3,"":4,"a":5,"":6}: first positions, last values, the empty key like any other.
  Value o = Value::object_from({"b", "a", "b", "", "a", ""}, {1, 2, 3, 4, 5, 6});
  Value expected = Value::object();
  expected.set("b", 1).set("a", 2).set("b", 3).set("", 4).set("a", 5).set("", 6);
  CHECK(o.kind() == Value::Kind::kObject);
  REQUIRE(o.keys() == expected.keys());
  REQUIRE(o.items().size() == 3);
  for (std::size_t i = 0; i < 3; ++i) CHECK(o.items()[i].as_integer() == expected.items()[i].as_integer());
  CHECK(o.keys()[0] == "b");
  CHECK(o.find("b")->as_integer() == 3);
  CHECK(o.find("")->as_integer() == 6);

  // Sizes that differ: the members both have.
  Value short_values = Value::object_from({"x", "y"}, {1});
  CHECK(short_values.keys().size() == 1);
  CHECK(Value::object_from({}, {}).keys().empty());
}

TEST_CASE("object_from keeps long keys intact while moving them (no views into moved strings)") {
  std::vector<std::string> keys;
  std::vector<Value> values;
  for (int i = 0; i < 2000; ++i) {
    keys.push_back("k" + std::to_string(i % 1000));  // short keys (SSO): each repeated once
    values.emplace_back(i);
  }
  keys.push_back(std::string(100, 'x'));
  values.emplace_back(-1);
  Value o = Value::object_from(keys, values);
  REQUIRE(o.keys().size() == 1001);
  CHECK(o.keys()[999] == "k999");
  CHECK(o.find("k999")->as_integer() == 1999);
  CHECK(o.keys()[1000] == std::string(100, 'x'));
}

TEST_CASE("find returns the member or null") {
  Value o = Value::object();
  o.set("x", 1).set("nested", Value::object().set("y", true));
  REQUIRE(o.find("x") != nullptr);
  CHECK(o.find("x")->as_integer() == 1);
  REQUIRE(o.find("nested") != nullptr);
  REQUIRE(o.find("nested")->find("y") != nullptr);
  CHECK(o.find("nested")->find("y")->as_bool());
  CHECK(o.find("missing") == nullptr);
  CHECK(o.find("") == nullptr);
  CHECK(Value::array().find("x") == nullptr);
  CHECK(Value(5).find("x") == nullptr);
}

TEST_CASE("push appends to arrays only, set works on objects only") {
  Value a = Value::array();
  a.push(1).push("two").push(Value::object());
  REQUIRE(a.items().size() == 3);
  CHECK(a.items()[1].text() == "two");
  CHECK(a.keys().empty());

  a.set("k", 1);  // wrong kind: no-op
  CHECK(a.kind() == Value::Kind::kArray);
  CHECK(a.items().size() == 3);
  CHECK(a.keys().empty());

  Value o = Value::object();
  o.push(1);  // wrong kind: no-op
  CHECK(o.kind() == Value::Kind::kObject);
  CHECK(o.items().empty());

  Value s("str");
  s.set("k", 1).push(2);
  CHECK(s.kind() == Value::Kind::kString);
  CHECK(s.items().empty());
}

TEST_CASE("setting an object into itself copies it") {
  Value o = Value::object();
  o.set("a", 1);
  o.set("self", o);
  REQUIRE(o.find("self") != nullptr);
  CHECK(o.find("self")->find("a") != nullptr);
  CHECK(o.find("self")->find("self") == nullptr);
}

}  // TEST_SUITE
