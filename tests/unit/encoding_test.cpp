#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/encoding.hpp"

using referkit::detail::base64_encode;
using referkit::detail::base64url_decode;
using referkit::detail::base64url_encode;

namespace {

constexpr std::string_view kUrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string random_bytes(std::mt19937& rng, std::size_t n) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(byte(rng));
  return out;
}

}  // namespace

TEST_SUITE("encoding") {

TEST_CASE("base64url_encode uses the URL alphabet without padding") {
  // RFC 4648 section 10 vectors, padding removed.
  CHECK(base64url_encode("") == "");
  CHECK(base64url_encode("f") == "Zg");
  CHECK(base64url_encode("fo") == "Zm8");
  CHECK(base64url_encode("foo") == "Zm9v");
  CHECK(base64url_encode("foob") == "Zm9vYg");
  CHECK(base64url_encode("fooba") == "Zm9vYmE");
  CHECK(base64url_encode("foobar") == "Zm9vYmFy");
  // 62 and 63 are '-' and '_' rather than '+' and '/'.
  CHECK(base64url_encode("\xfb\xff") == "-_8");
  CHECK(base64url_encode("\xff\xff\xff") == "____");
  CHECK(base64url_encode(std::string_view("\xf8\x00\x3e", 3)) == "-AA-");
}

TEST_CASE("base64url round trips random bytes of every length from 0 to 64") {
  std::mt19937 rng(20261127);
  for (std::size_t len = 0; len <= 64; ++len) {
    for (int trial = 0; trial < 20; ++trial) {
      const std::string bytes = random_bytes(rng, len);
      const std::string text = base64url_encode(bytes);
      CAPTURE(len);
      CAPTURE(text);
      // ceil(len * 4 / 3) characters, all from the URL alphabet.
      CHECK(text.size() == (len * 4 + 2) / 3);
      CHECK(text.find_first_not_of(kUrlAlphabet) == std::string::npos);
      auto back = base64url_decode(text);
      REQUIRE(back.has_value());
      CHECK(*back == bytes);
    }
  }
}

TEST_CASE("base64url_decode refuses every byte outside the alphabet, at every place in a group") {
  // Whole groups and the tail are decoded by different code: 8 characters are two whole groups,
  // 11 are two and a tail of three (whose last character must keep the trailing bits zero: 'A').
  for (const std::string_view base : {"QUJDREVG", "QUJDREVGQUA"}) {
    for (std::size_t pos = 0; pos + 1 < base.size(); ++pos) {
      for (int b = 0; b < 256; ++b) {
        std::string text(base);
        text[pos] = static_cast<char>(b);
        const bool in_alphabet = std::string_view(kUrlAlphabet).find(static_cast<char>(b)) != std::string_view::npos;
        CAPTURE(pos);
        CAPTURE(b);
        CHECK(base64url_decode(text).has_value() == in_alphabet);
      }
    }
  }
}

TEST_CASE("base64url_decode rejects padding and the standard alphabet") {
  CHECK_FALSE(base64url_decode("Zg==").has_value());
  CHECK_FALSE(base64url_decode("Zm8=").has_value());
  CHECK_FALSE(base64url_decode("Zg=").has_value());
  CHECK_FALSE(base64url_decode("=").has_value());
  CHECK_FALSE(base64url_decode("====").has_value());
  CHECK_FALSE(base64url_decode("+_8").has_value());
  CHECK_FALSE(base64url_decode("-/8").has_value());
  CHECK_FALSE(base64url_decode("+/8=").has_value());
  CHECK_FALSE(base64url_decode("Zm9v\n").has_value());
  CHECK_FALSE(base64url_decode(" Zm9v").has_value());
  CHECK_FALSE(base64url_decode("Zm 9v").has_value());
  CHECK_FALSE(base64url_decode(std::string_view("Zm9\0", 4)).has_value());
  CHECK_FALSE(base64url_decode("Zm9\xc3\xa9").has_value());
  // Exactly the 64 alphabet characters are accepted in a 4-character group.
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const std::string group = std::string("AAA") + c;
    CAPTURE(b);
    CHECK(base64url_decode(group).has_value() == (kUrlAlphabet.find(c) != std::string_view::npos));
  }
}

TEST_CASE("base64url_decode rejects lengths of the form 4k+1") {
  for (std::size_t k = 0; k < 6; ++k) {
    const std::string text(4 * k + 1, 'A');
    CAPTURE(text.size());
    CHECK_FALSE(base64url_decode(text).has_value());
  }
  // The neighbouring lengths are fine.
  CHECK(base64url_decode("").has_value());
  CHECK(base64url_decode("AA").has_value());
  CHECK(base64url_decode("AAA").has_value());
  CHECK(base64url_decode("AAAA").has_value());
  CHECK(base64url_decode("AAAAAA").has_value());
}

TEST_CASE("base64url_decode rejects non-zero trailing bits") {
  // "Zg" is 'f'; "Zh".."Zv" carry the same byte with non-zero unused bits.
  CHECK(base64url_decode("Zg").has_value());
  CHECK_FALSE(base64url_decode("Zh").has_value());
  CHECK_FALSE(base64url_decode("Zv").has_value());
  CHECK(base64url_decode("Zm8").has_value());
  CHECK_FALSE(base64url_decode("Zm9").has_value());
  CHECK_FALSE(base64url_decode("Zm_").has_value());
  CHECK_FALSE(base64url_decode("Zm9vYh").has_value());
}

TEST_CASE("every 1- and 2-byte string has exactly one base64url spelling") {
  // All 64^2 two-character and 64^3 three-character strings: exactly 256 (resp. 65536) decode,
  // and each of those is the encoder's own output for the bytes it decodes to.
  std::size_t accepted2 = 0;
  bool all_canonical = true;
  std::vector<bool> seen1(256, false);
  for (char a : kUrlAlphabet) {
    for (char b : kUrlAlphabet) {
      const std::string text{a, b};
      auto bytes = base64url_decode(text);
      if (!bytes) continue;
      ++accepted2;
      if (bytes->size() != 1 || base64url_encode(*bytes) != text) all_canonical = false;
      if (bytes->size() == 1) seen1[static_cast<unsigned char>((*bytes)[0])] = true;
    }
  }
  CHECK(accepted2 == 256);
  CHECK(all_canonical);
  CHECK(std::count(seen1.begin(), seen1.end(), true) == 256);

  std::size_t accepted3 = 0;
  std::vector<bool> seen2(65536, false);
  for (char a : kUrlAlphabet) {
    for (char b : kUrlAlphabet) {
      for (char c : kUrlAlphabet) {
        const std::string text{a, b, c};
        auto bytes = base64url_decode(text);
        if (!bytes) continue;
        ++accepted3;
        if (bytes->size() != 2 || base64url_encode(*bytes) != text) {
          all_canonical = false;
          continue;
        }
        const auto index = static_cast<std::size_t>(static_cast<unsigned char>((*bytes)[0])) << 8 |
                           static_cast<unsigned char>((*bytes)[1]);
        seen2[index] = true;
      }
    }
  }
  CHECK(accepted3 == 65536);
  CHECK(all_canonical);
  CHECK(std::count(seen2.begin(), seen2.end(), true) == 65536);
}

TEST_CASE("a changed last character never decodes to the same bytes") {
  std::mt19937 rng(7);
  for (std::size_t len = 1; len <= 40; ++len) {
    const std::string bytes = random_bytes(rng, len);
    const std::string text = base64url_encode(bytes);
    for (char c : kUrlAlphabet) {
      if (c == text.back()) continue;
      std::string other = text;
      other.back() = c;
      auto decoded = base64url_decode(other);
      CAPTURE(other);
      CHECK((!decoded.has_value() || *decoded != bytes));
    }
  }
}

TEST_CASE("base64_encode matches the RFC 4648 test vectors with padding") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foob") == "Zm9vYg==");
  CHECK(base64_encode("fooba") == "Zm9vYmE=");
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  // The standard alphabet uses '+' and '/'.
  CHECK(base64_encode("\xfb\xff") == "+/8=");
  CHECK(base64_encode("\xff\xff\xff") == "////");
  // HTTP Basic credentials, RFC 7617 section 2.
  CHECK(base64_encode("Aladdin:open sesame") == "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

TEST_CASE("base64_encode and base64url_encode differ only in alphabet and padding") {
  std::mt19937 rng(99);
  for (std::size_t len = 0; len <= 64; ++len) {
    const std::string bytes = random_bytes(rng, len);
    std::string standard = base64_encode(bytes);
    CAPTURE(len);
    CHECK(standard.size() % 4 == 0);
    while (!standard.empty() && standard.back() == '=') standard.pop_back();
    for (char& c : standard) {
      if (c == '+') c = '-';
      if (c == '/') c = '_';
    }
    CHECK(standard == base64url_encode(bytes));
  }
}

}  // TEST_SUITE
