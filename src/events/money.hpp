// Money as exact decimal text in a fixed buffer: the one money formatter. format_money (the
// public, allocating form) copies it into a string; the typed events' serializer writes it
// straight into the event, with nothing allocated per amount.
#ifndef REFERKIT_SRC_EVENTS_MONEY_HPP
#define REFERKIT_SRC_EVENTS_MONEY_HPP

#include <cstdint>
#include <string_view>

#include "referkit/events.hpp"

namespace referkit::detail {

struct MoneyDecimal {
  // Written right to left, ending at the buffer's end: '-', the 19 digits of |INT64_MIN|, '.',
  // or "-0." and four fraction digits, never more than 22 characters.
  char buffer[24];
  std::uint8_t from = sizeof buffer;
  std::string_view text() const { return std::string_view(buffer + from, sizeof buffer - from); }
};

// Writes {1999,"USD"} as "19.99", {-5,"KWD"} as "-0.005", {500,"JPY"} as "500" into `out`;
// false for a currency that is not an active ISO 4217 code (currency_exponent(money.currency)
// says why). Filled in place, not returned: the digits are stored a byte at a time, and copying
// the struct at once right after (into a Result, then an optional) stalled on store forwarding.
// A bool, not a Status: an OK Status returned and moved on (its empty string's buffer copied
// right after its one-byte store) stalled the same way, on every amount of every order.
bool write_money_decimal(const Money& money, MoneyDecimal& out);

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_EVENTS_MONEY_HPP
