// The shared ASCII helpers of src/common/text.hpp.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <string_view>

#include "common/text.hpp"

using namespace referkit::detail;

namespace {

std::string all_byte_values() {
  std::string out;
  for (int b = 0; b < 256; ++b) out += static_cast<char>(b);
  return out;
}

}  // namespace

TEST_SUITE("text") {

TEST_CASE("iequals folds ASCII case only") {
  CHECK(iequals("Content-Length", "content-length"));
  CHECK(iequals("", ""));
  CHECK(iequals("HTTPS", "https"));
  CHECK_FALSE(iequals("gzip", "gzi"));
  CHECK_FALSE(iequals("gzip", "gziq"));
  CHECK_FALSE(iequals("[", "{"));          // 0x5b and 0x7b differ by 0x20 but are not letters
  CHECK_FALSE(iequals("@", "`"));
  CHECK_FALSE(iequals("\xc3\x89", "\xc3\xa9"));  // É and é: bytes above 0x7f compare exactly
  CHECK(ascii_lowercase("ABC-xyz_09\xc3\x89") == "abc-xyz_09\xc3\x89");
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    const bool upper = ch >= 'A' && ch <= 'Z';
    CAPTURE(c);
    CHECK(ascii_lower(ch) == (upper ? static_cast<char>(c + 32) : ch));
  }
}

TEST_CASE("trim removes ASCII whitespace by default, or the characters asked for") {
  CHECK(trim("  a b \t\r\n") == "a b");
  CHECK(trim("\f\vx\v") == "x");
  CHECK(trim("") == "");
  CHECK(trim(" \t\n ") == "");
  CHECK(trim("a") == "a");
  CHECK(trim(" \t v \r\n", kHttpWhitespace) == "v \r\n");  // OWS only: CR and LF stay
  CHECK(trim("--x--", "-") == "x");
  const std::string_view all_blank = "   ";
  CHECK(trim(all_blank).data() >= all_blank.data());  // an empty view still inside its input
  // The default (inline, a range test) and the set it stands for (a loop over kAsciiWhitespace)
  // agree on every byte value, at either end and alone.
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    for (const std::string& s : {std::string(1, c), std::string(1, c) + "x" + std::string(1, c),
                                 std::string(2, c) + "x"}) {
      REQUIRE(trim(s) == trim(s, kAsciiWhitespace));
    }
  }
}

TEST_CASE("is_http_token accepts exactly the RFC 9110 token characters") {
  CHECK(is_http_token("Content-Type"));
  CHECK(is_http_token("X-Custom_Header.1~"));
  CHECK(is_http_token("!#$%&'*+-.^_`|~"));
  CHECK_FALSE(is_http_token(""));
  for (std::string_view bad : {"a b", "a:b", "a\"b", "a(b)", "a/b", "a@b", "a,b", "a;b", "a=b", "a\tb", "a\x7f",
                               "\xc3\xa9"}) {
    CAPTURE(bad);
    CHECK_FALSE(is_http_token(bad));
  }
}

TEST_CASE("hex_value and hex_u64") {
  CHECK(hex_value('0') == 0);
  CHECK(hex_value('9') == 9);
  CHECK(hex_value('a') == 10);
  CHECK(hex_value('F') == 15);
  CHECK(hex_value('g') == -1);
  CHECK(hex_value('/') == -1);
  CHECK(hex_u64(0) == "0000000000000000");
  CHECK(hex_u64(0x1a2b) == "0000000000001a2b");
  CHECK(hex_u64(UINT64_MAX) == "ffffffffffffffff");
}

TEST_CASE("write_hex_u64, write_hex_u128 and hex_encode agree with printf on every nibble position") {
  std::mt19937_64 rng(15);
  for (int i = 0; i < 10'000; ++i) {
    std::uint64_t v = rng();
    if (i < 64) v = std::uint64_t{1} << i;
    if (i >= 64 && i < 80) v = 0x1111111111111111 * static_cast<std::uint64_t>(i - 64);  // every digit alike
    char expected[17];
    std::snprintf(expected, sizeof expected, "%016llx", static_cast<unsigned long long>(v));
    char out[16];
    referkit::detail::write_hex_u64(out, v);
    REQUIRE(std::string_view(out, 16) == expected);
    // write_hex_u128 (one SSE2 register where there is one): v with its neighbour, both ways.
    const std::uint64_t other = rng();
    char wide[32];
    referkit::detail::write_hex_u128(wide, v, other);
    char wide_expected[33];
    std::snprintf(wide_expected, sizeof wide_expected, "%016llx%016llx", static_cast<unsigned long long>(v),
                  static_cast<unsigned long long>(other));
    REQUIRE(std::string_view(wide, 32) == wide_expected);
    referkit::detail::write_hex_u128(wide, other, v);
    std::snprintf(wide_expected, sizeof wide_expected, "%016llx%016llx", static_cast<unsigned long long>(other),
                  static_cast<unsigned long long>(v));
    REQUIRE(std::string_view(wide, 32) == wide_expected);
  }
  // hex_encode goes 16 bytes at a time, then 8, then byte by byte: every length around the blocks.
  const std::string bytes = all_byte_values();
  for (std::size_t from = 0; from < 24; ++from) {
    for (std::size_t n = 0; n <= 40; ++n) {
      const std::string_view in = std::string_view(bytes).substr(from * 7, n);
      std::string expected;
      for (const char c : in) {
        char pair[3];
        std::snprintf(pair, sizeof pair, "%02x", static_cast<unsigned char>(c));
        expected += pair;
      }
      REQUIRE(hex_encode(in) == expected);
    }
  }
}

TEST_CASE("ascii_lowercase folds A-Z only, every byte value at every offset") {
  for (std::size_t length = 1; length <= 20; ++length) {
    for (std::size_t at = 0; at < length; ++at) {
      for (int b = 0; b < 256; ++b) {
        std::string s(length, 'Q');
        s[at] = static_cast<char>(b);
        std::string expected = s;
        for (char& c : expected) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
        REQUIRE(ascii_lowercase(s) == expected);
      }
    }
  }
}

TEST_CASE("hex_encode writes two lowercase digits per byte") {
  CHECK(hex_encode("") == "");
  CHECK(hex_encode(std::string_view("\x00", 1)) == "00");
  CHECK(hex_encode("\x01\xab\xff") == "01abff");
  CHECK(hex_encode("Jefe") == "4a656665");
  const std::string all = hex_encode(all_byte_values());
  REQUIRE(all.size() == 512);
  CHECK(all.substr(0, 8) == "00010203");
  CHECK(all.substr(504) == "fcfdfeff");
}

TEST_CASE("hex_decode round trips every byte value") {
  const std::string bytes = all_byte_values();
  auto back = hex_decode(hex_encode(bytes));
  REQUIRE(back.has_value());
  CHECK(*back == bytes);
}

TEST_CASE("hex_decode accepts upper and mixed case") {
  auto upper = hex_decode("01ABFF");
  REQUIRE(upper.has_value());
  CHECK(*upper == "\x01\xab\xff");
  auto mixed = hex_decode("aBcD");
  REQUIRE(mixed.has_value());
  CHECK(*mixed == "\xab\xcd");
  auto empty = hex_decode("");
  REQUIRE(empty.has_value());
  CHECK(empty->empty());
}

TEST_CASE("hex_decode rejects odd lengths and non-hex characters") {
  CHECK_FALSE(hex_decode("0").has_value());
  CHECK_FALSE(hex_decode("abc").has_value());
  CHECK_FALSE(hex_decode("0g").has_value());
  CHECK_FALSE(hex_decode("g0").has_value());
  CHECK_FALSE(hex_decode("0x12").has_value());
  CHECK_FALSE(hex_decode(" 012").has_value());
  CHECK_FALSE(hex_decode("01 2").has_value());
  CHECK_FALSE(hex_decode("-1").has_value());
  CHECK_FALSE(hex_decode(std::string_view("0\0", 2)).has_value());
  CHECK_FALSE(hex_decode("\xc3\xa9").has_value());
  // Every byte that is not a hex digit is refused in either position.
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const bool is_hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    const std::string first{c, '0'};
    const std::string second{'0', c};
    CAPTURE(b);
    CHECK(hex_decode(first).has_value() == is_hex);
    CHECK(hex_decode(second).has_value() == is_hex);
  }
}

}  // TEST_SUITE
