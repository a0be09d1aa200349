#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "events/iso4217.hpp"
#include "referkit/events.hpp"

using referkit::currency_exponent;
using referkit::format_money;
using referkit::Money;
using referkit::StatusCode;
using referkit::Value;

namespace {

std::string money(std::int64_t minor, const char* currency) {
  auto r = format_money(Money{minor, currency});
  INFO(minor, " ", currency, " ", r.status().to_string());
  REQUIRE(r.ok());
  // Every output is a valid decimal Value: the builders rely on it.
  CHECK(Value::decimal(*r).ok());
  return *r;
}

int exponent(std::string_view code) {
  auto r = currency_exponent(code);
  INFO(std::string(code), " ", r.status().to_string());
  REQUIRE(r.ok());
  return *r;
}

// An independent oracle: the decimal point placed by string surgery on std::to_string.
std::string reference(std::int64_t minor, int scale) {
  if (scale == 0) return std::to_string(minor);
  std::string digits = std::to_string(minor);
  const bool negative = digits[0] == '-';
  if (negative) digits.erase(0, 1);
  const auto s = static_cast<std::size_t>(scale);
  if (digits.size() <= s) digits.insert(0, s + 1 - digits.size(), '0');
  digits.insert(digits.size() - s, ".");
  return negative ? "-" + digits : digits;
}

}  // namespace

TEST_SUITE("events") {

TEST_CASE("currency exponents of every class") {
  for (const char* code : {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX",
                           "UYI", "VND", "VUV", "XAF", "XOF", "XPF"}) {
    CHECK(exponent(code) == 0);
  }
  for (const char* code : {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}) CHECK(exponent(code) == 3);
  for (const char* code : {"CLF", "UYW"}) CHECK(exponent(code) == 4);
  for (const char* code : {"AED", "AFN", "AUD", "BRL", "CAD", "CHF", "CNY", "EUR", "GBP", "HKD", "HUF",
                           "IDR", "INR", "MXN", "NOK", "NZD", "PLN", "SEK", "SGD", "TRY", "TWD", "USD",
                           "ZAR", "VES", "VED", "SLE", "XCG", "ZWG", "MRU", "STN", "UYU", "XCD", "ZMW"}) {
    CHECK(exponent(code) == 2);
  }
}

TEST_CASE("the first and last codes of the table are found") {
  CHECK(exponent("AED") == 2);
  CHECK(exponent("ZWL") == 2);
}

TEST_CASE("the direct table holds exactly the listed codes, and nothing that is not three upper-case letters") {
  // Every three-letter code: 169 active codes, the exponents other than 2 exactly these.
  const std::string_view not_two[] = {"BHD", "BIF", "CLF", "CLP", "DJF", "GNF", "IQD", "ISK", "JOD",
                                      "JPY", "KMF", "KRW", "KWD", "LYD", "OMR", "PYG", "RWF", "TND",
                                      "UGX", "UYI", "UYW", "VND", "VUV", "XAF", "XOF", "XPF"};
  int found = 0;
  int by_exponent[5] = {};
  for (char a = 'A'; a <= 'Z'; ++a) {
    for (char b = 'A'; b <= 'Z'; ++b) {
      for (char c = 'A'; c <= 'Z'; ++c) {
        const char code[3] = {a, b, c};
        const int exponent = referkit::detail::iso4217_exponent(std::string_view(code, 3));
        if (exponent < 0) continue;
        REQUIRE(exponent <= 4);
        ++found;
        ++by_exponent[exponent];
        const bool listed = std::find(std::begin(not_two), std::end(not_two), std::string_view(code, 3)) != std::end(not_two);
        CHECK((exponent != 2) == listed);
      }
    }
  }
  CHECK(found == 169);
  CHECK(by_exponent[0] == 17);
  CHECK(by_exponent[2] == 143);
  CHECK(by_exponent[3] == 7);
  CHECK(by_exponent[4] == 2);
  for (std::string_view bad : {"usd", "Usd", "US", "USDX", "", "U$D", "@SD", "[SD", "US\0", "\xc3\x9cSD"}) {
    CHECK(referkit::detail::iso4217_exponent(bad) == -1);
  }
}

TEST_CASE("lower-case currency is refused with the upper-case spelling suggested") {
  for (const char* code : {"usd", "Usd", "uSD", "eur"}) {
    auto r = currency_exponent(code);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
    CHECK(r.status().message().find("upper case") != std::string::npos);
  }
  CHECK(currency_exponent("usd").status().message().find("use \"USD\"") != std::string::npos);
}

TEST_CASE("unknown, withdrawn and malformed codes are refused") {
  for (const char* code : {"XYZ", "xyz", "HRK", "DEM", "VEF", "XAU", "XDR", "XTS", "XXX", "", "US", "USDD",
                           "U$D", "US ", " USD", "12A", "\xc3\x9cSD"}) {
    INFO(code);
    auto r = currency_exponent(code);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
    CHECK(r.status().message().find("upper case") == std::string::npos);
  }
  CHECK(currency_exponent("XYZ").status().message().find("not an active ISO 4217") != std::string::npos);
  CHECK(currency_exponent("").status().message() == "currency is required");
  // A NUL is not a terminator here.
  CHECK_FALSE(currency_exponent(std::string_view("US\0", 3)).ok());
}

TEST_CASE("format_money places the point by the currency's exponent") {
  CHECK(money(1999, "USD") == "19.99");
  CHECK(money(5, "USD") == "0.05");
  CHECK(money(50, "USD") == "0.50");
  CHECK(money(100, "USD") == "1.00");
  CHECK(money(0, "USD") == "0.00");
  CHECK(money(500, "JPY") == "500");
  CHECK(money(0, "JPY") == "0");
  CHECK(money(5, "KWD") == "0.005");
  CHECK(money(1234567, "KWD") == "1234.567");
  CHECK(money(1, "CLF") == "0.0001");
  CHECK(money(12345, "CLF") == "1.2345");
}

TEST_CASE("format_money of negative amounts") {
  CHECK(money(-5, "KWD") == "-0.005");
  CHECK(money(-1999, "USD") == "-19.99");
  CHECK(money(-1, "USD") == "-0.01");
  CHECK(money(-500, "JPY") == "-500");
  CHECK(money(-10000, "CLF") == "-1.0000");
}

TEST_CASE("format_money at the int64 limits") {
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  CHECK(money(kMin, "USD") == "-92233720368547758.08");
  CHECK(money(kMax, "USD") == "92233720368547758.07");
  CHECK(money(kMin, "JPY") == "-9223372036854775808");
  CHECK(money(kMax, "JPY") == "9223372036854775807");
  CHECK(money(kMin, "KWD") == "-9223372036854775.808");
  CHECK(money(kMin, "CLF") == "-922337203685477.5808");
  CHECK(money(kMin + 1, "USD") == "-92233720368547758.07");
}

TEST_CASE("format_money agrees with a string oracle on random amounts") {
  std::mt19937_64 rng(20261127);
  for (int i = 0; i < 20'000; ++i) {
    // Mix tiny and huge magnitudes: the short cases are where padding goes wrong.
    auto minor = static_cast<std::int64_t>(rng());
    if (i % 2 == 0) minor %= 100'000;
    for (const char* code : {"JPY", "USD", "KWD", "CLF"}) {
      INFO(minor, " ", code);
      CHECK(money(minor, code) == reference(minor, exponent(code)));
    }
  }
  // Every small amount and the powers of ten around them: where one digit, two digits at a
  // time, the point and the leading zeros meet.
  std::vector<std::int64_t> amounts;
  for (std::int64_t m = -1'100; m <= 1'100; ++m) amounts.push_back(m);
  std::int64_t p = 1;
  for (int e = 1; e <= 18; ++e) {
    p *= 10;
    for (std::int64_t m : {p - 1, p, p + 1}) {
      amounts.push_back(m);
      amounts.push_back(-m);
    }
  }
  for (const std::int64_t minor : amounts) {
    for (const char* code : {"JPY", "USD", "KWD", "CLF"}) {
      INFO(minor, " ", code);
      REQUIRE(money(minor, code) == reference(minor, exponent(code)));
    }
  }
}

TEST_CASE("format_money refuses a bad currency") {
  auto r = format_money(Money{100, "usd"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK_FALSE(format_money(Money{100, ""}).ok());
  CHECK_FALSE(format_money(Money{100, "XYZ"}).ok());
}

}  // TEST_SUITE
