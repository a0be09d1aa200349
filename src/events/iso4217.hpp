// The ISO 4217 currencies a merchant can charge in, with their minor-unit exponents.
#ifndef REFERKIT_SRC_EVENTS_ISO4217_HPP
#define REFERKIT_SRC_EVENTS_ISO4217_HPP

#include <optional>
#include <string_view>

namespace referkit::detail {

// The exponent of an active ISO 4217 code given exactly as three upper-case letters ("USD" -> 2),
// or nullopt for anything else. Codes without minor units (gold XAU, SDR XDR, test XTS...) are
// absent: they are not money an order is paid in.
std::optional<int> iso4217_exponent(std::string_view code) noexcept;

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_EVENTS_ISO4217_HPP
