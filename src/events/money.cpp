#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "common/text.hpp"
#include "events/iso4217.hpp"
#include "events/money.hpp"
#include "referkit/events.hpp"

namespace referkit {
inline namespace v1 {
namespace {

bool is_ascii_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_ascii_alpha(char c) { return is_ascii_upper(c) || (c >= 'a' && c <= 'z'); }
char ascii_upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

std::string shown(std::string_view text) { return std::string(text.substr(0, 16)); }

}  // namespace

Result<int> currency_exponent(std::string_view currency) {
  // The common case first, with nothing allocated: an exact, known, upper-case code.
  if (currency.size() == 3 && is_ascii_upper(currency[0]) && is_ascii_upper(currency[1]) &&
      is_ascii_upper(currency[2])) {
    if (const int exponent = detail::iso4217_exponent(currency); exponent >= 0) return exponent;
    return Status(StatusCode::kInvalidArgument,
                  "currency \"" + std::string(currency) + "\" is not an active ISO 4217 currency code");
  }
  if (currency.empty()) return Status(StatusCode::kInvalidArgument, "currency is required");
  if (currency.size() == 3 && is_ascii_alpha(currency[0]) && is_ascii_alpha(currency[1]) &&
      is_ascii_alpha(currency[2])) {
    const std::string upper{ascii_upper(currency[0]), ascii_upper(currency[1]), ascii_upper(currency[2])};
    if (detail::iso4217_exponent(upper) >= 0) {
      // Refused rather than folded: the code is sent as given, and downstream joins on it.
      return Status(StatusCode::kInvalidArgument,
                    "currency \"" + std::string(currency) + "\" must be upper case: use \"" + upper + "\"");
    }
    return Status(StatusCode::kInvalidArgument,
                  "currency \"" + std::string(currency) + "\" is not an active ISO 4217 currency code");
  }
  return Status(StatusCode::kInvalidArgument,
                "currency \"" + shown(currency) + "\" is not an ISO 4217 code (three letters, like \"USD\")");
}

Result<std::string> format_money(const Money& money) {
  detail::MoneyDecimal decimal;
  if (!detail::write_money_decimal(money, decimal)) return currency_exponent(money.currency).status();
  return std::string(decimal.text());
}

}  // namespace v1
}  // namespace referkit

namespace referkit::detail {

bool write_money_decimal(const Money& money, MoneyDecimal& out) {
  // The table directly: currency_exponent's Result (a Status with its string) cost more than the
  // lookup. It accepts exactly what the table has, so it is asked only for the refusal's words.
  const int exponent = iso4217_exponent(money.currency);
  if (exponent < 0) return false;

  // The magnitude as unsigned, so INT64_MIN (whose negation overflows int64) is exact.
  const bool negative = money.minor_units < 0;
  std::uint64_t magnitude = negative ? 0 - static_cast<std::uint64_t>(money.minor_units)
                                     : static_cast<std::uint64_t>(money.minor_units);
  // Digits from the last, two at a time where there are two: the fraction's `exponent` digits
  // (zeros once the magnitude runs out, so 5 KWD-fils is 0.005), the point, then the integer
  // part, at least one digit and no leading zero.
  char* p = out.buffer + sizeof out.buffer;
  const auto digit = [&] {
    *--p = static_cast<char>('0' + magnitude % 10);
    magnitude /= 10;
  };
  const auto two_digits = [&] {
    p -= 2;
    std::memcpy(p, kDecimalPairs.text + 2 * (magnitude % 100), 2);
    magnitude /= 100;
  };
  int fraction = exponent;
  for (; fraction >= 2; fraction -= 2) two_digits();
  if (fraction == 1) digit();
  if (exponent > 0) *--p = '.';
  while (magnitude >= 100) two_digits();
  if (magnitude >= 10) {
    two_digits();
  } else {
    digit();
  }
  if (negative) *--p = '-';
  out.from = static_cast<std::uint8_t>(p - out.buffer);
  return true;
}

}  // namespace referkit::detail
