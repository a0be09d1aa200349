// The ISO 4217 currencies a merchant can charge in, with their minor-unit exponents.
#ifndef REFERKIT_SRC_EVENTS_ISO4217_HPP
#define REFERKIT_SRC_EVENTS_ISO4217_HPP

#include <string_view>

namespace referkit::detail {

// The exponent of an active ISO 4217 code given exactly as three upper-case letters ("USD" -> 2),
// or -1 for anything else. Codes without minor units (gold XAU, SDR XDR, test XTS...) are
// absent: they are not money an order is paid in. An int, not an optional<int>: GCC returned the
// optional through the stack, its two parts stored apart and reloaded as one, a store-forwarding
// stall that was 5% of a typed track()'s time (perf).
int iso4217_exponent(std::string_view code) noexcept;

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_EVENTS_ISO4217_HPP
