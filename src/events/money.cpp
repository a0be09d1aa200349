#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "events/iso4217.hpp"
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
    if (auto exponent = detail::iso4217_exponent(currency)) return *exponent;
    return Status(StatusCode::kInvalidArgument,
                  "currency \"" + std::string(currency) + "\" is not an active ISO 4217 currency code");
  }
  if (currency.empty()) return Status(StatusCode::kInvalidArgument, "currency is required");
  if (currency.size() == 3 && is_ascii_alpha(currency[0]) && is_ascii_alpha(currency[1]) &&
      is_ascii_alpha(currency[2])) {
    const std::string upper{ascii_upper(currency[0]), ascii_upper(currency[1]), ascii_upper(currency[2])};
    if (detail::iso4217_exponent(upper)) {
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
  auto exponent = currency_exponent(money.currency);
  if (!exponent) return exponent.status();
  const auto scale = static_cast<std::size_t>(*exponent);

  // The magnitude as unsigned, so INT64_MIN (whose negation overflows int64) is exact.
  const bool negative = money.minor_units < 0;
  const std::uint64_t magnitude = negative ? 0 - static_cast<std::uint64_t>(money.minor_units)
                                           : static_cast<std::uint64_t>(money.minor_units);
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, magnitude).ptr;
  const auto count = static_cast<std::size_t>(end - digits);

  // Composed in a stack buffer and copied out once (short amounts fit in the string itself).
  char text[48];  // '-', up to 20 digits, '0', '.', up to 4 padding zeros
  char* p = text;
  if (negative) *p++ = '-';
  if (scale == 0) {
    std::memcpy(p, digits, count);
    p += count;
  } else if (count <= scale) {
    // 5 KWD-fils is 0.005: a zero integer part, then zeros padding the fraction.
    *p++ = '0';
    *p++ = '.';
    std::memset(p, '0', scale - count);
    p += scale - count;
    std::memcpy(p, digits, count);
    p += count;
  } else {
    std::memcpy(p, digits, count - scale);
    p += count - scale;
    *p++ = '.';
    std::memcpy(p, digits + (count - scale), scale);
    p += scale;
  }
  return std::string(text, static_cast<std::size_t>(p - text));
}

}  // namespace v1
}  // namespace referkit
