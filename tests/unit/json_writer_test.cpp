#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "json/json_writer.hpp"

using referkit::detail::append_json_string;
using referkit::detail::JsonWriter;

namespace {

std::string quoted(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

}  // namespace

TEST_SUITE("json_writer") {

TEST_CASE("plain strings are quoted unchanged") {
  CHECK(quoted("") == R"("")");
  CHECK(quoted("hello") == R"("hello")");
  CHECK(quoted("a/b") == R"("a/b")");  // '/' may stay unescaped
  CHECK(quoted("~\x7f") == "\"~\x7f\"");  // DEL is not a control character in JSON
}

TEST_CASE("quotes and backslashes are escaped") {
  CHECK(quoted("\"") == R"("\"")");
  CHECK(quoted("\\") == R"("\\")");
  CHECK(quoted(R"(say "hi" \o/)") == R"("say \"hi\" \\o/")");
  CHECK(quoted("\\\"") == R"("\\\"")");
}

TEST_CASE("every control character 0x00 to 0x1f is escaped") {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int c = 0; c < 0x20; ++c) {
    std::string expected;
    switch (c) {
      case '\b': expected = "\\b"; break;
      case '\t': expected = "\\t"; break;
      case '\n': expected = "\\n"; break;
      case '\f': expected = "\\f"; break;
      case '\r': expected = "\\r"; break;
      default:
        expected = "\\u00";
        expected += kHex[c >> 4];
        expected += kHex[c & 15];
    }
    const std::string input(1, static_cast<char>(c));
    CAPTURE(c);
    CHECK(quoted(input) == "\"" + expected + "\"");
  }
  // Escapes inside a longer string keep the clean runs around them.
  CHECK(quoted(std::string_view("a\0b\x1f" "c\nd", 7)) == R"("a\u0000b\u001fc\nd")");
  CHECK(quoted("line1\r\nline2\t") == R"("line1\r\nline2\t")");
}

TEST_CASE("UTF-8 passes through unescaped") {
  CHECK(quoted("Jos\xc3\xa9 N\xc3\xba\xc3\xb1" "ez") == "\"Jos\xc3\xa9 N\xc3\xba\xc3\xb1" "ez\"");
  CHECK(quoted("\xe2\x82\xac") == "\"\xe2\x82\xac\"");          // U+20AC
  CHECK(quoted("\xf0\x9f\x98\x80") == "\"\xf0\x9f\x98\x80\"");  // U+1F600
  CHECK(quoted("\xe2\x80\xa8") == "\"\xe2\x80\xa8\"");          // U+2028 is valid JSON
}

TEST_CASE("append_json_string appends to what is already there") {
  std::string out = "prefix:";
  append_json_string(out, "x");
  CHECK(out == R"(prefix:"x")");
}

TEST_CASE("an object of scalars") {
  std::string out;
  JsonWriter w(out);
  w.begin_object()
      .key("s").value("text")
      .key("n").value(-12)
      .key("t").value(true)
      .key("f").value(false)
      .key("z").null()
      .end_object();
  CHECK(out == R"({"s":"text","n":-12,"t":true,"f":false,"z":null})");
}

TEST_CASE("a string literal is written as a string and not as a bool") {
  std::string out;
  JsonWriter w(out);
  w.begin_array().value("x").value(std::string_view("y")).value(std::string("z")).end_array();
  CHECK(out == R"(["x","y","z"])");
}

TEST_CASE("empty containers") {
  std::string out;
  JsonWriter(out).begin_object().end_object();
  CHECK(out == "{}");
  out.clear();
  JsonWriter(out).begin_array().end_array();
  CHECK(out == "[]");
  out.clear();
  JsonWriter w(out);
  w.begin_array().begin_array().end_array().begin_object().end_object().begin_array().end_array().end_array();
  CHECK(out == "[[],{},[]]");
}

TEST_CASE("nested objects and arrays get commas exactly between elements") {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("a").begin_array().value(1).value(2).begin_object().key("b").begin_array().end_array().end_object().end_array();
  w.key("c").begin_object().end_object();
  w.key("d").begin_object().key("e").value("f").key("g").begin_object().key("h").null().end_object().end_object();
  w.key("i").value(3);
  w.end_object();
  CHECK(out == R"({"a":[1,2,{"b":[]}],"c":{},"d":{"e":"f","g":{"h":null}},"i":3})");
}

TEST_CASE("arrays of arrays") {
  std::string out;
  JsonWriter w(out);
  w.begin_array();
  w.begin_array().value(1).end_array();
  w.begin_array().value(2).value(3).end_array();
  w.value(4);
  w.end_array();
  CHECK(out == "[[1],[2,3],4]");
}

TEST_CASE("keys are escaped like values") {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("a\"b\n").value("c\\").key(std::string_view("\x01", 1)).value(0).end_object();
  CHECK(out == R"({"a\"b\n":"c\\","\u0001":0})");
}

TEST_CASE("integers at the limits of int64 and uint64") {
  std::string out;
  JsonWriter w(out);
  w.begin_array()
      .value(std::numeric_limits<std::int64_t>::min())
      .value(std::numeric_limits<std::int64_t>::max())
      .value(std::numeric_limits<std::uint64_t>::max())
      .value(std::int64_t{0})
      .value(std::uint64_t{0})
      .value(std::numeric_limits<int>::min())
      .end_array();
  CHECK(out ==
        "[-9223372036854775808,9223372036854775807,18446744073709551615,0,0,-2147483648]");
}

TEST_CASE("raw JSON is inserted as is with separators around it") {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("n").raw("1.5e3").key("doc").raw(R"({"x":[1]})").key("after").value(1).end_object();
  CHECK(out == R"({"n":1.5e3,"doc":{"x":[1]},"after":1})");
}

TEST_CASE("the writer appends to existing output") {
  std::string out = "data: ";
  JsonWriter w(out);
  w.begin_object().key("k").value("v").end_object();
  CHECK(out == R"(data: {"k":"v"})");
}

TEST_CASE("top-level scalars") {
  std::string out;
  JsonWriter(out).value("only");
  CHECK(out == R"("only")");
  out.clear();
  JsonWriter(out).null();
  CHECK(out == "null");
}

}  // TEST_SUITE
