#include <doctest/doctest.h>
#include <simdjson.h>

#include <cstddef>
#include <random>
#include <string>
#include <string_view>

#include "common/utf8.hpp"
#include "json/json_text.hpp"
#include "json/json_writer.hpp"
#include "support/reference_json.hpp"

using referkit::detail::JsonOutput;

namespace {

// Returns the literal, or "<invalid>" when put_string refused the text.
std::string literal(std::string_view s, std::size_t expected = 0) {
  std::string out;
  JsonOutput o(out, expected);
  if (!o.put_string(s)) return "<invalid>";
  o.finish();
  return out;
}

// What a JSON parser reads back from the literal, or "<invalid>" when put_string refused it.
// simdjson is the independent judge: JsonWriter's append_json_string is this same escaper now,
// and the exact escape forms are pinned in json_writer_test.cpp.
std::string read_back(std::string_view s) {
  const std::string lit = literal(s);
  if (lit == "<invalid>") return lit;
  simdjson::dom::parser parser;
  std::string_view text;
  if (parser.parse(lit).get_string().get(text) != simdjson::SUCCESS) return "<not JSON: " + lit + ">";
  return std::string(text);
}

// Valid UTF-8 reads back unchanged; anything else must be refused.
std::string reference(std::string_view s) {
  return referkit::detail::is_valid_utf8(s) ? std::string(s) : std::string("<invalid>");
}

// The same text through append_json_string (the trusting entry point), after is_valid_utf8.
std::string appended(std::string_view s) {
  if (!referkit::detail::is_valid_utf8(s)) return "<invalid>";
  std::string out;
  referkit::detail::append_json_string(out, s);
  return out;
}

// The judge for exact bytes (support/reference_json.hpp), and "<invalid>" wherever
// is_valid_utf8 says so. put_string copies plain 8-byte blocks as it tests them and stores a
// short tail over bytes already written; this pins every byte it writes.
std::string exact(std::string_view s) {
  if (!referkit::detail::is_valid_utf8(s)) return "<invalid>";
  return referkit::test::reference_json_literal(s);
}

}  // namespace

TEST_SUITE("json") {

TEST_CASE("put_string gives exactly the reference bytes for every byte at every offset of strings 1-24 long") {
  // Each byte value, alone or as the lead of a valid sequence, placed at each offset of plain
  // text of lengths around the 8-byte blocks (7, 8, 9, 15, 16, 17...): the whole-block, the
  // overlapping-tail and the short-string paths, before and after an escape or a multi-byte
  // character. U+2028 and U+2029 are valid JSON as is and are not escaped.
  int mismatches = 0;
  for (std::size_t length = 1; length <= 24; ++length) {
    for (std::size_t at = 0; at < length; ++at) {
      for (int b = 0; b < 256; ++b) {
        for (std::string_view insert : {std::string_view(), std::string_view("\xc3\xa9"),
                                        std::string_view("\xe2\x80\xa8"), std::string_view("\xe2\x80\xa9"),
                                        std::string_view("\xf0\x9f\x98\x80"), std::string_view("\"")}) {
          std::string s(length, 'x');
          for (std::size_t i = 0; i < length; ++i) s[i] = static_cast<char>('a' + i % 26);
          s[at] = static_cast<char>(b);
          s.insert(length - 1 - (at % length), insert);
          for (std::size_t expected : {std::size_t{0}, s.size() + 2}) {
            const std::string got = literal(s, expected);
            if (got != exact(s) && ++mismatches < 5) {
              INFO("length " << length << " at " << at << " byte " << b);
              CHECK(got == exact(s));
            }
          }
        }
      }
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE("put_string after earlier output: the tail store rewrites only plain bytes it wrote") {
  // An escape right before a plain overlapping tail, in a buffer that already holds text.
  std::string out;
  JsonOutput o(out, 0);
  o.put_raw("{");
  REQUIRE(o.put_string("abcdefgh\"ijkl"));
  REQUIRE(o.put_string("\xc3\xa9" "bcdefghijk"));
  REQUIRE(o.put_string("abcdefg\n"));
  o.finish();
  CHECK(out == "{\"abcdefgh\\\"ijkl\"\"\xc3\xa9" "bcdefghijk\"\"abcdefg\\n\"");
}


TEST_CASE("put_string writes literals a JSON parser reads back, and append_json_string agrees") {
  for (std::string_view s : {std::string_view(""), std::string_view("a"), std::string_view("abcdefgh"),
                             std::string_view("abcdefghi"), std::string_view("\""), std::string_view("\\"),
                             std::string_view("a\"b\\c\nd\re\tf\bg\fh\x01i\x1fj\x7fk"),
                             std::string_view("1234567\"89"), std::string_view("\0", 1),
                             std::string_view("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
                             std::string_view("\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80")}) {
    INFO(std::string(s));
    CHECK(read_back(s) == reference(s));
    CHECK(literal(s) == appended(s));
  }
}

TEST_CASE("put_string refuses invalid UTF-8 wherever it is") {
  for (std::string_view bad : {"\xff", "\x80", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82",
                               "\xc3"}) {
    for (std::size_t at = 0; at < 20; ++at) {
      std::string s(at, 'x');
      s += bad;
      s += "tail";
      INFO(at);
      CHECK(literal(s) == "<invalid>");
      s.resize(at + bad.size());  // bad bytes at the very end
      CHECK(literal(s) == "<invalid>");
    }
  }
}

TEST_CASE("put_string agrees with the reference on random text of every short length") {
  // Mostly plain ASCII, with the bytes that need care mixed in, so blocks of 8 and the short
  // tail paths both meet them at every offset.
  static constexpr std::string_view kPieces[] = {"a", "b", "Z", "0", " ", "~", "\"", "\\", "\n", "\x01",
                                                 "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                                 "\xff", "\xc3", "\x80", "\xed\xa0\x80"};
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> plain(0, 9);
  std::uniform_int_distribution<std::size_t> piece(0, std::size(kPieces) - 1);
  int mismatches = 0;
  for (int round = 0; round < 40'000; ++round) {
    std::string s;
    const std::size_t length = static_cast<std::size_t>(round % 40);
    while (s.size() < length) {
      if (plain(rng) < 8) {
        s += static_cast<char>('a' + plain(rng));
      } else {
        s += kPieces[piece(rng)];
      }
    }
    if (read_back(s) != reference(s) && ++mismatches < 5) CHECK(read_back(s) == reference(s));
    if (literal(s) != appended(s) && ++mismatches < 5) CHECK(literal(s) == appended(s));
  }
  CHECK(mismatches == 0);
}

TEST_CASE("the buffer grows past its expected size and finish() trims it") {
  const std::string controls(1'000, '\x01');  // each becomes \u0001: six times longer
  std::string out;
  JsonOutput o(out, 4);
  o.put('[');
  REQUIRE(o.put_string(controls));
  o.put_raw(",42]");
  o.finish();
  CHECK(out.size() == 1 + 2 + 6'000 + 4);
  CHECK(out.substr(0, 9) == "[\"\\u0001\\");
  CHECK(out.substr(out.size() - 5) == "\",42]");
}

TEST_CASE("append mode keeps what the string held, and the trusting escaper copies non-UTF-8 as is") {
  std::string out = "prefix:";
  {
    JsonOutput o(out, 0, JsonOutput::Append{});
    o.put_trusted_string("a\xff\"");
    o.finish();
  }
  CHECK(out == "prefix:\"a\xff\\\"\"");
}

}  // TEST_SUITE
